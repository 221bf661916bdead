"""Small shared helpers: safe checkpoint loading, CLI error handling."""
from .checkpoint import (CheckpointRefusedError, check_checkpoint_matches, install_safe_checkpoint_loading,
                         safe_torch_load)
from .cli import fail, run_cli

__all__ = ['CheckpointRefusedError', 'check_checkpoint_matches', 'install_safe_checkpoint_loading', 'safe_torch_load',
           'fail', 'run_cli']
