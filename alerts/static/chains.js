// Escalation chain editor (charge nurse on her ward page, admin on the administration page): per priority, who is
// called after how long when nobody acknowledges. Through /api/escalation-chains, which checks the scope's rules
// (alerts.chain_safety) and audits every change with its reason.
"use strict";
(() => {
  const {t, el, api, dateTime} = RPM;
  const box = document.getElementById("chains");
  if (!box) return;
  const picker = document.getElementById("chain-scope");
  const list = document.getElementById("chain-list");
  const note = document.getElementById("chain-message");
  const TARGETS = ["nurse", "charge_nurse", "rapid_response"];
  let scope = box.dataset.scope || (picker ? picker.value : "");
  function say(text) { note.hidden = false; note.textContent = text; }
  // Whole minutes read as minutes; anything else in seconds (the safe ranges start at 30 s).
  const split = s => s >= 60 && s % 60 === 0 ? [s / 60, "min"] : [s, "s"];
  const duration = s => { const [n, u] = split(s); return `${n} ${t(u === "min" ? "chain.unit_min" : "chain.unit_s")}`; };
  const describe = steps => steps.length ? steps.map(s => t("chain.step", {after: duration(s.after_s), target: t(`target.${s.target}`)})).join(" · ") : t("chain.none_short");

  function stepRow(step) {
    const [n, u] = split(step.after_s);
    const li = el("li", {class: "chain-step"},
      el("label", {class: "chain-after"}, t("chain.after"), el("span", {class: "inline"},
        el("input", {type: "number", name: "after", min: "1", step: "1", value: String(n), inputmode: "numeric"}),
        el("select", {name: "unit", "aria-label": t("chain.unit")},
          el("option", {value: "s", selected: u === "s"}, t("chain.unit_s")), el("option", {value: "min", selected: u === "min"}, t("chain.unit_min"))))),
      el("label", {class: "chain-target"}, t("chain.target"), el("select", {name: "target"},
        TARGETS.map(r => el("option", {value: r, selected: r === step.target}, t(`target.${r}`))))),
      el("span", {class: "chain-move"},
        el("button", {type: "button", class: "secondary", "data-move": "up", "aria-label": t("chain.up"), title: t("chain.up"),
                      onclick: () => { if (li.previousElementSibling) li.parentNode.insertBefore(li, li.previousElementSibling); }}, "↑"),
        el("button", {type: "button", class: "secondary", "data-move": "down", "aria-label": t("chain.down"), title: t("chain.down"),
                      onclick: () => { if (li.nextElementSibling) li.parentNode.insertBefore(li.nextElementSibling, li); }}, "↓"),
        el("button", {type: "button", class: "secondary", "data-remove": "", "aria-label": t("chain.remove"), title: t("chain.remove"),
                      onclick: () => li.remove()}, "✕")));
    return li;
  }

  function readSteps(form) {
    return [...form.querySelectorAll(".chain-step")].map(li => {
      const n = Number(li.querySelector("[name=after]").value);
      return {after_s: li.querySelector("[name=unit]").value === "min" ? n * 60 : n, target: li.querySelector("[name=target]").value};
    });
  }

  function chainForm(c) {
    const steps = el("ol", {class: "chain-steps"}, c.steps.map(stepRow));
    const errors = el("ul", {class: "field-errors error"});
    const reason = el("input", {name: "reason", maxlength: "500", autocomplete: "off"});
    const fail = e => errors.replaceChildren(...(e.body && e.body.fields ? e.body.fields.map(f => f.message) : [e.message]).map(m => el("li", {}, m)));
    const form = el("form", {class: "chain", "data-priority": c.priority, "data-source": c.source, novalidate: true},
      el("h3", {}, t(`priority.${c.priority}`), " ", el("span", {class: `badge source-${c.source}`}, t(`chain.source_${c.source}`))),
      el("p", {class: "muted small chain-declared"}, t("chain.declared", {steps: describe(c.declared)})),
      c.source === "configured" && c.set_by ? el("p", {class: "muted small"}, t("chain.set_by", {user: c.set_by_name || c.set_by, time: dateTime(c.set_at), reason: c.reason || ""})) : null,
      el("p", {class: "muted small"}, t("chain.range", {low: duration(c.min_after_s), high: duration(c.max_after_s), max: c.max_steps})),
      steps,
      el("p", {class: "muted small chain-empty"}, t("chain.none")),
      el("div", {class: "chain-actions"},
        el("button", {type: "button", class: "secondary", "data-add": "", onclick: () => {
          const last = readSteps(form).pop();
          steps.append(stepRow({after_s: last ? last.after_s : c.min_after_s, target: last ? last.target : "charge_nurse"}));
        }}, t("chain.add"))),
      el("label", {class: "chain-reason"}, t("chain.reason"), reason),
      el("div", {class: "chain-actions"},
        el("button", {type: "submit"}, t("chain.save")),
        c.source === "configured" ? el("button", {type: "button", class: "secondary", "data-reset": "", onclick: async () => {
          errors.replaceChildren();
          if (!reason.value.trim()) { fail({message: t("chain.reason_needed")}); reason.focus(); return; }
          try {
            await api(`/api/escalation-chains/${encodeURIComponent(scope)}/${c.priority}?reason=${encodeURIComponent(reason.value.trim())}`, {method: "DELETE"});
            say(t("chain.reset_done")); refresh(c.priority);
          } catch (e) { fail(e); }
        }}, t("chain.reset")) : null),
      errors);
    form.addEventListener("submit", async ev => {
      ev.preventDefault(); errors.replaceChildren();
      if (!reason.value.trim()) { fail({message: t("chain.reason_needed")}); reason.focus(); return; }
      try {
        await api(`/api/escalation-chains/${encodeURIComponent(scope)}/${c.priority}`,
                  {method: "PUT", body: {steps: readSteps(form), reason: reason.value.trim()}});
        say(t("chain.saved")); refresh(c.priority);
      } catch (e) { fail(e); }
    });
    return form;
  }

  // Answers for a scope the picker has already left are dropped: a slow first load must not overwrite the
  // chains of the scope chosen since (the user would edit one scope while seeing another).
  let shown = 0;
  async function fetchChains() {
    const mine = ++shown, asked = scope;
    const data = await api(`/api/escalation-chains/${encodeURIComponent(asked)}`);
    return mine === shown && asked === scope ? data : null;
  }
  // Only the saved card is redrawn: edits not yet saved in the other priorities' cards stay.
  async function refresh(priority) {
    const data = await fetchChains();
    const c = data && data.chains.find(x => x.priority === priority);
    const old = list.querySelector(`form[data-priority="${priority}"]`);
    if (c && old) old.replaceWith(chainForm(c));
  }
  async function load() {
    if (!scope) return;
    const data = await fetchChains();
    if (!data) return;
    // At home the roles are the care team's (alerts.routing): the primary member, then the backup.
    const homeRoles = scope === "home" ? el("p", {class: "muted small chain-home-roles"}, t("chain.home_roles")) : null;
    list.replaceChildren(...[homeRoles, ...data.chains.map(chainForm)].filter(Boolean));
    box.dataset.loaded = scope;
  }
  if (picker) picker.addEventListener("change", () => { scope = picker.value; note.hidden = true; load().catch(e => say(t("error.load", {message: e.message}))); });
  load().catch(e => say(t("error.load", {message: e.message})));
})();
