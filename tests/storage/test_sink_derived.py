"""`rpm sink` also stores the stream workers' window features and scores, once each."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
from confluent_kafka import Producer

from embedded.kafka_mock import MockKafka
from embedded.ports import free_port
from tests.services import Services, wait_for
from tests.storage.test_sink_faults import T0, make_batches, metric, produce, sink_env
from wire import topics
from wire.derived import (
    GlucoseTrend,
    News2Score,
    ScoreBatch,
    WindowFeatures,
    WindowStats,
)
from wire.units import ReadingType


def _derived(patients: int) -> list[tuple[str, bytes]]:
    out = []
    for p in range(patients):
        pid = f"P{p}"
        windows = tuple(
            WindowStats(type=ReadingType.HEART_RATE, length_s=60, start=T0 + timedelta(minutes=m),
                        end=T0 + timedelta(minutes=m + 1), count=60, received=60, rejected=0, mean=70.0 + m,
                        median=70.0 + m, min=65.0, max=80.0, std=2.0, slope_per_h=0.5, coverage=1.0, quality=1.0)
            for m in range(3))
        out.append((topics.FEATURES, WindowFeatures(patient_id=pid, windows=windows, late_total=0,
                                                    duplicates_total=0).model_dump_json().encode()))
        score = News2Score(scored_at=T0, total=p, resp_rate=0, spo2=0, air_or_oxygen=0, systolic_bp=0, pulse=p,
                           consciousness=0, temperature=0, red_flag=False, band="low", monitoring_frequency="12 h",
                           clinical_response=(), spo2_scale=1, complete=True)
        trend = GlucoseTrend(at=T0, mg_dl=100.0 + p)
        out.append((topics.SCORES, ScoreBatch(patient_id=pid, scores=(score, trend)).model_dump_json().encode()))
    return out


def _produce_raw(bootstrap: str, prefix: str, records: list[tuple[str, bytes]]) -> None:
    p = Producer({"bootstrap.servers": bootstrap})
    names = topics.kafka_topics(prefix)
    for topic, value in records:
        p.produce(names[topic].name, value=value)
    assert p.flush(30) == 0


def _counts(conn: psycopg.Connection) -> tuple[int, ...]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM window_features),"
        " (SELECT count(*) FROM news2_scores), (SELECT count(*) FROM glucose_trends)").fetchone()
    assert row is not None
    return tuple(int(x) for x in row)


def test_features_and_scores_are_stored_once(
    tmp_path: Path, db_dsn: str, db: psycopg.Connection, kafka_cluster: MockKafka, topic_prefix: str,
) -> None:
    instance, port = f"d{uuid.uuid4().hex[:8]}", free_port()
    svc = Services(sink_env(db_dsn, kafka_cluster, topic_prefix, instance, port), tmp_path)
    records = _derived(5)
    try:
        svc.start("sink")
        _produce_raw(kafka_cluster.bootstrap, topic_prefix, records)
        produce(kafka_cluster.bootstrap, topic_prefix, make_batches(0, 10))
        want = (10 * 20, 5 * 3, 5, 5)
        wait_for(lambda: _counts(db) == want or None, 60, f"{want} rows", svc)
        assert db.execute("SELECT patient_id, pulse, total FROM news2_scores ORDER BY patient_id").fetchall() == [
            (f"P{p}", p, p) for p in range(5)]
        _produce_raw(kafka_cluster.bootstrap, topic_prefix, records)  # re-emitted after a worker restart
        produce(kafka_cluster.bootstrap, topic_prefix, make_batches(0, 10))
        wait_for(lambda: metric(port, "rpm_sink_rows_duplicate_total") >= 200 or None, 60, "replay handled", svc)
        assert _counts(db) == want
        assert metric(port, 'rpm_sink_derived_rows_inserted_total{table="window_features"}') == 15
        svc.assert_running()
    finally:
        svc.close()
