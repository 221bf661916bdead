# ST-DASegNet SegFormer MiT-b5, LoveDA Urban → Rural, with the reference's recipe restored: its photometric
# augmentation, whole target images resized to the crop unflipped, source scale 1024, logit fusion, decoders at the
# backbone's LR, slide-1024 test, selection and numbers on target val. Convert both domains with
# `data_prep/convert_loveda.py … --chip 1024 --protocol reference`; multi-scale test: tools/test.py … --tta.
_base_ = ['../stdaseg_segformer-mit-b5_1xb2-40k_loveda-urban2rural-384x384.py', '../../_base_/presets/reference.py']
model = {{_base_.reference_stdaseg_segformer}}
optim_wrapper = {{_base_.reference_stdaseg_segformer_optim}}
train_dataloader = {{_base_.reference_loveda_uda_train}}
val_dataloader = {{_base_.reference_eval}}
test_dataloader = {{_base_.reference_eval}}
