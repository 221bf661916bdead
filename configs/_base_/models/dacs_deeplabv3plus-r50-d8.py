# DACS-style self-training (EMA teacher of the whole segmentor + ClassMix) on the single-network DeepLabV3+ R50-d8
# that ST-DASegNet's DeepLabV3+ configs are compared with (stdaseg_baseline_deeplabv3plus-r50-d8.py: same backbone,
# decoder, preprocessing, slide test). Leaves set num_classes and the class weights (the mixed-image loss reuses the
# decoder's CE class weights). Images arrive as float32 in [0, 1] (LoadRasterImage): mean/std in [0, 1] units.
_base_ = ['./stdaseg_baseline_deeplabv3plus-r50-d8.py']
preprocess = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], bgr_to_rgb=False, pad_val=0,
                  seg_pad_val=255, size=None)
model = dict(
    type='DACSSegmentor',
    data_preprocessor=dict(_delete_=True, type='PairedSegDataPreProcessor', source=preprocess, target=preprocess),
    pseudo_threshold=0.968,  # per target image: weight = share of pixels with teacher confidence >= 0.968
    mix_loss=dict(type='PseudoLabelCELoss', loss_weight=1.0),
    # DACS/DAFormer strong augmentation of the mixed images only (the teacher labels un-augmented targets): colour
    # jitter of strength 0.2 and Gaussian blur (sigma in [0.15, 1.15]) with probability 0.5. DAFormer's
    # color_jitter_probability=0.2 is a threshold (jitter when uniform(0, 1) > 0.2): color_jitter_p=0.8 here.
    strong_aug=dict(color_jitter=0.2, color_jitter_p=0.8, blur=True, blur_p=0.5, blur_sigma=(0.15, 1.15),
                    max_value=1.0),
    test_cfg=dict(predict_on='student'))
# The teacher follows the student after every iteration: alpha_t = min(1 - 1 / (t + 1), 0.99), parameters only.
custom_hooks = [dict(type='EMATeacherHook', max_decay=0.99, interval=1)]
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
