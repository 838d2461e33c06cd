"""Configuration read from PostgreSQL: home care teams with quiet hours, ward chains; the catalog is fully covered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from alerts import config_store, processing, roster_store, texts, timers
from alerts.alarm_model import StaffRole
from alerts.escalation_policy import alarm_policy
from alerts.notification_plan import ChannelsEnabled
from alerts.suppression import Evaluation
from alerts.suppression_policy import DEFAULTS
from storage import registry
from wire.messages import Priority
from wire.rules import CATALOG, Rule

SMS = ChannelsEnabled(webhook=False, sms=True)


def test_every_rule_of_the_catalog_has_a_policy_and_a_text() -> None:
    assert set(DEFAULTS) == set(Rule) == set(CATALOG) == set(texts.RULE_TEXT)


def test_default_chains_by_priority() -> None:
    high, medium, low = (alarm_policy("w1", p) for p in (Priority.HIGH, Priority.MEDIUM, Priority.LOW))
    assert [(s.after_s, s.target) for s in high.escalation] == [(60, StaffRole.CHARGE_NURSE),
                                                                (60, StaffRole.RAPID_RESPONSE)]
    assert [(s.after_s, s.target) for s in medium.escalation] == [(300, StaffRole.CHARGE_NURSE)]
    assert low.escalation == () and high.latching and not medium.latching
    assert alarm_policy(None, Priority.HIGH).escalation[0].after_s == 600  # home: the care team's backup


def _home(db: psycopg.Connection) -> None:
    registry.add_patient(db, "H1", "Home Patient")  # no ward: cared for at home
    roster_store.upsert_responder(db, "admin", "bs.an", "BS An", "+84911111111", "vi")
    roster_store.upsert_responder(db, "admin", "bs.binh", "BS Bình", "+84922222222", "vi")
    db.execute("INSERT INTO care_teams (id, name, kind, quiet_start, quiet_end) VALUES"
               " ('tyt-1', 'Trạm y tế xã 1', 'commune_health_station', '21:00', '06:00')")
    db.execute("INSERT INTO care_team_members (team_id, responder_id, role) VALUES"
               " ('tyt-1', 'bs.an', 'primary'), ('tyt-1', 'bs.binh', 'backup')")
    db.execute("INSERT INTO patient_care_teams (patient_id, team_id) VALUES ('H1', 'tyt-1')")


def _glucose(at: datetime, rule: str, priority: Priority) -> Evaluation:
    return Evaluation(candidate_id=f"g-{rule}-{at.timestamp():.0f}", patient_id="H1", rule=rule, firing=True,
                      severity=20.0, priority=priority, value=45.0, window_start=at, window_end=at,
                      parameter="glucose")


def test_home_patient_routes_to_the_care_team_with_quiet_hours(db: psycopg.Connection) -> None:
    _home(db)
    night = datetime(2025, 3, 1, 16, 30, tzinfo=UTC)  # 23:30 in Hanoi
    ctx = config_store.load_context(db, "H1", night, SMS)
    assert ctx.place.at_home and ctx.place.care_team is not None and ctx.place.care_team.id == "tyt-1"
    with db.transaction():
        urgent = processing.handle_evaluation(db, _glucose(night, "glucose_urgent_low", Priority.HIGH), night, SMS,
                                              night)
        low = processing.handle_evaluation(db, _glucose(night, "glucose_high", Priority.LOW), night, SMS, night)
    assert urgent is not None and low is not None
    rows = db.execute("SELECT alert_id, recipient, next_attempt_at FROM notification_outbox ORDER BY id").fetchall()
    assert [(r[1], r[2]) for r in rows] == [
        ("bs.an", night),  # urgent low: at once, even at night
        ("bs.an", datetime(2025, 3, 1, 23, 0, tzinfo=UTC)),  # low priority: at 06:00 local
    ]
    # Escalation of the urgent low goes to the backup member after 10 minutes.
    timers.run_due(db, night + timedelta(minutes=10), SMS)
    assert db.execute("SELECT recipient FROM notification_outbox ORDER BY id DESC LIMIT 1").fetchone() == ("bs.binh",)


def test_limits_outside_their_safe_range_are_refused_and_ignored_when_found_stored(db: psycopg.Connection) -> None:
    from alerts.limit_safety import SAFE_LIMITS
    from alerts.suppression_policy import Direction

    # Every threshold rule has a declared safe range, and only those do.
    assert set(SAFE_LIMITS) == {r for r in Rule if DEFAULTS[r].direction is not Direction.NONE}
    assert all(x.low < x.high and x.source for x in SAFE_LIMITS.values())
    now = datetime.now(UTC)
    registry.add_ward(db, "w9", "W9")
    registry.add_patient(db, "P9", "P9", "w9", "01")
    try:
        roster_store.set_limit(db, "dr", "P9", "spo2_low", 70.0, "x", None)
    except roster_store.ConfigError as e:
        assert e.key == "error.limit_range" and e.params["low"] == "85"
    else:
        raise AssertionError("SpO2 70 % must be refused")
    roster_store.set_limit(db, "dr", "P9", "spo2_low", 88.0, "COPD", None)
    # A value written around the API (or before the ranges existed) does not reach the engine.
    db.execute("INSERT INTO patient_alarm_limits (patient_id, rule, limit_value, reason, set_by)"
               " VALUES ('P9', 'heart_rate_high', 220, 'x', 'sql')")
    ctx = config_store.load_context(db, "P9", now, ChannelsEnabled(webhook=False, sms=False), full=False)
    assert ctx.limits == {"spo2_low": 88.0}
