"""Escalation chains as the console edits them: the effective chain per priority, replace one, reset one.

A scope is a ward id, ``*`` (the default of every ward) or ``home``. A
ward's effective chain is its own configured one, else the configured ward
default, else the declared one (alerts.escalation_policy.chain_for, the
engine's rule). Every change checks alerts.chain_safety, replaces all levels
in one transaction and writes an audit row with the old and new chain and
the reason. The engine reads chains fresh for every decision
(alerts.config_store), so a change applies to the next decision at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import psycopg

from alerts.alarm_model import EscalationStep
from alerts.chain_safety import ChainRefused, check_chain
from alerts.config_store import configured_chains
from alerts.escalation_policy import DEFAULT_CHAINS, HOME, WARD_DEFAULT
from storage import audit
from wire.messages import Priority


class Source(StrEnum):
    """Where an effective chain comes from."""

    CONFIGURED = "configured"  # set for this very scope
    WARD_DEFAULT = "ward_default"  # a ward without its own: the configured default of every ward ('*')
    DECLARED = "declared"  # nothing configured: alerts.escalation_policy.DEFAULT_CHAINS


@dataclass(frozen=True, slots=True)
class ChainView:
    priority: Priority
    steps: tuple[EscalationStep, ...]
    source: Source
    declared: tuple[EscalationStep, ...]
    set_by: str | None = None
    set_at: datetime | None = None
    reason: str | None = None
    set_by_name: str | None = None


def declared_chain(scope: str, priority: Priority) -> tuple[EscalationStep, ...]:
    return DEFAULT_CHAINS[HOME if scope == HOME else WARD_DEFAULT][priority]


def _headers(conn: psycopg.Connection, scope: str) -> dict[Priority, tuple[str, datetime, str, str | None]]:
    rows = conn.execute(
        "SELECT c.priority, c.set_by, c.set_at, c.reason, u.display_name FROM escalation_chains c"
        " LEFT JOIN users u ON u.id = c.set_by WHERE c.scope = %s", (scope,)).fetchall()
    return {Priority(r[0]): (r[1], r[2], r[3], r[4]) for r in rows}


def effective(conn: psycopg.Connection, scope: str) -> list[ChainView]:
    """One view per priority (high, medium, low), as the engine would apply it to a new alarm."""
    fallback = [WARD_DEFAULT] if scope not in (HOME, WARD_DEFAULT) else []
    configured = configured_chains(conn, [scope, *fallback])
    headers = _headers(conn, scope)
    out = []
    for p in (Priority.HIGH, Priority.MEDIUM, Priority.LOW):
        declared = declared_chain(scope, p)
        if (scope, p) in configured:
            by, at, why, name = headers.get(p, (None, None, None, None))
            out.append(ChainView(p, configured[(scope, p)], Source.CONFIGURED, declared, by, at, why, name))
        elif fallback and (WARD_DEFAULT, p) in configured:
            out.append(ChainView(p, configured[(WARD_DEFAULT, p)], Source.WARD_DEFAULT, declared))
        else:
            out.append(ChainView(p, declared, Source.DECLARED, declared))
    return out


def _plain(steps: Sequence[EscalationStep]) -> list[dict[str, object]]:
    return [{"after_s": s.after_s, "target": s.target.value} for s in steps]


def _lock_and_read(conn: psycopg.Connection, scope: str, priority: Priority) -> tuple[EscalationStep, ...] | None:
    # Two editors saving the same chain at once: the second waits and audits the first one's chain as "old".
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('escalation_chain'), hashtext(%s))",
                 (f"{scope}/{priority.value}",))
    return configured_chains(conn, [scope]).get((scope, priority))


def set_chain(conn: psycopg.Connection, actor: str, scope: str, priority: Priority,
              steps: Sequence[EscalationStep], reason: str) -> tuple[EscalationStep, ...] | None:
    """Replace the scope's chain for ``priority``; returns the configured chain it replaced (None: none was)."""
    if not reason.strip():
        raise ChainRefused("error.chain_reason")
    check_chain(scope, priority, steps)
    with conn.transaction():
        before = _lock_and_read(conn, scope, priority)
        conn.execute("DELETE FROM escalation_steps WHERE scope = %s AND priority = %s", (scope, priority.value))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO escalation_steps (scope, priority, level, after_s, target) VALUES (%s, %s, %s, %s, %s)",
                [(scope, priority.value, level, s.after_s, s.target.value) for level, s in enumerate(steps, start=1)],
            )
        conn.execute(
            "INSERT INTO escalation_chains (scope, priority, set_by, set_at, reason) VALUES (%s, %s, %s, now(), %s)"
            " ON CONFLICT (scope, priority) DO UPDATE SET set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at,"
            " reason = EXCLUDED.reason",
            (scope, priority.value, actor, reason.strip()),
        )
        audit.append(conn, actor, "escalation_chain.set", _subject(scope), {
            "priority": priority.value, "old": _plain(before) if before is not None else None,
            "old_source": "configured" if before is not None else "default", "new": _plain(steps),
            "reason": reason.strip()})
    return before


def reset_chain(conn: psycopg.Connection, actor: str, scope: str, priority: Priority, reason: str) -> bool:
    """Back to the default (ward default or declared); False if the scope had no chain of its own."""
    if not reason.strip():
        raise ChainRefused("error.chain_reason")
    with conn.transaction():
        before = _lock_and_read(conn, scope, priority)
        if before is None:
            return False
        conn.execute("DELETE FROM escalation_steps WHERE scope = %s AND priority = %s", (scope, priority.value))
        conn.execute("DELETE FROM escalation_chains WHERE scope = %s AND priority = %s", (scope, priority.value))
        audit.append(conn, actor, "escalation_chain.reset", _subject(scope), {
            "priority": priority.value, "old": _plain(before), "new": None, "reason": reason.strip()})
    return True


def _subject(scope: str) -> str:
    # The same subject the roster uses for a ward, so a ward's audit trail lists both.
    return f"ward:{scope}" if scope not in (HOME, WARD_DEFAULT) else f"escalation:{scope}"
