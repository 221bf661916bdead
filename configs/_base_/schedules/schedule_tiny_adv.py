# CPU-minute ST-DASegNet schedule: one optimizer wrapper per part (keys = STDASegmentor's optimizer keys), poly LR,
# 100 iterations, validate (target val mIoU) and checkpoint every 50.
sgd = dict(type='SGD', momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    backbone=dict(type='OptimWrapper', modules=['backbone_s', 'backbone_t', 'neck'], optimizer=dict(sgd, lr=0.01)),
    decode_head=dict(type='OptimWrapper', modules=['decode_head_s', 'decode_head_t'], optimizer=dict(sgd, lr=0.02)),
    discriminator_s=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2.5e-4, betas=(0.9, 0.99))),
    discriminator_t=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2.5e-4, betas=(0.9, 0.99))))
# A list applies to every wrapper; a dict keyed like optim_wrapper would set one per part.
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=100, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=100, val_interval=50)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=50, save_best='mIoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
