"""Routing: roster by bed and shift, charge-nurse fallback, home care teams with quiet hours; notification plans."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from alerts import engine
from alerts.alarm_model import EventKind, StaffRole
from alerts.engine import Context
from alerts.notification_plan import Channel, ChannelsEnabled
from alerts.routing import CareTeam, PatientPlace, Responder, Shift, TeamRole, quiet_hours_end, route
from alerts.suppression import Evaluation
from wire.messages import Priority

# 08:00 in Hanoi (UTC+7) is 01:00 UTC.
DAY = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
WARD = PatientPlace("P1", "w1", "03")
ROSTER = (
    Shift("lan", StaffRole.NURSE, "w1", DAY - H, DAY + 7 * H, frozenset({"01", "02", "03"})),
    Shift("minh", StaffRole.NURSE, "w1", DAY - H, DAY + 7 * H, frozenset({"04", "05"})),
    Shift("hoa", StaffRole.NURSE, "w1", DAY + 7 * H, DAY + 19 * H, None),  # next shift, every bed
    Shift("tuan", StaffRole.CHARGE_NURSE, "w1", DAY - H, DAY + 19 * H),
    Shift("rrt", StaffRole.RAPID_RESPONSE, None, DAY - 24 * H, DAY + 24 * H),
    Shift("other", StaffRole.NURSE, "w2", DAY - H, DAY + 7 * H),
)
TEAM = CareTeam("tram-xa-1", "Trạm y tế xã", (("bs.an", TeamRole.PRIMARY), ("bs.binh", TeamRole.BACKUP)),
                quiet_start=time(21, 0), quiet_end=time(6, 0))
HOME = PatientPlace("H1", care_team=TEAM)


def test_bed_nurse_on_the_current_shift() -> None:
    assert route(WARD, StaffRole.NURSE, Priority.HIGH, ROSTER, DAY).recipients == ("lan",)
    # After the shift change the next nurse (all beds) is called.
    assert route(WARD, StaffRole.NURSE, Priority.HIGH, ROSTER, DAY + 8 * H).recipients == ("hoa",)


def test_fallback_to_charge_nurse_when_nobody_has_the_bed() -> None:
    r = route(PatientPlace("P9", "w1", "09"), StaffRole.NURSE, Priority.HIGH, ROSTER, DAY)
    assert r.recipients == ("tuan",) and "fallback to charge_nurse" in r.reason


def test_escalation_targets_and_hospital_wide_rapid_response() -> None:
    assert route(WARD, StaffRole.CHARGE_NURSE, Priority.HIGH, ROSTER, DAY).recipients == ("tuan",)
    assert route(WARD, StaffRole.RAPID_RESPONSE, Priority.HIGH, ROSTER, DAY).recipients == ("rrt",)


def test_nobody_on_shift_means_console_only() -> None:
    r = route(PatientPlace("P1", "w3", "01"), StaffRole.NURSE, Priority.HIGH, ROSTER[:4], DAY)
    assert r.recipients == () and "console only" in r.reason


def test_home_patient_goes_to_care_team_and_backup_on_escalation() -> None:
    assert route(HOME, StaffRole.NURSE, Priority.HIGH, ROSTER, DAY).recipients == ("bs.an",)
    assert route(HOME, StaffRole.CHARGE_NURSE, Priority.HIGH, ROSTER, DAY).recipients == ("bs.binh",)


def test_quiet_hours_defer_low_priority_only() -> None:
    night = datetime(2025, 3, 1, 16, 30, tzinfo=UTC)  # 23:30 in Hanoi
    low = route(HOME, StaffRole.NURSE, Priority.LOW, ROSTER, night)
    assert low.recipients == ("bs.an",)
    assert low.deferred_until == datetime(2025, 3, 1, 23, 0, tzinfo=UTC)  # 06:00 next morning, Hanoi
    assert route(HOME, StaffRole.NURSE, Priority.HIGH, ROSTER, night).deferred_until is None
    assert route(HOME, StaffRole.NURSE, Priority.LOW, ROSTER, DAY).deferred_until is None


def test_quiet_hours_edges_and_daytime_windows() -> None:
    assert quiet_hours_end(TEAM, datetime(2025, 3, 1, 14, 0, tzinfo=UTC)) == datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
    assert quiet_hours_end(TEAM, datetime(2025, 3, 1, 13, 59, tzinfo=UTC)) is None  # 20:59
    early = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)  # 05:00 Hanoi, still quiet
    assert quiet_hours_end(TEAM, early) == datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
    noon = CareTeam("t", "t", (), quiet_start=time(12, 0), quiet_end=time(13, 30))
    assert quiet_hours_end(noon, datetime(2025, 3, 1, 5, 15, tzinfo=UTC)) == datetime(2025, 3, 1, 6, 30, tzinfo=UTC)


def _ev(rule: str, priority: Priority) -> Evaluation:
    return Evaluation(candidate_id="c1", patient_id="P1", rule=rule, firing=True, severity=20.0, priority=priority,
                      value=80.0, window_start=DAY, window_end=DAY)


RESPONDERS = {r.id: r for r in (
    Responder("lan", "Lan", "+84900000001"), Responder("tuan", "Tuấn", "+84900000002", "en"),
                                Responder("rrt", "RRT", "+84900000003"), Responder("hoa", "Hoa"))}


def test_raise_and_escalation_notify_the_routed_people_by_sms_and_webhook() -> None:
    ctx = Context(place=WARD, roster=ROSTER, responders=RESPONDERS, channels=ChannelsEnabled(webhook=True, sms=True))
    out = engine.on_evaluation(None, None, _ev("spo2_low", Priority.HIGH), ctx, DAY)
    (d,) = out.dispatches
    assert d.transition.kind is EventKind.RAISED and d.route is not None and d.route.recipients == ("lan",)
    sms = [n for n in d.notifications if n.channel is Channel.SMS]
    assert [(n.recipient, n.address) for n in sms] == [("lan", "+84900000001")]
    assert "Khoa w1 giường 03" in sms[0].body and "SpO2 thấp" in sms[0].body
    hook = next(n for n in d.notifications if n.channel is Channel.WEBHOOK)
    body = json.loads(hook.body)
    assert body["event"] == "raised" and body["called"] == ["lan"] and body["alarm"]["bed"] == "03"
    assert "display_name" not in hook.body  # no names leave the hospital
    assert out.alarm is not None
    esc = engine.on_alarm_tick(out.alarm, ctx, DAY + timedelta(seconds=60))
    (d2,) = esc.dispatches
    assert d2.transition.kind is EventKind.ESCALATED and d2.route is not None and d2.route.recipients == ("tuan",)
    sms2 = [n for n in d2.notifications if n.channel is Channel.SMS]
    assert sms2[0].body.startswith("[RPM HIGH] Escalated") and sms2[0].dedup_key.endswith(":2:sms:tuan")


def test_low_priority_ward_alarm_is_console_and_webhook_only() -> None:
    ctx = Context(place=WARD, roster=ROSTER, responders=RESPONDERS, channels=ChannelsEnabled(webhook=True, sms=True))
    out = engine.on_evaluation(None, None, _ev("low_battery", Priority.LOW), ctx, DAY)
    assert [n.channel for d in out.dispatches for n in d.notifications] == [Channel.WEBHOOK]


def test_home_low_priority_sms_waits_for_the_end_of_quiet_hours() -> None:
    members = {"bs.an": Responder("bs.an", "An", "+84911111111")}
    ctx = Context(place=PatientPlace("P1", care_team=TEAM), responders=members,
                  channels=ChannelsEnabled(webhook=False, sms=True))
    night = datetime(2025, 3, 1, 16, 30, tzinfo=UTC)
    out = engine.on_evaluation(None, None, _ev("temperature_high", Priority.LOW).model_copy(
        update={"window_start": night, "window_end": night}), ctx, night)
    (n,) = [n for d in out.dispatches for n in d.notifications]
    assert n.channel is Channel.SMS and n.not_before == datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
    assert "BN tại nhà P1" in n.body
