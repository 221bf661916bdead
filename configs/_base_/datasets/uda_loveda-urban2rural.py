# UDA LoveDA Urban → Rural; pipelines, dataloaders and evaluator in uda_common.py.
# Classes (manifest order): background, building, road, water, barren, forest, agriculture.
_base_ = ['./uda_common.py']
data_root = 'data'
source_manifest = data_root + '/loveda-urban/manifest.json'
target_manifest = data_root + '/loveda-rural/manifest.json'
num_classes = 7
# Reference (ST-DASegNet U2R configs) per-class weights: decoder CE and pseudo-label class balancing.
ce_class_weight = [1.0, 1.25, 1.25, 1.0, 1.5, 1.5, 1.25]
pseudo_class_weight = [1.01, 1.51, 1.51, 1.01, 2.01, 2.01, 1.51]
# Point every inherited dataset dict (copies resolved in uda_common.py) at this setting's manifests.
source_train = source_only_dataset = dict(manifest=source_manifest)
target_train = target_val = target_test = oracle_dataset = dict(manifest=target_manifest)
train_dataloader = dict(dataset=dict(source=source_train, target=target_train))
val_dataloader = test_dataloader = dict(dataset=target_val)
