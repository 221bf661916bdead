# ST-DASegNet's DeepLabV3+ schedule (reference values): one optimizer wrapper per part, keys = STDASegmentor's
# optimizer keys. SGD 1e-3 for both backbones + DDM, 2e-3 for both decoders (momentum 0.9, wd 5e-4), Adam 2.5e-4
# (0.9, 0.99) per discriminator; poly LR (power 0.9, min 1e-5) on every wrapper; 40k iterations; target val mIoU
# every 4k iterations selects the checkpoint.
sgd = dict(type='SGD', momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    backbone=dict(type='OptimWrapper', modules=['backbone_s', 'backbone_t', 'neck'], optimizer=dict(sgd, lr=1e-3)),
    decode_head=dict(type='OptimWrapper', modules=['decode_head_s', 'decode_head_t'], optimizer=dict(sgd, lr=2e-3)),
    discriminator_s=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2.5e-4, betas=(0.9, 0.99))),
    discriminator_t=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2.5e-4, betas=(0.9, 0.99))))
# The same optimizer for the single-network baselines (decode head at 2× through a key that matches its names).
baseline_optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(sgd, lr=1e-3),
                              paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=2.0)}))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=40000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, save_best='mIoU', rule='greater',
                    max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
