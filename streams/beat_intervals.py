"""Beat-interval checks shared by the PPG and ECG window gates (pure)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def missed_beats(intervals: FloatArray, *, max_ratio_to_median: float = 2.5, tolerance: float = 0.15) -> bool:
    """True when the intervals look like a regular rhythm with beats missing, not an irregular one.

    Two patterns: any interval longer than ``max_ratio_to_median`` times the
    median (a lost beat or a pause; atrial fibrillation rarely spans more
    than that), or every interval close to a whole multiple of the shortest
    with at least one multiple >= 2 (a regular rhythm whose every second or
    third pulse fell below the detector: 0.47, 1.41, 0.49, 1.41 s reads as a
    slow irregular rhythm but is 128/min with beats lost).
    """
    if intervals.size < 2:
        return False
    if float(intervals.max()) > max_ratio_to_median * float(np.median(intervals)):
        return True
    ratios = intervals / float(intervals.min())
    multiples = np.round(ratios)
    return bool(np.any(multiples >= 2) and np.all(np.abs(ratios - multiples) <= tolerance * multiples))
