# UDA Potsdam RGB → Vaihingen IRRG (sensor and site shift); pipelines, dataloaders and evaluator in uda_common.py.
# Classes (manifest order): impervious surface, building, low vegetation, tree, car, clutter.
_base_ = ['./uda_common.py']
data_root = 'data'
source_manifest = data_root + '/potsdam-rgb/manifest.json'
target_manifest = data_root + '/vaihingen-irrg/manifest.json'
num_classes = 6
# Reference (ST-DASegNet) per-class weights: decoder CE and pseudo-label class balancing.
ce_class_weight = [1.0, 1.0, 1.0, 1.25, 1.5, 1.5]
pseudo_class_weight = [1.01, 1.01, 1.51, 1.51, 2.01, 2.01]
# Point every inherited dataset dict (copies resolved in uda_common.py) at this setting's manifests.
source_train = source_only_dataset = dict(manifest=source_manifest)
target_train = target_val = target_test = oracle_dataset = dict(manifest=target_manifest)
train_dataloader = dict(dataset=dict(source=source_train, target=target_train))
val_dataloader = test_dataloader = dict(dataset=target_val)
