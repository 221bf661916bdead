# Source-only with Pissas et al.'s multi-scale and cross-scale contrastive loss on the labelled source pixels
# (rsseg/models/decode_heads/multi_scale_contrastive_head.py), CPU-sized: the source-only tiny config plus one
# auxiliary head over the backbone's last three stages. Any EncoderDecoder-based config adds it the same way.
_base_ = ['../source_only/source-only_deeplabv3plus-r18-tiny_1xb4-100i_dubai-demo-128x128.py']
model = dict(
    auxiliary_head=dict(
        type='MultiScaleContrastiveHead',
        in_channels=[32, 64, 128],
        in_index=[1, 2, 3],
        proj_channels=64,
        temperature=0.1,
        max_per_class=64,
        cross_scale=True,
        loss_weight=0.1))
