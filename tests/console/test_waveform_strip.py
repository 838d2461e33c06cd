"""The waveform strip from stored raw samples: the API (span, bounded points with every peak kept, access, audit)
and the patient view in a real browser (a pleth and an ECG trace with 1-s ticks, kind and derived rate; "no
waveform" for a bed without one), in Vietnamese and English, on a desktop and a 390 px phone.

The snippets are written through the product's writer (storage.waveforms) just before the tests, so the
strip's default span (the newest snippet of the last hour) holds them however long the package has run; the
browser test writes the newest ones again before each view, so PA1's strip is live when shown.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, expect

from alerts.console import users, waveform_strip
from alerts.console.users import Grant
from firmware_sim.ppg import ppg_snippet
from storage import audit, derived, waveforms
from tests.console.browser import chromium, new_page, sign_in
from tests.console.conftest import Console
from tests.console.world import PASSWORD
from wire.messages import ReadingBatch, WaveformKind, WaveformSnippet

VIEWS = [("vi", 1440), ("en", 1440), ("vi", 390), ("en", 390)]
BROWSER_LOCALE = {"vi": "vi-VN", "en": "en-US"}
TEXT = {"vi": {"ppg": "Sóng mạch (Pleth)", "ecg": "Điện tim (ECG)", "none": "Không có dạng sóng",
               "old": "Không phải trực tiếp"},
        "en": {"ppg": "Pleth (PPG)", "ecg": "ECG", "none": "No waveform", "old": "Not live"}}


def _pleth(t0: datetime, seconds: float) -> WaveformSnippet:
    x = ppg_snippet(112, 18, seconds, 100.0, random.Random(int(t0.timestamp())))
    return WaveformSnippet(kind=WaveformKind.PPG, t=t0, fs_hz=100.0, samples=tuple(float(round(2048 + 900 * v)) for v in x),
                           adc_bits=12)


def _ecg(t0: datetime, seconds: float, fs: float = 250.0) -> WaveformSnippet:
    """QRS spikes 10 ms wide with a T wave, in microvolts: what decimation must not flatten."""
    t = np.arange(int(seconds * fs)) / fs
    x = 20 * np.random.default_rng(4).standard_normal(t.size)
    for b in np.arange(0.25, seconds + 1, 60 / 112):
        x += 1200 * np.exp(-0.5 * ((t - b) / 0.01) ** 2) + 300 * np.exp(-0.5 * ((t - b - 0.22) / 0.04) ** 2)
    return WaveformSnippet(kind=WaveformKind.ECG, t=t0, fs_hz=fs, samples=tuple(np.round(x).tolist()), unit="uV")


def _write(console: Console, patient: str, device: str, snippets: list[WaveformSnippet]) -> None:
    rows = [r for sn in snippets for r in waveforms.rows_from(ReadingBatch(
        patient_id=patient, device_id=device, seq=-1, sent_at=sn.t, received_at=sn.t, readings=(), waveforms=(sn,)))]
    with console.connect() as conn, conn.transaction():
        waveforms.write(conn, rows)


def _seed_live(console: Console) -> datetime:
    """PA1's monitor up to now: 10-s pleth snippets for 2 minutes and ECG for the last 40 s, on a 10-s grid
    (so writing again later only adds the newer slots, never an overlapping snippet), and the rate the
    stream worker derived from the newest pleth snippet. Returns where the newest snippet ends."""
    now = datetime.now(UTC) - timedelta(seconds=2)
    end = now.replace(microsecond=0) - timedelta(seconds=now.second % 10)
    _write(console, "PA1", "bm-a1", [_pleth(end - timedelta(seconds=10 * k), 10.0) for k in range(1, 13)]
           + [_ecg(end - timedelta(seconds=10 * k), 10.0) for k in range(1, 5)])
    hr = derived.WaveformHrRow(patient_id="PA1", device_id="bm-a1", waveform="ppg", at=end, hr_bpm=112.0, reason="ok",
                               good_windows=2, windows=2)
    with console.connect() as conn, conn.transaction():
        derived.write(conn, [hr])
    return end


@pytest.fixture(scope="module")
def strip_end(console: Console) -> datetime:
    end = _seed_live(console)
    # PA3's monitor stopped sending its pleth 10 minutes ago: its strip must not pass for live.
    _write(console, "PA3", "bm-a3", [_pleth(end - timedelta(minutes=10, seconds=10 * k), 10.0) for k in range(1, 3)])
    return end


def _raw(console: Console, kind: str, start: datetime, end: datetime) -> np.ndarray:
    with console.connect() as conn:
        got = [s for s in waveforms.read(conn, "PA1", start, end) if s.kind == kind]
    t = np.concatenate([[(s.time_of(i) - start).total_seconds() for i in range(s.samples.size)] for s in got])
    x = np.concatenate([s.samples for s in got])
    return x[(t >= 0) & (t < (end - start).total_seconds())]


def test_envelope_keeps_every_peak_and_the_point_budget() -> None:
    t = np.arange(15000) / 500
    x = np.zeros_like(t)
    x[::373] = 1000.0  # one-sample spikes: any filter would shrink them
    x[5::411] = -700.0
    dt, dx = waveform_strip.envelope(t, x, 30)
    assert dx.size <= 2 * 500 and np.all(np.diff(dt) > 0)
    assert np.count_nonzero(dx == 1000.0) == np.count_nonzero(x == 1000.0)
    assert np.count_nonzero(dx == -700.0) == np.count_nonzero(x == -700.0)


def test_strip_api_returns_real_samples_bounded_and_audited(console: Console, strip_end: datetime) -> None:
    with console.login("doctor") as doc:
        r = doc.get("/api/patients/PA1/waveform")
        assert r.status_code == 200, r.text
        body = r.json()
        # Default: the 20 s before the newest snippet's end.
        end = datetime.fromisoformat(body["end"])
        assert end == strip_end and end - datetime.fromisoformat(body["start"]) == timedelta(seconds=20)
        strips = {s["waveform"]: s for s in body["strips"]}
        assert set(strips) == {"ppg", "ecg"}
        ppg, ecg = strips["ppg"], strips["ecg"]
        assert (ppg["device_id"], ppg["fs_hz"], ppg["unit"], ppg["adc_bits"]) == ("bm-a1", 100.0, "a.u.", 12)
        assert (ecg["fs_hz"], ecg["unit"]) == (250.0, "uV")
        assert ppg["samples"] == 2000 and ecg["samples"] == 5000
        start = end - timedelta(seconds=20)
        for s in (ppg, ecg):
            assert s["decimation"] == "minmax" and len(s["values"]) <= 1000 and len(s["t"]) == len(s["values"])
            assert all(0 <= a < b < 20 for a, b in zip(s["t"], s["t"][1:], strict=False))
            raw = _raw(console, s["waveform"], start, end)
            vals = [v for v in s["values"] if v is not None]
            # Every value is a stored sample, and the extremes survive decimation exactly.
            assert set(vals) <= set(raw.tolist())
            assert (max(vals), min(vals)) == (raw.max(), raw.min())
        assert max(strips["ecg"]["values"]) >= 1100  # the QRS spikes at full height
        # Undecimated when the budget allows: every sample of 5 s of pleth.
        five = doc.get("/api/patients/PA1/waveform", params={"seconds": 5, "points": 1000}).json()
        p5 = next(s for s in five["strips"] if s["waveform"] == "ppg")
        assert p5["decimation"] == "none" and len(p5["values"]) == p5["samples"] == 500
        assert p5["values"] == _raw(console, "ppg", end - timedelta(seconds=5), end).tolist()
        # A span before the snippets: nothing; the bounds are enforced.
        old = doc.get("/api/patients/PA1/waveform", params={"end": (end - timedelta(minutes=10)).isoformat()})
        assert old.json()["strips"] == []
        assert doc.get("/api/patients/PA1/waveform", params={"seconds": 121}).status_code == 422
        assert doc.get("/api/patients/PA1/waveform", params={"points": 10}).status_code == 422
        small = doc.get("/api/patients/PA1/waveform", params={"seconds": 120, "points": 100}).json()
        assert all(len(s["values"]) <= 100 for s in small["strips"])
        # A home CGM patient has no waveform.
        assert doc.get("/api/patients/PH1/waveform").json()["strips"] == []
    with console.login("nurse.b") as other_ward:
        denied = other_ward.get("/api/patients/PA1/waveform")
        assert denied.status_code == 403 and denied.json() == other_ward.get("/api/patients/NOPE/waveform").json()
    with console.connect() as conn:
        reads = [(actor, detail) for _, actor, action, detail in audit.entries(conn, "PA1")
                 if action == "patient.waveform"]
    assert ("doctor", end - timedelta(seconds=20), end) in [
        (a, datetime.fromisoformat(d["start"]), datetime.fromisoformat(d["end"])) for a, d in reads]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def test_strip_drawn_as_a_real_trace_in_both_languages(console: Console, strip_end: datetime, browser: Browser,
                                                      artifacts: Path) -> None:
    for locale, width in VIEWS:
        user = f"wave.{locale}"
        with console.connect() as conn:
            if conn.execute("SELECT 1 FROM users WHERE id = %s", (user,)).fetchone() is None:
                users.create_user(conn, "test", user, "Dr Wave", PASSWORD, [Grant("clinician", None)], locale, None)
        _seed_live(console)
        _, page = new_page(browser, locale=BROWSER_LOCALE[locale], width=width, height=900)
        sign_in(page, console, user, "/patients/PA1")
        assert page.get_attribute("html", "lang") == locale
        expect(page.locator(".patient")).to_have_attribute("data-loaded", "24h")
        section = page.locator("#waveform")
        expect(section).to_be_visible()
        for kind in ("ppg", "ecg"):
            holder = page.locator(f'[data-waveform="bm-a1:{kind}"]')
            expect(holder.locator("h3")).to_contain_text(TEXT[locale][kind])
            trace = holder.locator("svg polyline.trace")
            pts = [tuple(map(float, p.split(","))) for p in (trace.first.get_attribute("points") or "").split()]
            assert len(pts) >= 400, f"{kind}: {len(pts)} points"
            ys = [y for _, y in pts]
            # The shape varies: beats, not a flat or constant line; x runs left to right.
            assert max(ys) - min(ys) > 60 and len({round(y) for y in ys}) > 30
            assert all(b[0] >= a[0] for a, b in zip(pts, pts[1:], strict=False))
            ticks = holder.locator("svg .axis line.tick")
            seconds = 20 if width > 600 else 10  # a phone shows 10 s, so beats stay apart
            assert ticks.count() == seconds + 1  # one per second
            # Time labels: several, never touching each other or running out of the chart.
            boxes = page.evaluate("""(sel) => {
                const svg = document.querySelector(sel).getBoundingClientRect();
                return [...document.querySelectorAll(sel + ' .axis text.x')].map(e => {
                    const b = e.getBoundingClientRect(); return [b.left, b.right, svg.left, svg.right]; });
            }""", f'[data-waveform="bm-a1:{kind}"] svg')
            assert len(boxes) >= 3
            assert all(a[1] <= b[0] for a, b in zip(boxes, boxes[1:], strict=False)), boxes
            assert all(left >= sl - 0.5 and right <= sr + 0.5 for left, right, sl, sr in boxes), boxes
        expect(page.locator('[data-waveform="bm-a1:ppg"] [data-hr]')).to_contain_text("112")  # the derived rate
        expect(page.locator("#waveform-old")).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "page scrolls sideways"
        section.screenshot(path=str(artifacts / f"waveform-{locale}-{width}.png"))
        page.screenshot(path=str(artifacts / f"waveform-page-{locale}-{width}.png"), full_page=True)
        page.goto(f"{console.base}/patients/PA3")
        expect(page.locator(".patient")).to_have_attribute("data-loaded", "24h")
        expect(page.locator('[data-waveform="bm-a3:ppg"] svg polyline.trace')).to_have_count(1)
        expect(page.locator("#waveform-old")).to_contain_text(TEXT[locale]["old"])
        expect(page.locator("#waveform-old")).to_contain_text(re.compile(r"\b1[0-3]\b"))  # minutes ago
        page.goto(f"{console.base}/patients/PA2")
        expect(page.locator(".patient")).to_have_attribute("data-loaded", "24h")
        expect(page.locator("#waveform-none")).to_have_text(TEXT[locale]["none"])
        assert page.locator("#waveform-strips svg").count() == 0
        page.context.close()
