"""Window weights and the strip accumulator: normalised blending, border awareness, strip-wise emission."""
import numpy as np
import pytest

from rsseg.geo.blend import BlendAccumulator, border_flags, segments, window_weights
from rsseg.geo.tiling import end_aligned_starts, spread_starts


@pytest.mark.parametrize('mode', ['hann', 'pyramid'])
def test_interior_weights_peak_in_centre_and_fall_towards_edges(mode: str) -> None:
    w = window_weights(64, 48, mode)
    assert w.shape == (64, 48) and w.dtype == np.float32
    assert (w > 0).all(), 'a zero weight would leave pixels undefined after division'
    assert w.max() == pytest.approx(1.0) and w[32, 24] == pytest.approx(w.max(), rel=1e-3)
    np.testing.assert_allclose(w, w[::-1, ::-1], rtol=1e-6)
    assert w[0, 0] < 0.01 and w[0, 24] < 0.1 and w[32, 0] < 0.1
    assert not w.flags.writeable


def test_border_aware_weights_stay_flat_towards_the_scene_edge() -> None:
    w = window_weights(64, 64, 'hann', (True, False, True, False))  # top-left window of a scene
    np.testing.assert_array_equal(w[:32, :32], 1.0)       # no darkening towards the scene's top/left border
    assert w[-1, -1] < 0.01                               # still tapers towards neighbours (bottom/right)
    np.testing.assert_array_equal(window_weights(16, 16, 'uniform'), 1.0)
    assert border_flags(0, 10, 64, 64, 200, 74) == (True, False, False, True)


def test_unknown_blend_mode_is_refused() -> None:
    with pytest.raises(ValueError, match='blend mode'):
        window_weights(8, 8, 'gaussian')


def _blend(height: int, width: int, chip: int, stride: int, probs_fn, mode: str = 'hann', valid_fn=None,
           skip_fn=None, advance_every: int = 1, starts=end_aligned_starts):
    """Run the accumulator over a ``starts`` grid in row-major order; returns (classes, confidence, acc)."""
    rows, cols = starts(height, chip, stride), starts(width, chip, stride)
    h, w = min(chip, height), min(chip, width)
    acc = BlendAccumulator(height, width, rows, cols, (chip, chip), 3)
    out_cls = np.full((height, width), 77, np.uint8)
    out_conf = np.full((height, width), -1.0, np.float32)
    emitted = []

    def take(upto: int) -> None:
        for row, cls, conf in acc.advance(upto):
            assert (out_cls[row:row + cls.shape[0]] == 77).all(), 'a row was emitted twice'
            out_cls[row:row + cls.shape[0]], out_conf[row:row + cls.shape[0]] = cls, conf
            emitted.append(row)

    positions = [(r, c) for r in rows for c in cols]
    for index, (r, c) in enumerate(positions):
        if skip_fn is None or not skip_fn(r, c, h, w):
            weight = window_weights(h, w, mode, border_flags(r, c, h, w, height, width))
            valid = np.ones((h, w), bool) if valid_fn is None else valid_fn(r, c, h, w)
            acc.add(probs_fn(r, c, h, w) * weight, weight, valid, r, c)
        if index % advance_every == 0:
            take(index)
    take(len(positions) - 1)
    assert acc.done and emitted == sorted(emitted)
    return out_cls, out_conf, acc


def test_segments_cut_where_windows_start_and_end() -> None:
    cuts, last = segments(100, end_aligned_starts(100, 40, 30), 40)      # windows at 0, 30, 60
    assert cuts == [0, 30, 40, 60, 70, 100] and last == [0, 1, 1, 2, 2]
    assert segments(20, [0], 40) == ([0, 20], [0])                  # a raster smaller than the window


def test_identical_window_predictions_blend_to_themselves_everywhere_including_the_border() -> None:
    rng = np.random.default_rng(0)
    field = rng.dirichlet([1, 1, 1], size=(70, 90)).transpose(2, 0, 1).astype(np.float32)  # (3, H, W)

    def probs(r, c, h, w):
        return field[:, r:r + h, c:c + w].copy()

    for mode in ('hann', 'pyramid', 'uniform'):
        cls, conf, _ = _blend(70, 90, 32, 20, probs, mode=mode)
        np.testing.assert_array_equal(cls, field.argmax(0))
        np.testing.assert_allclose(conf, field.max(0), atol=5e-4)  # divided by the weight sum: no darkening


def test_result_does_not_depend_on_when_rows_are_flushed() -> None:
    """Cells finished eagerly (after every window) equal one flush at the end: sums are never split or lost."""
    rng = np.random.default_rng(1)
    cache = {}

    def probs(r, c, h, w):  # a different random prediction per window (like a model with padding effects)
        return cache.setdefault((r, c), rng.random((3, h, w), dtype=np.float32))

    eager = _blend(101, 67, 24, 17, probs)
    late = _blend(101, 67, 24, 17, probs, advance_every=10 ** 6)
    np.testing.assert_array_equal(eager[0], late[0])
    np.testing.assert_array_equal(eager[1], late[1])
    full = np.zeros((3, 101, 67), np.float32)
    wsum = np.zeros((101, 67), np.float32)
    for r in end_aligned_starts(101, 24, 17):
        for c in end_aligned_starts(67, 24, 17):
            weight = window_weights(24, 24, 'hann', border_flags(r, c, 24, 24, 101, 67))
            full[:, r:r + 24, c:c + 24] += probs(r, c, 24, 24) * weight
            wsum[r:r + 24, c:c + 24] += weight
    np.testing.assert_array_equal(eager[0], full.argmax(0))      # the whole-scene reference buffer
    np.testing.assert_allclose(eager[1], full.max(0) / wsum, atol=5e-4)         # float16 staging


def test_memory_held_is_the_overlap_band_not_the_scene() -> None:
    ones = lambda r, c, h, w: np.full((3, h, w), 1 / 3, np.float32)  # noqa: E731
    peaks = [_blend(height, 300, 40, 30, ones)[2].peak_bytes for height in (190, 1990)]  # no shifted last window
    assert peaks[0] == peaks[1], 'memory must not grow with the scene height'
    band = 300 * 10 * (3 * 4 + 4 + 1)                               # overlap rows (40 - 30) x width, sums+weights+valid
    window_row = 300 * 40 * (3 * 4 + 4 + 1)
    assert band < peaks[0] < band + window_row, peaks[0]            # less than one full-width window row
    # A last window shifted back (mmseg's policy) can share almost a whole window of rows with the previous one;
    # evenly spread windows keep that band thin.
    shifted = _blend(1991, 300, 40, 30, ones)[2].peak_bytes          # last two windows share 39 rows
    spread = _blend(1991, 300, 40, 30, ones, starts=spread_starts)[2].peak_bytes
    assert spread <= 1.1 * peaks[0] < shifted


def test_pixels_invalid_in_every_window_become_nodata_and_skipped_windows_are_nodata() -> None:
    def valid(r, c, h, w):
        rows, cols = np.mgrid[r:r + h, c:c + w]
        return ~((rows < 10) & (cols < 15))

    uniform = lambda r, c, h, w: np.full((3, h, w), 1 / 3, np.float32)  # noqa: E731
    cls, conf, _ = _blend(40, 50, 16, 12, uniform, valid_fn=valid)
    assert (cls[:10, :15] == 255).all() and (conf[:10, :15] == 0).all()
    assert (cls[10:] != 255).all() and (cls[:, 15:] != 255).all()
    cls, conf, _ = _blend(40, 50, 16, 12, uniform, skip_fn=lambda r, c, h, w: r + h <= 16)  # first window row skipped
    assert (cls[:12] == 255).all() and (cls[16:] != 255).all() and (conf[:12] == 0).all()


def test_too_many_classes_are_refused() -> None:
    with pytest.raises(ValueError, match='do not fit'):
        BlendAccumulator(10, 10, [0], [0], (10, 10), 300)
