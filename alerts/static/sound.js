// Alarm tones made with Web Audio (no sound files to ship). Patterns after IEC 60601-1-8:
// high priority = a 10-pulse burst (3 + 2, pause, 3 + 2) repeated every 5 s; medium = 3 pulses every 10 s.
"use strict";
const AlarmSound = (() => {
  let ctx = null, level = "off", enabled = true, timer = null;
  const PATTERNS = {
    high: {hz: 880, pulses: [0, .25, .5, 1.0, 1.25, 2.0, 2.25, 2.5, 3.0, 3.25], every: 5000},
    medium: {hz: 660, pulses: [0, .3, .6], every: 10000},
  };
  function context() {
    if (!ctx) { try { ctx = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { ctx = null; } }
    return ctx;
  }
  function burst(p) {
    const c = context();
    if (!c || c.state !== "running") return;
    const t0 = c.currentTime + .05;
    for (const at of p.pulses) {
      const osc = c.createOscillator(), gain = c.createGain();
      osc.frequency.value = p.hz; osc.type = "square";
      gain.gain.setValueAtTime(0, t0 + at); gain.gain.linearRampToValueAtTime(.15, t0 + at + .02);
      gain.gain.setValueAtTime(.15, t0 + at + .15); gain.gain.linearRampToValueAtTime(0, t0 + at + .18);
      osc.connect(gain).connect(c.destination); osc.start(t0 + at); osc.stop(t0 + at + .2);
    }
  }
  function apply() {
    clearInterval(timer); timer = null;
    const playing = enabled && level !== "off" ? level : "off";
    document.body.dataset.sound = playing;
    if (playing === "off") return;
    burst(PATTERNS[playing]);
    timer = setInterval(() => burst(PATTERNS[playing]), PATTERNS[playing].every);
  }
  // Browsers only start audio after a user gesture: any tap on the page unlocks it.
  function unlock() { const c = context(); if (c && c.state !== "running") c.resume().then(apply); }
  document.addEventListener("pointerdown", unlock);
  document.addEventListener("keydown", unlock);
  return {
    set(next) { if (next !== level) { level = next; apply(); } },
    toggle() { enabled = !enabled; unlock(); apply(); return enabled; },
    get enabled() { return enabled; },
    blocked() { const c = context(); return !c || c.state !== "running"; },
    unlock,
  };
})();
