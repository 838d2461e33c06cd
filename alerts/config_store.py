"""Loads the engine's ``Context`` for one patient: place, roster, care team, chains, settings, limits.

Read fresh for every decision (a handful of indexed queries): a roster,
limit or escalation chain edited on the console applies to the very next
decision, with no cache to go stale (no restart, no invalidation). A decision needs the light context (``full=False``: settings,
limits, chains); the routing data are loaded only to plan the notifications
of a decision that changed an alarm (``engine.replan``).
"""

from __future__ import annotations

import logging
from datetime import datetime

import psycopg

from alerts.alarm_model import EscalationStep, StaffRole
from alerts.engine import Context
from alerts.escalation_policy import HOME, WARD_DEFAULT, Chains
from alerts.limit_safety import safe_range
from alerts.notification_plan import ChannelsEnabled
from alerts.routing import CareTeam, PatientPlace, Responder, Shift, TeamRole
from alerts.suppression_policy import PolicyOverride
from wire.messages import Priority
from wire.rules import Rule

log = logging.getLogger(__name__)


def load_context(
    conn: psycopg.Connection, patient_id: str, now: datetime, channels: ChannelsEnabled, full: bool = True,
    light: Context | None = None,
) -> Context:
    """``full=False``: what a decision needs (ward settings, limits, escalation chains), without the routing
    data (roster, responders, care team) that only planning notifications needs; ``light``: such a context
    loaded before, completed instead of read again."""
    if light is None:
        row = conn.execute("SELECT ward_id, bed FROM patients WHERE id = %s", (patient_id,)).fetchone()
        ward_id, bed = (row[0], row[1]) if row else (None, None)
        overrides = _ward_overrides(conn, ward_id) if ward_id is not None else {}
        limits = _limits(conn, patient_id, now)
        chains = load_chains(conn, ward_id)
    else:
        ward_id, bed, overrides, limits = light.place.ward_id, light.place.bed, light.ward_overrides, light.limits
        chains = light.chains
    if not full:
        return Context(place=PatientPlace(patient_id, ward_id, bed), chains=chains, ward_overrides=overrides,
                       limits=limits, channels=channels)
    team = _care_team(conn, patient_id) if ward_id is None else None
    place = PatientPlace(patient_id, ward_id, bed, team)
    roster = _roster(conn, ward_id, now) if ward_id is not None else ()
    people = {s.responder_id for s in roster} | ({r for r, _ in team.members} if team else set())
    return Context(
        place=place,
        roster=roster,
        responders=_responders(conn, sorted(people)),
        chains=chains,
        ward_overrides=overrides,
        limits=limits,
        channels=channels,
    )


def _care_team(conn: psycopg.Connection, patient_id: str) -> CareTeam | None:
    row = conn.execute(
        "SELECT t.id, t.name, t.quiet_start, t.quiet_end, t.timezone FROM patient_care_teams pt"
        " JOIN care_teams t ON t.id = pt.team_id WHERE pt.patient_id = %s",
        (patient_id,),
    ).fetchone()
    if row is None:
        return None
    members = conn.execute(
        "SELECT responder_id, role FROM care_team_members WHERE team_id = %s ORDER BY role, responder_id", (row[0],)
    ).fetchall()
    return CareTeam(row[0], row[1], tuple((m[0], TeamRole(m[1])) for m in members), row[2], row[3], row[4])


def _roster(conn: psycopg.Connection, ward_id: str, now: datetime) -> tuple[Shift, ...]:
    rows = conn.execute(
        "SELECT responder_id, role, ward_id, starts_at, ends_at, beds FROM roster_shifts"
        " WHERE (ward_id = %s OR ward_id IS NULL) AND starts_at <= %s AND ends_at > %s ORDER BY starts_at, id",
        (ward_id, now, now),
    ).fetchall()
    return tuple(Shift(r[0], StaffRole(r[1]), r[2], r[3], r[4], frozenset(r[5]) if r[5] is not None else None)
                 for r in rows)


def _responders(conn: psycopg.Connection, ids: list[str]) -> dict[str, Responder]:
    if not ids:
        return {}
    rows = conn.execute("SELECT id, display_name, phone, locale FROM responders WHERE id = ANY(%s)", (ids,))
    return {r[0]: Responder(r[0], r[1], r[2], r[3]) for r in rows}


def load_chains(conn: psycopg.Connection, ward_id: str | None) -> Chains:
    return configured_chains(conn, [HOME] if ward_id is None else [ward_id, WARD_DEFAULT])


def configured_chains(conn: psycopg.Connection, scopes: list[str]) -> Chains:
    """The chains configured for ``scopes``: steps, or a header (escalation_chains) alone for a chain of none."""
    rows = conn.execute(
        "SELECT c.scope, c.priority, s.after_s, s.target FROM"
        " (SELECT scope, priority FROM escalation_chains WHERE scope = ANY(%(s)s)"
        "  UNION SELECT scope, priority FROM escalation_steps WHERE scope = ANY(%(s)s)) c"
        " LEFT JOIN escalation_steps s ON s.scope = c.scope AND s.priority = c.priority"
        " ORDER BY c.scope, c.priority, s.level",
        {"s": scopes},
    ).fetchall()
    out: dict[tuple[str, Priority], list[EscalationStep]] = {}
    for scope, priority, after_s, target in rows:
        steps = out.setdefault((scope, Priority(priority)), [])
        if target is not None:
            steps.append(EscalationStep(float(after_s), StaffRole(target)))
    return {k: tuple(v) for k, v in out.items()}


def _ward_overrides(conn: psycopg.Connection, ward_id: str) -> dict[str, PolicyOverride]:
    rows = conn.execute(
        "SELECT rule, delay_s, area, immediate_severity, clear_evaluations, clear_hold_s, stale_after_s, max_gap_s,"
        " artifact_gated FROM alarm_settings WHERE ward_id = %s",
        (ward_id,),
    ).fetchall()
    return {r[0]: PolicyOverride(*r[1:]) for r in rows}


def _limits(conn: psycopg.Connection, patient_id: str, now: datetime) -> dict[str, float]:
    rows = conn.execute(
        "SELECT rule, limit_value FROM patient_alarm_limits WHERE patient_id = %s"
        " AND (expires_at IS NULL OR expires_at > %s)",
        (patient_id, now),
    ).fetchall()
    out: dict[str, float] = {}
    for rule, value in rows:
        rng = safe_range(Rule(rule)) if rule in Rule._value2member_map_ else None
        if rng is not None and rng.allows(float(value)):
            out[rule] = float(value)
        else:
            # Stored before the safe ranges existed, or written around the API: the default limit applies.
            log.warning("per-patient limit outside its safe range ignored", extra={"rule": rule, "limit": value})
    return out
