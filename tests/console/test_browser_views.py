"""Issue 17 in a real browser, in Vietnamese and English, on a desktop and a 390 px phone: the ward view's
names, NEWS2 tags, limits, sparklines and technical alarms; the trend charts; per-patient limits; the home
view with trends, change since the last reading and glucose time in range; the icon.

Few Chromium starts (each costs seconds on the shared machine): one browser for the module, one context
per language and width.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from alerts.console import users
from alerts.console.users import Grant
from tests.console.browser import chromium, new_page, sign_in
from tests.console.conftest import Console
from tests.console.world import PASSWORD, candidate, produce
from tests.services import wait_for
from wire.messages import Priority
from wire.units import ReadingType

NOTE = {"vi": "biểu đồ bắt đầu từ đó", "en": "the chart starts there"}
VIEWS = [("vi", 1440), ("en", 1440), ("vi", 390), ("en", 390)]
BROWSER_LOCALE = {"vi": "vi-VN", "en": "en-US"}
TEXT = {
    "vi": {"scale2": "Thang SpO₂ 2", "incomplete": "chưa đủ chỉ số", "red_flag": "có chỉ số 3 điểm", "technical": "Kỹ thuật",
           "bed": "Giường 01", "legend": "Màu NEWS2", "trend_up": "đang tăng", "tir": "thời gian trong khoảng"},
    "en": {"scale2": "SpO₂ scale 2", "incomplete": "incomplete", "red_flag": "single parameter 3", "technical": "Technical",
           "bed": "Bed 01", "legend": "NEWS2 colour", "trend_up": "rising", "tir": "of the time in range"},
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _other(locale: str) -> str:
    return "en" if locale == "vi" else "vi"


def _account(console: Console, user_id: str, locale: str, grant: Grant, patient: str | None = None) -> str:
    """A new account whose default language was never chosen by its user (as `rpm users add` makes them)."""
    with console.connect() as conn:
        if conn.execute("SELECT 1 FROM users WHERE id = %s", (user_id,)).fetchone() is None:
            users.create_user(conn, "test", user_id, user_id.title(), PASSWORD, [grant], locale, patient)
    return user_id


def _inside(page: Page, inner: str, outer: str) -> list[str]:
    """Selectors of `inner` elements whose box pokes out of their closest `outer` ancestor (should be none)."""
    return page.evaluate("""([inner, outer]) => [...document.querySelectorAll(inner)].filter(e => {
        const o = e.closest(outer); if (!o) return false;
        const a = e.getBoundingClientRect(), b = o.getBoundingClientRect();
        return a.left < b.left - 0.5 || a.right > b.right + 0.5 || a.top < b.top - 0.5 || a.bottom > b.bottom + 0.5;
    }).map(e => (e.closest(outer).dataset.patient || e.closest(outer).dataset.reading || "?")
                + ":" + e.className + ":" + e.textContent)""",
                         [inner, outer])


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page scrolls sideways"


def _alarm_stored(console: Console, alert_id: str) -> bool:
    with console.connect() as conn:
        return conn.execute("SELECT 1 FROM alerts WHERE id = %s", (alert_id,)).fetchone() is not None


def test_ward_view_in_both_languages_on_desktop_and_phone(console: Console, browser: Browser, artifacts: Path) -> None:
    # A probe came off bed 03's patient: a technical alarm, shown apart from clinical ones.
    probe = candidate("PA3", "sensor_off", 0, 0, datetime.now(UTC), Priority.MEDIUM, ReadingType.SPO2)
    produce(console.bootstrap, console.prefix, candidates=[probe])
    wait_for(lambda: _alarm_stored(console, probe.id), 30, "the technical alarm stored", console.services)

    for locale, width in VIEWS:
        text = TEXT[locale]
        # The account's default is the other language: the one the browser asks for must win at sign-in.
        user = _account(console, f"ward.{locale}", _other(locale), Grant("nurse", "ward-a"))
        _, page = new_page(browser, locale=BROWSER_LOCALE[locale], width=width, height=900)
        sign_in(page, console, user)
        expect(page).to_have_url(f"{console.base}/ward/ward-a")
        assert page.get_attribute("html", "lang") == locale
        expect(page.locator("#ward-title")).to_have_text("Khoa Nội A")  # the name as registered, nothing doubled
        expect(page.locator('#bed-grid [data-patient="PA3"]')).to_be_visible()
        expect(page.locator('#bed-grid [data-patient="PA1"] .bedno')).to_have_text(text["bed"])
        expect(page.locator("#ward-legend")).to_contain_text(text["legend"])

        # COPD on scale 2 (SpO2 88 % is on target): said in words, with the scale-2 SpO2 limit on the tile.
        pa2 = page.locator('#bed-grid [data-patient="PA2"]')
        expect(pa2.locator('[data-tag="scale2"]')).to_have_text(text["scale2"])
        expect(pa2.locator('[data-limit="spo2_low"]')).to_have_text("84")
        expect(page.locator('#bed-grid [data-patient="PA1"] [data-limit="spo2_low"]')).to_have_text("92")
        expect(page.locator('#bed-grid [data-patient="PA1"] [data-limit="heart_rate_high"]')).to_have_text("130")
        # An incomplete score and a single parameter scoring 3: plain tags, no bare "+".
        pa3 = page.locator('#bed-grid [data-patient="PA3"]')
        expect(pa3.locator('[data-tag="incomplete"]')).to_have_text(text["incomplete"])
        expect(pa3.locator('[data-tag="red_flag"]')).to_have_text(text["red_flag"])
        expect(pa3.locator(".news2")).to_have_text("NEWS2 4")
        # The last hour as a small line on the tile.
        expect(page.locator('#bed-grid [data-patient="PA1"] svg[data-spark="heart_rate"]')).to_be_visible()
        assert int(page.locator('#bed-grid [data-patient="PA2"] svg[data-spark="spo2"]').get_attribute("data-points") or 0) >= 10

        # The technical alarm: its own chip and dashed style in the queue, a line on the tile, no red bed.
        item = page.locator(f'#alarm-list [data-alert-id="{probe.id}"]')
        expect(item).to_have_attribute("data-kind", "technical")
        expect(item.locator(".chip.technical")).to_have_text(text["technical"])
        expect(pa3.locator("[data-technical]")).to_have_attribute("data-technical", "sensor_off")
        expect(pa3).to_have_class(re.compile(r"\btechnical\b"))
        # Its colour is the clinical alarms' (other tests leave some on this bed), never the technical one's.
        clinical = page.evaluate("""async () => {
            const w = await RPM.api('/api/wards/ward-a');
            const rank = {high: 0, medium: 1, low: 2};
            const open = w.alarms.filter(a => a.patient_id === 'PA3' && !RPM.isTechnical(a)
                                              && ['active', 'escalated'].includes(a.state));
            return open.sort((a, b) => rank[a.priority] - rank[b.priority]).map(a => a.priority)[0] || null;
        }""")
        classes = (pa3.get_attribute("class") or "").split()
        assert [c for c in classes if c.startswith("alarm-")] == ([f"alarm-{clinical}"] if clinical else [])

        # Nothing overflows: badges, tags and values stay inside their bed card; the page never scrolls sideways.
        assert _inside(page, "#bed-grid .bed .news2, #bed-grid .bed .tag, #bed-grid .bed .vitals .v, #bed-grid .bed .lim",
                   ".bed") == []
        _no_horizontal_scroll(page)
        page.screenshot(path=str(artifacts / f"ward-{locale}-{width}.png"), full_page=True)

        icon = page.request.get(f"{console.base}/favicon.ico")
        assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon" and icon.body()[:4] == b"\0\0\1\0"
        page.context.close()


def _labels_overlap(page: Page, chart: str) -> list[str]:
    return page.evaluate("""(chart) => {
        const boxes = [...document.querySelectorAll(`[data-chart="${chart}"] svg .axis text.x`)]
            .map(e => e.getBoundingClientRect());
        const out = [];
        for (let i = 1; i < boxes.length; i++) if (boxes[i].left < boxes[i - 1].right) out.push(String(i));
        return out;
    }""", chart)


def test_trend_charts_and_patient_limits(console: Console, browser: Browser, artifacts: Path) -> None:
    # An alarm whose condition began before the first point PA1 has: marked where it was raised, never earlier.
    early = candidate("PA1", "temperature_high", 39.4, 39.0, console.history.start - timedelta(minutes=20),
                      Priority.MEDIUM, ReadingType.TEMPERATURE)
    produce(console.bootstrap, console.prefix, candidates=[early])
    wait_for(lambda: _alarm_stored(console, early.id), 30, "the alarm stored", console.services)

    for locale, width in VIEWS:
        user = _account(console, f"doctor.{locale}", _other(locale), Grant("clinician", None))
        _, page = new_page(browser, locale=BROWSER_LOCALE[locale], width=width, height=900)
        sign_in(page, console, user, "/patients/PA1")
        expect(page.locator(".patient")).to_have_attribute("data-loaded", "24h")
        for range_ in ("7d", "24h"):
            page.click(f'button.range[data-range="{range_}"]')
            expect(page.locator(".patient")).to_have_attribute("data-loaded", range_)
            hr = page.locator('[data-chart="heart_rate"] svg')
            x_start, first = float(hr.get_attribute("data-x-start") or 0), float(hr.get_attribute("data-first") or 0)
            end = float(hr.get_attribute("data-x-end") or 0)
            # 6 hours of data in a 7-day or 24-hour period: the axis starts where the data does (not squashed
            # against the right edge), and the page says so.
            assert x_start <= first and (first - x_start) < 0.1 * (end - x_start)
            assert end - x_start < 8 * 3600e3
            expect(page.locator("#resolution")).to_contain_text(NOTE[locale])
            assert _labels_overlap(page, "heart_rate") == [], f"{range_} x labels overlap"
            # The y axis reaches past the highest (and so the latest) value.
            assert float(hr.get_attribute("data-y-max") or 0) >= float(hr.get_attribute("data-last") or 1e9)
            markers = page.locator('[data-chart="temperature"] svg line.marker')
            assert markers.count() >= 1
            t_first = float(page.locator('[data-chart="temperature"] svg').get_attribute("data-first") or 0)
            assert all(float(m.get_attribute("data-t") or 0) >= t_first for m in markers.all())
        # The waveform strip (raw samples) has its own test: tests/console/test_waveform_strip.py.
        _no_horizontal_scroll(page)
        page.screenshot(path=str(artifacts / f"patient-{locale}-{width}.png"), full_page=True)
        page.context.close()

    # A clinician sets bed 02's own heart-rate limit with a reason; the ward tile shows it, marked as the patient's own.
    _, page = new_page(browser, locale="en-US")
    sign_in(page, console, "doctor", "/patients/PA2")
    row = page.locator('#limit-rows tr[data-rule="heart_rate_high"]')
    expect(row).to_have_attribute("data-source", "default")
    row.locator('input[name="limit"]').fill("120")
    row.locator('input[name="reason"]').fill("known tachycardia, rate control")
    row.locator("button.secondary").click()
    expect(row).to_have_attribute("data-source", "patient")
    expect(row.locator("[data-current]")).to_have_attribute("data-current", "120")
    page.goto(f"{console.base}/ward/ward-a")
    own = page.locator('#bed-grid [data-patient="PA2"] [data-limit="heart_rate_high"]')
    expect(own).to_have_text("120")
    expect(own).to_have_attribute("data-source", "patient")
    with console.connect() as conn:
        audited = conn.execute("SELECT actor, (detail ->> 'limit')::float, detail ->> 'reason' FROM audit_log"
                               " WHERE action = 'alarm_limit.set' AND subject = 'PA2' AND detail ->> 'rule' = 'heart_rate_high'"
                               " ORDER BY id DESC LIMIT 1").fetchone()
    assert audited == ("doctor", 120.0, "known tachycardia, rate control")
    page.context.close()


def test_home_view_graphs_change_and_time_in_range(console: Console, browser: Browser, artifacts: Path) -> None:
    for locale, width in VIEWS:
        text = TEXT[locale]
        user = _account(console, f"home.{locale}", _other(locale), Grant("patient", None), "PH1")
        _, page = new_page(browser, locale=BROWSER_LOCALE[locale], width=width, height=900)
        sign_in(page, console, user)
        expect(page).to_have_url(f"{console.base}/home")
        expect(page.locator(".home")).to_have_attribute("data-loaded", "true")
        assert page.get_attribute("html", "lang") == locale
        bp = page.locator('[data-reading="bp_systolic"]')
        expect(bp.locator(".v")).to_contain_text("142/88")
        # Up 14/6 mmHg since yesterday's reading, with an arrow that says so.
        expect(bp.locator('[data-trend="up"]')).to_have_attribute("title", text["trend_up"])
        expect(bp.locator("[data-change]")).to_contain_text("+14/+6 mmHg")
        expect(page.locator('[data-chart="glucose"] svg')).to_be_visible()
        expect(page.locator('[data-chart="bp"] svg')).to_be_visible()
        expect(page.locator("#home-glucose")).to_be_visible()
        expect(page.locator(".tir-headline")).to_contain_text(text["tir"])
        assert float(page.locator(".tir-headline").get_attribute("data-tir-in") or 0) > 50
        assert _inside(page, ".home-card .v, .home-card .change", ".home-card") == []
        _no_horizontal_scroll(page)
        page.screenshot(path=str(artifacts / f"home-{locale}-{width}.png"), full_page=True)
        page.context.close()


def test_charge_nurse_and_admin_edit_the_roster(console: Console, browser: Browser, artifacts: Path) -> None:
    with console.login("charge.a") as charge:
        assert charge.put("/api/responders/lan.a", json={"display_name": "Lan", "locale": "vi"}).status_code == 200
    start = datetime.now().replace(second=0, microsecond=0) + timedelta(hours=1)
    for user, width, path in (("charge.a", 390, "/ward/ward-a"), ("admin", 1440, "/admin")):
        _, page = new_page(browser, locale="vi-VN" if user == "charge.a" else "en-US", width=width)
        sign_in(page, console, user, path)
        form = page.locator("#roster-form")
        expect(form).to_be_visible()
        form.locator('[name="responder_id"]').fill("lan.a")
        form.locator('[name="role"]').select_option("nurse")
        if user == "admin":
            form.locator('[name="ward_id"]').fill("ward-a")
        form.locator('[name="beds"]').fill("01, 02")
        form.locator('[name="starts_at"]').fill(start.strftime("%Y-%m-%dT%H:%M"))
        form.locator('[name="ends_at"]').fill((start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))
        form.locator('button[type="submit"]').click()
        row = page.locator('#roster-rows tr[data-responder="lan.a"]').last
        expect(row).to_contain_text("01, 02")
        _no_horizontal_scroll(page)
        page.screenshot(path=str(artifacts / f"roster-{user}-{width}.png"), full_page=True)
        before = page.locator('#roster-rows tr[data-responder="lan.a"]').count()
        row.locator("button").click()
        expect(page.locator('#roster-rows tr[data-responder="lan.a"]')).to_have_count(before - 1)
        page.context.close()
    with console.connect() as conn:
        actions = [r[0] for r in conn.execute(
            "SELECT action FROM audit_log WHERE action IN ('roster.add', 'roster.remove') AND actor IN ('charge.a', 'admin')"
            " ORDER BY id").fetchall()]
    assert actions[-4:] == ["roster.add", "roster.remove", "roster.add", "roster.remove"]
