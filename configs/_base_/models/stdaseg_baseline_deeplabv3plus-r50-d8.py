# The single-network DeepLabV3+ R50-d8 that ST-DASegNet's DeepLabV3+ configs are compared with (source-only and
# target-oracle baselines): the same backbone, decoder, preprocessing and test mode, without the second student,
# the DDM (so the decoder reads 2048 channels), the discriminators and the teachers.
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                           bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size=None),
    pretrained=None,
    backbone=dict(type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                  strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False, style='pytorch', contract_dilation=True,
                  init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),  # offline: --no-pretrained
    decode_head=dict(type='DepthwiseSeparableASPPHead', in_channels=2048, in_index=3, channels=512,
                     dilations=(1, 12, 24, 36), c1_in_channels=256, c1_channels=48, dropout_ratio=0.1, num_classes=6,
                     norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='ClassWeightedCELoss', loss_weight=1.0, class_weight=None)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(384, 384), stride=(256, 256)))
