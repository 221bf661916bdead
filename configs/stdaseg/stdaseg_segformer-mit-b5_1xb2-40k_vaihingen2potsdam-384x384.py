# ST-DASegNet, SegFormer MiT-b5 students, Vaihingen IRRG → Potsdam IRRG.
# 384×384 crops, batch 2, 40k iterations, reference hyperparameters and class weights.
_base_ = [
    '../_base_/models/stdaseg_mit-b5.py',
    '../_base_/datasets/uda_vaihingen2potsdam.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k_adv-adamw.py',
]
crop_size = (384, 384)
head = dict(num_classes={{_base_.num_classes}}, loss_decode=dict(class_weight={{_base_.ce_class_weight}}))
model = dict(
    data_preprocessor=dict(source=dict(size=crop_size), target=dict(size=crop_size)),
    # The reference SegFormer Vaihingen→Potsdam config weights both decoders' classes [1, 1, 1.25, 1.25, 1.5, 1.5].
    decode_head_s=dict(head, loss_decode=dict(class_weight=[1.0, 1.0, 1.25, 1.25, 1.5, 1.5])),
    decode_head_t=dict(head, loss_decode=dict(class_weight=[1.0, 1.0, 1.25, 1.25, 1.5, 1.5])),
    pseudo_label=dict(class_weight={{_base_.pseudo_class_weight}}))
