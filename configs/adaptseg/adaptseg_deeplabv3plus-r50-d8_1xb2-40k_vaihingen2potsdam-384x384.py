# AdaptSegNet-style output-space adversarial UDA, DeepLabV3+ R50-d8, Vaihingen IRRG → Potsdam IRRG.
# Like for like with stdaseg/stdaseg_deeplabv3plus-r50-d8_1xb2-40k_vaihingen2potsdam-384x384.py and its source-only /
# target-oracle baselines: same dataset config, 384×384 crops, batch 2 + 2, 40k iterations, class weights, slide test.
_base_ = [
    '../_base_/models/adaptseg_deeplabv3plus-r50-d8.py',
    '../_base_/datasets/uda_vaihingen2potsdam.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adaptseg.py',
]
crop_size = (384, 384)
model = dict(
    data_preprocessor=dict(source=dict(size=crop_size), target=dict(size=crop_size)),
    decode_head=dict(num_classes={{_base_.num_classes}}, loss_decode=dict(class_weight={{_base_.ce_class_weight}})))
