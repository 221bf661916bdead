# ST-DASegNet's SegFormer schedule (reference values): AdamW 6e-5 (0.9, 0.999), wd 0.01, no decay on norms and
# positional blocks, decoders at 10× (6e-4) through the 'decode_head' key, which really matches the parameter names
# (the reference's 'head' key did not, inside its per-decoder optimizers); Adam 1e-5 (0.9, 0.99) per discriminator;
# linear warmup over 800 iterations then poly (power 1.0) to 0 on every wrapper; 40k iterations; target val mIoU
# every 4k iterations selects the checkpoint.
adamw = dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
no_decay = {'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    backbone=dict(type='OptimWrapper', modules=['backbone_s', 'backbone_t', 'neck'], optimizer=adamw,
                  paramwise_cfg=dict(custom_keys=no_decay)),
    decode_head=dict(type='OptimWrapper', modules=['decode_head_s', 'decode_head_t'], optimizer=adamw,
                     paramwise_cfg=dict(custom_keys=dict(no_decay, decode_head=dict(lr_mult=10.)))),
    discriminator_s=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-5, betas=(0.9, 0.99))),
    discriminator_t=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-5, betas=(0.9, 0.99))))
# The same optimizer for the single-network baselines.
baseline_optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=adamw,
                              paramwise_cfg=dict(custom_keys=dict(no_decay, decode_head=dict(lr_mult=10.))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=800),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=800, end=40000, by_epoch=False),
]
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
