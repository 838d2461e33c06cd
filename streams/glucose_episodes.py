"""Hypo- and hyperglycaemia episodes from a CGM trace (pure, explicit timestamps).

Source: Battelino T, et al. Diabetes Care 2019;42:1593-1603 (international
consensus on time in range), "CGM-based glycemic events": an event begins with
>= 15 consecutive minutes beyond the threshold and ends with >= 15 consecutive
minutes back within it. Levels: hypo level 1 < 70, level 2 < 54; hyper level 1
> 180, level 2 > 250 mg/dL. Each level is detected independently, so a level 2
hypo normally lies inside a level 1 hypo (the consensus reports them separately).

Exact rule implemented here:

1. Readings are sorted (exact duplicates dropped). Adjacent readings more than
   ``max_gap`` apart (default 2 x interval: one missed reading is tolerated)
   split the trace into contiguous segments; time is never inferred across a gap.
2. Within a segment, consecutive readings with the same state ("beyond" the
   threshold or not) form a run. A run lasts from its first reading to the first
   reading of the next run; the last run of a segment lasts until its last
   reading + ``interval`` (each reading stands for one sample interval). So with
   5-min sampling, three readings below 70 followed by one >= 70 is 15 minutes.
3. A "beyond" run lasting >= ``min_duration`` (15 min) starts an episode at its
   first reading. While in an episode, a "back in range" run lasting >= 15 min
   ends it; ``end`` is that run's first reading (when glucose returned).
   Shorter returns to range are part of the episode.
4. ``jitter_tolerance`` (default 30 s) is subtracted from the 15 minutes so that
   three readings time-stamped 00:00:00, 00:04:58, 00:09:57 still qualify;
   14 minutes does not.
5. An episode still open at a gap is ``interrupted_by_gap`` and at the end of the
   trace ``ongoing``; both have ``end=None`` because recovery was not observed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Literal

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict

from streams.glucose import (
    DEFAULT_INTERVAL,
    HIGH,
    LOW,
    VERY_HIGH,
    VERY_LOW,
    GlucoseSample,
    as_arrays,
    utc_from_epoch,
)


class EpisodeKind(StrEnum):
    HYPO = "hypo"
    HYPER = "hyper"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EpisodeDefinition(_Frozen):
    """Hypo: beyond means value < threshold. Hyper: value > threshold."""

    kind: EpisodeKind
    level: Literal[1, 2]
    threshold: float


CONSENSUS_DEFINITIONS: tuple[EpisodeDefinition, ...] = (
    EpisodeDefinition(kind=EpisodeKind.HYPO, level=1, threshold=LOW),
    EpisodeDefinition(kind=EpisodeKind.HYPO, level=2, threshold=VERY_LOW),
    EpisodeDefinition(kind=EpisodeKind.HYPER, level=1, threshold=HIGH),
    EpisodeDefinition(kind=EpisodeKind.HYPER, level=2, threshold=VERY_HIGH),
)

EpisodeStatus = Literal["ended", "interrupted_by_gap", "ongoing"]


class GlucoseEpisode(_Frozen):
    """One episode; ``extreme_mg_dl`` is the nadir (hypo) or peak (hyper)."""

    kind: EpisodeKind
    level: Literal[1, 2]
    threshold: float
    start: AwareDatetime
    end: AwareDatetime | None
    status: EpisodeStatus
    last_observed: AwareDatetime
    extreme_mg_dl: float
    extreme_at: AwareDatetime

    @property
    def observed_duration(self) -> timedelta:
        """start -> end if ended, else start -> last reading seen in the episode."""
        return (self.end or self.last_observed) - self.start


def find_episodes(
    samples: Sequence[GlucoseSample],
    definition: EpisodeDefinition,
    *,
    interval: timedelta = DEFAULT_INTERVAL,
    min_duration: timedelta = timedelta(minutes=15),
    max_gap: timedelta | None = None,
    jitter_tolerance: timedelta = timedelta(seconds=30),
) -> tuple[GlucoseEpisode, ...]:
    """Episodes for one definition, in time order (rule in the module docstring)."""
    if interval <= timedelta(0):
        raise ValueError("interval must be positive")
    gap_s = (max_gap if max_gap is not None else 2 * interval).total_seconds()
    need_s = (min_duration - jitter_tolerance).total_seconds()
    t, v = as_arrays(samples)
    if t.size == 0:
        return ()
    hypo = definition.kind is EpisodeKind.HYPO
    beyond = v < definition.threshold if hypo else v > definition.threshold
    pick_extreme = np.argmin if hypo else np.argmax

    episodes: list[GlucoseEpisode] = []
    cuts = np.flatnonzero(np.diff(t) > gap_s) + 1
    bounds = np.concatenate(([0], cuts, [t.size]))
    for seg, (a, b) in enumerate(pairwise(bounds.tolist())):
        last_segment = seg == len(bounds) - 2
        # Run starts: segment start plus every state change inside the segment.
        changes = np.flatnonzero(beyond[a + 1 : b] != beyond[a : b - 1]) + a + 1
        starts = np.concatenate(([a], changes))
        ends = np.concatenate((changes, [b]))
        open_start: int | None = None
        extreme_i = -1
        for i, j in zip(starts.tolist(), ends.tolist(), strict=True):
            stop = t[j] if j < b else t[j - 1] + interval.total_seconds()
            long_enough = stop - t[i] >= need_s
            if beyond[i]:
                run_extreme = i + int(pick_extreme(v[i:j]))
                if open_start is None and long_enough:
                    open_start, extreme_i = int(i), run_extreme
                elif open_start is not None and (
                    v[run_extreme] < v[extreme_i] if hypo else v[run_extreme] > v[extreme_i]
                ):
                    extreme_i = run_extreme
            elif open_start is not None and long_enough:
                episodes.append(
                    _episode(definition, t, v, open_start, extreme_i, int(i), "ended", b)
                )
                open_start = None
        if open_start is not None:
            status: EpisodeStatus = "ongoing" if last_segment else "interrupted_by_gap"
            episodes.append(_episode(definition, t, v, open_start, extreme_i, None, status, b))
    return tuple(episodes)


def _episode(
    d: EpisodeDefinition,
    t: np.ndarray,
    v: np.ndarray,
    start_i: int,
    extreme_i: int,
    end_i: int | None,
    status: EpisodeStatus,
    segment_end: int,
) -> GlucoseEpisode:
    last_i = (end_i - 1) if end_i is not None else segment_end - 1
    return GlucoseEpisode(
        kind=d.kind,
        level=d.level,
        threshold=d.threshold,
        start=utc_from_epoch(t[start_i]),
        end=None if end_i is None else utc_from_epoch(t[end_i]),
        status=status,
        last_observed=utc_from_epoch(t[last_i]),
        extreme_mg_dl=float(v[extreme_i]),
        extreme_at=utc_from_epoch(t[extreme_i]),
    )


def consensus_episodes(
    samples: Sequence[GlucoseSample],
    *,
    interval: timedelta = DEFAULT_INTERVAL,
    max_gap: timedelta | None = None,
) -> tuple[GlucoseEpisode, ...]:
    """All four consensus episode types, ordered by start time then kind/level."""
    found = [
        e
        for d in CONSENSUS_DEFINITIONS
        for e in find_episodes(samples, d, interval=interval, max_gap=max_gap)
    ]
    return tuple(sorted(found, key=lambda e: (e.start, e.kind.value, e.level)))
