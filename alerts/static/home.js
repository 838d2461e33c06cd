// Home view for a patient: my latest readings, whether my devices send, and whether my care team saw my alerts.
"use strict";
(() => {
  const {t, el, api, unitOf, number, toDisplay, ago, time, dateTime, alarmText} = RPM;
  const STATE = {live: ["home.device_live", "ok"], stale: ["home.device_stale", "warn"], offline: ["home.device_offline", "bad"]};
  async function load() {
    try {
      const h = await api("/api/home");
      document.getElementById("home-greeting").textContent = t("home.greeting", {name: h.display_name});
      const cards = h.readings.filter(r => !["bp_diastolic", "supplemental_o2", "consciousness"].includes(r.type)).map(r => {
        let v = [number(r.type, toDisplay(r.type, r.value)), el("small", {}, unitOf(r.type))];
        if (r.type === "bp_systolic") {
          const d = h.readings.find(x => x.type === "bp_diastolic");
          v = [`${Math.round(r.value)}/${d ? Math.round(d.value) : "–"}`, el("small", {}, "mmHg")];
        }
        return el("div", {class: "home-card", "data-reading": r.type}, el("div", {class: "l"}, t(`vital.${r.type === "bp_systolic" ? "bp" : r.type}`)),
                  el("div", {class: "v"}, v), el("div", {class: "l"}, t("home.measured", {time: dateTime(r.measured_at)})));
      });
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
    } catch (e) {
      const box = document.getElementById("load-error"); box.hidden = false; box.textContent = t("error.load", {message: e.message});
    }
  }
  load();
  setInterval(load, 30000);
})();
