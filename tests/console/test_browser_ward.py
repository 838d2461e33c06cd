"""Nurses in a real browser: a deteriorating patient's alarm arrives live, is acknowledged for everyone
watching, and an unanswered high alarm escalates to the charge nurse's view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from alerts import processing
from alerts.notification_plan import ChannelsEnabled
from tests.console.browser import chromium, new_page, sign_in
from tests.console.conftest import Console
from tests.console.world import candidate, produce, vitals_batch
from tests.services import wait_for
from wire.messages import Priority
from wire.units import ReadingType


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _ward(browser: Browser, console: Console, user: str, width: int = 1440, height: int = 900) -> Page:
    _, page = new_page(browser, width=width, height=height)
    sign_in(page, console, user)
    expect(page).to_have_url(f"{console.base}/ward/ward-a")
    expect(page.locator("#stream-status")).to_have_attribute("data-state", "live")
    expect(page.locator('#bed-grid [data-patient="PA1"]')).to_be_visible()
    return page


def _alert_in_db(console: Console, alert_id: str) -> bool:
    with console.connect() as conn:
        return conn.execute("SELECT 1 FROM alerts WHERE id = %s", (alert_id,)).fetchone() is not None


def _quiet_ward(console: Console) -> None:
    """Other tests leave alarms sounding in ward A: answer them, so the banner and tone belong to this test."""
    with console.login("charge.a") as charge:
        for a in charge.get("/api/wards/ward-a").json()["alarms"]:
            if a["state"] in ("active", "escalated", "paused"):
                assert charge.post(f"/api/alerts/{a['id']}/ack").status_code == 200


def test_alarm_arrives_live_and_acknowledgement_reaches_every_watcher(
    console: Console, browser: Browser, artifacts: Path,
) -> None:
    _quiet_ward(console)
    nurse = _ward(browser, console, "nurse.a")
    charge = _ward(browser, console, "charge.a", width=820, height=1180)  # a tablet
    nurse.evaluate("window.__sameDocument = true")

    # Bed 01 deteriorates: its monitor's readings go through Kafka and the sink, and the stream
    # workers' candidate (heart rate above 130/min for a minute) reaches the alert service.
    now = datetime.now(UTC)
    produce(console.bootstrap, console.prefix,
            batches=[vitals_batch("PA1", "bm-a1", now - timedelta(seconds=s), 142 - s, 10_000 + s) for s in range(3)])
    cand = candidate("PA1", "heart_rate_high", 142, 130, now)
    produce(console.bootstrap, console.prefix, candidates=[cand])

    item = nurse.locator(f'#alarm-list [data-alert-id="{cand.id}"]')
    expect(item).to_be_visible()
    assert nurse.evaluate("window.__sameDocument") is True  # pushed, not reloaded
    expect(item).to_have_attribute("data-priority", "high")
    expect(item).to_contain_text("Nhịp tim 142 lần/phút, trên ngưỡng 130 lần/phút")  # nurse.a reads Vietnamese
    # The distinct high-priority cue: banner, flashing entry, red bed card, and the high tone pattern playing.
    expect(nurse.locator("#high-banner")).to_be_visible()
    expect(nurse.locator('#bed-grid [data-patient="PA1"]')).to_have_class("bed alarm-high")
    expect(nurse.locator("body")).to_have_attribute("data-sound", "high")
    assert nurse.evaluate("AlarmSound.blocked()") is False
    # The bed shows the new reading stored by the sink.
    expect(nurse.locator('#bed-grid [data-patient="PA1"] [data-vital="heart_rate"]')).to_have_text("142 lần/phút")
    expect(nurse.locator('#bed-grid [data-patient="PA1"] [data-signal]')).to_have_attribute("data-signal", "live")
    nurse.screenshot(path=str(artifacts / "ward-alarm-high.png"), full_page=True)
    charge.screenshot(path=str(artifacts / "ward-tablet.png"), full_page=True)

    other = charge.locator(f'#alarm-list [data-alert-id="{cand.id}"]')
    expect(other).to_have_attribute("data-state", "active")
    item.locator("button.ack").click()
    expect(other).to_have_attribute("data-state", "acknowledged")
    expect(other).to_contain_text("Lan (A)")  # by display name, not login name
    expect(item).to_have_attribute("data-state", "acknowledged")
    expect(nurse.locator("#high-banner")).to_be_hidden()
    expect(nurse.locator("body")).to_have_attribute("data-sound", "off")
    charge.screenshot(path=str(artifacts / "ward-acknowledged.png"), full_page=True)

    with console.connect() as conn:
        events = conn.execute("SELECT event, actor FROM alert_events WHERE alert_id = %s ORDER BY id", (cand.id,)).fetchall()
        audited = conn.execute("SELECT count(*) FROM audit_log WHERE actor = 'nurse.a' AND action = 'alert.acknowledge'"
                               " AND subject = 'PA1' AND detail ->> 'alert_id' = %s", (cand.id,)).fetchone()
    assert events == [("raised", "system"), ("acknowledged", "nurse.a")]
    assert audited is not None and audited[0] == 1


def test_unacknowledged_high_alarm_escalates_to_the_charge_nurse(console: Console, browser: Browser,
                                                                 artifacts: Path) -> None:
    nurse = _ward(browser, console, "nurse.a")
    charge = _ward(browser, console, "charge.a")
    expect(charge.locator("#escalations")).to_be_visible()
    expect(nurse.locator("#escalations")).to_be_hidden()
    cand = candidate("PA2", "spo2_low", 86, 90, datetime.now(UTC), Priority.HIGH, ReadingType.SPO2)
    produce(console.bootstrap, console.prefix, candidates=[cand])
    wait_for(lambda: _alert_in_db(console, cand.id), 30, "the alarm stored", console.services)
    expect(charge.locator(f'#alarm-list [data-alert-id="{cand.id}"]')).to_be_visible()
    expect(charge.locator(f'#escalated-list [data-alert-id="{cand.id}"]')).to_have_count(0)

    # Nobody acknowledged it in time: the lifecycle's timer escalates it. The test runs that timer step
    # for this alarm at the time its first step is due (60 s) instead of waiting a minute.
    with console.connect() as conn, conn.transaction():
        out = processing.tick_alarm(conn, cand.id, datetime.now(UTC) + timedelta(seconds=61),
                                    ChannelsEnabled(webhook=False, sms=False))
    assert out is not None and [t.kind.value for t in out.transitions] == ["escalated"]
    escalated = charge.locator(f'#escalated-list [data-alert-id="{cand.id}"]')
    expect(escalated).to_be_visible()
    expect(escalated).to_contain_text("Đã chuyển cho điều dưỡng trưởng")
    expect(charge.locator(f'#alarm-list [data-alert-id="{cand.id}"]')).to_have_count(0)  # not listed twice
    expect(charge.locator("#high-banner")).to_be_visible()
    expect(nurse.locator(f'#alarm-list [data-alert-id="{cand.id}"]')).to_have_attribute("data-state", "escalated")
    charge.screenshot(path=str(artifacts / "ward-escalated-charge-nurse.png"), full_page=True)

    escalated.locator("button.ack").click()
    expect(charge.locator(f'#escalated-list [data-alert-id="{cand.id}"]')).to_have_count(0)
    expect(charge.locator(f'#alarm-list [data-alert-id="{cand.id}"]')).to_have_attribute("data-state", "acknowledged")
    expect(nurse.locator(f'#alarm-list [data-alert-id="{cand.id}"]')).to_contain_text("Hoa (A, trưởng)")


def test_nurse_cannot_open_a_patient_of_another_ward(console: Console, browser: Browser, artifacts: Path) -> None:
    _, page = new_page(browser)
    sign_in(page, console, "nurse.a")
    other = page.goto(f"{console.base}/patients/PB1")
    assert other is not None and other.status == 403
    message = page.locator("#error-message").inner_text()
    assert message == "Bạn không có quyền xem hồ sơ này."
    missing = page.goto(f"{console.base}/patients/NO-SUCH-PATIENT")
    assert missing is not None and missing.status == 403
    assert page.locator("#error-message").inner_text() == message
    ward = page.goto(f"{console.base}/ward/ward-b")
    assert ward is not None and ward.status == 403
    page.screenshot(path=str(artifacts / "forbidden.png"))
    own = page.goto(f"{console.base}/patients/PA1")
    assert own is not None and own.status == 200
