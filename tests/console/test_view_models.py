"""Issue 17's view models without a browser: tile limits, sparklines, home trend, sign-in language, icon."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import psycopg

from alerts.console import bed_limits, favicon, i18n, sparklines
from alerts.console.routes_home import trend_of
from storage import readings, registry
from wire.messages import DeviceKind

NOW = datetime(2026, 12, 2, 8, 30, 20, tzinfo=UTC)


def test_default_limits_follow_the_spo2_scale() -> None:
    def spo2(scale: int) -> float:
        return next(limit.value for limit in bed_limits.defaults(scale) if limit.rule == "spo2_low")

    assert (spo2(1), spo2(2)) == (92, 84)  # NEWS2: <= 91 % scores 3 on scale 1, <= 83 % on scale 2
    hr = {limit.direction: limit.value for limit in bed_limits.defaults(1) if limit.parameter == "heart_rate"}
    assert hr == {"above": 130, "below": 41}


def test_a_patients_own_limit_replaces_the_default_until_it_expires(db: psycopg.Connection) -> None:
    registry.add_ward(db, "w", "Khoa W")
    registry.add_patient(db, "P1", "A", "w", "1", 2)
    registry.add_patient(db, "P2", "B", "w", "2")
    db.execute("INSERT INTO patient_alarm_limits (patient_id, rule, limit_value, reason, set_by, expires_at)"
               " VALUES ('P1', 'heart_rate_high', 120, 'AF', 'doctor', NULL),"
               " ('P2', 'heart_rate_high', 150, 'old', 'doctor', %s)", (NOW - timedelta(minutes=1),))
    out = bed_limits.effective(db, [("P1", 2), ("P2", 1)], NOW)
    p1 = {limit.rule: limit for limit in out["P1"]}
    assert (p1["heart_rate_high"].value, p1["heart_rate_high"].source, p1["heart_rate_high"].default) == (120, "patient", 130)
    assert p1["spo2_low"].value == 84
    assert {limit.rule: limit.source for limit in out["P2"]}["heart_rate_high"] == "default"  # expired


def test_sparklines_are_minute_means_with_gaps(db: psycopg.Connection) -> None:
    registry.add_ward(db, "w", "Khoa W")
    registry.add_patient(db, "P1", "A", "w", "1")
    registry.add_device(db, "d1", DeviceKind.BEDSIDE_MONITOR)
    minute = NOW.replace(second=0)
    rows: list[readings.ReadingRow] = [
        (minute - timedelta(minutes=2) + timedelta(seconds=s), "P1", "d1", "heart_rate", v, "/min", [], s, NOW)
        for s, v in ((0, 80.0), (30, 90.0))
    ] + [(minute, "P1", "d1", "heart_rate", 100.0, "/min", [], 99, NOW)]
    with db.transaction():
        readings.write(db, rows)
    line = sparklines.ward_sparklines(db, ["P1"], NOW)["P1"]
    assert len(line["heart_rate"]) == sparklines.MINUTES
    assert line["heart_rate"][-3:] == [85.0, None, 100.0]  # oldest first; the silent minute stays a gap
    assert set(line["spo2"]) == {None}


def test_home_trend_is_steady_within_the_vitals_noise() -> None:
    assert trend_of("bp_systolic", 142, 128) == "up"
    assert trend_of("heart_rate", 78, 80) == "flat"
    assert trend_of("glucose", 95, 140) == "down"
    assert trend_of("spo2", 97, None) is None


def test_the_language_asked_for_before_sign_in() -> None:
    assert i18n.asked("en-US,en;q=0.9", None) == "en"
    assert i18n.asked("en-US", "vi") == "vi"  # a choice on the sign-in page beats the browser
    assert i18n.asked("fr-FR,de", None) is None  # nothing asked: the account's language stays
    assert i18n.negotiate("fr-FR", None) == "vi"


def test_favicon_is_a_32px_icon() -> None:
    ico = favicon.ico()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    width, height, _, _, planes, bpp, size, offset = struct.unpack("<BBBBHHII", ico[6:22])
    assert (reserved, kind, count, width, height, planes, bpp) == (0, 1, 1, 32, 32, 1, 32)
    assert offset == 22 and len(ico) == 22 + size
