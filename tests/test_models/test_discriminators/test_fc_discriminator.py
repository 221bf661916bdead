"""FCDiscriminator: layout, output shape, AdaptSegNet's reference shape (last_stride=2) and clear errors."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from rsseg.models.discriminators import FCDiscriminator


class TestFCDiscriminator:

    @pytest.mark.parametrize('num_convs,size', [(3, 48), (2, 12), (1, 8)])
    def test_output_shape(self, num_convs, size):
        disc = FCDiscriminator(in_channels=32, base_channels=8, num_convs=num_convs)
        out = disc(torch.rand(2, 32, size, size))
        expected = size
        for _ in range(num_convs):
            expected = expected // 2
        expected -= 2  # two stride-1 4×4 convs with padding 1
        assert out.shape == (2, 1, expected, expected)
        assert disc.output_size(size) == expected

    def test_layout(self):
        disc = FCDiscriminator(in_channels=2048, base_channels=64, num_convs=3)
        convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
        assert [c.kernel_size for c in convs] == [(4, 4)] * 5
        assert [c.stride for c in convs] == [(2, 2)] * 3 + [(1, 1)] * 2
        assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
        norms = [m for m in disc.modules() if isinstance(m, nn.InstanceNorm2d)]
        assert len(norms) == 3  # after every conv but the first and the last
        acts = [m for m in disc.modules() if isinstance(m, nn.LeakyReLU)]
        assert len(acts) == 4 and all(a.negative_slope == 0.2 for a in acts)
        assert disc.layers[0].norm_cfg is None

    def test_registered(self):
        init_default_scope('mmseg')
        disc = MODELS.build(dict(type='FCDiscriminator', in_channels=4, num_convs=1))
        assert isinstance(disc, FCDiscriminator)

    def test_too_small_input(self):
        disc = FCDiscriminator(in_channels=4, base_channels=4, num_convs=3)
        with pytest.raises(ValueError, match='at least'):
            disc(torch.rand(1, 4, 8, 8))

    def test_wrong_channels(self):
        disc = FCDiscriminator(in_channels=4, base_channels=4, num_convs=1)
        with pytest.raises(ValueError, match='expects 4 input channels, got 5'):
            disc(torch.rand(1, 5, 8, 8))


REPO = Path(__file__).resolve().parents[3]


def _reference_fc_discriminator(num_classes: int, ndf: int = 64) -> nn.Sequential:
    """AdaptSegNet's ``FCDiscriminator`` written out: conv1..conv4 and the classifier, all 4×4 stride 2 padding 1,
    LeakyReLU(0.2) after every conv but the classifier."""
    chans = [num_classes, ndf, ndf * 2, ndf * 4, ndf * 8]
    layers = []
    for cin, cout in zip(chans[:-1], chans[1:]):
        layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Conv2d(ndf * 8, 1, 4, stride=2, padding=1))


class TestReferenceShape:
    """``last_stride=2`` is AdaptSegNet's FCDiscriminator; the default stays ST-DASegNet's stride-1 tail."""

    def _reference(self, num_classes: int = 6) -> FCDiscriminator:
        return FCDiscriminator(in_channels=num_classes, base_channels=64, num_convs=3, last_stride=2,
                                     norm_cfg=None)

    def test_layout_is_fc_discriminator(self):
        convs = [m for m in self._reference().modules() if isinstance(m, nn.Conv2d)]
        assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
        assert [c.in_channels for c in convs] == [6, 64, 128, 256, 512]
        assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) and c.padding == (1, 1) for c in convs)
        assert not any(isinstance(m, (nn.InstanceNorm2d, nn.BatchNorm2d)) for m in self._reference().modules())

    def test_same_function_as_fc_discriminator(self):
        disc, ref = self._reference(), _reference_fc_discriminator(6)
        ours = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
        theirs = [m for m in ref.modules() if isinstance(m, nn.Conv2d)]
        for a, b in zip(ours, theirs):
            b.load_state_dict(a.state_dict())
        x = torch.rand(1, 6, 64, 64)
        assert torch.allclose(disc(x), ref(x), atol=1e-6)

    def test_output_is_one_32nd(self):
        disc = self._reference()
        assert disc(torch.rand(1, 6, 384, 384)).shape == (1, 1, 12, 12)
        assert disc.output_size(384) == 12 and disc.output_size(512) == 16
        assert disc.min_input_size() == 32  # five halvings: 32 → 1
        assert disc(torch.rand(1, 6, 32, 32)).shape == (1, 1, 1, 1)
        with pytest.raises(ValueError, match='last_stride=2'):
            disc(torch.rand(1, 6, 31, 31))

    def test_default_tail_unchanged(self):
        disc = FCDiscriminator(in_channels=2048, base_channels=64, num_convs=3)
        assert disc.last_stride == 1
        assert disc(torch.rand(1, 2048, 48, 48)).shape == (1, 1, 4, 4)  # 48 / 8 - 2

    def test_bad_last_stride(self):
        with pytest.raises(ValueError, match='last_stride'):
            FCDiscriminator(in_channels=4, last_stride=3)

    def test_adaptseg_config_builds_reference(self):
        cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'models' / 'adaptseg_deeplabv3plus-r50-d8.py'))
        init_default_scope('mmseg')
        disc = MODELS.build(dict(cfg.model.discriminator, in_channels=6))
        convs = [m for m in disc.modules() if isinstance(m, nn.Conv2d)]
        assert [(c.out_channels, c.stride) for c in convs] == [(64, (2, 2)), (128, (2, 2)), (256, (2, 2)),
                                                               (512, (2, 2)), (1, (2, 2))]
        assert disc.output_size(384) == 12

    @pytest.mark.parametrize('base', ['stdaseg_r50-d8.py', 'stdaseg_r18-tiny.py', 'stdaseg_mit-b5.py'])
    def test_stdaseg_discriminators_keep_stride_one_tail(self, base):
        cfg = Config.fromfile(str(REPO / 'configs' / '_base_' / 'models' / base))
        assert cfg.discriminator.get('last_stride', 1) == 1
