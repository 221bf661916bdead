"""Aim an existing config at other data: the shared step of the demo and the adaptation-table runs."""
from typing import Optional

from mmengine.config import Config

from rsseg.formats.files import PathLike


def point(dataset: dict, manifest: PathLike, split: Optional[str], with_label: bool = True) -> None:
    """Aim a ``GeoChipDataset`` config at ``manifest`` (no preparer: the manifest exists)."""
    dataset.update(manifest=str(manifest), split=split, prepare=None, with_label=with_label)


def set_num_classes(node, n: int) -> None:
    """Set every ``num_classes`` in a nested (model) config."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'num_classes':
                node[key] = n
            else:
                set_num_classes(value, n)
    elif isinstance(node, list):
        for item in node:
            set_num_classes(item, n)


def retarget(cfg: Config, *, source: PathLike, target: PathLike, num_classes: int, iters: int, seed: int,
             work_dir: PathLike, val_split: str = 'val', test_split: str = 'test', oracle: bool = False,
             val_interval: Optional[int] = None, train_split: str = 'train') -> Config:
    """Point a source-only or UDA config at tiled manifests and set its schedule.

    Source-only configs train on ``source``'s ``train_split`` (on ``target``'s, with its labels, when ``oracle``);
    UDA configs (a paired train dataset with ``source``/``target``) train on both manifests' ``train_split`` chips,
    the target's without labels. Validation and test read the target's ``val_split`` / ``test_split``, which
    training never sees.
    """
    train = cfg.train_dataloader.dataset
    if 'source' in train:
        point(train.source, source, train_split)
        point(train.target, target, train_split, with_label=False)
    else:
        point(train, target if oracle else source, train_split)
    point(cfg.val_dataloader.dataset, target, val_split)
    point(cfg.test_dataloader.dataset, target, test_split)
    set_num_classes(cfg.model, num_classes)
    cfg.train_cfg.update(max_iters=iters, val_interval=val_interval or iters)
    groups = cfg.param_scheduler.values() if isinstance(cfg.param_scheduler, dict) else [cfg.param_scheduler]
    for group in groups:
        for scheduler in group if isinstance(group, list) else [group]:
            scheduler['end'] = iters
    cfg.default_hooks.checkpoint.update(interval=val_interval or iters)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = str(work_dir)
    return cfg


def log_target_labels(cfg: Config) -> Config:
    """Load the target's labels in a UDA config's training batches so pseudo-label accuracy can be logged.

    For benchmarks on labelled targets only: the paired dataset hands them over as ``gt_log_seg``, the segmentors log
    ``seg.tgt.pseudo_acc_gt`` from them and no loss reads them (``tests/test_models/test_segmentors/
    test_target_labels.py`` checks that losses and weights do not change with them).
    """
    cfg.train_dataloader.dataset.log_target_labels = True
    target = cfg.train_dataloader.dataset.target
    target.with_label = True
    pipeline = target.pipeline
    if not any(step['type'] == 'LoadRasterAnnotation' for step in pipeline):
        at = next(i for i, step in enumerate(pipeline) if step['type'] == 'LoadRasterImage') + 1
        pipeline.insert(at, dict(type='LoadRasterAnnotation'))
    return cfg
