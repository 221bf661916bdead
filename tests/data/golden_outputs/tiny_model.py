"""The golden outputs' tiny model (tests/data/golden_outputs/data.py; tests/fixtures.py: tiny_model_cfg()): a 4-class
mmseg EncoderDecoder of plain mmseg modules (a one-stage UNet, a 1x1 FCN classifier), seeded weights, no training."""
default_scope = 'mmseg'
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], bgr_to_rgb=False,
                           pad_val=0, seg_pad_val=255),
    backbone=dict(type='UNet', in_channels=3, base_channels=8, num_stages=1, strides=(1,), enc_num_convs=(1,),
                  dec_num_convs=(), downsamples=(), enc_dilations=(1,), dec_dilations=(), norm_cfg=dict(type='BN')),
    decode_head=dict(type='FCNHead', in_channels=8, channels=8, num_convs=0, concat_input=False, in_index=-1,
                     num_classes=4, norm_cfg=dict(type='BN'), loss_decode=dict(type='CrossEntropyLoss')),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
