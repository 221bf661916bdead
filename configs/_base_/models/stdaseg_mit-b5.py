# ST-DASegNet with SegFormer students: MiT-b5 backbones and SegFormer heads (the reference's SegFormer setting).
# Stage channels [64, 128, 320, 512]; the DDM gives every stage a distinct block and the last stage a universal
# block of d = max(512 / 8, 8) = 64 channels (576). Leaves set num_classes and the class weights.
# Images arrive as float32 in [0, 1] (LoadRasterImage): ImageNet mean/std in [0, 1] units, bands in file order.
norm_cfg = dict(type='SyncBN', requires_grad=True)  # reverted to BN by mmengine when not distributed
preprocess = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], bgr_to_rgb=False, pad_val=0,
                  seg_pad_val=255, size=None)
backbone = dict(
    type='MixVisionTransformer',
    in_channels=3,
    embed_dims=64,
    num_stages=4,
    num_layers=[3, 6, 40, 3],
    num_heads=[1, 2, 5, 8],
    patch_sizes=[7, 3, 3, 3],
    sr_ratios=[8, 4, 2, 1],
    out_indices=(0, 1, 2, 3),
    mlp_ratio=4,
    qkv_bias=True,
    drop_rate=0.0,
    attn_drop_rate=0.0,
    drop_path_rate=0.1,
    # The reference's ImageNet start (mmseg's converted MiT-b5); offline: --no-pretrained (or a local file).
    init_cfg=dict(type='Pretrained', checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b5_20220624-658746d9.pth'))
decode_head = dict(
    type='SegformerHead',
    in_channels=[64, 128, 320, 576],
    in_index=[0, 1, 2, 3],
    channels=256,
    dropout_ratio=0.1,
    num_classes=6,
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(type='ClassWeightedCELoss', loss_weight=1.0, class_weight=None))
discriminator = dict(type='FCDiscriminator', in_channels=512, base_channels=64, num_convs=2,
                     norm_cfg=dict(type='IN'))
model = dict(
    type='STDASegmentor',
    data_preprocessor=dict(type='PairedSegDataPreProcessor', source=preprocess, target=preprocess),
    pretrained=None,
    backbone_s=backbone,
    backbone_t=backbone,
    neck=dict(type='DomainDisentangleNeck', in_channels=[64, 128, 320, 512], reduction=8, min_channels=8,
              universal_stages=(3, )),
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
