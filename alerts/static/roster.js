// Shift roster (charge nurse on the ward page, admin on the administration page): who answers which beds'
// alarms and when. Through the alarm configuration API (/api/roster), which checks the ward and audits.
"use strict";
(() => {
  const {t, el, api, dateTime} = RPM;
  const box = document.getElementById("roster");
  if (!box) return;
  const ward = box.dataset.ward || null;
  const form = document.getElementById("roster-form");
  const errors = document.getElementById("roster-form-errors");
  const note = document.getElementById("roster-message");
  function say(text) { note.hidden = false; note.textContent = text; }
  async function load() {
    const rows = await api(`/api/roster${ward ? `?ward_id=${encodeURIComponent(ward)}` : ""}`);
    document.getElementById("roster-rows").replaceChildren(...rows.map(s => el("tr", {"data-shift": s.id, "data-responder": s.responder_id},
      el("td", {}, s.responder_id), el("td", {}, t(`target.${s.role}`)), el("td", {}, s.ward_id || t("admin.all_wards")),
      el("td", {}, s.beds ? s.beds.join(", ") : "–"), el("td", {}, dateTime(s.starts_at)), el("td", {}, dateTime(s.ends_at)),
      el("td", {}, el("button", {type: "button", class: "secondary", onclick: async () => {
        try { await api(`/api/roster/${s.id}`, {method: "DELETE"}); say(t("admin.saved")); load(); }
        catch (e) { say(t("action.failed", {message: e.message})); }
      }}, t("admin.remove"))))));
  }
  // datetime-local is the browser's local time without an offset: send it as an instant.
  const instant = v => v ? new Date(v).toISOString() : null;
  form.addEventListener("submit", async ev => {
    ev.preventDefault(); errors.replaceChildren();
    const d = Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v).trim()]));
    const beds = d.beds ? d.beds.split(",").map(b => b.trim()).filter(Boolean) : null;
    try {
      await api("/api/roster", {method: "POST", body: {responder_id: d.responder_id, role: d.role, ward_id: ward || d.ward_id || null,
                                                       beds, starts_at: instant(d.starts_at), ends_at: instant(d.ends_at)}});
      say(t("admin.saved")); form.reset(); load();
    } catch (e) {
      const items = e.body && e.body.fields ? e.body.fields.map(f => f.message) : [e.message];
      errors.replaceChildren(...items.map(m => el("li", {}, m)));
    }
  });
  load().catch(e => say(t("error.load", {message: e.message})));
})();
