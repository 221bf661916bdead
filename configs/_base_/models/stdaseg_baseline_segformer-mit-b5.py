# The single-network SegFormer MiT-b5 that ST-DASegNet's SegFormer configs are compared with (source-only and
# target-oracle baselines): the same backbone, decoder, preprocessing and test mode, without the second student,
# the DDM (so the decoder reads [64, 128, 320, 512] channels), the discriminators and the teachers.
norm_cfg = dict(type='SyncBN', requires_grad=True)
mit_b5_checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b5_20220624-658746d9.pth'
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                           bgr_to_rgb=False, pad_val=0, seg_pad_val=255, size=None),
    pretrained=None,
    backbone=dict(type='MixVisionTransformer', in_channels=3, embed_dims=64, num_stages=4, num_layers=[3, 6, 40, 3],
                  num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3], sr_ratios=[8, 4, 2, 1], out_indices=(0, 1, 2, 3),
                  mlp_ratio=4, qkv_bias=True, drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.1,
                  init_cfg=dict(type='Pretrained', checkpoint=mit_b5_checkpoint)),  # offline: --no-pretrained
    decode_head=dict(type='SegformerHead', in_channels=[64, 128, 320, 512], in_index=[0, 1, 2, 3], channels=256,
                     dropout_ratio=0.1, num_classes=6, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='ClassWeightedCELoss', loss_weight=1.0, class_weight=None)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(384, 384), stride=(256, 256)))
