# ST-DASegNet on the CPU-sized DeepLabV3+ ResNetV1c-18 of deeplabv3plus_r18-tiny.py (16 base channels, output stride 8):
# two students (backbone_s/t + decode_head_s/t), the DDM between them, two discriminators, EMA teacher decoders.
# Stage channels [16, 32, 64, 128]; the DDM adds d = max(128 / 8, 8) = 16 universal channels to the last stage (144).
# Images arrive as float32 in [0, 1] (LoadRasterImage): mean/std in [0, 1] units, bands in file order.
norm_cfg = dict(type='BN', requires_grad=True)
preprocess = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], bgr_to_rgb=False, pad_val=0,
                  seg_pad_val=255, size=None)
data_preprocessor = dict(type='PairedSegDataPreProcessor', source=preprocess, target=preprocess)
backbone = dict(
    type='ResNetV1c',
    depth=18,
    in_channels=3,
    stem_channels=16,
    base_channels=16,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',
    contract_dilation=True,
    init_cfg=None)  # offline: random init; set init_cfg=dict(type='Pretrained', checkpoint='/local/file.pth')
decode_head = dict(
    type='DepthwiseSeparableASPPHead',
    in_channels=144,
    in_index=3,
    channels=32,
    dilations=(1, 6, 12, 18),
    c1_in_channels=16,
    c1_channels=8,
    dropout_ratio=0.1,
    num_classes=5,
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
discriminator = dict(type='FCDiscriminator', in_channels=128, base_channels=16, num_convs=2,
                     norm_cfg=dict(type='IN'))
model = dict(
    type='STDASegmentor',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone_s=backbone,
    backbone_t=backbone,
    # DeepLabV3+ reads stage 1 (c1) and the last stage: only those get DDM blocks (the others would never train).
    neck=dict(type='DomainDisentangleNeck', in_channels=[16, 32, 64, 128], reduction=8, min_channels=8,
              distinct_stages=(0, 3), universal_stages=(3, )),
    decode_head_s=decode_head,
    decode_head_t=decode_head,
    discriminator_s=discriminator,
    discriminator_t=discriminator,
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=0.005),
    pseudo_label=dict(threshold=0.975, rare_threshold=0.8, class_weight=None, fuse='prob'),
    pseudo_loss=dict(type='PseudoLabelCELoss', loss_weight=0.25),
    ema_scope='decoder',
    train_cfg=dict(),
    test_cfg=dict(mode='whole', predict_on='student'))
# The teachers follow their students by EMA; each part of the GAN-style step gets its own DDP wrapper.
custom_hooks = [dict(type='EMATeacherHook', max_decay=0.999, interval=1)]
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
