# The bundled CC0 Dubai example (demo/dubai): source = Tile 1 (labelled), target = Tile 2.
# The target's masks are converted for evaluation only: target_train reads its images without labels.
# Manifests are created on first use by the datasets' own `prepare` step (no separate data command).
demo_root = '{{ fileDirname }}/../../../demo/dubai'
cache_root = '{{ fileDirname }}/../../../data/cache/dubai-demo'
palette_file = demo_root + '/palette.json'
crop_size = (128, 128)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
             'flip_direction', 'reduce_zero_label', 'crs', 'geo_transform', 'scene', 'norm_stats')
photometric = [dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
               dict(type='RandomGamma', gamma_limit=(80, 120), p=0.3)]
train_pipeline = [
    dict(type='LoadRasterImage'),
    dict(type='LoadRasterAnnotation'),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RSAlbu', transforms=photometric),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
target_pipeline = [
    dict(type='LoadRasterImage'),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RSAlbu', transforms=photometric),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadRasterImage'),
    dict(type='Resize', scale=(512, 512), keep_ratio=True),
    dict(type='LoadRasterAnnotation'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
source_prepare = dict(type='ColorMaskFolder', images=demo_root + '/tile_1/images', masks=demo_root + '/tile_1/masks',
                      palette=palette_file, domain='dubai-tile1')
target_prepare = dict(type='ColorMaskFolder', images=demo_root + '/tile_2/images', masks=demo_root + '/tile_2/masks',
                      palette=palette_file, domain='dubai-tile2',
                      splits=dict(val=['image_part_00[67]'], test=['image_part_00[89]']))
source_train = dict(type='GeoChipDataset', manifest=cache_root + '/source/manifest.json', split='train',
                    prepare=source_prepare, pipeline=train_pipeline)
target_train = dict(type='GeoChipDataset', manifest=cache_root + '/target/manifest.json', split='train',
                    with_label=False, prepare=target_prepare, pipeline=target_pipeline)
target_val = dict(type='GeoChipDataset', manifest=cache_root + '/target/manifest.json', split='val',
                  prepare=target_prepare, pipeline=test_pipeline, test_mode=True)
target_test = dict(target_val, split='test')

train_dataloader = dict(batch_size=4, num_workers=2, persistent_workers=True,
                        sampler=dict(type='InfiniteSampler', shuffle=True), dataset=source_train)
val_dataloader = dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=target_val)
test_dataloader = dict(val_dataloader, dataset=target_test)
val_evaluator = dict(type='ClassIoUMetric', iou_metrics=['mIoU', 'mFscore'])
test_evaluator = val_evaluator
