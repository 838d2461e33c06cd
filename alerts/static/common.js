// Shared by every page: message catalog, locale formats, API calls with CSRF, language switch.
"use strict";
const RPM = (() => {
  const catalog = JSON.parse(document.getElementById("i18n").textContent);
  const locale = document.documentElement.lang === "en" ? "en" : "vi";
  const intl = locale === "vi" ? "vi-VN" : "en-GB";
  const meta = name => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";
  const tz = meta("rpm-tz") || "Asia/Ho_Chi_Minh";
  const roles = new Set(meta("rpm-roles").split(" ").filter(Boolean));
  const technicalRules = new Set(meta("rpm-technical-rules").split(" ").filter(Boolean));
  // IEC 60601-1-8 technical alarms (probe off, lead off, battery, offline): about the equipment, not the patient.
  const isTechnical = a => technicalRules.has(a.rule);
  const MG_DL_PER_MMOL_L = 18.0182;

  function t(key, params) {
    let text = catalog[key];
    if (text === undefined) return key;
    for (const [k, v] of Object.entries(params || {})) text = text.split(`{${k}}`).join(String(v));
    return text;
  }
  const timeFmt = new Intl.DateTimeFormat(intl, {timeZone: tz, hour: "2-digit", minute: "2-digit"});
  const timeSecFmt = new Intl.DateTimeFormat(intl, {timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit"});
  const dateTimeFmt = new Intl.DateTimeFormat(intl, {timeZone: tz, day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit"});
  const time = iso => iso ? timeFmt.format(new Date(iso)) : "–";
  const timeSec = iso => iso ? timeSecFmt.format(new Date(iso)) : "–";
  const dateTime = iso => iso ? dateTimeFmt.format(new Date(iso)) : "–";

  // Display conversion per locale: glucose is stored in mg/dL; the Vietnamese catalog shows mmol/L.
  function toDisplay(type, v) {
    if (v === null || v === undefined) return null;
    if (type === "glucose" && catalog["unit.glucose"] === "mmol/L") return v / MG_DL_PER_MMOL_L;
    return v;
  }
  const DIGITS = {temperature: 1, glucose: 0, spo2: 0};
  function number(type, v) {
    const d = type === "glucose" && catalog["unit.glucose"] === "mmol/L" ? 1 : (DIGITS[type] ?? 0);
    return new Intl.NumberFormat(intl, {maximumFractionDigits: d, minimumFractionDigits: d}).format(v);
  }
  const unitOf = type => catalog[`unit.${type}`] || "";
  function value(type, v, withUnit = true) {
    const x = toDisplay(type, v);
    if (x === null) return "–";
    const unit = unitOf(type);
    return withUnit && unit ? `${number(type, x)}${unit === "%" ? "" : " "}${unit}` : number(type, x);
  }
  function ago(iso, nowMs) {
    if (!iso) return t("time.never");
    const s = Math.max(0, Math.round(((nowMs ?? Date.now()) - new Date(iso).getTime()) / 1000));
    if (s < 60) return t("time.ago_s", {n: s});
    if (s < 3600) return t("time.ago_m", {n: Math.floor(s / 60)});
    if (s < 86400) return t("time.ago_h", {n: Math.floor(s / 3600)});
    return t("time.ago_d", {n: Math.floor(s / 86400)});
  }
  // Alarm text from the catalog by rule; the server's English message only for an unknown rule.
  function alarmText(a) {
    const key = `rule.${a.rule}`;
    if (!(key in catalog)) return a.message;
    const type = a.parameter || (a.rule.startsWith("news2") ? "news2" : "");
    const fmt = v => v === null || v === undefined ? "–" : (type === "news2" ? String(Math.round(v)) : value(type, v));
    return t(key, {value: fmt(a.value), threshold: fmt(a.threshold)});
  }
  class ApiError extends Error { constructor(status, body) { super(body.message || `HTTP ${status}`); this.status = status; this.body = body; } }
  async function api(path, opts = {}) {
    const headers = {"Accept": "application/json"};
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.method && opts.method !== "GET") headers["X-CSRF-Token"] = meta("csrf-token");
    const r = await fetch(path, {method: opts.method || "GET", headers, credentials: "same-origin",
                                 body: opts.body === undefined ? undefined : JSON.stringify(opts.body)});
    if (r.status === 401) { signedOut(); throw new ApiError(401, {message: t("error.unauthenticated")}); }
    const text = await r.text();
    const body = text ? JSON.parse(text) : null;
    if (!r.ok) throw new ApiError(r.status, body || {});
    return body;
  }
  function signedOut() { const o = document.getElementById("signed-out"); if (o) o.hidden = false; }
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
      else if (k.startsWith("data-")) e.setAttribute(k, v); else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  const sw = document.getElementById("lang-switch");
  if (sw) sw.addEventListener("click", async () => {
    await api("/api/me/locale", {method: "PUT", body: {locale: sw.dataset.locale}});
    location.reload();
  });
  return {t, locale, intl, tz, roles, isTechnical, time, timeSec, dateTime, value, unitOf, number, toDisplay, ago, alarmText, api, ApiError, el, signedOut};
})();
