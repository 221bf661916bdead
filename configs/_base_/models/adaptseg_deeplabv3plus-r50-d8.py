# AdaptSegNet-style output-space adversarial UDA on the single-network DeepLabV3+ R50-d8 that ST-DASegNet's DeepLabV3+
# configs are compared with (stdaseg_baseline_deeplabv3plus-r50-d8.py: same backbone, decoder, preprocessing, slide
# test), plus a discriminator on its softmax output. Leaves set num_classes (the discriminator follows it) and the
# class weights. Images arrive as float32 in [0, 1] (LoadRasterImage): mean/std in [0, 1] units, bands in file order.
_base_ = ['./stdaseg_baseline_deeplabv3plus-r50-d8.py']
preprocess = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], bgr_to_rgb=False, pad_val=0,
                  seg_pad_val=255, size=None)
model = dict(
    type='AdaptSegSegmentor',
    data_preprocessor=dict(_delete_=True, type='PairedSegDataPreProcessor', source=preprocess, target=preprocess),
    # The reference FCDiscriminator exactly: conv1..conv4 (64-128-256-512 channels) and the classifier, all 4×4
    # stride 2 (last_stride=2), LeakyReLU 0.2, no normalisation, output 1/32 of the input (384 → 12), on the softmax
    # maps upsampled to the crop; in_channels = number of classes (set by the segmentor).
    discriminator=dict(type='FCDiscriminator', base_channels=64, num_convs=3, last_stride=2, norm_cfg=None),
    # Source label 0, target label 1 (the reference code); lambda_adv = 0.001 (single level); D terms halved.
    adv_loss=dict(type='GANLoss', gan_type='vanilla', real_label_val=0.0, fake_label_val=1.0, loss_weight=0.001,
                  loss_name='loss_gen'),
    disc_loss=dict(type='GANLoss', gan_type='vanilla', real_label_val=0.0, fake_label_val=1.0, loss_weight=0.5))
# The GAN-style train_step runs inside the model: each part gets its own DDP wrapper.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
