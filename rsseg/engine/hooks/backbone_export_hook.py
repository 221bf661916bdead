"""Write a self-supervised model's backbone as a checkpoint segmentation configs start from."""
import os.path as osp
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from rsseg.formats.files import atomic_output
from rsseg.models.utils import unwrap


@HOOKS.register_module()
class BackboneExportHook(Hook):
    """After training (and with every checkpoint), write ``WORK_DIR/backbone.pth``.

    The file holds ``{'state_dict': <the backbone's own keys>, 'meta': ...}``, so a segmentation config loads it with
    ``backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint='WORK_DIR/backbone.pth'))`` and no prefix.
    ``meta`` records the method, iterations, band count, the input mean/std (a segmentation config must normalise the
    same way) and the manifests the chips came from. Written to a temporary name and renamed: never half-written.

    Args:
        filename: File name inside the work dir.
    """

    priority = 'VERY_LOW'

    def __init__(self, filename: str = 'backbone.pth') -> None:
        self.filename = filename

    def export(self, runner) -> str:
        """Write the file now; returns its path."""
        model = unwrap(runner.model)
        dataset = runner.train_dataloader.dataset
        meta = dict(method=type(model).__name__, iterations=runner.iter, bands=int(model.bands),
                    mean=model.mean.flatten().tolist(), std=model.std.flatten().tolist(),
                    backbone=type(model.backbone).__name__, manifests=list(getattr(dataset, 'manifests', [])),
                    note='pretrained without labels; normalise inputs in [0, 1] with mean/std above')
        state = {k: v.detach().cpu() for k, v in model.backbone.state_dict().items()}
        path = osp.join(runner.work_dir, self.filename)
        with atomic_output(path) as tmp:
            torch.save({'state_dict': state, 'meta': meta}, tmp)
        return path

    def after_save_checkpoint(self, runner, checkpoint: Optional[dict] = None) -> None:
        self.export(runner)

    def after_train(self, runner) -> None:
        runner.logger.info(f'backbone written to {self.export(runner)}')
