"""Checks a config must pass before a run starts: mistakes that would otherwise surface mid-training or never.

Each check raises one ValueError / FileNotFoundError whose message names the config file, the key and the fix.
"""
import os.path as osp
from typing import Any, List, Optional

from mmengine.config import Config

from rsseg.formats.manifest import Manifest

from .config_tree import walk_dicts
from .pretrained import check_start_bands, fetch_pretrained, pretrained_refs


def model_num_classes(cfg: Config) -> List[int]:
    """The distinct ``num_classes`` of the model's heads."""
    return sorted({d['num_classes'] for _, d in walk_dicts(cfg.model.to_dict(), 'model')
                   if isinstance(d.get('num_classes'), int)})


def check_class_weights(cfg: Config, path: str) -> None:
    """Every ``class_weight`` list in the model has one value per class of the head it belongs to.

    A weight list inside a head (its ``loss_decode``) is checked against that head's ``num_classes``; one outside
    any head (ST-DASegNet's ``pseudo_label``) against the model's, when all heads agree.
    """
    classes = model_num_classes(cfg)
    default = classes[0] if len(classes) == 1 else None
    _check_weights(cfg.model.to_dict(), 'model', default, path)


def _check_weights(node: Any, key: str, num_classes: Optional[int], path: str) -> None:
    if isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            _check_weights(v, f'{key}[{i}]', num_classes, path)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get('num_classes'), int):
        num_classes = node['num_classes']
    weights = node.get('class_weight')
    if isinstance(weights, (list, tuple)) and num_classes is not None and len(weights) != num_classes:
        raise ValueError(f'{path}: {key}.class_weight has {len(weights)} values but the model has {num_classes} '
                         "classes; give one weight per class (in the manifest's class order) or None")
    for k, v in node.items():
        _check_weights(v, f'{key}.{k}', num_classes, path)


def check_pretrained(cfg: Config, path: str) -> None:
    """Every pretrained start exists locally or can be fetched into the cache now, before the run starts."""
    for key, checkpoint in pretrained_refs(cfg.model.to_dict()):
        try:
            fetch_pretrained(checkpoint)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f'{path}: {key}: {exc}') from None
    check_start_bands(cfg.model.to_dict(), path)


def check_manifests(cfg: Config, path: str) -> None:
    """Every manifest a dataloader reads has as many classes as the model predicts and chips in its split(s).

    An empty evaluation split would otherwise surface only when the run validates or, for ``test``, after training.
    """
    classes = model_num_classes(cfg)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for key, node in walk_dicts((cfg.get(name) or {}), name):
            manifest = node.get('manifest')
            if not isinstance(manifest, str) or not osp.isfile(manifest):
                continue
            loaded = Manifest.load(manifest)
            found = len(loaded.classes)
            if len(classes) == 1 and found != classes[0] and node.get('with_label') is not False:
                raise ValueError(f'{path}: {key}.manifest {manifest} has {found} classes but the model predicts '
                                 f'{classes[0]}; set num_classes (and the class weights) to {found} or point the '
                                 'dataset at the right manifest')
            split = node.get('split')
            if split is not None and not loaded.select(split):
                counts = ', '.join(f'{k} {v}' for k, v in sorted(loaded.split_counts().items())) or 'none'
                raise ValueError(f'{path}: {key}.split {split!r} has no chips in {manifest} (chips per split: '
                                 f'{counts}); convert the dataset with --protocol holdout (a labelled test split) or '
                                 "evaluate on split ['val', 'test'] (the reference protocol)")


def check_before_training(cfg: Config, path: str) -> None:
    """All checks of this module, in order of how cheap they are."""
    check_class_weights(cfg, path)
    check_manifests(cfg, path)
    check_pretrained(cfg, path)

