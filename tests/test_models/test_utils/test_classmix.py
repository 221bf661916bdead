"""ClassMix (DACS): which classes are pasted, and that mixed image, label and weight agree pixel by pixel."""
import pytest
import torch

from rsseg.models.utils import classmix, classmix_masks, num_mixed_classes
from rsseg.models.utils.classmix import choose_classes, mix, present_classes

IGNORE = 255


def _batch(seed: int = 0, n: int = 3, h: int = 12, w: int = 10):
    """Source labels with 4, 3 and 1 classes (+ ignored pixels); images that differ everywhere between domains."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.stack([
        torch.randint(0, 4, (h, w), generator=g),          # classes 0-3
        torch.randint(0, 3, (h, w), generator=g) * 2 + 1,  # classes 1, 3, 5
        torch.full((h, w), 2),                             # one class
    ][:n])
    labels[0, :2] = IGNORE
    labels[1, :, :3] = IGNORE
    src = torch.rand(n, 3, h, w, generator=g) + 1.0    # in [1, 2)
    tgt = -torch.rand(n, 3, h, w, generator=g) - 1.0   # in (-2, -1]
    pseudo = torch.randint(0, 6, (n, h, w), generator=g)
    weights = torch.tensor([0.25, 0.5, 0.75])[:n].view(n, 1, 1).expand(n, h, w).clone()
    return src, labels, tgt, pseudo, weights


class TestClassChoice:

    @pytest.mark.parametrize('present,chosen', [(0, 0), (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4)])
    def test_half_rounded_up(self, present, chosen):
        assert num_mixed_classes(present) == chosen  # DACS: (n + n % 2) / 2

    def test_ignore_is_not_a_class(self):
        label = torch.tensor([[0, 3, IGNORE], [3, 3, IGNORE]])
        assert present_classes(label, IGNORE).tolist() == [0, 3]
        for seed in range(20):
            chosen = choose_classes(label, IGNORE, torch.Generator().manual_seed(seed))
            assert chosen.numel() == 1 and int(chosen) in (0, 3)

    def test_all_ignored_pastes_nothing(self):
        masks, chosen = classmix_masks(torch.full((1, 4, 4), IGNORE))
        assert chosen[0].numel() == 0 and not masks.any()

    def test_choice_is_random_and_covers_every_class(self):
        label = torch.arange(6).view(2, 3)
        seen = set()
        subsets = set()
        for seed in range(40):
            chosen = choose_classes(label, IGNORE, torch.Generator().manual_seed(seed))
            assert chosen.numel() == 3 and len(set(chosen.tolist())) == 3  # distinct classes
            seen |= set(chosen.tolist())
            subsets.add(tuple(sorted(chosen.tolist())))
        assert seen == set(range(6))
        assert len(subsets) > 5  # not a fixed "first half"

    def test_global_rng_is_seedable(self):
        label = torch.arange(8).view(2, 4)
        torch.manual_seed(3)
        a = choose_classes(label)
        torch.manual_seed(3)
        assert torch.equal(a, choose_classes(label))


class TestClassMix:

    @pytest.mark.parametrize('seed', range(5))
    def test_mixed_label_follows_mixed_image(self, seed):
        src, labels, tgt, pseudo, weights = _batch(seed)
        out = classmix(src, labels, tgt, pseudo, weights, ignore_index=IGNORE,
                       generator=torch.Generator().manual_seed(seed))
        from_source = (out.inputs == src).all(dim=1)   # pixel (all bands) taken from the source image
        from_target = (out.inputs == tgt).all(dim=1)
        assert torch.equal(from_source, ~from_target)  # every pixel comes from exactly one image
        assert torch.equal(from_source, out.masks)
        assert torch.equal(out.labels[from_source], labels[from_source])
        assert torch.equal(out.labels[~from_source], pseudo[~from_source])
        assert torch.equal(out.weights[from_source], torch.ones(int(from_source.sum())))  # pasted: weight 1
        assert torch.equal(out.weights[~from_source], weights[~from_source])

    @pytest.mark.parametrize('seed', range(5))
    def test_pasted_pixels_are_exactly_the_chosen_classes(self, seed):
        src, labels, tgt, pseudo, weights = _batch(seed)
        out = classmix(src, labels, tgt, pseudo, weights, ignore_index=IGNORE,
                       generator=torch.Generator().manual_seed(seed))
        for i, expected_count in enumerate([2, 2, 1]):  # 4 classes → 2, 3 → 2, 1 → 1
            chosen = set(out.classes[i].tolist())
            present = set(present_classes(labels[i], IGNORE).tolist())
            assert len(chosen) == expected_count and chosen <= present
            in_chosen = torch.tensor([[int(v) in chosen for v in row] for row in labels[i]])
            assert torch.equal(out.masks[i], in_chosen)
            assert not out.masks[i][labels[i] == IGNORE].any()

    def test_label_with_channel_axis_and_dtypes(self):
        src, labels, tgt, pseudo, weights = _batch()
        out = classmix(src, labels[:, None].to(torch.uint8), tgt, pseudo, weights, ignore_index=IGNORE,
                       generator=torch.Generator().manual_seed(0))
        assert out.inputs.shape == src.shape and out.labels.shape == labels.shape
        assert out.labels.dtype == torch.int64 and out.masks.dtype == torch.bool

    def test_size_mismatch_is_named(self):
        src, labels, tgt, pseudo, weights = _batch()
        with pytest.raises(ValueError, match=r'cannot mix source \(3, 3, 12, 10\) with target \(3, 3, 12, 8\)'):
            classmix(src, labels, tgt[..., :8], pseudo, weights)

    def test_mix_broadcasts_mask_over_bands(self):
        masks = torch.tensor([[[True, False]]])
        out = mix(masks, torch.ones(1, 4, 1, 2), torch.zeros(1, 4, 1, 2))
        assert out[0, :, 0, 0].tolist() == [1.0] * 4 and out[0, :, 0, 1].tolist() == [0.0] * 4
