// Patient view: trends per vital at the storage API's resolution, NEWS2 history with band shading,
// alarms on the timeline with who acknowledged them, CGM AGP and time in range, exports of the shown period.
"use strict";
(() => {
  const {t, el, api, value, number, toDisplay, time, dateTime, alarmText} = RPM;
  const root = document.querySelector(".patient");
  const pid = root.dataset.patient;
  const base = `/api/patients/${encodeURIComponent(pid)}`;
  const CHARTS = [
    {id: "heart_rate", types: ["heart_rate"]}, {id: "spo2", types: ["spo2"]}, {id: "resp_rate", types: ["resp_rate"]},
    {id: "temperature", types: ["temperature"]}, {id: "bp", types: ["bp_systolic", "bp_diastolic"]}, {id: "glucose", types: ["glucose"]},
  ];
  let range = "24h", info = null;
  const errBox = document.getElementById("load-error");

  function showError(e) { errBox.hidden = false; errBox.textContent = t("error.load", {message: e.message}); }
  // Date only beyond 3 days, date and time beyond 36 h, time of day below: short labels that never overlap.
  const fmtX = span => span > 3 * 86400e3 ? Chart.dayLabel
    : (span > 36 * 3600e3 ? (ms => dateTime(new Date(ms).toISOString()))
      : (span > 20 * 60e3 ? (ms => time(new Date(ms).toISOString())) : (ms => RPM.timeSec(new Date(ms).toISOString()))));
  function markersFor(alerts, types) {
    return alerts.filter(a => types.includes(a.parameter) || (types === "news2" && a.rule.startsWith("news2")))
      .map(a => ({t: new Date(a.window_start).getTime(), raised: new Date(a.raised_at).getTime(), cls: a.priority,
                  label: `${alarmText(a)} (${t(`state.${a.state}`)})`}));
  }
  function drawTrends(data, alerts) {
    const start = new Date(data.start).getTime(), end = new Date(data.end).getTime();
    const byType = Object.fromEntries(data.trends.map(tr => [tr.type, tr]));
    const res = data.trends.length ? data.trends[0].resolution : "raw";
    const first = Math.min(...data.trends.flatMap(tr => tr.points.filter(p => p.value !== null).slice(0, 1).map(p => new Date(p.t).getTime())));
    const fitted = isFinite(first) && first > start + (end - start) * .1;
    document.getElementById("resolution").textContent = t("patient.resolution", {res: t(`res.${res}`)}) +
      (fitted ? " · " + t("patient.range_note", {start: dateTime(new Date(first).toISOString())}) : "");
    const box = document.getElementById("charts");
    box.replaceChildren();
    if (!data.trends.some(tr => tr.points.length)) box.append(el("p", {class: "muted"}, t("patient.no_points")));
    for (const c of CHARTS) {
      const trends = c.types.map(ty => byType[ty]).filter(Boolean);
      const n = trends.reduce((k, tr) => k + tr.points.length, 0);
      if (!n) continue;  // a CGM patient has no bedside vitals: no empty charts
      const series = trends.map(tr => ({points: tr.points.map(p => ({t: new Date(p.t).getTime(), v: toDisplay(tr.type, p.value),
                                                                     lo: toDisplay(tr.type, p.min), hi: toDisplay(tr.type, p.max)}))}));
      const lastOf = tr => { const ps = tr.points.filter(p => p.value !== null); return ps.length ? ps[ps.length - 1].value : null; };
      const latest = c.id === "bp" && trends.length
        ? `${trends[0] && lastOf(trends[0]) !== null ? Math.round(lastOf(trends[0])) : "–"}/${trends[1] && lastOf(trends[1]) !== null ? Math.round(lastOf(trends[1])) : "–"} mmHg`
        : (trends[0] && lastOf(trends[0]) !== null ? value(c.id, lastOf(trends[0])) : "–");
      const title = t(`vital.${c.id}`);
      const head = el("h3", {}, el("span", {}, title), el("span", {class: "muted", "data-latest": c.id}, t("patient.latest", {value: latest}) + " · " + t("patient.points", {n})));
      const holder = el("div", {class: "chart", "data-chart": c.id});
      box.append(holder);
      Chart.line(holder, {title, head, series, start, end, fitData: true, fmtXFor: fmtX, fmtY: v => number(c.id === "bp" ? "bp" : c.id, v),
                          markers: markersFor(alerts, c.types), emptyText: t("patient.no_points")});
    }
  }
  // Per PPG/ECG device: the raw trace of the newest seconds as stored, its kind, and the rate the stream
  // workers derived from it (the latest usable one, else why there is none).
  function drawWaveform(data) {
    const box = document.getElementById("waveform-strips");
    box.replaceChildren();
    const start = new Date(data.start).getTime(), end = new Date(data.end).getTime();
    const seconds = Math.round((end - start) / 1000);
    document.getElementById("waveform-hint").textContent = t("patient.waveform_hint", {seconds});
    document.getElementById("waveform-none").hidden = data.strips.length > 0;
    // A strip that ends more than a minute ago (a monitor that stopped sending) must never pass for live.
    const old = document.getElementById("waveform-old");
    old.hidden = !data.strips.length || Date.now() - end < 60e3;
    old.textContent = old.hidden ? "" : t("patient.waveform_old", {ago: RPM.ago(data.end)});
    for (const st of data.strips) {
      const holder = el("div", {class: "chart strip-chart", "data-waveform": `${st.device_id}:${st.waveform}`});
      box.append(holder);
      const latest = st.hr.length ? st.hr[st.hr.length - 1] : null;
      const rated = st.hr.filter(p => p.hr_bpm !== null);
      const hrText = rated.length ? t("patient.waveform_hr", {value: Math.round(rated[rated.length - 1].hr_bpm)})
        : (latest ? t("patient.waveform_hr_none", {reason: latest.reason}) : "");
      const kind = t(`wave.${st.waveform}`);
      const meta = t("patient.waveform_meta", {device: st.device_id, fs: number("heart_rate", st.fs_hz), unit: st.unit,
                                               start: RPM.timeSec(data.start), end: RPM.timeSec(data.end)});
      const head = el("h3", {}, el("span", {}, el("span", {class: "kind"}, kind), " ", el("span", {class: "muted small"}, meta)),
                      el("span", {"data-hr": rated.length ? String(Math.round(rated[rated.length - 1].hr_bpm)) : ""}, hrText));
      const svg = Chart.strip(holder, {title: `${kind} ${st.device_id}`, head, start, seconds, t: st.t, values: st.values,
                                       fmtX: ms => RPM.timeSec(new Date(ms).toISOString())});
      svg.dataset.samples = String(st.samples);
      svg.dataset.decimation = st.decimation;
    }
  }
  function drawNews2(points, alerts, startIso, endIso) {
    const start = new Date(startIso).getTime(), end = new Date(endIso).getTime();
    const top = Math.max(10, ...points.map(p => p.total + 1));
    Chart.line(document.getElementById("news2-chart"), {
      title: "NEWS2", start, end, step: true, wide: true, fitData: true, yRange: [0, top], fmtXFor: fmtX, fmtY: v => String(v),
      zones: [{from: 0, to: 4.5, cls: "zone-low"}, {from: 4.5, to: 6.5, cls: "zone-medium"}, {from: 6.5, to: 99, cls: "zone-high"}],
      series: [{points: points.map(p => ({t: new Date(p.scored_at).getTime(), v: p.total, lo: null, hi: null}))}],
      markers: markersFor(alerts, "news2"), emptyText: t("patient.no_points"),
    });
  }
  function drawAlarms(alerts) {
    const rows = alerts.map(a => el("tr", {"data-alert-id": a.id},
      el("td", {}, dateTime(a.raised_at)),
      el("td", {}, el("span", {class: `chip ${a.priority}`}, t(`priority.${a.priority}`)),
         RPM.isTechnical(a) ? el("span", {class: "chip technical"}, t("ward.technical")) : null),
      el("td", {}, alarmText(a)),
      el("td", {class: "state"}, t(`state.${a.state}`)),
      el("td", {class: "history"}, a.events.map(e => el("div", {"data-event": e.event, "data-actor": e.actor},
        `${t(`event.${e.event}`)} — ${e.actor_name || e.actor}, ${dateTime(e.at)}`)))));
    document.getElementById("alarm-rows").replaceChildren(...rows);
    document.getElementById("no-alarm-rows").hidden = alerts.length > 0;
  }
  function drawCgm(g) {
    document.getElementById("cgm").hidden = false;
    document.getElementById("agp-title").textContent = t("cgm.agp", {days: g.days});
    Chart.agp(document.getElementById("agp-chart"), g.agp, {conv: v => toDisplay("glucose", v), fmtY: v => number("glucose", v),
                                                             emptyText: t("patient.no_points")});
    const s = g.summary;
    const parts = [["very_high", s.above_250_pct, "tir-vh"], ["high", s.above_180_pct - s.above_250_pct, "tir-h"],
                   ["in_range", s.in_70_180_pct, "tir-in"], ["low", s.below_70_pct - s.below_54_pct, "tir-l"], ["very_low", s.below_54_pct, "tir-vl"]];
    const pct = v => v === null || v === undefined ? "–" : `${number("spo2", v)}%`;
    const bar = el("div", {class: "tir-bar"}, parts.map(([k, v, cls]) => el("div", {class: cls, style: null, "data-tir": k, title: t(`cgm.${k}`)})));
    [...bar.children].forEach((d, i) => { d.style.flexGrow = String(Math.max(0, parts[i][1] || 0)); });
    const legend = el("div", {class: "tir-legend"}, parts.map(([k, v]) => el("div", {"data-tir-label": k}, `${pct(v)} · ${t(`cgm.${k}`)}`)));
    document.getElementById("tir").replaceChildren(el("div", {class: "tir"}, bar, legend));
    const dl = document.getElementById("cgm-metrics");
    dl.replaceChildren(el("dt", {}, t("cgm.mean")), el("dd", {}, s.mean_mg_dl === null ? "–" : value("glucose", s.mean_mg_dl)),
                       el("dt", {}, t("cgm.gmi")), el("dd", {}, s.gmi_pct === null ? "–" : `${number("temperature", s.gmi_pct)}%`),
                       el("dt", {}, t("cgm.cv")), el("dd", {}, pct(s.cv_pct)),
                       el("dt", {}, t("cgm.coverage")), el("dd", {}, pct(s.coverage_pct)));
    if (!s.sufficient) dl.append(el("dt", {}, ""), el("dd", {class: "warn"}, t("cgm.insufficient")));
  }
  // Alarm limits: the default (NEWS2 single-parameter value) and what applies now; clinicians and charge nurses
  // set a patient's own limit with a reason through the alarm lifecycle's limits API (audited, range-checked there).
  const mayEdit = RPM.roles.has("clinician") || RPM.roles.has("charge_nurse");  // access.LIMIT_EDITORS
  function limitText(l, v) {
    const p = l.parameter;
    return t(l.direction === "above" ? "limit.above" : "limit.below", {value: value(p, v)});
  }
  function drawLimits(limits) {
    const note = document.getElementById("limit-message");
    const rows = limits.map(l => {
      const cells = [el("td", {}, t(`vital.${l.parameter}`)),
                     el("td", {}, limitText(l, l.default)),
                     el("td", {class: l.source === "patient" ? "own" : "", "data-current": String(l.value)}, limitText(l, l.value)),
                     el("td", {}, l.source === "patient" ? `${l.reason || ""} (${l.set_by || ""})` : "–")];
      if (mayEdit) {
        const input = el("input", {type: "number", step: "any", name: "limit", value: String(Math.round(toDisplay(l.parameter, l.value) * 10) / 10),
                                   "aria-label": t("patient.limits")});
        const reason = el("input", {type: "text", name: "reason", placeholder: t("limit.reason"), "aria-label": t("limit.reason")});
        const save = el("button", {type: "button", class: "secondary", onclick: async () => {
          try {
            const typed = Number(input.value);
            const canonical = l.parameter === "glucose" && RPM.unitOf("glucose") === "mmol/L" ? typed * 18.0182 : typed;
            await api(`${base}/limits/${encodeURIComponent(l.rule)}`, {method: "PUT", body: {limit: canonical, reason: reason.value}});
            note.hidden = false; note.textContent = t("limit.saved"); reloadLimits();
          } catch (e) { note.hidden = false; note.textContent = t("action.failed", {message: e.message}); }
        }}, t("limit.save"));
        const clear = l.source === "patient" ? el("button", {type: "button", class: "link", onclick: async () => {
          try {
            await api(`${base}/limits/${encodeURIComponent(l.rule)}?reason=${encodeURIComponent(reason.value || "default")}`, {method: "DELETE"});
            note.hidden = false; note.textContent = t("limit.cleared"); reloadLimits();
          } catch (e) { note.hidden = false; note.textContent = t("action.failed", {message: e.message}); }
        }}, t("limit.clear")) : null;
        cells.push(el("td", {class: "limit-edit"}, input, reason, save, clear));
      } else cells.push(el("td", {}));
      return el("tr", {"data-rule": l.rule, "data-source": l.source}, cells);
    });
    document.getElementById("limit-rows").replaceChildren(...rows);
    document.getElementById("limits").hidden = !limits.length;
  }
  function reloadLimits() { api(base).then(p => drawLimits(p.limits || [])).catch(showError); }
  async function load() {
    errBox.hidden = true;
    document.querySelectorAll(".range").forEach(b => b.setAttribute("aria-pressed", String(b.dataset.range === range)));
    try {
      const [trends, news2, alerts] = await Promise.all([
        api(`${base}/trends?range=${range}`), api(`${base}/news2?range=${range}`), api(`${base}/alerts?range=${range}`)]);
      const q = `range=${range}&end=${encodeURIComponent(trends.end)}`;
      document.getElementById("export-csv").href = `${base}/export.csv?${q}`;
      document.getElementById("export-fhir").href = `${base}/export.fhir.json?${q}`;
      drawTrends(trends, alerts);
      drawNews2(news2, alerts, trends.start, trends.end);
      drawAlarms(alerts);
      // 20 s like a central station's strip; 10 s on a phone, so beats stay as far apart as on a monitor's sweep.
      const strip = document.getElementById("waveform-strips").clientWidth < 600 ? 10 : 20;
      drawWaveform(await api(`${base}/waveform?seconds=${strip}`));
      root.dataset.loaded = range;
      if (info && info.has_glucose) drawCgm(await api(`${base}/glucose?days=14`));
    } catch (e) { showError(e); }
  }
  document.querySelectorAll(".range").forEach(b => b.addEventListener("click", () => { range = b.dataset.range; load(); }));
  api(base).then(p => {
    info = p;
    document.getElementById("patient-name").textContent = p.display_name;
    const bits = [p.bed ? t("ward.bed", {bed: p.bed}) : null, p.id,
                  ...p.devices.map(d => `${t(`device.${d.kind}`)} (${t(`signal.${d.state}`)})`), p.spo2_scale === 2 ? t("patient.scale2") : null];
    document.getElementById("patient-meta").textContent = bits.filter(Boolean).join(" · ");
    drawLimits(p.limits || []);
    return load();
  }).catch(showError);
})();
