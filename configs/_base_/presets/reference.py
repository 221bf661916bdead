# The ST-DASegNet reference recipe (cv516Buaa/ST-DASegNet): what rsseg's configs do differently, undone.
# configs/stdaseg/README.md lists each departure, its reason and its switch. Every name here starts with
# `reference_`, so a leaf can list this file beside the config it restores (mmengine refuses keys two bases share)
# and merge in the pieces its method needs, e.g. for ST-DASegNet DeepLabV3+ on ISPRS:
#
#   _base_ = ['../stdaseg_deeplabv3plus-r50-d8_1xb2-40k_potsdam2vaihingen-384x384.py',
#             '../../_base_/presets/reference.py']
#   model = {{_base_.reference_stdaseg_deeplab}}
#   train_dataloader = {{_base_.reference_isprs_uda_train}}
#   val_dataloader = test_dataloader = {{_base_.reference_eval}}
#
# Data: the reference selects and reports on target val (convert the target with `--protocol reference`, which
# also uses the reference's Vaihingen split, 25 train / 8 val areas); LoveDA images are used whole (`--chip 1024`).
reference_crop = (384, 384)
reference_meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
                       'flip_direction', 'reduce_zero_label', 'crs', 'geo_transform', 'scene')
# mmseg 0.x PhotoMetricDistortion (brightness ±32/255, contrast ×[0.5, 1.5], saturation ×[0.5, 1.5], hue ±18/180,
# each with p = 0.5) on [0, 1] floats through albumentations (mmseg's own transform assumes uint8 BGR).
reference_photometric = [
    dict(type='RandomBrightnessContrast', brightness_limit=32 / 255, contrast_limit=0.0, p=0.5),
    dict(type='RandomBrightnessContrast', brightness_limit=0.0, contrast_limit=0.5, p=0.5),
    dict(type='ColorJitter', brightness=0.0, contrast=0.0, saturation=(0.5, 1.5), hue=0.0, p=0.5),
    dict(type='ColorJitter', brightness=0.0, contrast=0.0, saturation=0.0, hue=0.1, p=0.5),
]


def _source(scale):  # noqa: E301 (mmengine evaluates this file as Python; the helper is not a config key)
    return [
        dict(type='LoadRasterImage'),
        dict(type='LoadRasterAnnotation'),
        dict(type='RandomResize', scale=scale, ratio_range=(0.5, 2.0), keep_ratio=True),
        dict(type='RandomCrop', crop_size=reference_crop, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='RSAlbu', transforms=reference_photometric),
        dict(type='PackSegInputs', meta_keys=reference_meta_keys),
    ]


# Source: scale (512, 512) for ISPRS, (1024, 1024) for LoveDA, ratio 0.5-2, 384 crop, flip, photometric.
reference_isprs_source_pipeline = _source((512, 512))
reference_loveda_source_pipeline = _source((1024, 1024))
# Target: the whole chip resized to the crop without keeping the aspect ratio; not cropped, not flipped.
reference_target_pipeline = [
    dict(type='LoadRasterImage'),
    dict(type='Resize', scale=reference_crop, keep_ratio=False),
    dict(type='RSAlbu', transforms=reference_photometric),
    dict(type='PackSegInputs', meta_keys=reference_meta_keys),
]
# train_dataloader overrides: paired (ST-DASegNet, AdaptSegNet, DACS) and single-domain (source-only, oracle).
reference_isprs_uda_train = dict(dataset=dict(source=dict(pipeline=reference_isprs_source_pipeline),
                                              target=dict(pipeline=reference_target_pipeline)))
reference_loveda_uda_train = dict(dataset=dict(source=dict(pipeline=reference_loveda_source_pipeline),
                                               target=dict(pipeline=reference_target_pipeline)))
reference_isprs_single_train = dict(dataset=dict(pipeline=reference_isprs_source_pipeline))
reference_loveda_single_train = dict(dataset=dict(pipeline=reference_loveda_source_pipeline))
# Selection and numbers on the same split: all labelled non-train target chips.
reference_eval = dict(dataset=dict(split=['val', 'test']))
# Test modes: DeepLabV3+ whole image; SegFormer 1024 slide (whole on 512 ISPRS chips). LoveDA adds the
# multi-scale test ([0.75, 1.0, 1.25, 1.5], tta_pipeline in uda_common.py): tools/test.py --tta.
reference_deeplab_test_cfg = dict(mode='whole')
reference_segformer_test_cfg = dict(mode='slide', crop_size=(1024, 1024), stride=(768, 768))
# ST-DASegNet: pseudo-labels from the softmax of the teachers' mean logits.
reference_stdaseg_deeplab = dict(pseudo_label=dict(fuse='logit'), test_cfg=reference_deeplab_test_cfg)
reference_stdaseg_segformer = dict(pseudo_label=dict(fuse='logit'), test_cfg=reference_segformer_test_cfg)
# Single-network baselines and AdaptSegNet / DACS: the test mode only.
reference_deeplab = dict(test_cfg=reference_deeplab_test_cfg)
reference_segformer = dict(test_cfg=reference_segformer_test_cfg)
# SegFormer decoders at the backbone's LR: the reference's 'head' key never matched inside its per-decoder optimizers.
reference_stdaseg_segformer_optim = dict(decode_head=dict(paramwise_cfg=dict(custom_keys=dict(
    decode_head=dict(lr_mult=1.0)))))
reference_baseline_segformer_optim = dict(paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=1.0))))
