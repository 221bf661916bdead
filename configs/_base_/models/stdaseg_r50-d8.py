# ST-DASegNet with DeepLabV3+ on ResNetV1c-50 d8 students (the reference's DeepLabV3+ setting).
# Stage channels [256, 512, 1024, 2048]; the DDM adds d = max(2048 / 8, 8) = 256 universal channels to the last
# stage (2304). DeepLabV3+ reads stage 1 (c1) and the last stage, so only those get DDM blocks (the reference also
# builds blocks on stages 2-3, which never receive a gradient). Leaves set num_classes and the class weights.
# Images arrive as float32 in [0, 1] (LoadRasterImage): ImageNet mean/std in [0, 1] units, bands in file order.
norm_cfg = dict(type='SyncBN', requires_grad=True)  # reverted to BN by mmengine when not distributed
preprocess = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], bgr_to_rgb=False, pad_val=0,
                  seg_pad_val=255, size=None)
backbone = dict(
    type='ResNetV1c',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',
    contract_dilation=True,
    # The reference's ImageNet start; offline: --no-pretrained (or a local file as checkpoint).
    init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c'))
decode_head = dict(
    type='DepthwiseSeparableASPPHead',
    in_channels=2304,
    in_index=3,
    channels=512,
    dilations=(1, 12, 24, 36),
    c1_in_channels=256,
    c1_channels=48,
    dropout_ratio=0.1,
    num_classes=6,
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(type='ClassWeightedCELoss', loss_weight=1.0, class_weight=None))
discriminator = dict(type='FCDiscriminator', in_channels=2048, base_channels=64, num_convs=3,
                     norm_cfg=dict(type='IN'))
model = dict(
    type='STDASegmentor',
    data_preprocessor=dict(type='PairedSegDataPreProcessor', source=preprocess, target=preprocess),
    pretrained=None,
    backbone_s=backbone,
    backbone_t=backbone,
    neck=dict(type='DomainDisentangleNeck', in_channels=[256, 512, 1024, 2048], reduction=8, min_channels=8,
              distinct_stages=(0, 3), universal_stages=(3, )),
    decode_head_s=decode_head,
    decode_head_t=decode_head,
    discriminator_s=discriminator,
    discriminator_t=discriminator,
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=0.005),
    pseudo_label=dict(threshold=0.975, rare_threshold=0.8, class_weight=None, fuse='prob'),
    pseudo_loss=dict(type='PseudoLabelCELoss', loss_weight=0.25),  # class weights: each decoder's CE weights
    ema_scope='decoder',
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(384, 384), stride=(256, 256), predict_on='student'))
custom_hooks = [dict(type='EMATeacherHook', max_decay=0.999, interval=1)]
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
