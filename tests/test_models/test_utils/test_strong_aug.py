"""DACS strong augmentation (colour jitter + Gaussian blur): what changes at p=1 and nothing at p=0, seeded
reproducibility, work in de-normalised space, band handling, and the colour/blur maths against references."""
import colorsys

import pytest
import torch
import torch.nn.functional as F

import rsseg.models.utils.strong_aug as sa
from rsseg.models.utils import StrongAug, build_strong_aug, strong_augment

MEAN = torch.tensor([0.5, 0.4, 0.3]).view(3, 1, 1)
STD = torch.tensor([0.2, 0.25, 0.3]).view(3, 1, 1)


def _stats(bands: int = 3):
    """Per-band mean/std: MEAN/STD for 3 bands, their first value repeated otherwise."""
    return (MEAN, STD) if bands == 3 else (MEAN[:1].expand(bands, 1, 1), STD[:1].expand(bands, 1, 1))


def _normalised(n: int = 4, bands: int = 3, size: int = 32, seed: int = 0) -> torch.Tensor:
    raw = torch.rand(n, bands, size, size, generator=torch.Generator().manual_seed(seed))
    mean, std = _stats(bands)
    return (raw - mean) / std


def _aug(**kw) -> StrongAug:
    """Both augmentations off unless ``kw`` turns them on."""
    cfg = dict(color_jitter=0.2, color_jitter_p=0.0, blur=True, blur_p=0.0)
    cfg.update(kw)
    return build_strong_aug(cfg)


class TestStrongAugment:

    @pytest.mark.parametrize('kw', [dict(color_jitter_p=1.0), dict(blur_p=1.0), dict(color_jitter_p=1.0, blur_p=1.0)])
    def test_p1_changes_every_image(self, kw):
        x = _normalised()
        torch.manual_seed(0)
        out = strong_augment(x, MEAN, STD, _aug(**kw))
        assert all(not torch.allclose(o, i) for o, i in zip(out, x))

    def test_p0_leaves_images_unchanged(self):
        x = _normalised()
        assert torch.equal(strong_augment(x, MEAN, STD, _aug()), x)
        assert torch.equal(strong_augment(x, MEAN, STD, _aug(color_jitter=0.0, color_jitter_p=1.0, blur=False,
                                                                  blur_p=1.0)), x)

    def test_unchosen_images_bit_identical(self):
        x = _normalised(n=8)
        torch.manual_seed(3)
        out = strong_augment(x, MEAN, STD, _aug(color_jitter_p=0.5))
        same = [torch.equal(o, i) for o, i in zip(out, x)]
        assert any(same) and not all(same), same  # seed 3 jitters some of the 8 images

    def test_reproducible_under_seed(self):
        x, aug = _normalised(), _aug(color_jitter_p=1.0, blur_p=1.0)
        runs = []
        for seed in (0, 0, 1):
            torch.manual_seed(seed)
            runs.append(strong_augment(x, MEAN, STD, aug))
        assert torch.equal(runs[0], runs[1]) and not torch.allclose(runs[0], runs[2])
        g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
        assert torch.equal(strong_augment(x, MEAN, STD, aug, g1), strong_augment(x, MEAN, STD, aug, g2))

    @pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
    def test_shape_dtype_preserved(self, dtype):
        x = _normalised(n=2, size=24).to(dtype)
        out = strong_augment(x, MEAN, STD, _aug(color_jitter_p=1.0, blur_p=1.0))
        assert out.shape == x.shape and out.dtype == dtype and out.device == x.device

    def test_blur_in_denormalised_space_with_per_pixel_stats(self):
        # a constant raw image normalised with per-pixel stats: blurring the raw image changes nothing
        mean = torch.rand(2, 3, 32, 32) * 0.5
        std = torch.rand(2, 3, 32, 32) * 0.5 + 0.1
        x = (torch.full((2, 3, 32, 32), 0.6) - mean) / std
        out = strong_augment(x, mean, std, _aug(blur_p=1.0))
        assert torch.allclose(out * std + mean, torch.full_like(x, 0.6), atol=1e-5)

    @pytest.mark.parametrize('level,low,high', [(1.0, 0.8 * 0.8, 1.0), (0.5, 0.2, 0.84)])
    def test_jitter_in_unit_range(self, level, low, high):
        # grey images de-normalised with max_value (255 here) to [0, 1]: brightness ±0.2 and contrast ×[0.8, 1.2]
        # (saturation and hue leave grey alone) keep them within [low, high]; white is clamped at 1 (255)
        mean, std = MEAN * 255, STD * 255
        x = (torch.full((6, 3, 16, 16), 255.0 * level) - mean) / std
        torch.manual_seed(0)
        out = strong_augment(x, mean, std, _aug(color_jitter_p=1.0, max_value=255.0)) * std + mean
        assert 255.0 * low - 1e-3 <= out.min() and out.max() <= 255.0 * high + 1e-3

    def test_non_rgb_gets_brightness_and_contrast_only(self, monkeypatch):
        called = []
        for name in ('adjust_saturation', 'adjust_hue'):
            real = getattr(sa, name)
            monkeypatch.setattr(sa, name, lambda x, f, real=real, name=name: called.append(name) or real(x, f))
        mean, std = _stats(4)
        x4 = _normalised(bands=4)
        out = strong_augment(x4, mean, std, _aug(color_jitter_p=1.0))
        assert not called and not torch.allclose(out, x4)
        strong_augment(_normalised(), MEAN, STD, _aug(color_jitter_p=1.0))
        assert sorted(called) == ['adjust_hue', 'adjust_saturation']


class TestColourMaths:

    def test_hsv_matches_colorsys_and_round_trips(self):
        x = torch.rand(2, 3, 5, 6, dtype=torch.float64)
        hsv = sa.rgb_to_hsv(x)
        for n, i, j in [(0, 0, 0), (1, 4, 5), (0, 2, 3)]:
            assert hsv[n, :, i, j].tolist() == pytest.approx(colorsys.rgb_to_hsv(*x[n, :, i, j].tolist()))
        assert torch.allclose(sa.hsv_to_rgb(hsv), x, atol=1e-9)

    def test_hue_third_turn_maps_red_to_green(self):
        red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
        assert torch.allclose(sa.adjust_hue(red, torch.tensor([1 / 3])).flatten(), torch.tensor([0.0, 1.0, 0.0]),
                              atol=1e-6)

    def test_saturation_zero_is_grey_and_brightness_contrast(self):
        x = torch.rand(2, 3, 4, 4)
        grey = sa.adjust_saturation(x, torch.zeros(2))
        assert torch.allclose(grey, x.max(dim=1, keepdim=True).values.expand_as(x), atol=1e-6)  # HSV: s=0 → v
        half = sa.rgb_to_hsv(sa.adjust_saturation(x, torch.full((2, ), 0.5)))
        assert torch.allclose(half[:, 1], sa.rgb_to_hsv(x)[:, 1] * 0.5, atol=1e-5)
        assert torch.allclose(sa.adjust_brightness(x, torch.tensor([0.1, -0.1])),
                              (x + torch.tensor([0.1, -0.1]).view(2, 1, 1, 1)).clamp(0, 1))
        assert torch.allclose(sa.adjust_contrast(x, torch.tensor([1.2, 0.8])),
                              (x * torch.tensor([1.2, 0.8]).view(2, 1, 1, 1)).clamp(0, 1))


class TestBlur:

    @pytest.mark.parametrize('size,k', [(384, 39), (512, 51), (128, 13), (64, 7), (20, 1), (10, 1)])
    def test_daformer_kernel_size(self, size, k):
        assert sa.blur_kernel_size(size) == k

    def test_separable_blur_equals_dense_reference(self):
        x = torch.rand(2, 3, 40, 30, dtype=torch.float64)
        sigma = torch.tensor([0.5, 1.1], dtype=torch.float64)
        out = sa.gaussian_blur(x, sigma)
        ky, kx = sa.blur_kernel_size(40), sa.blur_kernel_size(30)
        for i in range(2):
            gy = torch.exp(-(torch.arange(ky, dtype=x.dtype) - ky // 2)**2 / (2 * sigma[i]**2))
            gx = torch.exp(-(torch.arange(kx, dtype=x.dtype) - kx // 2)**2 / (2 * sigma[i]**2))
            kernel = torch.outer(gy / gy.sum(), gx / gx.sum()).expand(3, 1, ky, kx)
            padded = F.pad(x[i:i + 1], (kx // 2, kx // 2, ky // 2, ky // 2), mode='reflect')
            assert torch.allclose(out[i:i + 1], F.conv2d(padded, kernel, groups=3), atol=1e-12)


class TestBuild:

    def test_defaults_are_daformer(self):
        aug = build_strong_aug({})
        assert (aug.color_jitter, aug.color_jitter_p, aug.blur, aug.blur_p, aug.blur_sigma) == \
            (0.2, 0.8, True, 0.5, (0.15, 1.15))
        assert build_strong_aug(None) is None

    @pytest.mark.parametrize('cfg,match', [(dict(colour=0.2), 'unknown key'), (dict(color_jitter_p=1.5), 'not in'),
                                           (dict(color_jitter=0.6), 'half a turn'),
                                           (dict(blur_sigma=(1.0, 0.5)), 'blur_sigma'),
                                           (dict(max_value=0), 'max_value')])
    def test_bad_config(self, cfg, match):
        with pytest.raises(ValueError, match=match):
            build_strong_aug(cfg)
