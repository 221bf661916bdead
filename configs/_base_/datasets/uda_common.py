# Shared primitive of the UDA dataset configs (uda_<source>2<target>.py): pipelines, paired/target dataloaders and
# evaluator. Every labelled source chip is paired with a random unlabelled target chip, 384×384 crops.
# Chips come from the tiler's manifests (data_prep/ converters, default --protocol holdout); splits are per scene.
# Checkpoints are selected on the target *val* split, final numbers come from the held-out target *test* split (a
# seeded share of the labelled non-train scenes, never used for selection); target labels are read for evaluation
# (and by the target-oracle baseline) only. The reference protocol (select and report on val) is in
# _base_/presets/reference.py.
# Datasets here carry no `manifest`: each leaf sets source_manifest / target_manifest and merges them into every
# dataset dict below (values are resolved in this file, so a leaf redefining a variable such as crop_size would NOT
# reach the pipelines; a leaf needing another crop must override the pipelines themselves).
crop_size = (384, 384)
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
source_train = dict(type='GeoChipDataset', split='train', pipeline=source_pipeline)
target_train = dict(type='GeoChipDataset', split='train', with_label=False, pipeline=target_pipeline)
target_val = dict(type='GeoChipDataset', split='val', pipeline=test_pipeline, test_mode=True)
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
# Multi-scale test (tools/test.py --tta): the reference's LoveDA ratios, no flip; mmseg's SegTTAModel averages.
tta_ratios = [0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadRasterImage'),
    dict(type='TestTimeAug', transforms=[[dict(type='Resize', scale_factor=r, keep_ratio=True) for r in tta_ratios],
                                         [dict(type='LoadRasterAnnotation')],
                                         [dict(type='PackSegInputs', meta_keys=meta_keys)]]),
]
val_evaluator = dict(type='ClassIoUMetric', iou_metrics=['mIoU', 'mFscore'])
test_evaluator = val_evaluator
# Baselines on the same data: source-only and target-oracle leaves take one of these as train dataset.
source_only_dataset = dict(source_train, _delete_=True)  # source labels only (leaf merges in source_manifest)
oracle_dataset = dict(source_train, _delete_=True)  # target train labels, upper bound (leaf merges in target_manifest)
