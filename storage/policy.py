"""Retention, compression and refresh policy, and what each backend makes of it.

One policy (from RPM_RETENTION_* settings) drives both backends: on
TimescaleDB it becomes chunk intervals, compression, continuous-aggregate
refresh and retention jobs (``timescale_sql``); on plain PostgreSQL it
becomes the partition layout that storage.partitions keeps up
(``partition_specs``). Both functions are pure, so the SQL TimescaleDB would
run is unit-tested on machines without the extension.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
        PartitionSpec("readings_1m_mat", "bucket", 7 * day, p.agg_1m_days * day, ahead=1),
        PartitionSpec("readings_1h_mat", "bucket", 28 * day, p.agg_1h_days * day, ahead=1),
    )


def _days(n: int) -> str:
    return f"INTERVAL '{int(n)} days'"


def timescale_sql(p: RetentionPolicy) -> list[str]:
    """Statements that (re)apply the policy on TimescaleDB; safe to run repeatedly.

    Each job is removed (if present) and added again, so a changed setting
    takes effect on the next migrate or `rpm db maintain`.
    """
    out = [f"SELECT set_chunk_time_interval('readings', {_days(p.chunk_days)})",
           f"SELECT set_chunk_time_interval('window_features', {_days(p.chunk_days)})"]
    for relation, days in (("readings", p.raw_days), ("window_features", p.features_days),
                           ("news2_scores", p.scores_days), ("glucose_trends", p.scores_days),
                           ("waveform_hr", p.features_days), ("readings_1m", p.agg_1m_days),
                           ("readings_1h", p.agg_1h_days)):
        out.append(f"SELECT remove_retention_policy('{relation}', if_exists => true)")
        out.append(f"SELECT add_retention_policy('{relation}', drop_after => {_days(days)})")
    for relation, days in (("readings", p.compress_after_days), ("window_features", p.compress_after_days),
                           ("news2_scores", p.compress_after_days), ("readings_1m", p.agg_compress_after_days)):
        out.append(f"SELECT remove_compression_policy('{relation}', if_exists => true)")
        out.append(f"SELECT add_compression_policy('{relation}', compress_after => {_days(days)})")
    refresh = (
        ("readings_1m", _days(p.refresh_lookback_days), "INTERVAL '1 minute'", "INTERVAL '1 minute'"),
        ("readings_1h", _days(p.refresh_lookback_days), "INTERVAL '1 hour'", "INTERVAL '30 minutes'"),
    )
    for view, start, end, every in refresh:
        out.append(f"SELECT remove_continuous_aggregate_policy('{view}', if_exists => true)")
        out.append(
            f"SELECT add_continuous_aggregate_policy('{view}', start_offset => {start},"
            f" end_offset => {end}, schedule_interval => {every})"
        )
    return out
