// Administration: users and roles, patients and beds, devices and assignments, the audit log.
// Every change goes through the audited admin API; its validation messages come back in the user's language.
"use strict";
(() => {
  const {t, el, api, dateTime} = RPM;
  const isAdmin = document.querySelector(".admin").dataset.admin === "yes";
  const msg = document.getElementById("admin-message");
  function notice(text) { msg.hidden = false; msg.textContent = text; }
  function formData(form) {
    const out = {};
    for (const [k, v] of new FormData(form).entries()) out[k] = typeof v === "string" ? v.trim() : v;
    return out;
  }
  function showErrors(form, e) {
    const box = document.getElementById(`${form.id}-errors`);
    const items = e.body && e.body.fields ? e.body.fields.map(f => f.message) : [e.message];
    box.replaceChildren(...items.map(m => el("li", {}, m)));
  }
  function clearErrors(form) { document.getElementById(`${form.id}-errors`).replaceChildren(); }
  async function submit(form, fn) {
    form.addEventListener("submit", async ev => {
      ev.preventDefault(); clearErrors(form);
      try { await fn(formData(form)); } catch (e) { showErrors(form, e); }
    });
  }
  async function loadUsers() {
    const rows = await api("/api/admin/users");
    document.getElementById("user-rows").replaceChildren(...rows.map(u => el("tr", {"data-user": u.user_id},
      el("td", {}, u.user_id), el("td", {}, u.display_name),
      el("td", {}, u.roles.map(([r, w]) => `${t(`role.${r}`)}${w ? ` (${w})` : ""}`).join(", ")),
      el("td", {}, u.locale), el("td", {}, u.disabled ? el("span", {class: "muted"}, t("admin.disabled")) : "",
        el("button", {type: "button", class: "secondary", onclick: async () => {
          await api(`/api/admin/users/${encodeURIComponent(u.user_id)}/disable${u.disabled ? "?enable=true" : ""}`, {method: "POST"});
          loadUsers();
        }}, t(u.disabled ? "admin.enable" : "admin.disable"))))));
  }
  async function loadPatients() {
    const rows = await api("/api/admin/patients");
    document.getElementById("patient-rows").replaceChildren(...rows.map(p => el("tr", {"data-patient": p.id},
      el("td", {}, p.id), el("td", {}, p.display_name), el("td", {}, p.ward_id || "–"), el("td", {}, p.bed || "–"), el("td", {}, String(p.spo2_scale)))));
  }
  async function loadDevices() {
    const rows = await api("/api/admin/devices");
    document.getElementById("device-rows").replaceChildren(...rows.map(d => el("tr", {"data-device": d.device_id},
      el("td", {}, d.device_id), el("td", {}, t(`device.${d.kind}`)), el("td", {}, d.patient_id || "–"), el("td", {}, d.ward_id || "–"),
      el("td", {}, d.bed || "–"), el("td", {}, d.since ? dateTime(d.since) : "–"),
      el("td", {}, d.patient_id ? el("button", {type: "button", class: "secondary", onclick: async () => {
        await api(`/api/admin/devices/${encodeURIComponent(d.device_id)}/unassign`, {method: "POST"}); loadDevices();
      }}, t("admin.unassign")) : ""))));
  }
  if (isAdmin) {
    submit(document.getElementById("user-form"), async d => {
      const u = await api("/api/admin/users", {method: "POST", body: {...d, ward_id: d.ward_id || null, patient_id: d.patient_id || null}});
      notice(t("admin.created", {user: u.user_id})); document.getElementById("user-form").reset(); loadUsers();
    });
    submit(document.getElementById("patient-form"), async d => {
      if (!d.patient_id) throw new RPM.ApiError(422, {message: t("validation.missing", {field: t("field.patient_id")})});
      await api(`/api/admin/patients/${encodeURIComponent(d.patient_id)}`, {method: "PUT",
        body: {display_name: d.display_name, ward_id: d.ward_id || null, bed: d.bed || null, spo2_scale: Number(d.spo2_scale)}});
      notice(t("admin.saved")); loadPatients();
    });
    submit(document.getElementById("device-form"), async d => {
      if (!d.device_id) throw new RPM.ApiError(422, {message: t("validation.missing", {field: t("field.device_id")})});
      await api(`/api/admin/devices/${encodeURIComponent(d.device_id)}`, {method: "PUT", body: {kind: d.kind}});
      if (d.patient_id) await api(`/api/admin/devices/${encodeURIComponent(d.device_id)}/assign`, {method: "POST", body: {patient_id: d.patient_id}});
      notice(t("admin.saved")); loadDevices();
    });
    loadUsers(); loadPatients(); loadDevices();
  }
  const auditForm = document.getElementById("audit-form");
  auditForm.addEventListener("submit", async ev => {
    ev.preventDefault();
    const d = formData(auditForm), q = new URLSearchParams();
    if (d.subject) q.set("subject", d.subject);
    if (d.actor) q.set("actor", d.actor);
    const rows = await api(`/api/admin/audit?${q}`);
    document.getElementById("audit-rows").replaceChildren(...rows.map(r => el("tr", {}, el("td", {}, dateTime(r.at)), el("td", {}, r.actor),
      el("td", {}, r.action), el("td", {}, r.subject || "–"))));
  });
})();
