"""rsseg: domain-adaptive remote-sensing segmentation for MMSegmentation 1.x.

Importing the package registers every rsseg module into mmseg's registries (configs load it with
``custom_imports = dict(imports=['rsseg'], allow_failed_imports=False)``) and installs the safe checkpoint loader
(local files, downloads and packaged starts).
"""
from .utils.checkpoint import install_safe_checkpoint_loading
from .utils.pretrained import install_start_loaders
from .version import __version__

install_safe_checkpoint_loading()
install_start_loaders()

from . import datasets, engine, evaluation, models  # noqa: E402,F401  (registration side effects)

__all__ = ['__version__']
