"""The hot path's cheaper numerics equal the straightforward numpy they replaced.

Hampel: a row sort's middle column over a cached reflect index equals
np.median over np.pad(mode="reflect") + sliding_window_view. Median of a
(merged) summary: the plain-Python rank walk equals the numpy cumsum and
searchsorted version.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from streams import stats
from streams.quality import _hampel


def hampel_reference(x: np.ndarray, k: int, sigma: float, floor: float) -> np.ndarray:
    if x.size <= 2 * k:
        return np.zeros(x.size, dtype=np.bool_)
    win = sliding_window_view(np.pad(x, k, mode="reflect"), 2 * k + 1)
    med = np.median(win, axis=1)
    mad = np.median(np.abs(win - med[:, None]), axis=1)
    return np.abs(x - med) > np.maximum(sigma * 1.4826 * mad, floor)


def median_reference(s: stats.Summary) -> float | None:
    if s.n == 0:
        return None
    vals, counts = np.asarray(s.values, dtype=np.float64), np.asarray(s.counts, dtype=np.int64)
    order = np.argsort(vals, kind="stable")
    vals, cum = vals[order], np.cumsum(counts[order])
    lo, hi = vals[np.searchsorted(cum, (s.n + 1) // 2)], vals[np.searchsorted(cum, s.n // 2 + 1)]
    return float(lo) if s.n % 2 else float((lo + hi) / 2.0)


samples = st.lists(st.one_of(st.integers(20, 200).map(float), st.floats(30, 45, allow_nan=False)), max_size=90)


@settings(max_examples=300, deadline=None)
@given(samples, st.integers(1, 6), st.sampled_from([0.0, 0.5, 4.0, 15.0]))
def test_hampel_equals_the_median_reference(xs: list[float], k: int, floor: float) -> None:
    x = np.asarray(xs, dtype=np.float64)
    assert (_hampel(x, k, 3.0, floor) == hampel_reference(x, k, 3.0, floor)).all()


@settings(max_examples=300, deadline=None)
@given(st.lists(samples, min_size=1, max_size=15))
def test_median_of_merged_minutes_equals_the_numpy_reference(minutes: list[list[float]]) -> None:
    total = stats.Summary()
    for xs in minutes:
        v = np.asarray(xs, dtype=np.float64)
        total = stats.merge(total, stats.summarise(np.arange(v.size, dtype=np.int64) * 1000, v))
    assert stats.median(total) == median_reference(total)
