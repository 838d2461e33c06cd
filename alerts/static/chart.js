// Small SVG charts written for this console (no plotting library to ship: a few KB instead of
// plotly's 3.5 MB, fast on ward tablets and over slow links to commune health stations).
// A line with its min-max band, shaded zones (NEWS2 bands, glucose target), alarm markers, the AGP, and the
// raw waveform strip.
"use strict";
const Chart = (() => {
  const NS = "http://www.w3.org/2000/svg";
  // Small multiples are 520 x 200 user units; wide charts (NEWS2, AGP) 1200 x 240, so text keeps its size.
  let W = 520, H = 200;
  const M = {l: 46, r: 12, t: 10, b: 24};
  function size(opts) { [W, H] = opts.wide ? [1200, 240] : [520, 200]; }
  function s(tag, attrs = {}, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function niceStep(lo, hi, n = 5) {
    const span = hi - lo || 1, step0 = span / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
    return [1, 2, 2.5, 5, 10].map(f => f * mag).find(x => span / x <= n) || 10 * mag;
  }
  function niceTicks(lo, hi, n = 5) {
    const step = niceStep(lo, hi, n);
    const out = []; for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(10));
    return out;
  }
  // As many time labels as fit without touching (12 px text is about 7 px a character), evenly spread.
  function timeTicks(start, end, fmtX, width) {
    const sample = fmtX(start + (end - start) / 2);
    const labelW = sample.length * 7 + 14;
    const n = Math.max(1, Math.min(6, Math.floor(width / labelW) - 1));
    return Array.from({length: n + 1}, (_, i) => start + (end - start) * i / n);
  }
  function frame(opts) {
    const svg = s("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.title || ""});
    const x = t => M.l + (t - opts.start) / (opts.end - opts.start) * (W - M.l - M.r);
    const y = v => H - M.b - (v - opts.yMin) / (opts.yMax - opts.yMin) * (H - M.t - M.b);
    for (const z of opts.zones || []) {
      const top = y(Math.min(z.to, opts.yMax)), bottom = y(Math.max(z.from, opts.yMin));
      if (bottom > top) svg.append(s("rect", {class: z.cls, x: M.l, y: top, width: W - M.l - M.r, height: bottom - top}));
    }
    const axis = s("g", {class: "axis"});
    let prevY = null;
    for (const v of niceTicks(opts.yMin, opts.yMax)) {
      const label = String(opts.fmtY ? opts.fmtY(v) : v);
      if (label === prevY) continue;  // finer ticks than the vital's digits: one line per distinct label
      prevY = label;
      axis.append(s("line", {x1: M.l, x2: W - M.r, y1: y(v), y2: y(v)}));
      axis.append(s("text", {class: "y", x: M.l - 4, y: y(v) + 4, "text-anchor": "end"}, label));
    }
    const all = timeTicks(opts.start, opts.end, opts.fmtX, W - M.l - M.r);
    // Never the same label twice (a few minutes at minute resolution).
    const ticks = all.filter((t, i) => i === 0 || opts.fmtX(t) !== opts.fmtX(all[i - 1]));
    ticks.forEach((t, i) => {
      axis.append(s("text", {class: "x", x: x(t), y: H - 6, "text-anchor": i === 0 ? "start" : (i === ticks.length - 1 ? "end" : "middle")},
                    opts.fmtX(t)));
    });
    svg.append(axis);
    return {svg, x, y};
  }
  function domain(series, pad = .08, hint = {}) {
    let lo = Infinity, hi = -Infinity;
    for (const se of series) for (const p of se.points) {
      for (const v of [p.v, p.lo, p.hi]) if (v !== null && v !== undefined) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    }
    if (hint.min !== undefined) lo = Math.min(lo, hint.min);
    if (hint.max !== undefined) hi = Math.max(hi, hint.max);
    if (!isFinite(lo)) { lo = hint.min ?? 0; hi = hint.max ?? 1; }
    if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
    const p = (hi - lo) * pad;
    // Out to the enclosing ticks: the top label is never below the highest (or latest) value.
    const step = niceStep(lo - p, hi + p);
    return [Math.floor((lo - p) / step + 1e-9) * step, Math.ceil((hi + p) / step - 1e-9) * step];
  }
  function firstTime(series) {
    let first = Infinity;
    for (const se of series) for (const p of se.points) if (p.v !== null && p.v !== undefined) { first = Math.min(first, p.t); break; }
    return first;
  }
  // Split where the gap is much longer than the usual spacing: no line across missing data.
  function segments(points) {
    const ds = []; for (let i = 1; i < points.length; i++) ds.push(points[i].t - points[i - 1].t);
    const med = ds.length ? ds.slice().sort((a, b) => a - b)[Math.floor(ds.length / 2)] : 0;
    const out = []; let cur = [];
    points.forEach((p, i) => {
      if (p.v === null || p.v === undefined) { if (cur.length) out.push(cur); cur = []; return; }
      if (i > 0 && med > 0 && p.t - points[i - 1].t > 3 * med && cur.length) { out.push(cur); cur = []; }
      cur.push(p);
    });
    if (cur.length) out.push(cur);
    return out;
  }
  function line(container, opts) {
    size(opts);
    const [yMin, yMax] = opts.yRange || domain(opts.series, .08, opts.yHint || {});
    const first = firstTime(opts.series);
    // A few minutes of data in a 24 h or 7 d period: the axis starts where the data does (the page says so),
    // instead of squashing it against the right edge.
    let start = opts.start;
    if (opts.fitData && isFinite(first) && first > opts.start + (opts.end - opts.start) * .1) {
      start = Math.max(opts.start, first - (opts.end - first) * .03);
    }
    opts = {...opts, start, fmtX: opts.fmtXFor ? opts.fmtXFor(opts.end - start) : opts.fmtX};
    const f = frame({...opts, yMin, yMax});
    const {svg, x, y} = f;
    let total = 0, last = null;
    opts.series.forEach((se, i) => {
      const cls = i ? " second" : "";
      total += se.points.length;
      for (const seg of segments(se.points)) {
        const banded = seg.filter(p => p.lo !== null && p.hi !== null && p.lo !== p.hi);
        if (banded.length > 1) {
          const d = banded.map(p => `${x(p.t)},${y(p.hi)}`).concat(banded.slice().reverse().map(p => `${x(p.t)},${y(p.lo)}`));
          svg.append(s("polygon", {class: "band" + cls, points: d.join(" ")}));
        }
        if (seg.length === 1) svg.append(s("circle", {class: "dot" + cls, cx: x(seg[0].t), cy: y(seg[0].v), r: 2.5}));
        else svg.append(s(opts.step ? "polyline" : "polyline", {class: "series" + cls,
          points: (opts.step ? seg.flatMap((p, j) => j ? [`${x(p.t)},${y(seg[j - 1].v)}`, `${x(p.t)},${y(p.v)}`] : [`${x(p.t)},${y(p.v)}`])
                             : seg.map(p => `${x(p.t)},${y(p.v)}`)).join(" ")}));
      }
      const withV = se.points.filter(p => p.v !== null && p.v !== undefined);
      if (i === 0 && withV.length) last = withV[withV.length - 1].v;
    });
    for (const m0 of opts.markers || []) {
      // A condition that began before the first point shown is marked where it was raised, or not at all:
      // never against a stretch without data.
      const m = isFinite(first) && m0.t < first ? {...m0, t: m0.raised ?? m0.t} : m0;
      if (m.t < opts.start || m.t > opts.end || (isFinite(first) && m.t < first)) continue;
      const g = s("line", {class: `marker ${m.cls || ""}`, x1: x(m.t), x2: x(m.t), y1: M.t, y2: H - M.b, "data-t": String(m.t)});
      g.append(s("title", {}, m.label || ""));
      svg.append(g);
    }
    if (!total) svg.append(s("text", {class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle"}, opts.emptyText || ""));
    svg.dataset.points = String(total);
    svg.dataset.xStart = String(opts.start); svg.dataset.xEnd = String(opts.end);
    svg.dataset.yMin = String(yMin); svg.dataset.yMax = String(yMax);
    if (isFinite(first)) svg.dataset.first = String(first);
    if (last !== null) svg.dataset.last = String(last);
    container.replaceChildren(...(opts.head ? [opts.head] : []), svg);
    return svg;
  }
  function agp(container, bins, opts) {
    size({wide: true});
    const day = 1440;
    const conv = opts.conv || (v => v);
    const pts = bins.map(b => ({t: b.minute_of_day, p5: conv(b.p5), p25: conv(b.p25), p50: conv(b.p50), p75: conv(b.p75), p95: conv(b.p95)}));
    const yMax = Math.max(conv(250), ...pts.map(p => p.p95)) * 1.05, yMin = 0;
    const {svg, x, y} = frame({start: 0, end: day, yMin, yMax, fmtX: m => `${String(Math.floor(m / 60) % 24).padStart(2, "0")}:00`,
                               fmtY: opts.fmtY, zones: [{from: conv(70), to: conv(180), cls: "zone-target"}], title: opts.title});
    const band = (lo, hi, cls) => svg.append(s("polygon", {class: cls,
      points: pts.map(p => `${x(p.t)},${y(p[hi])}`).concat(pts.slice().reverse().map(p => `${x(p.t)},${y(p[lo])}`)).join(" ")}));
    if (pts.length > 1) {
      band("p5", "p95", "agp-outer"); band("p25", "p75", "agp-inner");
      svg.append(s("polyline", {class: "agp-median", points: pts.map(p => `${x(p.t)},${y(p.p50)}`).join(" ")}));
    } else svg.append(s("text", {class: "empty", x: W / 2, y: H / 2, "text-anchor": "middle"}, opts.emptyText || ""));
    svg.dataset.bins = String(pts.length);
    container.replaceChildren(svg);
  }
  // A waveform strip: the raw trace of a few seconds on a 1-s grid (a monitor's sweep), auto-scaled like a
  // monitor's pleth. One user unit per CSS pixel of the container, so text and line keep their size from a
  // 390 px phone to a desktop. opts.t: seconds since opts.start (ms); opts.values: samples, null = gap.
  function strip(container, opts) {
    const width = Math.max(300, Math.min(1400, Math.round(container.clientWidth || 520) - 18));
    const height = 150, m = {l: 8, r: 8, t: 8, b: 22};
    const svg = s("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": opts.title || "", class: "strip"});
    const x = sec => m.l + sec / opts.seconds * (width - m.l - m.r);
    const vals = opts.values.filter(v => v !== null);
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * .06;
    const y = v => height - m.b - (v - lo + pad) / (hi - lo + 2 * pad) * (height - m.t - m.b);
    const axis = s("g", {class: "axis"});
    // Every label starts at its tick (12 px digits are about 6.5 px wide): a label every 1, 2, 5... s,
    // as often as they fit without touching, none running past the right edge.
    const labelW = opts.fmtX(opts.start).length * 6.5 + 8;
    const labelEvery = [1, 2, 5, 10, 20].find(k => (width - m.l - m.r) / opts.seconds * k >= labelW) || 30;
    for (let k = 0; k <= opts.seconds; k++) {
      axis.append(s("line", {class: "tick", x1: x(k), x2: x(k), y1: m.t, y2: height - m.b}));
      if (k % labelEvery === 0 && x(k) + labelW - 6 <= width) {
        axis.append(s("text", {class: "x", x: x(k) + 2, y: height - 6, "text-anchor": "start"}, opts.fmtX(opts.start + k * 1000)));
      }
    }
    svg.append(axis);
    let seg = [];
    const flush = () => {
      if (seg.length > 1) svg.append(s("polyline", {class: "trace", points: seg.join(" ")}));
      seg = [];
    };
    opts.values.forEach((v, i) => {
      if (v === null) { flush(); return; }
      seg.push(`${x(opts.t[i]).toFixed(1)},${y(v).toFixed(1)}`);
    });
    flush();
    svg.dataset.points = String(vals.length);
    container.replaceChildren(...(opts.head ? [opts.head] : []), svg);
    return svg;
  }
  const dayFmt = new Intl.DateTimeFormat(RPM.intl, {timeZone: RPM.tz, day: "2-digit", month: "2-digit"});
  const dayLabel = ms => dayFmt.format(new Date(ms));
  return {line, agp, strip, dayLabel};
})();
