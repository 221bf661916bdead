# DenseCL (Wang et al., CVPR 2021) pretraining of EfficientNet-Lite0 on the bundled Dubai example's unlabelled chips:
# source (Tile 1) and target (Tile 2) together, labels never read; 8 chips per step, two 128² views each, 200 steps.
# Run: python tools/pretrain.py configs/ssl/densecl_efficientnet-lite0_1xb8-200i_dubai-demo-128x128.py
# Output: WORK_DIR/backbone.pth, for backbone=dict(type='EfficientNetLite', init_cfg=dict(type='Pretrained',
# checkpoint='WORK_DIR/backbone.pth')) with data_preprocessor mean=[0.5] * 3, std=[0.25] * 3 (recorded in its meta).
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/dubai-demo.py']
crop_size = (128, 128)
# Two views per chip: independent random-resized crops, flips, brightness/contrast/gamma, blur (band-agnostic ops on
# the [0, 1] floats LoadRasterImage gives, so any band count and order works).
view = [dict(type='RSAlbu', transforms=[
    dict(type='RandomResizedCrop', size=crop_size, scale=(0.2, 1.0)),
    dict(type='HorizontalFlip', p=0.5),
    dict(type='VerticalFlip', p=0.5),
    dict(type='RandomBrightnessContrast', brightness_limit=0.4, contrast_limit=0.4, p=0.8),
    dict(type='RandomGamma', gamma_limit=(70, 130), p=0.5),
    dict(type='GaussianBlur', blur_limit=(3, 7), p=0.5),
])]
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='UnlabelledChipDataset',
                 manifests=[dict(manifest={{_base_.source_train.manifest}}, prepare={{_base_.source_prepare}}),
                            dict(manifest={{_base_.target_train.manifest}}, prepare={{_base_.target_prepare}})],
                 split='train',
                 pipeline=[dict(type='LoadRasterImage'), dict(type='TwoViews', transforms=view)]))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
model = dict(
    type='DenseCL',
    backbone=dict(type='EfficientNetLite', arch='lite0', in_channels=3, out_indices=(1, 2, 3, 4),
                  norm_cfg=dict(type='BN', eps=1e-3, momentum=0.1)),
    neck=dict(hidden_channels=256, out_channels=64),
    queue_size=2048,
    temperature=0.2,
    dense_weight=0.5,
    mean=0.5,
    std=0.25)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.03, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=200, by_epoch=False, begin=0, end=200)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=200)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100, save_best=None))
# The momentum encoder follows the query encoder (BatchNorm statistics too); backbone.pth is written with every
# checkpoint and at the end.
custom_hooks = [dict(type='EMATeacherHook', max_decay=0.99, interval=1, update_buffers=True),
                dict(type='BackboneExportHook')]
randomness = dict(seed=0)
