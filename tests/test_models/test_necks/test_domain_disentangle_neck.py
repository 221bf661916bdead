"""The DDM: output shapes/channels for both backbone families, the attention maths, and clear channel errors."""
import pytest
import torch

from rsseg.models.necks import DistinctBlock, DomainDisentangleNeck, UniversalBlock, reduced_channels


def _features(channels, sizes, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(2, c, s, s, generator=g) for c, s in zip(channels, sizes)]


class TestDomainDisentangleNeck:

    @pytest.mark.parametrize('channels,sizes,last', [
        ([256, 512, 1024, 2048], [8, 4, 4, 4], 2048 + 256),  # ResNet-50 d8 (DeepLabV3+)
        ([64, 128, 320, 512], [8, 4, 2, 1], 512 + 64),  # MiT-b5 (SegFormer)
    ])
    def test_shapes_and_channels(self, channels, sizes, last):
        neck = DomainDisentangleNeck(in_channels=channels)
        x_s, x_t = _features(channels, sizes), _features(channels, sizes, seed=1)
        out_s, out_t = neck(x_s, x_t)
        assert len(out_s) == len(out_t) == 4
        expected = channels[:3] + [last]
        assert neck.out_channels == expected
        for o_s, o_t, x, c in zip(out_s, out_t, x_s, expected):
            assert o_s.shape == o_t.shape == (2, c, *x.shape[-2:])
        assert list(neck.universal) == ['3']

    def test_reduced_channels(self):
        assert [reduced_channels(c) for c in (2048, 512, 64, 16)] == [256, 64, 8, 8]
        assert reduced_channels(2048, min_channels=512) == 512

    def test_universal_on_every_stage(self):
        neck = DomainDisentangleNeck(in_channels=[8, 16], universal_stages=(0, 1))
        assert neck.out_channels == [16, 24]
        out_s, _ = neck(_features([8, 16], [4, 4]), _features([8, 16], [4, 4], 1))
        assert [o.shape[1] for o in out_s] == [16, 24]

    def test_distinct_stages_pass_others_through(self):
        neck = DomainDisentangleNeck(in_channels=[8, 16, 32, 64], distinct_stages=(0, 3))
        x_s, x_t = _features([8, 16, 32, 64], [8, 4, 4, 4]), _features([8, 16, 32, 64], [8, 4, 4, 4], 1)
        out_s, out_t = neck(x_s, x_t)
        assert out_s[1] is x_s[1] and out_t[2] is x_t[2]
        assert not torch.equal(out_s[0], x_s[0])
        assert sorted(neck.distinct) == ['0', '3'] and neck.stages_with_params == [0, 3]
        assert neck.out_channels == [8, 16, 32, 72]

    def test_channel_mismatch_names_stage(self):
        neck = DomainDisentangleNeck(in_channels=[8, 16, 32, 64])
        bad = _features([8, 16, 32, 48], [4, 4, 4, 4])
        with pytest.raises(ValueError, match=r'in_channels \[8, 16, 32, 64\] do not match .*\[8, 16, 32, 48\]'):
            neck(bad, bad)

    def test_stage_count_mismatch(self):
        neck = DomainDisentangleNeck(in_channels=[8, 16, 32, 64])
        x = _features([8, 16], [4, 4])
        with pytest.raises(ValueError, match='expects 4 stages'):
            neck(x, x)

    def test_bad_config(self):
        with pytest.raises(ValueError, match='list of stage channels'):
            DomainDisentangleNeck(in_channels=2048)
        with pytest.raises(ValueError, match='out of range'):
            DomainDisentangleNeck(in_channels=[8, 16], universal_stages=(2, ))

    def test_gradients_reach_both_branches(self):
        neck = DomainDisentangleNeck(in_channels=[8, 16])
        x_s = [f.requires_grad_() for f in _features([8, 16], [4, 4])]
        x_t = [f.requires_grad_() for f in _features([8, 16], [4, 4], 1)]
        out_s, out_t = neck(x_s, x_t)
        sum(o.sum() for o in out_s + out_t).backward()
        assert all(x.grad is not None and x.grad.abs().sum() > 0 for x in x_s + x_t)
        assert all(p.grad is not None for p in neck.parameters())


class TestDistinctBlock:

    def test_branch_attention_sums_to_one(self):
        block = DistinctBlock(8, 4)
        x_s, x_t = torch.rand(2, 8, 3, 3) + 0.1, torch.rand(2, 8, 3, 3) + 0.1
        o_s, o_t = block(x_s, x_t)
        v_s, v_t = o_s / x_s, o_t / x_t  # per-channel weights, constant over space
        assert torch.allclose(v_s + v_t, torch.ones_like(v_s), atol=1e-6)
        assert torch.allclose(v_s, v_s[..., :1, :1].expand_as(v_s), atol=1e-6)

    def test_matches_formula(self):
        block = DistinctBlock(4, 2)
        x_s, x_t = torch.rand(1, 4, 2, 2), torch.rand(1, 4, 2, 2)
        z = block.fc((x_s + x_t).mean(dim=(2, 3)))
        a = torch.softmax(torch.stack([block.fcs[0](z), block.fcs[1](z)]), dim=0)
        o_s, o_t = block(x_s, x_t)
        assert torch.allclose(o_s, x_s * a[0][..., None, None], atol=1e-6)
        assert torch.allclose(o_t, x_t * a[1][..., None, None], atol=1e-6)


class TestUniversalBlock:

    def test_matches_formula(self):
        torch.manual_seed(0)
        block = UniversalBlock(4, 2)
        x_s, x_t = torch.rand(1, 4, 3, 3), torch.rand(1, 4, 3, 3)
        z = block.conv((x_s + x_t) / 2)[0].reshape(4, -1)  # C × HW

        def attention(x):
            e = x[0].reshape(4, -1) @ z.T  # C × C channel affinity
            return torch.softmax(e.max(dim=1, keepdim=True).values - e, dim=1)

        att = (attention(x_s) + attention(x_t)) / 2
        ref_s = block.conv_s((att @ x_s[0].reshape(4, -1)).reshape(1, 4, 3, 3))
        ref_t = block.conv_t((att @ x_t[0].reshape(4, -1)).reshape(1, 4, 3, 3))
        u_s, u_t = block(x_s, x_t)
        assert u_s.shape == (1, 2, 3, 3)
        assert torch.allclose(u_s, ref_s, atol=1e-5)
        assert torch.allclose(u_t, ref_t, atol=1e-5)

    def test_affinity_in_float32_under_autocast(self):
        """Large features overflow float16 affinities; the block keeps them in float32 under AMP."""
        block = UniversalBlock(8, 2)
        x = torch.rand(1, 8, 16, 16) * 200
        with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
            u_s, u_t = block(x, x)
        assert torch.isfinite(u_s.float()).all() and torch.isfinite(u_t.float()).all()
