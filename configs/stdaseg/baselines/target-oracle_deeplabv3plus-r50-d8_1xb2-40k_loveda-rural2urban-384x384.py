# Target-oracle baseline for ST-DASegNet's DeepLabV3+ R50-d8 LoveDA Rural → Urban config:
# one DeepLabV3+ R50-d8 trained on the labelled target train chips (an upper bound), evaluated on the same target
# val/test splits with the same crops, schedule and optimizer.
_base_ = [
    '../../_base_/models/stdaseg_baseline_deeplabv3plus-r50-d8.py',
    '../../_base_/datasets/uda_loveda-rural2urban.py',
    '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_40k_adv.py',
]
crop_size = (384, 384)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes={{_base_.num_classes}},
                     loss_decode=dict(class_weight={{_base_.ce_class_weight}})))
train_dataloader = dict(dataset={{_base_.oracle_dataset}})
optim_wrapper = {{_base_.baseline_optim_wrapper}}
