"""Patient record API for clinicians (and a patient's own record): trends, NEWS2, alarms, CGM, waveform strip.

Every answer is audited (``audit_log``: who read which patient's what, for
which period) in the same transaction as the read: no read without its row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request

from alerts.console import access, alarms, bed_limits, devices, waveform_strip
from alerts.console.auth import current_user
from alerts.console.context import console
from alerts.console.models import (
    AgpBinOut,
    AlertHistoryOut,
    DailyGlucoseOut,
    GlucoseOut,
    GlucoseSummaryOut,
    News2PointOut,
    PatientOut,
    PatientRefOut,
    TrendOut,
    TrendPointOut,
    TrendsOut,
    WaveformOut,
    WaveformPointOut,
    WaveformStripOut,
)
from alerts.console.params import PatientId
from alerts.console.periods import CHARTED, RangeName, period
from alerts.console.users import Principal
from storage import audit, glucose_queries, queries, waveforms
from wire.units import ReadingType

router = APIRouter(prefix="/api/patients", tags=["patient record"])
_ERRORS: dict[int | str, dict[str, object]] = {401: {}, 403: {}, 404: {}, 422: {}}
EndQuery = Query(None, description="end of the period, ISO 8601 with offset (default now)")


@router.get("", response_model=list[PatientRefOut], responses=_ERRORS)
def patients(request: Request, home: bool = Query(False, description="only patients monitored at home (no ward)"),
             user: Principal = Depends(current_user)) -> list[PatientRefOut]:
    """Patients the user may open: those of their wards; with every ward in scope, also those at home."""
    scope = user.scope()
    with console(request).connect() as conn, conn.transaction():
        rows = conn.execute(
            "SELECT id, display_name, ward_id, bed FROM patients WHERE (%(all)s OR ward_id = ANY(%(wards)s))"
            " AND (NOT %(home)s OR ward_id IS NULL) ORDER BY ward_id NULLS LAST, bed, id",
            {"all": scope.every_ward, "wards": sorted(scope.wards), "home": home},
        ).fetchall()
        if rows:
            audit.append(conn, user.user_id, "patients.list", None, {"patients": [r[0] for r in rows]})
    return [PatientRefOut(id=r[0], display_name=r[1], ward_id=r[2], bed=r[3]) for r in rows]


@router.get("/{patient_id}", response_model=PatientOut, responses=_ERRORS)
def patient(patient_id: PatientId, request: Request, user: Principal = Depends(current_user)) -> PatientOut:
    now = datetime.now(UTC)
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
        with conn.transaction():
            audit.append(conn, user.user_id, "patient.view", ref.id, {})
            devs = devices.patient_devices(conn, ref.id, now)
            cgm = devices.has_glucose(conn, ref.id, now)
            limits = bed_limits.effective(conn, [(ref.id, ref.spo2_scale)], now)[ref.id]
    return PatientOut(id=ref.id, display_name=ref.display_name, ward_id=ref.ward_id, bed=ref.bed,
                      spo2_scale=ref.spo2_scale, devices=devs, has_glucose=cgm, limits=limits)


@router.get("/{patient_id}/trends", response_model=TrendsOut, responses=_ERRORS)
def trends(
    patient_id: PatientId, request: Request, range: RangeName = "24h", end: datetime | None = EndQuery,
    types: list[ReadingType] | None = Query(None, description="vitals to chart (default all)"),
    user: Principal = Depends(current_user),
) -> TrendsOut:
    """Each vital over the period at the resolution the storage query API picks for its length
    (raw up to 1 h, 1-minute buckets up to ~2 days, then hourly), with min/max per bucket."""
    start, stop = period(range, end)
    chosen = [t for t in CHARTED if types is None or t in types]
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
        with conn.transaction():
            audit.append(conn, user.user_id, "patient.trends", ref.id,
                         {"start": start, "end": stop, "types": [t.value for t in chosen]})
            out = [queries.vital_trend(conn, ref.id, t, start, stop) for t in chosen]
    return TrendsOut(patient_id=ref.id, start=start, end=stop, trends=[
        TrendOut(type=tr.type, unit=tr.unit, resolution=tr.resolution.value, start=tr.start, end=tr.end,
                 points=[TrendPointOut(t=p.t, value=p.value, min=p.min, max=p.max, n=p.n) for p in tr.points])
        for tr in out
    ])


@router.get("/{patient_id}/news2", response_model=list[News2PointOut], responses=_ERRORS)
def news2(patient_id: PatientId, request: Request, range: RangeName = "24h", end: datetime | None = EndQuery,
          user: Principal = Depends(current_user)) -> list[News2PointOut]:
    start, stop = period(range, end)
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
        with conn.transaction():
            audit.append(conn, user.user_id, "patient.news2", ref.id, {"start": start, "end": stop})
            rows = queries.news2_history(conn, ref.id, start, stop)
    return [News2PointOut(scored_at=p.scored_at, total=p.total, band=p.band, red_flag=p.red_flag,
                          complete=p.complete, subscores=dict(p.subscores)) for p in rows]


@router.get("/{patient_id}/alerts", response_model=list[AlertHistoryOut], responses=_ERRORS)
def alert_history(patient_id: PatientId, request: Request, range: RangeName = "24h", end: datetime | None = EndQuery,
                  user: Principal = Depends(current_user)) -> list[AlertHistoryOut]:
    """Alarms raised in the period, newest first, each with who did what and when."""
    start, stop = period(range, end)
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
        with conn.transaction():
            audit.append(conn, user.user_id, "patient.alerts", ref.id, {"start": start, "end": stop})
            return alarms.history(conn, ref.id, start, stop)


# A strip is seconds long, like a monitor's sweep: long enough for several beats, short enough that
# every point on a phone is a few samples wide.
STRIP_DEFAULT_S, STRIP_MAX_S = 20, 120
STRIP_DEFAULT_POINTS, STRIP_MAX_POINTS = 1000, 4000
# With no end given, the strip ends where the newest snippet of this long ago ends: a snippet arrives
# after its last sample, so "the last 20 s of the clock" would often be empty or half drawn.
STRIP_LOOKBACK = timedelta(hours=1)


@router.get("/{patient_id}/waveform", response_model=WaveformOut, responses=_ERRORS)
def waveform(
    patient_id: PatientId, request: Request,
    seconds: int = Query(STRIP_DEFAULT_S, ge=2, le=STRIP_MAX_S, description="length of the strip"),
    end: datetime | None = Query(None, description="end of the strip, ISO 8601 with offset (default: the end of "
                                                     "the newest snippet of the last hour, else now)"),
    points: int = Query(STRIP_DEFAULT_POINTS, ge=100, le=STRIP_MAX_POINTS, description="most points per trace"),
    user: Principal = Depends(current_user),
) -> WaveformOut:
    """The raw PPG/ECG samples of a span, per device and kind, as stored (``waveform_snippets``), decimated to
    at most ``points`` by a min/max envelope so every peak survives; with the rates the stream workers derived
    from the same snippets (``waveform_hr``)."""
    now = datetime.now(UTC)
    with console(request).connect() as conn:
        ref = access.patient(conn, user, patient_id)
        with conn.transaction():
            stop = end or waveforms.latest_end(conn, ref.id, now - STRIP_LOOKBACK) or now
            start = stop - timedelta(seconds=seconds)
            audit.append(conn, user.user_id, "patient.waveform", ref.id, {"start": start, "end": stop})
            snippets = waveforms.read(conn, ref.id, start, stop)
            rows = conn.execute(
                "SELECT device_id, waveform, at, hr_bpm, reason, good_windows, windows FROM waveform_hr"
                " WHERE patient_id = %s AND at >= %s AND at < %s ORDER BY device_id, waveform, at LIMIT 1000",
                (ref.id, start, stop + waveforms.MAX_SNIPPET),
            ).fetchall()
    derived_hr: dict[tuple[str, str], list[WaveformPointOut]] = {}
    for dev, kind, at, hr, reason, good, total in rows:
        derived_hr.setdefault((dev, kind), []).append(
            WaveformPointOut(at=at, hr_bpm=hr, reason=reason, quality=good / total if total else 0.0))
    return WaveformOut(patient_id=ref.id, start=start, end=stop, strips=[
        WaveformStripOut(device_id=s.device_id, waveform=s.kind, fs_hz=s.fs_hz, unit=s.unit, adc_bits=s.adc_bits,
                         samples=s.samples, decimation="minmax" if s.decimated else "none", t=s.t, values=s.values,
                         hr=derived_hr.get((s.device_id, s.kind), []))
        for s in waveform_strip.build(snippets, start, stop, points)
    ])


def _summary(s: glucose_queries.GlucoseSummary) -> GlucoseSummaryOut:
    return GlucoseSummaryOut(
        n=s.n, coverage_pct=s.coverage_pct, sufficient=s.sufficient, mean_mg_dl=s.mean_mg_dl, cv_pct=s.cv_pct,
        gmi_pct=s.gmi_pct, below_54_pct=s.below_54_pct, below_70_pct=s.below_70_pct,
        in_70_180_pct=s.in_70_180_pct, above_180_pct=s.above_180_pct, above_250_pct=s.above_250_pct)


@router.get("/{patient_id}/glucose", response_model=GlucoseOut, responses=_ERRORS)
def glucose(patient_id: PatientId, request: Request, days: int = Query(14, ge=1, le=14), end: datetime | None = EndQuery,
            user: Principal = Depends(current_user)) -> GlucoseOut:
    """CGM: ambulatory glucose profile and consensus time-in-range metrics (Battelino 2019)."""
    ctx = console(request)
    stop = end or datetime.now(UTC)
    tz = ctx.settings.console_timezone
    with ctx.connect() as conn:
        ref = access.patient(conn, user, patient_id)
        with conn.transaction():
            audit.append(conn, user.user_id, "patient.glucose", ref.id, {"days": days, "end": stop})
            profile = glucose_queries.agp(conn, ref.id, stop, days=days, tz=tz)
            local_end = stop.astimezone(ZoneInfo(tz)).date()
            daily = glucose_queries.daily_metrics(conn, ref.id, local_end - timedelta(days=days - 1), local_end, tz)
    return GlucoseOut(
        patient_id=ref.id, days=days, days_with_data=profile.days_with_data, summary=_summary(profile.summary),
        agp=[AgpBinOut(minute_of_day=b.minute_of_day, p5=b.p5, p25=b.p25, p50=b.p50, p75=b.p75, p95=b.p95)
             for b in profile.bins],
        daily=[DailyGlucoseOut(day=d.day.isoformat(), summary=_summary(d.metrics)) for d in daily],
    )
