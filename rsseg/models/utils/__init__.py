"""Pure helpers: freezing, EMA arithmetic, pseudo-labels, joint optimizer updates."""
from .ema import copy_weights_, ema_decay, ema_momentum, ema_update_
from .module_utils import disable_dropout, freeze, set_requires_grad, unwrap
from .optim_utils import update_params_jointly
from .pseudo_label import confident_ratio, fuse_teacher_probs, make_pseudo_labels, pseudo_label_weights

__all__ = [
    'copy_weights_', 'ema_decay', 'ema_momentum', 'ema_update_', 'disable_dropout', 'freeze', 'set_requires_grad',
    'unwrap', 'update_params_jointly', 'confident_ratio', 'fuse_teacher_probs', 'make_pseudo_labels',
    'pseudo_label_weights'
]

from .classmix import ClassMixResult, classmix, classmix_masks, num_mixed_classes  # noqa: E402  (DACS baseline)

__all__ += ['ClassMixResult', 'classmix', 'classmix_masks', 'num_mixed_classes']
