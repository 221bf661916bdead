# UDA on the bundled Dubai example: each labelled Tile 1 chip (source_train) paired with a random unlabelled Tile 2
# chip (target_train); validation / test on Tile 2's held-out val / test images (labels for evaluation only).
_base_ = ['./dubai-demo.py']
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_delete_=True, type='PairedDomainDataset', source={{_base_.source_train}},
                 target={{_base_.target_train}}))
