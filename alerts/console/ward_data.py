"""One ward at a glance: each bed's latest vitals, NEWS2, signal status and the open alarm queue."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from alerts.console import alarms, bed_limits, sparklines
from alerts.console.models import AlarmOut, BedOut, News2Out, VitalOut, WardOut
from alerts.console.settings import ConsoleSettings
from alerts.console.users import Scope
from storage import queries

# Technical alarms that say the bed's data cannot be trusted as live.
OFFLINE_RULES = frozenset({"device_offline"})
STALE_RULES = frozenset({"signal_loss", "monitor_no_signal", "sensor_off"})


def signal_state(last_seen: datetime | None, now: datetime, s: ConsoleSettings) -> str:
    if last_seen is None:
        return "offline"
    age = (now - last_seen).total_seconds()
    if age < s.console_stale_after_s:
        return "live"
    return "stale" if age < s.console_offline_after_s else "offline"


def _bed_signal(last_seen: datetime | None, open_rules: set[str], now: datetime, s: ConsoleSettings) -> str:
    state = signal_state(last_seen, now, s)
    if open_rules & OFFLINE_RULES:
        return "offline"
    if open_rules & STALE_RULES and state == "live":
        return "stale"
    return state


def snapshot(conn: psycopg.Connection, ward_id: str, name: str, scope: Scope, now: datetime,
             s: ConsoleSettings) -> WardOut:
    beds = queries.ward_overview(conn, ward_id, now)
    queue = alarms.open_alarms(conn, scope, now, timedelta(hours=s.console_alarm_window_h), ward_id=ward_id)
    rules: dict[str, set[str]] = {}
    for a in queue:
        rules.setdefault(a.patient_id, set()).add(a.rule)
    scales: dict[str, int] = {str(r[0]): int(r[1]) for r in conn.execute(
        "SELECT id, spo2_scale FROM patients WHERE ward_id = %s", (ward_id,)).fetchall()}
    limits = bed_limits.effective(conn, [(b.patient_id, int(scales.get(b.patient_id, 1))) for b in beds], now)
    sparks = sparklines.ward_sparklines(conn, [b.patient_id for b in beds], now)
    out = []
    for b in beds:
        last = max((v.measured_at for v in b.vitals), default=None)
        n2 = b.news2
        out.append(BedOut(
            bed=b.bed, patient_id=b.patient_id, display_name=b.display_name,
            vitals=[VitalOut(type=v.type, value=v.value, unit=v.unit, measured_at=v.measured_at) for v in b.vitals],
            news2=None if n2 is None else News2Out(total=n2.total, band=n2.band, red_flag=n2.red_flag,
                                                   complete=n2.complete, scored_at=n2.scored_at,
                                                   spo2_scale=n2.spo2_scale),
            signal=_bed_signal(last, rules.get(b.patient_id, set()), now, s),  # type: ignore[arg-type]
            last_seen=last, spo2_scale=int(scales.get(b.patient_id, 1)),
            limits=limits.get(b.patient_id, []), sparklines=sparks.get(b.patient_id, {}),
        ))
    return WardOut(ward_id=ward_id, name=name, server_time=now, beds=out, alarms=queue)


def wards_of(conn: psycopg.Connection, scope: Scope) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT id, name FROM wards WHERE %s OR id = ANY(%s) ORDER BY id", (scope.every_ward, sorted(scope.wards))
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def alarm_visible(a: AlarmOut, scope: Scope) -> bool:
    return scope.allows(a.ward_id)
