// Ward view: beds with latest vitals, NEWS2 and signal status; the alarm queue with acknowledge and pause;
// live over server-sent events (alarm changes at once, a full ward snapshot every few seconds).
"use strict";
(() => {
  const {t, el, api, value, unitOf, number, toDisplay, ago, time, alarmText, roles, isTechnical} = RPM;
  const root = document.querySelector(".ward");
  const wardId = root.dataset.ward;
  const RANK = {high: 0, medium: 1, low: 2};
  const VITALS = ["heart_rate", "spo2", "resp_rate", "temperature", "bp", "glucose"];
  let beds = [], alarms = new Map(), skew = 0;  // skew: server clock minus ours
  const isCharge = roles.has("charge_nurse");
  const now = () => Date.now() + skew;

  // A paused alarm whose pause has run out sounds again (until the lifecycle records it).
  function sounding(a) {
    return a.state === "active" || a.state === "escalated" ||
      (a.state === "paused" && a.paused_until && new Date(a.paused_until).getTime() <= now());
  }
  function sortKey(a) { return [sounding(a) ? 0 : 1, RANK[a.priority] ?? 3, new Date(a.raised_at).getTime()]; }
  function cmp(a, b) { const x = sortKey(a), y = sortKey(b); for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i]; return 0; }

  async function act(a, action, btn) {
    btn.disabled = true;
    try {
      const updated = await api(`/api/alerts/${encodeURIComponent(a.id)}/${action}`, {method: "POST", body: action === "pause" ? {seconds: 120} : {}});
      alarms.set(updated.id, updated); render();
    } catch (e) { btn.disabled = false; alert(t("action.failed", {message: e.message})); }
  }
  // The text keeps the value at raise; the latest value of a persisting condition is shown beside it.
  function nowText(a) {
    if (a.current_value === null || a.current_value === undefined || a.current_value === a.value || !a.condition_present) return "";
    const type = a.parameter || (a.rule.startsWith("news2") ? "news2" : "");
    const v = type === "news2" ? String(Math.round(a.current_value)) : value(type, a.current_value);
    return el("span", {class: "now", "data-current-value": String(a.current_value)}, " · " + t("ward.now_value", {value: v}));
  }
  function alarmItem(a) {
    const snd = sounding(a);
    const meta = [];
    if (a.acknowledged_by && a.state === "acknowledged") meta.push(t("action.acked_by", {user: a.acknowledged_by_name || a.acknowledged_by, time: time(a.acknowledged_at)}));
    if (a.state === "paused" && !snd) meta.push(t("action.paused_until", {time: time(a.paused_until)}));
    if (a.escalated_to) meta.push(t("action.escalated_to", {target: t(`target.${a.escalated_to}`)}));
    const buttons = el("div", {class: "buttons"});
    if (snd || a.state === "paused") buttons.append(el("button", {type: "button", class: "ack", onclick: e => act(a, "ack", e.currentTarget)}, t("action.ack")));
    if (snd) buttons.append(el("button", {type: "button", class: "pause secondary", onclick: e => act(a, "pause", e.currentTarget)}, t("action.pause")));
    const stateText = a.escalated_to && a.state === "escalated" ? "" : t(`state.${snd && a.state === "paused" ? "active" : a.state}`);
    const tech = isTechnical(a);
    return el("li", {class: `alarm ${a.priority}${snd ? " sounding" : ""}${tech ? " technical" : ""}`, "data-alert-id": a.id, "data-state": a.state,
                     "data-priority": a.priority, "data-kind": tech ? "technical" : "clinical"},
      el("div", {class: "what"}, el("span", {class: `chip ${a.priority}`}, t(`priority.${a.priority}`)),
         tech ? el("span", {class: "chip technical"}, t("ward.technical")) : null,
         a.bed ? t("ward.bed", {bed: a.bed}) + " · " : "", alarmText(a), nowText(a)),
      el("div", {class: "meta"}, `${a.display_name || a.patient_id} · ${ago(a.raised_at, now())}`,
         el("span", {class: "state"}, [stateText, ...meta].filter(Boolean).map(x => " · " + x).join(""))),
      buttons);
  }
  // The limits that apply now beside each vital, as a central station shows them: high over low, the patient's own underlined.
  function limitsOf(b, type) {
    const param = type === "bp" ? "bp_systolic" : type;
    const ls = (b.limits || []).filter(l => l.parameter === param);
    if (!ls.length) return null;
    const fmt = l => param === "bp_systolic" ? String(Math.round(l.value)) : number(param, toDisplay(param, l.value));
    const hi = ls.find(l => l.direction === "above"), lo = ls.find(l => l.direction === "below");
    const part = (l, cls) => l ? el("span", {class: `${cls}${l.source === "patient" ? " own" : ""}`, "data-limit": l.rule, "data-source": l.source,
      title: `${t(l.direction === "above" ? "limit.above" : "limit.below", {value: fmt(l)})} · ` +
             (l.source === "patient" ? t("limit.patient_title", {user: l.set_by || "", reason: l.reason || ""}) : t("limit.default_title"))}, fmt(l)) : null;
    return el("span", {class: "lim", "data-limits": param}, part(hi, "hi"), part(lo, "lo"));
  }
  function vitalCell(b, type) {
    const v = Object.fromEntries(b.vitals.map(x => [x.type, x]));
    let text = "–";
    if (type === "bp") {
      if (v.bp_systolic) text = `${Math.round(v.bp_systolic.value)}/${v.bp_diastolic ? Math.round(v.bp_diastolic.value) : "–"}`;
      return [el("span", {class: "l"}, t("vital.bp")), el("span", {class: "cell"}, el("span", {class: "v", "data-vital": "bp"}, text), limitsOf(b, "bp"))];
    }
    if (!v[type]) return type === "glucose" ? [] : [el("span", {class: "l"}, t(`vital.${type}`)),
                                                    el("span", {class: "cell"}, el("span", {class: "v", "data-vital": type}, "–"), limitsOf(b, type))];
    const unit = unitOf(type);
    return [el("span", {class: "l"}, t(`vital.${type}`)),
            el("span", {class: "cell"}, el("span", {class: "v", "data-vital": type}, number(type, toDisplay(type, v[type].value)),
                                             el("small", {}, unit === "%" ? unit : ` ${unit}`)), limitsOf(b, type))];
  }
  // A 60-minute line per vital: the shape of the last hour at a glance (gaps stay gaps).
  function sparkline(b, type) {
    const vals = (b.sparklines || {})[type] || [];
    const pts = vals.map((v, i) => [i, v]).filter(([, v]) => v !== null);
    if (pts.length < 2) return null;
    const W = 100, H = 22, lo = Math.min(...pts.map(p => p[1])), hi = Math.max(...pts.map(p => p[1]));
    const y = v => hi - lo < 1e-9 ? H / 2 : H - 2 - (v - lo) / (hi - lo) * (H - 4);
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("class", `spark spark-${type}`); svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img"); svg.setAttribute("aria-label", t("ward.spark_title", {vital: t(`vital.${type}`)}));
    svg.dataset.spark = type; svg.dataset.points = String(pts.length);
    let d = "", prev = -2;
    for (const [i, v] of pts) { d += `${i === prev + 1 ? "L" : "M"}${(i / (vals.length - 1) * W).toFixed(1)},${y(v).toFixed(1)} `; prev = i; }
    const path = document.createElementNS(NS, "path"); path.setAttribute("d", d.trim()); svg.append(path);
    const title = document.createElementNS(NS, "title"); title.textContent = t("ward.spark_title", {vital: t(`vital.${type}`)}); svg.append(title);
    return svg;
  }
  // NEWS2 in words under the badge: the scale, an incomplete score and a single parameter scoring 3 are never hidden in a mark.
  function news2Tags(b) {
    const n2 = b.news2, tags = [];
    if ((n2 && n2.spo2_scale === 2) || b.spo2_scale === 2) tags.push(el("span", {class: "tag scale2", "data-tag": "scale2", title: t("news2.scale2_hint")}, t("news2.scale2")));
    if (n2 && !n2.complete) tags.push(el("span", {class: "tag incomplete", "data-tag": "incomplete", title: t("news2.incomplete_hint")}, t("news2.incomplete")));
    if (n2 && n2.red_flag) tags.push(el("span", {class: "tag red-flag", "data-tag": "red_flag", title: t("news2.red_flag_hint")}, t("news2.red_flag")));
    return tags.length ? el("div", {class: "tags"}, tags) : null;
  }
  function bedCard(b, open) {
    // Technical alarms say the data cannot be trusted; they never colour the bed as a clinical alarm does.
    const clinical = open.filter(a => !isTechnical(a)), technical = open.filter(isTechnical);
    const worst = clinical.filter(sounding).sort(cmp)[0];
    const n2 = b.news2;
    const sparks = ["heart_rate", "spo2"].map(type => sparkline(b, type)).filter(Boolean);
    return el("a", {class: `bed${worst ? " alarm-" + worst.priority : ""}${technical.some(sounding) ? " technical" : ""}`,
                    href: `/patients/${encodeURIComponent(b.patient_id)}`, "data-patient": b.patient_id, "data-bed": b.bed || "", title: t("ward.open_record")},
      el("div", {class: "head"}, el("span", {class: "bedno"}, t("ward.bed", {bed: b.bed || "?"})),
         n2 ? el("span", {class: `news2 band-${n2.red_flag && n2.band === "low" ? "low-medium" : n2.band}`, "data-news2": n2.total,
                          "data-complete": String(n2.complete), "data-red-flag": String(n2.red_flag), title: t(`band.${n2.band}`)}, `NEWS2 ${n2.total}`)
            : el("span", {class: "news2"}, t("news2.none"))),
      news2Tags(b),
      el("div", {class: "name"}, b.display_name),
      el("div", {class: "vitals"}, VITALS.map(type => vitalCell(b, type))),
      sparks.length ? el("div", {class: "sparks"}, sparks) : null,
      el("div", {class: "head small"}, el("span", {class: `signal ${b.signal}`, "data-signal": b.signal}, t(`signal.${b.signal}`)),
         el("span", {class: "muted"}, b.last_seen ? ago(b.last_seen, now()) : t("ward.no_data"))),
      technical.length ? el("div", {class: "small technical-line", "data-technical": technical.map(a => a.rule).join(" ")},
                            technical.map(alarmText).join(" · ")) : null,
      clinical.length ? el("div", {class: "small error"}, t("ward.alarm_count", {n: clinical.length})) : null);
  }
  function render() {
    const list = [...alarms.values()].filter(a => a.state !== "resolved").sort(cmp);
    const escalated = list.filter(a => a.state === "escalated");
    // The charge nurse sees escalated alarms in their own panel, not twice.
    const queued = isCharge ? list.filter(a => a.state !== "escalated") : list;
    document.getElementById("alarm-list").replaceChildren(...queued.map(alarmItem));
    document.getElementById("no-alarms").hidden = queued.length > 0;
    const esc = document.getElementById("escalations");
    esc.hidden = !isCharge;
    document.getElementById("escalated-list").replaceChildren(...(escalated.length ? escalated.map(alarmItem)
      : [el("li", {class: "muted"}, t("ward.no_escalated"))]));
    const byPatient = new Map();
    for (const a of list) { if (!byPatient.has(a.patient_id)) byPatient.set(a.patient_id, []); byPatient.get(a.patient_id).push(a); }
    document.getElementById("bed-grid").replaceChildren(...beds.map(b => bedCard(b, byPatient.get(b.patient_id) || [])));
    const live = list.filter(sounding);
    const high = live.some(a => a.priority === "high");
    document.getElementById("high-banner").hidden = !high;
    AlarmSound.set(high ? "high" : (live.some(a => a.priority === "medium") ? "medium" : "off"));
    document.getElementById("sound-blocked").hidden = !(live.length && AlarmSound.enabled && AlarmSound.blocked());
  }
  function applySnapshot(w) {
    skew = new Date(w.server_time).getTime() - Date.now();
    beds = w.beds;
    alarms = new Map(w.alarms.map(a => [a.id, a]));
    render();
  }
  const status = document.getElementById("stream-status");
  function setStatus(state) { status.dataset.state = state; status.textContent = t(`ward.stream_${state}`); }
  function connect() {
    const es = new EventSource(root.dataset.stream);
    es.onopen = () => setStatus("live");
    es.addEventListener("ward", ev => { setStatus("live"); applySnapshot(JSON.parse(ev.data)); });
    es.addEventListener("alert", ev => { const a = JSON.parse(ev.data); alarms.set(a.id, a); render(); });
    es.addEventListener("signed_out", () => { es.close(); RPM.signedOut(); });
    es.onerror = () => {
      setStatus("lost");
      // EventSource retries by itself; a 401/403 closes it for good: find out which.
      if (es.readyState === EventSource.CLOSED) api("/api/me").then(() => setTimeout(connect, 3000)).catch(() => {});
    };
  }
  const toggle = document.getElementById("sound-toggle");
  toggle.addEventListener("click", () => { toggle.textContent = t(AlarmSound.toggle() ? "ward.sound_on" : "ward.sound_off"); render(); });
  document.getElementById("sound-blocked").addEventListener("click", () => { AlarmSound.unlock(); setTimeout(render, 200); });
  // Patients monitored at home have no bed: clinicians who see every ward find them here.
  if (roles.has("clinician")) api("/api/patients?home=true").then(list => {
    if (!list.length) return;
    document.getElementById("home-patient-list").replaceChildren(...list.map(p =>
      el("li", {}, el("a", {href: `/patients/${encodeURIComponent(p.id)}`, "data-patient": p.id}, `${p.display_name} (${p.id})`))));
    document.getElementById("home-patients").hidden = false;
  }).catch(() => {});
  setInterval(render, 15000);  // ages ("3 min ago") and pause ends move on between pushes
  connect();
})();
