"""rsseg as an mmseg plugin: registers rsseg's modules into mmseg's registries and keeps checkpoint loading safe.

Configs load it with ``custom_imports = dict(imports=['rsseg.plugin'], allow_failed_imports=False)`` (in
``configs/_base_/default_runtime.py``, which every config inherits). rsseg's tools, :mod:`rsseg.apis.runner` and the
scene predictor import it explicitly, so torch's safe (``weights_only``) unpickler is on wherever rsseg loads a
checkpoint: local files (:func:`~rsseg.utils.checkpoint.install_safe_checkpoint_loading`), downloads and packaged
starts (:func:`~rsseg.utils.pretrained.install_start_loaders`).

``import rsseg`` alone does neither: it stays light, so the raster layer (:mod:`rsseg.geo`) and the tiler run without
torch.
"""
from rsseg import datasets, engine, evaluation, models  # noqa: F401  (registration side effects)
from rsseg.utils.checkpoint import install_safe_checkpoint_loading
from rsseg.utils.pretrained import install_start_loaders

install_safe_checkpoint_loading()
install_start_loaders()
