"""Window plans of :mod:`rsseg.geo.tiling`: coverage, last-window policy, even spread, no duplicates."""
import numpy as np
import pytest

from rsseg.geo.tiling import end_aligned_starts, grid_shape, iter_windows, spread_starts


def _coverage(width, height, windows):
    cover = np.zeros((height, width), np.int32)
    for w in windows:
        assert w.col_off >= 0 and w.row_off >= 0
        assert w.col_off + w.width <= width and w.row_off + w.height <= height, f'{w} overhangs'
        cover[w.row_off:w.row_off + w.height, w.col_off:w.col_off + w.width] += 1
    return cover


class TestWindowStarts:

    def test_exact_fit(self):
        assert end_aligned_starts(512, 256, 256) == [0, 256]

    def test_last_shifted_back(self):
        # 600 px, chip 256, stride 256: 0, 256, then 344 (= 600 - 256) instead of overhanging 512.
        assert end_aligned_starts(600, 256, 256) == [0, 256, 344]

    def test_overlap_and_shift(self):
        assert end_aligned_starts(1000, 512, 384) == [0, 384, 488]

    def test_potsdam_tile_not_truncated(self):
        # mmseg's converter drops the last 368 px of a 6000 px Potsdam tile with 512 chips; rsseg ends at 6000.
        starts = end_aligned_starts(6000, 512, 512)
        assert starts[-1] + 512 == 6000
        assert len(starts) == len(set(starts)) == 12

    def test_smaller_than_chip(self):
        assert end_aligned_starts(100, 256, 128) == [0]

    def test_stride_one(self):
        assert end_aligned_starts(10, 4, 1) == list(range(7))


class TestIterWindows:

    @pytest.mark.parametrize('width,height,chip,stride', [
        (100, 100, 32, 32), (100, 77, 32, 20), (513, 257, 256, 128), (64, 64, 64, 64), (70, 130, (40, 30), (25, 30)),
        (31, 17, 8, 3),
    ])
    def test_full_coverage_no_duplicates_inside(self, width, height, chip, stride):
        windows = iter_windows(width, height, chip, stride)
        cover = _coverage(width, height, windows)
        assert cover.min() >= 1, 'some pixel is not covered'
        keys = [(w.col_off, w.row_off, w.width, w.height) for w in windows]
        assert len(keys) == len(set(keys)), 'duplicate windows'
        chip_h, chip_w = (chip, chip) if isinstance(chip, int) else chip
        assert all(w.width == chip_w and w.height == chip_h for w in windows)
        assert len(windows) == np.prod(grid_shape(width, height, chip, stride))

    def test_row_major_order(self):
        windows = iter_windows(100, 60, 40, 30)
        offsets = [(w.row_off, w.col_off) for w in windows]
        assert offsets == sorted(offsets)
        assert offsets == [(0, 0), (0, 30), (0, 60), (20, 0), (20, 30), (20, 60)]

    def test_chip_as_hw_pair(self):
        windows = iter_windows(100, 50, (20, 40), (20, 30))
        assert {(w.height, w.width) for w in windows} == {(20, 40)}
        assert sorted({w.col_off for w in windows}) == [0, 30, 60]
        assert sorted({w.row_off for w in windows}) == [0, 20, 30]

    def test_raster_smaller_than_chip(self):
        windows = iter_windows(50, 30, 64, 32)
        assert len(windows) == 1
        w = windows[0]
        assert (w.col_off, w.row_off, w.width, w.height) == (0, 0, 50, 30)

    def test_smaller_along_one_axis_only(self):
        windows = iter_windows(100, 30, 64, 64)
        assert [(w.col_off, w.row_off, w.width, w.height) for w in windows] == [(0, 0, 64, 30), (36, 0, 64, 30)]

    @pytest.mark.parametrize('chip,stride', [(0, 1), (10, 0), (-4, 2), (8, 9), ((8, 8), (4, 9)), ((1, 2, 3), 1)])
    def test_bad_arguments(self, chip, stride):
        with pytest.raises(ValueError):
            iter_windows(100, 100, chip, stride)


@pytest.mark.parametrize('size,window,stride', [(1000, 64, 48), (16384, 512, 384), (513, 512, 384), (100, 100, 75),
                                                 (37, 64, 48), (1001, 10, 1)])
def test_spread_starts_cover_the_axis_with_even_overlaps(size: int, window: int, stride: int) -> None:
    starts = spread_starts(size, window, stride)
    assert len(starts) == len(end_aligned_starts(size, window, stride))    # same number of windows, same compute
    assert starts[0] == 0 and starts[-1] == max(size - window, 0)
    steps = np.diff(starts)
    assert (steps >= 1).all() and (steps <= stride).all()                  # no gap, no duplicate
    if len(steps) > 1:
        assert steps.max() - steps.min() <= 1                              # even: no sliver at the end
