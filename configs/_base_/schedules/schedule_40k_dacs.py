# DACS on DeepLabV3+, like for like with ST-DASegNet's DeepLabV3+ schedule (schedule_40k_adv.py: poly LR, 40k
# iterations, target val mIoU every 4k selects the checkpoint) and its segmentor optimizer (SGD 1e-3, decoder 2e-3,
# momentum 0.9, wd 5e-4; the DACS paper trains 250k iterations at 2.5e-4). The EMA teacher is in no optimizer part.
_base_ = ['./schedule_40k_adv.py']
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    segmentor=dict(type='OptimWrapper', modules=['backbone', 'decode_head'],
                   optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=0.0005),
                   paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=2.0)})))
