# ST-DASegNet DeepLabV3+ R50-d8, Potsdam IRRG → Vaihingen IRRG, with the reference's recipe restored: its
# photometric augmentation, whole target images unflipped, logit fusion, whole-image test, selection and numbers on
# target val. Convert the target with `data_prep/convert_vaihingen.py … --protocol reference` (the reference's 25/8
# areas). configs/stdaseg/README.md lists every switch.
_base_ = ['../stdaseg_deeplabv3plus-r50-d8_1xb2-40k_potsdam2vaihingen-384x384.py', '../../_base_/presets/reference.py']
model = {{_base_.reference_stdaseg_deeplab}}
train_dataloader = {{_base_.reference_isprs_uda_train}}
val_dataloader = {{_base_.reference_eval}}
test_dataloader = {{_base_.reference_eval}}
