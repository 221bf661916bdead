# AdaptSegNet-style output-space adversarial UDA, CPU-sized: the same data, crops, batch, schedule length and
# validation as the tiny ST-DASegNet config (Dubai Tile 1 labelled → Tile 2 unlabelled, 128×128, 2 + 2 per batch,
# 100 iterations, target val mIoU every 50), on the tiny DeepLabV3+ R18 of the source-only baseline.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-tiny.py', '../_base_/datasets/uda_dubai-demo.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_tiny_adv.py'
]
crop_size = (128, 128)
preprocess = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], bgr_to_rgb=False, pad_val=0,
                  seg_pad_val=255, size=crop_size)
model = dict(
    type='AdaptSegSegmentor',
    data_preprocessor=dict(_delete_=True, type='PairedSegDataPreProcessor', source=preprocess, target=preprocess),
    # The reference FCDiscriminator's shape (4×4 convs, all stride 2: output 1/32 of the crop; LeakyReLU 0.2; no
    # normalisation) on the softmax maps, slimmed to 16 base channels for the CPU example (in_channels left out: the
    # segmentor sets it to the decode head's number of classes).
    discriminator=dict(type='FCDiscriminator', base_channels=16, num_convs=3, last_stride=2, norm_cfg=None),
    # Source label 0, target label 1 (the reference code); lambda_adv = 0.001 (single level), D terms halved.
    adv_loss=dict(type='GANLoss', gan_type='vanilla', real_label_val=0.0, fake_label_val=1.0, loss_weight=0.001,
                  loss_name='loss_gen'),
    disc_loss=dict(type='GANLoss', gan_type='vanilla', real_label_val=0.0, fake_label_val=1.0, loss_weight=0.5))
# Optimizer keys = AdaptSegSegmentor's: the segmentor (SGD, the tiny schedule's LRs) and the discriminator (Adam).
sgd = dict(type='SGD', momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    segmentor=dict(type='OptimWrapper', modules=['backbone', 'decode_head'], optimizer=dict(sgd, lr=0.01)),
    discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.99))))
# The GAN-style train_step runs inside the model: each part gets its own DDP wrapper.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
randomness = dict(seed=0)
