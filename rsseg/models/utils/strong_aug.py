"""DACS's strong augmentation of the mixed images (colour jitter + Gaussian blur) as batched torch functions.

The semantics follow DAFormer's ``dacs_transforms`` (kornia 0.5 ``ColorJitter``, i.e. today's ``ColorJiggle``, and
``GaussianBlur2d``), written without kornia/torchvision:

* the images are de-normalised with the preprocessor's mean/std to ``[0, 1]``, jittered, clamped after every
  operation, then normalised again with the same mean/std;
* colour jitter of strength ``s``: brightness ``+ U(-s, s)`` (kornia adds ``factor - 1``), contrast ``× U(1-s, 1+s)``,
  saturation ``× U(1-s, 1+s)`` and hue ``+ U(-s, s)`` turns (both in HSV), in one random order per batch, with
  factors drawn per image;
* Gaussian blur with ``σ ~ U(0.15, 1.15)`` per image, an odd kernel of about a tenth of the image side
  (:func:`blur_kernel_size`), reflected borders.

Band-agnostic: saturation and hue are defined for 3-band images only (treated as RGB; for IRRG that jitters the
false colours). Images with another number of bands get brightness and contrast only (DAFormer skips both jitter and
blur for them); blur works on any band count.

Randomness comes from the global torch RNG (seeded by mmengine's ``randomness.seed``) or a given CPU generator.
"""
import math
from typing import Callable, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

RGB_BANDS = 3


class StrongAug(NamedTuple):
    """Parameters of :func:`strong_augment`.

    Attributes:
        color_jitter: Jitter strength ``s`` (DAFormer: 0.2); 0 disables the jitter.
        color_jitter_p: Probability that an image is jittered. DAFormer's ``color_jitter_probability=0.2`` is a
            threshold (it jitters when ``uniform(0, 1) > 0.2``), i.e. ``color_jitter_p=0.8`` here.
        blur: Whether to blur.
        blur_p: Probability that an image is blurred (DAFormer: 0.5).
        blur_sigma: Range of the per-image Gaussian sigma in pixels (DAFormer: 0.15 to 1.15).
        max_value: Value of full intensity after de-normalisation: 1.0 for rsseg's ``LoadRasterImage`` (float
            images in ``[0, 1]``, mean/std in the same units), 255 for uint8 loaders.
    """

    color_jitter: float = 0.2
    color_jitter_p: float = 0.8
    blur: bool = True
    blur_p: float = 0.5
    blur_sigma: Tuple[float, float] = (0.15, 1.15)
    max_value: float = 1.0


def build_strong_aug(cfg: Optional[dict]) -> Optional[StrongAug]:
    """Validated :class:`StrongAug` from a config dict (missing keys take DAFormer's values); None stays None."""
    if cfg is None:
        return None
    unknown = sorted(set(cfg) - set(StrongAug._fields))
    if unknown:
        raise ValueError(f'strong_aug: unknown key(s) {unknown}; allowed: {list(StrongAug._fields)}')
    aug = StrongAug(**cfg)
    lo, hi = aug.blur_sigma
    problems = [f'{name}={getattr(aug, name)} not in [0, 1]' for name in ('color_jitter_p', 'blur_p')
                if not 0.0 <= getattr(aug, name) <= 1.0]
    if not 0.0 <= aug.color_jitter <= 0.5:
        problems.append(f'color_jitter={aug.color_jitter} not in [0, 0.5] (hue shifts at most half a turn)')
    if not 0.0 < lo <= hi:
        problems.append(f'blur_sigma={aug.blur_sigma} must be 0 < low <= high')
    if aug.max_value <= 0:
        problems.append(f'max_value={aug.max_value} must be > 0')
    if problems:
        raise ValueError('strong_aug: ' + '; '.join(problems))
    return aug._replace(blur_sigma=(float(lo), float(hi)))


# ---------------------------------------------------------------------- colour
def _per_image(values: Tensor, like: Tensor) -> Tensor:
    return values.to(like.device, like.dtype).view(-1, 1, 1, 1)


def adjust_brightness(images: Tensor, shift: Tensor) -> Tensor:
    """Add ``shift[i]`` to every band of image ``i`` (kornia's additive brightness), clamped to ``[0, 1]``."""
    return (images + _per_image(shift, images)).clamp(0.0, 1.0)


def adjust_contrast(images: Tensor, factor: Tensor) -> Tensor:
    """Multiply image ``i`` by ``factor[i]`` (kornia 0.5's contrast), clamped to ``[0, 1]``."""
    return (images * _per_image(factor, images)).clamp(0.0, 1.0)


def rgb_to_hsv(images: Tensor, eps: float = 1e-8) -> Tensor:
    """(N, 3, H, W) RGB in ``[0, 1]`` → HSV with hue in turns ``[0, 1)``, saturation and value in ``[0, 1]``."""
    r, g, b = images.unbind(dim=1)
    value, argmax = images.max(dim=1)
    delta = value - images.min(dim=1).values
    safe = delta.clamp(min=eps)
    hue = torch.stack([((g - b) / safe) % 6, (b - r) / safe + 2, (r - g) / safe + 4], dim=1)
    hue = hue.gather(1, argmax.unsqueeze(1)).squeeze(1).masked_fill(delta <= eps, 0.0) / 6
    saturation = torch.where(value > eps, delta / value.clamp(min=eps), torch.zeros_like(value))
    return torch.stack([hue % 1.0, saturation, value], dim=1)


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_hsv`: channel ``n ∈ (5, 3, 1)`` is ``v - v·s·clamp(min(k, 4 - k), 0, 1)`` with
    ``k = (n + 6·h) mod 6`` (the closed form of the six-sector formula)."""
    hue, sat, value = hsv.unbind(dim=1)
    bands = []
    for n in (5.0, 3.0, 1.0):
        k = (n + hue * 6) % 6
        bands.append(value - value * sat * torch.minimum(k, 4 - k).clamp(0.0, 1.0))
    return torch.stack(bands, dim=1)


def adjust_saturation(images: Tensor, factor: Tensor) -> Tensor:
    """Scale the HSV saturation of RGB image ``i`` by ``factor[i]``, clamped to ``[0, 1]``."""
    hsv = rgb_to_hsv(images)
    sat = (hsv[:, 1:2] * _per_image(factor, images)).clamp(0.0, 1.0)
    return hsv_to_rgb(torch.cat([hsv[:, :1], sat, hsv[:, 2:]], dim=1)).clamp(0.0, 1.0)


def adjust_hue(images: Tensor, shift: Tensor) -> Tensor:
    """Rotate the hue of RGB image ``i`` by ``shift[i]`` turns (kornia: ``2π·shift`` radians)."""
    hsv = rgb_to_hsv(images)
    hue = (hsv[:, :1] + _per_image(shift, images)) % 1.0
    return hsv_to_rgb(torch.cat([hue, hsv[:, 1:]], dim=1)).clamp(0.0, 1.0)


def color_jitter(images: Tensor, strength: float, generator: Optional[torch.Generator] = None) -> Tensor:
    """Jitter ``[0, 1]`` images: per-image factors, one random order of the operations for the batch.

    3-band images get brightness, contrast, saturation and hue; other band counts brightness and contrast only.
    """
    n = images.shape[0]
    uniform = torch.rand(4, n, generator=generator) * 2 - 1  # U(-1, 1)
    ops = [lambda x: adjust_brightness(x, strength * uniform[0]),
           lambda x: adjust_contrast(x, 1 + strength * uniform[1])]
    if images.shape[1] == RGB_BANDS:
        ops += [lambda x: adjust_saturation(x, 1 + strength * uniform[2]),
                lambda x: adjust_hue(x, strength * uniform[3])]
    for i in torch.randperm(len(ops), generator=generator).tolist():
        images = ops[i](images)
    return images


# ---------------------------------------------------------------------- blur
def blur_kernel_size(size: int) -> int:
    """DAFormer's odd kernel size for an image side: ``c = ceil(0.1·size)``, then ``c`` if odd else ``c - 1``."""
    c = math.ceil(0.1 * size)
    return c if c % 2 else max(c - 1, 1)


def gaussian_kernels(sigma: Tensor, size: int) -> Tensor:
    """(N, size) normalised 1-D Gaussian kernels, one per sigma, centred on the middle tap."""
    taps = torch.arange(size, dtype=sigma.dtype, device=sigma.device) - size // 2
    kernels = torch.exp(-taps.view(1, -1)**2 / (2 * sigma.view(-1, 1)**2))
    return kernels / kernels.sum(dim=1, keepdim=True)


def _blur_axis(flat: Tensor, kernels: Tensor, axis: int) -> Tensor:
    """Convolve every channel of a (1, N·C, H, W) batch along ``axis`` (2: rows, 3: columns), reflected borders."""
    k = kernels.shape[1]
    if k == 1:
        return flat
    pad = (0, 0, k // 2, k // 2) if axis == 2 else (k // 2, k // 2, 0, 0)
    shape = (-1, 1, k, 1) if axis == 2 else (-1, 1, 1, k)
    return F.conv2d(F.pad(flat, pad, mode='reflect'), kernels.reshape(shape), groups=flat.shape[1])


def gaussian_blur(images: Tensor, sigma: Tensor) -> Tensor:
    """Separable Gaussian blur of (N, C, H, W) images with per-image ``sigma`` (N,) and DAFormer's kernel sizes."""
    n, c, h, w = images.shape
    sigma = sigma.to(images.device, images.dtype)
    flat = images.reshape(1, n * c, h, w)
    for axis, size in ((2, h), (3, w)):
        kernels = gaussian_kernels(sigma, blur_kernel_size(size)).repeat_interleave(c, dim=0)
        flat = _blur_axis(flat, kernels, axis)
    return flat.view(n, c, h, w)


# ---------------------------------------------------------------------- both
def _apply_to(images: Tensor, chosen: Tensor, fn: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """``fn(chosen images, their indices)`` written back into a copy; the other images stay as they are."""
    idx = chosen.nonzero().flatten()
    if idx.numel() == 0:
        return images
    out = images.clone()
    out[idx.to(images.device)] = fn(images[idx.to(images.device)], idx)
    return out


@torch.no_grad()
def strong_augment(inputs: Tensor, mean: Tensor, std: Tensor, aug: StrongAug,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    """Colour jitter then Gaussian blur of normalised images, each with its probability per image.

    Only the images drawn for an augmentation are de-normalised and re-normalised; the others come back bit for bit.

    Args:
        inputs: (N, C, H, W) images normalised as ``(x - mean) / std``.
        mean: Mean broadcastable to ``inputs`` (e.g. (C, 1, 1), or (N, C, H, W) per pixel for mixed images whose
            pixels come from differently normalised domains).
        std: Std broadcastable to ``inputs``.
        aug: The parameters (:func:`build_strong_aug`).
        generator: CPU torch RNG (None: the global one).

    Returns:
        The augmented images, normalised with the same mean/std; same shape, dtype and device.
    """
    n = inputs.shape[0]
    jitter = (torch.rand(n, generator=generator) < aug.color_jitter_p) & (aug.color_jitter > 0)
    blur = (torch.rand(n, generator=generator) < aug.blur_p) & bool(aug.blur)
    sigma = torch.empty(n).uniform_(*aug.blur_sigma, generator=generator)

    def augment(x: Tensor, idx: Tensor) -> Tensor:
        mean_i, std_i = (v.to(x).expand_as(inputs)[idx.to(x.device)] for v in (mean, std))
        images = (x * std_i + mean_i) / aug.max_value
        images = _apply_to(images, jitter[idx], lambda y, _: color_jitter(y, aug.color_jitter, generator))
        images = _apply_to(images, blur[idx], lambda y, sub: gaussian_blur(y, sigma[idx][sub]))
        return (images * aug.max_value - mean_i) / std_i

    return _apply_to(inputs, jitter | blur, augment)
