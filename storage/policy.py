"""Retention, compression and refresh policy, and what each backend makes of it.

One policy (from RPM_RETENTION_* settings) drives both backends: on
TimescaleDB it becomes chunk intervals, compression, continuous-aggregate
refresh and retention jobs (``timescale_jobs``); on plain PostgreSQL it
becomes the partition layout that storage.partitions keeps up
(``partition_specs``). Both functions are pure; storage.timescale applies
the jobs (only those that are missing or changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

# time_bucket's default origin (a Monday); date_bin and partition bounds use
# it too, so buckets and partitions line up on both backends.
ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    raw_days: int = 90
    features_days: int = 90
    scores_days: int = 400
    agg_1m_days: int = 400
    agg_1h_days: int = 1825
    # Raw chunks older than this are compressed (TimescaleDB only).
    compress_after_days: int = 7
    # Late data older than this is not folded into continuous aggregates by
    # the refresh job (TimescaleDB start_offset); it must stay below raw_days,
    # or a refresh over dropped raw chunks would empty the aggregates.
    refresh_lookback_days: int = 7
    agg_compress_after_days: int = 30
    chunk_days: int = 1
    # Raw PPG/ECG samples: far shorter than raw_days. They are the bulkiest
    # data the system holds (a 100 Hz pleth is 12 KB a minute, 17 MB a day
    # per patient; a 250 Hz ECG 2.5 times that; measured in docs/storage.md)
    # and personal health data, kept no longer than their purpose needs:
    # reviewing a strip, or an alarm against its waveform, within days. The
    # rates derived from them stay for raw_days / features_days (readings,
    # waveform_hr).
    waveform_days: int = 7
    waveform_compress_after_days: int = 1  # TimescaleDB only

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.refresh_lookback_days >= self.raw_days:
            raise ValueError("refresh_lookback_days must be below raw_days")
        if self.agg_1m_days < self.raw_days or self.agg_1h_days < self.agg_1m_days:
            raise ValueError("aggregates must be kept at least as long as what they summarise")
        if self.agg_compress_after_days <= self.refresh_lookback_days:
            # TimescaleDB refuses to compress a cagg range its refresh window still covers.
            raise ValueError("agg_compress_after_days must exceed refresh_lookback_days")
        if self.waveform_compress_after_days >= self.waveform_days:
            raise ValueError("waveform_compress_after_days must be below waveform_days")


@dataclass(frozen=True, slots=True)
class PartitionSpec:
    """One partitioned table on plain PostgreSQL."""

    table: str
    column: str
    interval: timedelta
    retention: timedelta
    ahead: int  # partitions kept ready beyond the current one

    def floor(self, t: datetime) -> datetime:
        """Start of the partition holding ``t`` (same arithmetic as date_bin)."""
        steps = (t - ORIGIN) // self.interval
        return ORIGIN + steps * self.interval


def partition_specs(p: RetentionPolicy) -> tuple[PartitionSpec, ...]:
    day = timedelta(days=1)
    return (
        PartitionSpec("readings", "measured_at", day, p.raw_days * day, ahead=2),
        PartitionSpec("window_features", "window_start", day, p.features_days * day, ahead=2),
        PartitionSpec("news2_scores", "scored_at", 7 * day, p.scores_days * day, ahead=1),
        PartitionSpec("glucose_trends", "at", 7 * day, p.scores_days * day, ahead=1),
        PartitionSpec("waveform_hr", "at", 7 * day, p.features_days * day, ahead=1),
        PartitionSpec("waveform_snippets", "start_at", day, p.waveform_days * day, ahead=2),
        PartitionSpec("readings_1m_mat", "bucket", 7 * day, p.agg_1m_days * day, ahead=1),
        PartitionSpec("readings_1h_mat", "bucket", 28 * day, p.agg_1h_days * day, ahead=1),
    )


JobKind = Literal["retention", "compression", "refresh"]
# The procedure TimescaleDB runs for each kind of job (timescaledb_information.jobs.proc_name).
PROC_NAME: dict[str, str] = {"retention": "policy_retention", "compression": "policy_compression",
                             "refresh": "policy_refresh_continuous_aggregate"}


def _interval(d: timedelta) -> str:
    for unit, size in (("day", timedelta(days=1)), ("hour", timedelta(hours=1)), ("minute", timedelta(minutes=1))):
        if d % size == timedelta(0):
            n = d // size
            return f"INTERVAL '{n} {unit}{'s' if n != 1 else ''}'"
    return f"INTERVAL '{int(d.total_seconds())} seconds'"


@dataclass(frozen=True, slots=True)
class TimescaleJob:
    """One TimescaleDB policy job on ``relation`` (a hypertable or continuous aggregate).

    ``after`` is drop_after (retention), compress_after (compression) or
    start_offset (refresh); ``end_offset`` and ``schedule`` are for refresh only
    (the other kinds keep TimescaleDB's default schedule)."""

    kind: JobKind
    relation: str
    after: timedelta
    end_offset: timedelta | None = None
    schedule: timedelta | None = None

    @property
    def proc_name(self) -> str:
        return PROC_NAME[self.kind]

    def add_sql(self, ts: str) -> str:
        """``ts``: the (quoted) schema TimescaleDB was created in; its functions are
        called qualified because an application's search_path need not contain it."""
        if self.kind == "retention":
            return f"SELECT {ts}.add_retention_policy('{self.relation}', drop_after => {_interval(self.after)})"
        if self.kind == "compression":
            return f"SELECT {ts}.add_compression_policy('{self.relation}', compress_after => {_interval(self.after)})"
        assert self.end_offset is not None and self.schedule is not None
        return (f"SELECT {ts}.add_continuous_aggregate_policy('{self.relation}', start_offset => {_interval(self.after)},"
                f" end_offset => {_interval(self.end_offset)}, schedule_interval => {_interval(self.schedule)})")

    def remove_sql(self, ts: str) -> str:
        fn = {"retention": "remove_retention_policy", "compression": "remove_compression_policy",
              "refresh": "remove_continuous_aggregate_policy"}[self.kind]
        return f"SELECT {ts}.{fn}('{self.relation}', if_exists => true)"

    def matches(self, after: timedelta | None, end_offset: timedelta | None, schedule: timedelta | None) -> bool:
        """Whether an existing job with these settings already is this job (then it is left alone,
        keeping its schedule and run history)."""
        if after != self.after:
            return False
        if self.kind != "refresh":
            return True
        return end_offset == self.end_offset and schedule == self.schedule


def timescale_jobs(p: RetentionPolicy) -> tuple[TimescaleJob, ...]:
    """Every policy job the schema should have on TimescaleDB."""
    day = timedelta(days=1)
    jobs = [TimescaleJob("retention", rel, days * day) for rel, days in (
        ("readings", p.raw_days), ("window_features", p.features_days), ("news2_scores", p.scores_days),
        ("glucose_trends", p.scores_days), ("waveform_hr", p.features_days), ("readings_1m", p.agg_1m_days),
        ("readings_1h", p.agg_1h_days),
        ("waveform_snippets", p.waveform_days))]
    jobs += [TimescaleJob("compression", rel, days * day) for rel, days in (
        ("readings", p.compress_after_days), ("window_features", p.compress_after_days),
        ("news2_scores", p.compress_after_days), ("readings_1m", p.agg_compress_after_days),
        ("waveform_snippets", p.waveform_compress_after_days))]
    jobs += [
        TimescaleJob("refresh", "readings_1m", p.refresh_lookback_days * day, timedelta(minutes=1),
                     timedelta(minutes=1)),
        TimescaleJob("refresh", "readings_1h", p.refresh_lookback_days * day, timedelta(hours=1),
                     timedelta(minutes=30)),
    ]
    return tuple(jobs)


def chunk_intervals(p: RetentionPolicy) -> dict[str, timedelta]:
    """Chunk interval of the hypertables whose interval is configurable."""
    return {"readings": p.chunk_days * timedelta(days=1), "window_features": p.chunk_days * timedelta(days=1)}
