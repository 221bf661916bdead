"""Pure helpers: freezing, EMA arithmetic, pseudo-labels, joint optimizer updates and gradient accumulation,
ClassMix and DACS's strong augmentation."""
from .ema import copy_weights_, ema_decay, ema_update_
from .module_utils import disable_dropout, freeze, set_requires_grad, unwrap
from .optim_utils import accumulative_counts, check_accumulative_counts, prepare_accumulation, update_params_jointly
from .pseudo_label import (
    confident_ratio,
    fuse_teacher_probs,
    ground_truth_agreement,
    make_pseudo_labels,
    pseudo_label_weights,
    unpadded_mask,
)

__all__ = [
    'copy_weights_', 'ema_decay', 'ema_update_', 'disable_dropout', 'freeze', 'set_requires_grad',
    'unwrap', 'accumulative_counts', 'check_accumulative_counts', 'prepare_accumulation', 'update_params_jointly',
    'confident_ratio', 'fuse_teacher_probs', 'ground_truth_agreement', 'make_pseudo_labels', 'pseudo_label_weights',
    'unpadded_mask'
]

from .classmix import ClassMixResult, classmix, classmix_masks, num_mixed_classes  # noqa: E402  (DACS baseline)

__all__ += ['ClassMixResult', 'classmix', 'classmix_masks', 'num_mixed_classes']

from .strong_aug import StrongAug, build_strong_aug, strong_augment  # noqa: E402  (DACS strong augmentation)

__all__ += ['StrongAug', 'build_strong_aug', 'strong_augment']
