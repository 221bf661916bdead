"""AdaptSegNet discriminator: layout, output shape and clear errors."""
import pytest
import torch
import torch.nn as nn
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from rsseg.models.discriminators import AdaptSegDiscriminator


class TestAdaptSegDiscriminator:

    @pytest.mark.parametrize('num_convs,size', [(3, 48), (2, 12), (1, 8)])
    def test_output_shape(self, num_convs, size):
        disc = AdaptSegDiscriminator(in_channels=32, base_channels=8, num_convs=num_convs)
        out = disc(torch.rand(2, 32, size, size))
        expected = size
        for _ in range(num_convs):
            expected = expected // 2
        expected -= 2  # two stride-1 4×4 convs with padding 1
        assert out.shape == (2, 1, expected, expected)
        assert disc.output_size(size) == expected

    def test_layout(self):
        disc = AdaptSegDiscriminator(in_channels=2048, base_channels=64, num_convs=3)
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
        disc = MODELS.build(dict(type='AdaptSegDiscriminator', in_channels=4, num_convs=1))
        assert isinstance(disc, AdaptSegDiscriminator)

    def test_too_small_input(self):
        disc = AdaptSegDiscriminator(in_channels=4, base_channels=4, num_convs=3)
        with pytest.raises(ValueError, match='at least'):
            disc(torch.rand(1, 4, 8, 8))

    def test_wrong_channels(self):
        disc = AdaptSegDiscriminator(in_channels=4, base_channels=4, num_convs=1)
        with pytest.raises(ValueError, match='expects 4 input channels, got 5'):
            disc(torch.rand(1, 5, 8, 8))
