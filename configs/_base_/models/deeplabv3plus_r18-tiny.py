# DeepLabV3+ on a slim ResNetV1c-18 (16 base channels, output stride 8): a CPU-sized model for examples and tests.
# Images arrive as float32 in [0, 1] from LoadRasterImage, so mean/std are in [0, 1] units and bands stay in file order.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[0.485, 0.456, 0.406],
    std=[0.229, 0.224, 0.225],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size=None)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
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
        # Offline by design: random init; set init_cfg=dict(type='Pretrained', checkpoint='/local/file.pth').
        init_cfg=None),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=128,
        in_index=3,
        channels=32,
        dilations=(1, 6, 12, 18),
        c1_in_channels=16,
        c1_channels=8,
        dropout_ratio=0.1,
        num_classes=5,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
