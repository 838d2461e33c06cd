"""A no-pulse alarm and a silent bedside monitor on the ward console, in Vietnamese and English (real Chromium).

The nurse must see "Không có mạch" as a high-priority clinical alarm and the silent monitor as a technical
one that still says to look at the patient ("kiểm tra bệnh nhân"). Its own ward, so the other console
tests' counts are untouched.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import expect

from alerts.console import users
from alerts.console.users import Grant
from storage import registry
from tests.console.browser import chromium, new_page, sign_in
from tests.console.conftest import Console
from tests.console.world import PASSWORD, candidate, produce
from tests.services import wait_for
from wire.messages import DeviceKind, Priority
from wire.units import ReadingType

TEXT = {"vi": ("Không có mạch", "kiểm tra bệnh nhân", "Kỹ thuật"), "en": ("No pulse", "check patient", "Technical")}


def _stored(console: Console, alert_id: str) -> bool:
    with console.connect() as conn:
        return conn.execute("SELECT 1 FROM alerts WHERE id = %s", (alert_id,)).fetchone() is not None


def test_no_pulse_is_high_and_clinical_a_silent_monitor_technical_in_both_languages(
    console: Console, artifacts: Path
) -> None:
    with console.connect() as conn:
        registry.add_ward(conn, "ward-np", "Khoa Hồi sức NP")
        for pid, bed in (("PN1", "07"), ("PN2", "08")):
            registry.add_patient(conn, pid, f"Bệnh nhân {pid}", "ward-np", bed)
            registry.add_device(conn, f"bm-{pid.lower()}", DeviceKind.BEDSIDE_MONITOR)
        for locale in TEXT:
            users.create_user(conn, "test", f"nurse.np.{locale}", "Nurse NP", PASSWORD, [Grant("nurse", "ward-np")],
                              locale)
    now = datetime.now(UTC)
    # As the streams send them: no_pulse has no value (a number beside "heart rate" would read as a rate).
    no_pulse = candidate("PN1", "no_pulse", 0, 0, now, Priority.HIGH, ReadingType.HEART_RATE).model_copy(
        update={"value": None, "threshold": None})
    silent = candidate("PN2", "monitor_no_signal", 11, 10, now, Priority.MEDIUM, None)
    produce(console.bootstrap, console.prefix, candidates=[no_pulse, silent])
    for c in (no_pulse, silent):
        wait_for(lambda c=c: _stored(console, c.id), 30, f"the {c.rule} alarm stored", console.services)

    with chromium() as browser:
        for locale, (name, check, technical) in TEXT.items():
            _, page = new_page(browser, locale="vi-VN" if locale == "vi" else "en-US")
            sign_in(page, console, f"nurse.np.{locale}")
            expect(page).to_have_url(f"{console.base}/ward/ward-np")
            item = page.locator(f'#alarm-list [data-alert-id="{no_pulse.id}"]')
            expect(item).to_have_attribute("data-priority", "high")
            expect(item).to_have_attribute("data-kind", "clinical")
            expect(item).to_contain_text(name)
            tile = page.locator('#bed-grid [data-patient="PN1"]')
            expect(tile).to_have_class(re.compile(r"\balarm-high\b"))
            off = page.locator(f'#alarm-list [data-alert-id="{silent.id}"]')
            expect(off).to_have_attribute("data-kind", "technical")
            expect(off.locator(".chip.technical")).to_have_text(technical)
            expect(off).to_contain_text(check)
            expect(page.locator('#bed-grid [data-patient="PN2"] [data-technical]')).to_have_attribute(
                "data-technical", "monitor_no_signal")
            page.screenshot(path=str(artifacts / f"ward-no-pulse-{locale}.png"), full_page=True)
