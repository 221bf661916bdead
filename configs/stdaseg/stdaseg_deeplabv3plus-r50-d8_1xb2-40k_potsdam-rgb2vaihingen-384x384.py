# ST-DASegNet, DeepLabV3+ R50-d8 students, Potsdam RGB → Vaihingen IRRG.
# 384×384 crops, batch 2, 40k iterations, reference hyperparameters and class weights.
_base_ = [
    '../_base_/models/stdaseg_r50-d8.py',
    '../_base_/datasets/uda_potsdam-rgb2vaihingen.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adv.py',
]
crop_size = (384, 384)
head = dict(num_classes={{_base_.num_classes}}, loss_decode=dict(class_weight={{_base_.ce_class_weight}}))
model = dict(
    data_preprocessor=dict(source=dict(size=crop_size), target=dict(size=crop_size)),
    decode_head_s=head,
    decode_head_t=head,
    pseudo_label=dict(class_weight={{_base_.pseudo_class_weight}}))
