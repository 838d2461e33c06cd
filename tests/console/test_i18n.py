"""Message catalogs: both languages complete, same placeholders, every key used by a page exists."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from alerts.console import i18n
from wire.rules import Rule

CONSOLE = Path(__file__).resolve().parents[2] / "alerts"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    vi, en = i18n.catalog("vi"), i18n.catalog("en")
    assert set(vi) == set(en)
    for key in vi:
        assert set(PLACEHOLDER.findall(vi[key])) == set(PLACEHOLDER.findall(en[key])), key
        assert vi[key].strip() and en[key].strip(), key


def test_every_alarm_rule_has_a_text_in_both_languages() -> None:
    for rule in Rule:
        assert f"rule.{rule.value}" in i18n.catalog("vi")
        assert f"rule.{rule.value}" in i18n.catalog("en")


def test_vietnamese_texts_are_vietnamese() -> None:
    vi, en = i18n.catalog("vi"), i18n.catalog("en")
    # Same text in both is fine only for symbols and abbreviations.
    same = {k for k in vi if vi[k] == en[k]}
    assert same <= {"news2.label", "news2.none", "unit.spo2", "unit.temperature", "unit.bp_systolic", "unit.bp_diastolic",
                    "vital.spo2", "cgm.gmi", "admin.none"}, same
    assert i18n.t("vi", "auth.title") == "Đăng nhập" and i18n.t("en", "auth.title") == "Sign in"


def _keys_used() -> set[str]:
    used: set[str] = set()
    for f in (CONSOLE / "console" / "templates").glob("*.html"):
        used |= set(re.findall(r"t\('([a-z0-9_.-]+)'", f.read_text(encoding="utf-8")))
    for f in (CONSOLE / "static").glob("*.js"):
        used |= set(re.findall(r"""\bt\("([a-z0-9_.-]+)"[,)]""", f.read_text(encoding="utf-8")))
    for f in (CONSOLE / "console").glob("*.py"):
        used |= set(re.findall(r"""["']((?:error|validation|field)\.[a-z0-9_]+)["']""", f.read_text(encoding="utf-8")))
    # Prefixes completed at run time ('role.' + r) are checked through their full keys elsewhere.
    return {k for k in used if not k.endswith(".") and k != "error.html"}


def test_every_key_named_in_pages_scripts_and_code_exists() -> None:
    used = _keys_used()
    assert len(used) > 100
    missing = sorted(k for k in used if k not in i18n.catalog("vi"))
    assert not missing, missing


@pytest.mark.parametrize(("header", "cookie", "want"), [
    (None, None, "vi"), ("en-US,en;q=0.9", None, "en"), ("fr-FR,vi;q=0.8", None, "vi"), ("en", "vi", "vi"),
    ("de", None, "vi"),
])
def test_sign_in_page_language(header: str | None, cookie: str | None, want: str) -> None:
    assert i18n.negotiate(header, cookie) == want


def test_placeholders_fill_and_unknown_ones_stay() -> None:
    assert i18n.t("en", "error.rate_limited", seconds=30) == "Too many wrong passwords. Try again in 30 seconds."
    assert "{seconds}" in i18n.t("vi", "error.rate_limited")
    assert i18n.t("en", "no.such.key") == "no.such.key"


def test_keys_completed_at_run_time_exist_for_every_value(db: psycopg.Connection) -> None:
    from alerts.console.devices import FRESHNESS
    from alerts.console.periods import CHARTED, RANGES
    from alerts.console.users import ROLES
    from streams.news2_table import Band
    from wire.messages import DeviceKind, Priority

    kinds = [r[0] for r in db.execute("SELECT kind FROM alert_event_kinds")]
    # Kinds the alarm lifecycle (migration 0100, branch alerts) adds.
    kinds += ["condition_cleared", "condition_returned", "reannounced", "notify_failed"]
    expected = (
        [f"role.{r}" for r in ROLES] + [f"device.{k.value}" for k in DeviceKind] + [f"device.{k}" for k in FRESHNESS]
        + [f"range.{r}" for r in RANGES] + [f"priority.{p.value}" for p in Priority] + [f"band.{b.value}" for b in Band]
        + [f"vital.{t.value}" for t in CHARTED] + [f"unit.{t.value}" for t in CHARTED]
        + [f"signal.{s}" for s in ("live", "stale", "offline")] + [f"event.{k}" for k in kinds]
        + [f"state.{s}" for s in ("active", "escalated", "acknowledged", "paused", "resolved")]
        + [f"target.{s}" for s in ("nurse", "charge_nurse", "rapid_response")] + [f"res.{r}" for r in ("raw", "1m", "1h")]
    )
    for locale in i18n.LOCALES:
        missing = [k for k in expected if k not in i18n.catalog(locale)]
        assert not missing, (locale, missing)
