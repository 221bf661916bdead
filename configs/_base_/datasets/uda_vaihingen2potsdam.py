# UDA Vaihingen IRRG → Potsdam IRRG:
# every labelled Vaihingen IRRG chip paired with a random unlabelled Potsdam IRRG chip, 384×384 crops.
# Chips come from the tiler's manifests (data_prep/tile_scenes.py); splits are per scene. Checkpoints are selected on
# the target *val* split, final numbers come from the separate target *test* split; target labels are read for
# evaluation (and by the target-oracle baseline) only.
# Classes (manifest order): impervious surface, building, low vegetation, tree, car, clutter.
data_root = 'data'
source_manifest = data_root + '/vaihingen-irrg/manifest.json'
target_manifest = data_root + '/potsdam-irrg/manifest.json'
crop_size = (384, 384)
num_classes = 6
# Reference (ST-DASegNet) per-class weights: decoder CE and pseudo-label class balancing.
ce_class_weight = [1.0, 1.0, 1.0, 1.25, 1.5, 1.5]
pseudo_class_weight = [1.01, 1.01, 1.51, 1.51, 2.01, 2.01]
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
             'flip_direction', 'reduce_zero_label', 'crs', 'geo_transform', 'scene')
# Band-agnostic photometric jitter on [0, 1] floats (works for IRRG and RGB alike), through albumentations.
photometric = [dict(type='RandomBrightnessContrast', brightness_limit=0.2, contrast_limit=0.2, p=0.5),
               dict(type='RandomGamma', gamma_limit=(80, 120), p=0.3)]
source_pipeline = [
    dict(type='LoadRasterImage'),
    dict(type='LoadRasterAnnotation'),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RSAlbu', transforms=photometric),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
# Target images: resized to the crop (as the reference's B_img_scale), flipped, photometric; no labels.
target_pipeline = [
    dict(type='LoadRasterImage'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RSAlbu', transforms=photometric),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadRasterImage'),
    dict(type='LoadRasterAnnotation'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
source_train = dict(type='GeoChipDataset', manifest=source_manifest, split='train', pipeline=source_pipeline)
target_train = dict(type='GeoChipDataset', manifest=target_manifest, split='train', with_label=False,
                    pipeline=target_pipeline)
target_val = dict(type='GeoChipDataset', manifest=target_manifest, split='val', pipeline=test_pipeline,
                  test_mode=True)
target_test = dict(target_val, split='test')
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='PairedDomainDataset', source=source_train, target=target_train))
val_dataloader = dict(batch_size=1, num_workers=2, persistent_workers=True,
                      sampler=dict(type='DefaultSampler', shuffle=False), dataset=target_val)
test_dataloader = dict(val_dataloader, dataset=target_test)
val_evaluator = dict(type='ClassIoUMetric', iou_metrics=['mIoU', 'mFscore'])
test_evaluator = val_evaluator
# Baselines on the same data: source-only and target-oracle leaves take one of these as train dataset.
source_only_dataset = dict(source_train, _delete_=True)  # source labels only
oracle_dataset = dict(source_train, _delete_=True, manifest=target_manifest)  # target train labels (upper bound)
