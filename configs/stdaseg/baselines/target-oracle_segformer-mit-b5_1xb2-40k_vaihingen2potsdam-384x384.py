# Target-oracle baseline for ST-DASegNet's SegFormer MiT-b5 Vaihingen IRRG → Potsdam IRRG config:
# one SegFormer MiT-b5 trained on the labelled target train chips (an upper bound), evaluated on the same target
# val/test splits with the same crops, schedule and optimizer.
_base_ = [
    '../../_base_/models/stdaseg_baseline_segformer-mit-b5.py',
    '../../_base_/datasets/uda_vaihingen2potsdam.py',
    '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_40k_adv-adamw.py',
]
crop_size = (384, 384)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes={{_base_.num_classes}},
                     # as ST-DASegNet's SegFormer V2P decoders (the reference's weights for that config)
                     loss_decode=dict(class_weight=[1.0, 1.0, 1.25, 1.25, 1.5, 1.5])))
train_dataloader = dict(dataset={{_base_.oracle_dataset}})
optim_wrapper = {{_base_.baseline_optim_wrapper}}
