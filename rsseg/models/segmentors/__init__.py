"""Segmentors: ST-DASegNet, the classic UDA baselines and their shared pieces."""
from .ema_teacher_mixin import EMATeacherMixin
from .st_da_segmentor import STDASegmentor, spatial_softmax

__all__ = ['EMATeacherMixin', 'STDASegmentor', 'spatial_softmax']

# Classic UDA baselines (issue 7).
from .adaptseg_segmentor import AdaptSegSegmentor  # noqa: E402
from .dacs_segmentor import DACSSegmentor, confident_share_weights  # noqa: E402
from .uda_encoder_decoder import UDAEncoderDecoder  # noqa: E402

__all__ += ['AdaptSegSegmentor', 'DACSSegmentor', 'UDAEncoderDecoder', 'confident_share_weights']
