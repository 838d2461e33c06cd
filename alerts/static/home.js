// Home view for a patient: my latest readings (with which way they moved since the reading before), my week in
// graphs, my glucose time in range, whether my devices send, and whether my care team saw my alerts.
"use strict";
(() => {
  const {t, el, api, value, unitOf, number, toDisplay, ago, time, dateTime, alarmText} = RPM;
  const STATE = {live: ["home.device_live", "ok"], stale: ["home.device_stale", "warn"], offline: ["home.device_offline", "bad"]};
  const ARROW = {up: "↑", down: "↓", flat: "→"};
  const HIDDEN = ["bp_diastolic", "supplemental_o2", "consciousness"];

  function change(r, d) {
    if (r.previous_value === null || r.previous_value === undefined) return null;
    let text;
    if (r.type === "bp_systolic") {
      const ds = Math.round(r.value - r.previous_value);
      const dd = d && d.previous_value !== null && d.previous_value !== undefined ? Math.round(d.value - d.previous_value) : null;
      text = `${ds > 0 ? "+" : ""}${ds}${dd === null ? "" : `/${dd > 0 ? "+" : ""}${dd}`} mmHg`;
    } else {
      const delta = toDisplay(r.type, r.value) - toDisplay(r.type, r.previous_value);
      const unit = unitOf(r.type);
      text = `${delta > 0 ? "+" : (delta < 0 ? "−" : "±")}${number(r.type, Math.abs(delta))}${unit === "%" ? "" : " "}${unit}`;
    }
    return el("div", {class: "change", "data-change": r.type},
      el("span", {class: `arrow ${r.trend}`, "data-trend": r.trend, title: t(`home.trend_${r.trend}`), "aria-label": t(`home.trend_${r.trend}`)}, ARROW[r.trend]),
      " ", t("home.change", {delta: text, time: dateTime(r.previous_at)}));
  }
  function card(r, all) {
    const d = all.find(x => x.type === "bp_diastolic");
    let v = [el("span", {class: "num"}, number(r.type, toDisplay(r.type, r.value))), el("small", {}, unitOf(r.type))];
    if (r.type === "bp_systolic") v = [el("span", {class: "num"}, `${Math.round(r.value)}/${d ? Math.round(d.value) : "–"}`), el("small", {}, "mmHg")];
    return el("div", {class: "home-card", "data-reading": r.type}, el("div", {class: "l"}, t(`vital.${r.type === "bp_systolic" ? "bp" : r.type}`)),
              el("div", {class: "v"}, v), change(r, d), el("div", {class: "l"}, t("home.measured", {time: dateTime(r.measured_at)})));
  }
  function drawHistory(data) {
    const start = new Date(data.start).getTime(), end = new Date(data.end).getTime();
    const byType = Object.fromEntries(data.trends.map(tr => [tr.type, tr]));
    const charts = [["heart_rate", ["heart_rate"]], ["spo2", ["spo2"]], ["resp_rate", ["resp_rate"]], ["temperature", ["temperature"]],
                    ["bp", ["bp_systolic", "bp_diastolic"]], ["glucose", ["glucose"]]];
    const box = document.getElementById("home-charts");
    box.replaceChildren();
    for (const [id, types] of charts) {
      const trends = types.map(ty => byType[ty]).filter(Boolean);
      if (!trends.length) continue;
      const series = trends.map(tr => ({points: tr.points.map(p => ({t: new Date(p.t).getTime(), v: toDisplay(tr.type, p.value),
                                                                     lo: toDisplay(tr.type, p.min), hi: toDisplay(tr.type, p.max)}))}));
      const holder = el("div", {class: "chart", "data-chart": id});
      box.append(holder);
      Chart.line(holder, {title: t(`vital.${id}`), head: el("h3", {}, t(`vital.${id}`)), series, start, end, fitData: true,
                          fmtXFor: span => span > 36 * 3600e3 ? Chart.dayLabel : (ms => time(new Date(ms).toISOString())), fmtY: v => number(id === "bp" ? "bp" : id, v), emptyText: t("patient.no_points"),
                          zones: id === "glucose" ? [{from: toDisplay("glucose", 70), to: toDisplay("glucose", 180), cls: "zone-target"}] : []});
    }
    document.getElementById("home-history").hidden = !box.children.length;
  }
  function drawGlucose(s) {
    if (!s.n) return;
    const pct = v => v === null || v === undefined ? "–" : `${number("spo2", v)}%`;
    const parts = [["very_high", s.above_250_pct, "tir-vh"], ["high", s.above_180_pct - s.above_250_pct, "tir-h"],
                   ["in_range", s.in_70_180_pct, "tir-in"], ["low", s.below_70_pct - s.below_54_pct, "tir-l"], ["very_low", s.below_54_pct, "tir-vl"]];
    const bar = el("div", {class: "tir-row"}, parts.map(([k, v, cls]) => {
      const d = el("div", {class: cls, "data-tir": k, title: `${t(`cgm.${k}`)}: ${pct(v)}`});
      d.style.flexGrow = String(Math.max(0, v || 0));
      return d;
    }));
    document.getElementById("home-tir").replaceChildren(
      el("p", {class: "tir-headline", "data-tir-in": String(s.in_70_180_pct)}, t("home.tir_value", {pct: pct(s.in_70_180_pct)})),
      bar, el("ul", {class: "tir-legend-list"}, parts.map(([k, v]) => el("li", {"data-tir-label": k}, `${pct(v)} · ${t(`cgm.${k}`)}`))),
      ...(s.sufficient ? [] : [el("p", {class: "warn"}, t("cgm.insufficient"))]));
    document.getElementById("home-glucose").hidden = false;
  }
  async function load() {
    try {
      const h = await api("/api/home");
      document.getElementById("home-greeting").textContent = t("home.greeting", {name: h.display_name});
      const cards = h.readings.filter(r => !HIDDEN.includes(r.type)).map(r => card(r, h.readings));
      document.getElementById("readings").replaceChildren(...(cards.length ? cards : [el("p", {class: "muted"}, t("home.no_readings"))]));
      document.getElementById("devices").replaceChildren(...h.devices.map(d => el("li", {"data-device": d.device_id, "data-state": d.state},
        el("div", {}, el("strong", {}, t(`device.${d.kind}`)), ` · ${d.device_id}`),
        el("div", {class: STATE[d.state][1]}, t(STATE[d.state][0])),
        el("div", {class: "muted"}, t("home.last_sent", {time: d.last_sent ? `${dateTime(d.last_sent)} (${ago(d.last_sent)})` : t("time.never")})))));
      document.getElementById("home-alerts").replaceChildren(...(h.alerts.length ? h.alerts.map(a => el("li", {"data-alert-id": a.id},
        el("div", {}, el("strong", {}, alarmText(a))), el("div", {class: "muted"}, dateTime(a.raised_at)),
        el("div", {class: a.care_team_notified ? "ok" : "warn"}, t(a.care_team_notified ? "home.notified" : "home.not_notified")),
        el("div", {class: a.seen_by_care_team ? "ok" : "warn", "data-seen": String(a.seen_by_care_team)},
           a.seen_by_care_team ? t("home.seen", {time: time(a.seen_at)}) : t("home.not_seen"))))
        : [el("li", {class: "muted"}, t("home.no_alerts"))]));
      const [trends, glucose] = await Promise.all([api("/api/home/trends"),
        h.readings.some(r => r.type === "glucose") ? api("/api/home/glucose") : Promise.resolve(null)]);
      drawHistory(trends);
      if (glucose) drawGlucose(glucose);
      document.querySelector(".home").dataset.loaded = "true";
    } catch (e) {
      const box = document.getElementById("load-error"); box.hidden = false; box.textContent = t("error.load", {message: e.message});
    }
  }
  load();
  setInterval(load, 30000);
})();
