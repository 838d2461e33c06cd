"""Issue 17 in a real browser: the escalation chain editor, in Vietnamese and English, on a desktop and a 390 px
phone. A charge nurse edits her ward's high-priority chain (change a delay and its unit, add, reorder and remove
steps, a refusal from the server shown in place), saves with a reason, reloads and sees it, then resets it; an
admin does the same for the home patients' chain.

Ward-d and its accounts are this module's own, so other modules' alarms keep the default chains.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from alerts.console import i18n, users
from alerts.console.users import Grant
from storage import registry
from tests.console.browser import chromium, new_page, sign_in
from tests.console.conftest import Console
from tests.console.world import PASSWORD

VIEWS = [("vi", 1440), ("en", 1440), ("vi", 390), ("en", 390)]
BROWSER_LOCALE = {"vi": "vi-VN", "en": "en-US"}
# Real clinical wording, checked as written (the rest is compared with the catalog).
WORDING = {"vi": ("Chuỗi leo thang", "điều dưỡng trưởng", "đội phản ứng nhanh"),
           "en": ("Escalation chains", "the charge nurse", "the rapid response team")}


NAMES = {"charge.d.vi": "Điều dưỡng Hạnh", "charge.d.en": "Nurse Hanh"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def ward_d(console: Console) -> str:
    with console.connect() as conn:
        registry.add_ward(conn, "ward-d", "Khoa Tim mạch D")
        registry.add_patient(conn, "PD1", "Hồ Thị Duyên", "ward-d", "01")
        for locale in i18n.LOCALES:
            for uid, grant in ((f"charge.d.{locale}", Grant("charge_nurse", "ward-d")),
                               (f"admin.{locale}", Grant("admin", None))):
                users.create_user(conn, "test", uid, NAMES.get(uid, uid), PASSWORD, [grant], locale)
                users.set_locale(conn, uid, locale, chosen=True)
    return "ward-d"


def _no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page scrolls sideways"


def _steps(form: Locator) -> list[tuple[str, str, str]]:
    rows = form.locator(".chain-step")
    return [(rows.nth(i).locator("[name=after]").input_value(), rows.nth(i).locator("[name=unit]").input_value(),
             rows.nth(i).locator("[name=target]").input_value()) for i in range(rows.count())]


def _fits(page: Page, selector: str) -> list[str]:
    """Controls of the editor that poke out of their chain card (none should, at any width)."""
    return page.evaluate("""(sel) => [...document.querySelectorAll(sel)].filter(e => {
        const o = e.closest('.chain'); const a = e.getBoundingClientRect(), b = o.getBoundingClientRect();
        return a.left < b.left - 0.5 || a.right > b.right + 0.5;
    }).map(e => e.outerHTML.slice(0, 80))""", selector)


def test_charge_nurse_edits_saves_reloads_and_resets_her_wards_chain(console: Console, browser: Browser, ward_d: str,
                                                                    artifacts: Path) -> None:
    for locale, width in VIEWS:
        t = lambda key, **p: i18n.t(locale, key, **p)  # noqa: E731
        title, charge_nurse, rrt = WORDING[locale]
        _, page = new_page(browser, locale=BROWSER_LOCALE[locale], width=width, height=900)
        sign_in(page, console, f"charge.d.{locale}", f"/ward/{ward_d}")
        box = page.locator("#chains")
        expect(box.locator("h2")).to_have_text(title)
        high = box.locator('form[data-priority="high"]')
        expect(high).to_have_attribute("data-source", "declared")
        expect(high.locator(".badge")).to_have_text(t("chain.source_declared"))
        expect(high.locator(".chain-declared")).to_contain_text(f"1 {t('chain.unit_min')} → {charge_nurse}")
        expect(high.locator(".chain-declared")).to_contain_text(rrt)
        assert _steps(high) == [("1", "min", "charge_nurse"), ("1", "min", "rapid_response")]  # whole minutes
        expect(box.locator('form[data-priority="low"] .chain-empty')).to_be_visible()  # no steps: said in words

        rows = high.locator(".chain-step")
        rows.nth(0).locator("[name=after]").fill("2")
        rows.nth(0).locator("[name=unit]").select_option("min")
        high.locator("[data-add]").click()  # a copy of the last step
        assert _steps(high)[2] == ("1", "min", "rapid_response")
        rows.nth(2).locator("[name=after]").fill("90")
        rows.nth(2).locator("[name=unit]").select_option("s")
        rows.nth(2).locator("[name=target]").select_option("charge_nurse")
        high.locator("[data-add]").click()
        rows.nth(3).locator("[data-remove]").click()  # added by mistake
        assert len(_steps(high)) == 3

        high.locator("button[type=submit]").click()  # no reason yet
        expect(high.locator(".field-errors")).to_have_text(t("chain.reason_needed"))
        high.locator("[name=reason]").fill("Đêm chỉ có 2 điều dưỡng" if locale == "vi" else "two nurses on nights")
        high.locator("button[type=submit]").click()  # rapid response, then back down to the charge nurse: refused
        expect(high.locator(".field-errors")).to_contain_text(t("error.chain_down", level=3, previous=rrt,
                                                                target=charge_nurse))
        rows.nth(2).locator("[data-move=up]").click()
        assert _steps(high) == [("2", "min", "charge_nurse"), ("90", "s", "charge_nurse"), ("1", "min", "rapid_response")]
        medium = box.locator('form[data-priority="medium"]')
        medium.locator(".chain-step [name=after]").fill("10")  # begun, not saved
        high.locator("button[type=submit]").click()
        expect(page.locator("#chain-message")).to_have_text(t("chain.saved"))
        expect(high).to_have_attribute("data-source", "configured")
        assert _steps(medium) == [("10", "min", "charge_nurse")]  # saving one card keeps the others' edits

        page.reload()
        high = page.locator('#chains form[data-priority="high"]')
        expect(high).to_have_attribute("data-source", "configured")
        expect(high.locator(".badge")).to_have_text(t("chain.source_configured"))
        assert _steps(high) == [("2", "min", "charge_nurse"), ("90", "s", "charge_nurse"), ("1", "min", "rapid_response")]
        expect(high).to_contain_text(NAMES[f"charge.d.{locale}"])  # who set it, and why
        expect(high).to_contain_text("Đêm chỉ có 2 điều dưỡng" if locale == "vi" else "two nurses on nights")
        expect(high.locator(".chain-declared")).to_contain_text(charge_nurse)  # the default stays in view
        assert _steps(page.locator('#chains form[data-priority="medium"]')) == [("5", "min", "charge_nurse")]
        assert _fits(page, "#chains .chain-step input, #chains .chain-step select, #chains .chain-step button,"
                           " #chains .chain-actions button") == []
        _no_horizontal_scroll(page)
        high.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"chains-ward-{locale}-{width}.png"), full_page=True)

        with console.connect() as conn:
            stored = conn.execute("SELECT level, after_s, target FROM escalation_steps WHERE scope = 'ward-d'"
                                  " AND priority = 'high' ORDER BY level").fetchall()
        assert stored == [(1, 120.0, "charge_nurse"), (2, 90.0, "charge_nurse"), (3, 60.0, "rapid_response")]

        high.locator("[name=reason]").fill("back to hospital policy")
        high.locator("[data-reset]").click()
        expect(page.locator("#chain-message")).to_have_text(t("chain.reset_done"))
        expect(page.locator('#chains form[data-priority="high"]')).to_have_attribute("data-source", "declared")
        page.context.close()


def test_admin_edits_the_home_chain(console: Console, browser: Browser, ward_d: str, artifacts: Path) -> None:
    for locale, width in (("en", 1440), ("vi", 390)):
        t = lambda key, **p: i18n.t(locale, key, **p)  # noqa: E731
        _, page = new_page(browser, locale=BROWSER_LOCALE[locale], width=width, height=900)
        sign_in(page, console, f"admin.{locale}", "/admin")
        page.select_option("#chain-scope", "home")
        expect(page.locator("#chains")).to_have_attribute("data-loaded", "home")
        medium = page.locator('#chains form[data-priority="medium"]')
        assert _steps(medium) == [("30", "min", "charge_nurse")]  # the declared home default
        expect(page.locator("#chains .chain-home-roles")).to_have_text(t("chain.home_roles"))
        medium.locator(".chain-step [name=after]").fill("45")
        medium.locator("[name=reason]").fill("trạm y tế xã trực đến 17h" if locale == "vi" else "station hours")
        medium.locator("button[type=submit]").click()
        expect(page.locator("#chain-message")).to_have_text(t("chain.saved"))

        page.reload()
        page.select_option("#chain-scope", "home")
        expect(page.locator("#chains")).to_have_attribute("data-loaded", "home")
        medium = page.locator('#chains form[data-priority="medium"]')
        expect(medium).to_have_attribute("data-source", "configured")
        assert _steps(medium) == [("45", "min", "charge_nurse")]
        _no_horizontal_scroll(page)
        medium.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"chains-home-{locale}-{width}.png"), full_page=True)
        # The ward default scope shows other chains: the home edit is not applied to wards.
        page.select_option("#chain-scope", "*")
        expect(page.locator("#chains")).to_have_attribute("data-loaded", "*")
        expect(page.locator("#chains .chain-home-roles")).to_have_count(0)
        assert _steps(page.locator('#chains form[data-priority="medium"]')) == [("5", "min", "charge_nurse")]
        page.select_option("#chain-scope", "home")
        expect(page.locator("#chains")).to_have_attribute("data-loaded", "home")
        medium = page.locator('#chains form[data-priority="medium"]')
        medium.locator("[name=reason]").fill("reset")
        medium.locator("[data-reset]").click()
        expect(page.locator("#chain-message")).to_have_text(t("chain.reset_done"))
        expect(page.locator('#chains form[data-priority="medium"]')).to_have_attribute("data-source", "declared")
        page.context.close()
