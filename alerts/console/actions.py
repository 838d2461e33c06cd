"""The console's narrow interface to the alarm lifecycle: acknowledge and pause.

Both go through the one write path of alarm state, ``alerts.processing``
(state machine, escalation timers, notifications), in the caller's
transaction; escalation is the lifecycle's own timer (alerts.timers).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import psycopg

from alerts import processing
from alerts.alarm_model import TransitionError
from alerts.engine import Outcome
from alerts.notification_plan import ChannelsEnabled

# Without the service's configuration (e.g. in a bare console), actions notify no external channel.
_NO_CHANNELS = ChannelsEnabled(webhook=False, sms=False)


class AlertNotFound(LookupError):
    pass


class Refused(ValueError):
    """The alarm's state does not allow this action (e.g. already acknowledged)."""

    def __init__(self, state: str, by: str | None = None) -> None:
        super().__init__(state)
        self.state = state
        self.by = by


def _last_ack(conn: psycopg.Connection, alert_id: str) -> str | None:
    row = conn.execute(
        "SELECT actor FROM alert_events WHERE alert_id = %s AND event = 'acknowledged' ORDER BY at DESC, id DESC LIMIT 1",
        (alert_id,),
    ).fetchone()
    return str(row[0]) if row else None


OnOutcome = Callable[[Outcome], None]


def acknowledge(conn: psycopg.Connection, alert_id: str, user: str, at: datetime, note: str = "",
                on_outcome: OnOutcome | None = None, channels: ChannelsEnabled = _NO_CHANNELS) -> str:
    """Acknowledge through the alarm lifecycle (which notifies the enabled channels); returns the new state."""
    return _through_lifecycle(conn, alert_id, lambda: processing.acknowledge(conn, alert_id, user, at, channels, note),
                              on_outcome)


def pause(conn: psycopg.Connection, alert_id: str, user: str, seconds: float, at: datetime,
          on_outcome: OnOutcome | None = None, channels: ChannelsEnabled = _NO_CHANNELS) -> str:
    """Pause the audio of a sounding alarm for ``seconds`` (IEC 60601-1-8 audio paused)."""
    return _through_lifecycle(conn, alert_id, lambda: processing.pause(conn, alert_id, user, seconds, at, channels),
                              on_outcome)


def _through_lifecycle(conn: psycopg.Connection, alert_id: str, act: Callable[[], Outcome],
                       on_outcome: OnOutcome | None) -> str:
    """``on_outcome`` gets the lifecycle's outcome (its transitions), e.g. for metrics after the commit."""
    try:
        out = act()
    except processing.NotFound:
        raise AlertNotFound(alert_id) from None
    except TransitionError:
        row = conn.execute("SELECT state FROM alerts WHERE id = %s", (alert_id,)).fetchone()
        raise Refused(str(row[0]) if row else "unknown", _last_ack(conn, alert_id)) from None
    assert out.alarm is not None
    if on_outcome is not None:
        on_outcome(out)
    return str(out.alarm.state.value if hasattr(out.alarm.state, "value") else out.alarm.state)
