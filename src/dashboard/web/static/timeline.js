// The timeline's model, pure and also loaded by node for test/web_test.js: turns a Chrome trace
// into lanes (one per worker, grouped under its node), finds the runs inside a time window
// without looking at the others, maps a view to pixels, picks time-axis ticks and gives each
// function a colour of its own. timeline_view.js draws it.
(function (root) {
  "use strict";

  const kLaneHeight = 20;
  const kGroupHeaderHeight = 22;
  const kMinSpanUs = 10;  // the deepest zoom: 10 µs across the whole canvas

  function numberOr(value, fallback) {
    return typeof value === "number" && Number.isFinite(value) ? value : fallback;
  }

  // Trace -> {groups: [{pid, name, y, lanes}], lanes: [{pid, tid, name, groupName, y, height,
  // runs, starts, maxEnds}], runCount, startUs, endUs, height}. Runs in a lane are ordered by
  // start; maxEnds[i] is the latest end among runs 0..i, which lets a search skip every run that
  // ended before a window (runs of one worker may overlap: threaded and async actors).
  function buildLanes(trace, options) {
    const laneHeight = (options && options.laneHeight) || kLaneHeight;
    const headerHeight = (options && options.groupHeaderHeight) || kGroupHeaderHeight;
    const events = Array.isArray(trace) ? trace : (trace && Array.isArray(trace.traceEvents) ? trace.traceEvents : []);
    const processNames = new Map();
    const threadNames = new Map();
    const byProcess = new Map();  // pid -> Map(tid -> runs)
    let startUs = Infinity;
    let endUs = -Infinity;
    let runCount = 0;

    for (const event of events) {
      if (!event || typeof event !== "object") continue;
      if (event.ph === "M") {
        const name = event.args && typeof event.args.name === "string" ? event.args.name : null;
        if (name === null) continue;
        if (event.name === "process_name") processNames.set(event.pid, name);
        if (event.name === "thread_name") threadNames.set(event.pid + ":" + event.tid, name);
        continue;
      }
      if (event.ph !== "X") continue;
      const ts = numberOr(event.ts, null);
      if (ts === null) continue;
      const dur = Math.max(0, numberOr(event.dur, 0));
      const run = { name: String(event.name === undefined ? "" : event.name), ts, dur, end: ts + dur, args: event.args || {}, pid: event.pid, tid: event.tid };
      let threads = byProcess.get(event.pid);
      if (!threads) byProcess.set(event.pid, (threads = new Map()));
      let runs = threads.get(event.tid);
      if (!runs) threads.set(event.tid, (runs = []));
      runs.push(run);
      startUs = Math.min(startUs, ts);
      endUs = Math.max(endUs, run.end);
      runCount++;
    }

    const byNumber = (a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b)));
    const groups = [];
    const lanes = [];
    let y = 0;
    for (const pid of Array.from(byProcess.keys()).sort(byNumber)) {
      const groupName = processNames.get(pid) || "node " + pid;
      const group = { pid, name: groupName, y, lanes: [] };
      y += headerHeight;
      const threads = byProcess.get(pid);
      for (const tid of Array.from(threads.keys()).sort(byNumber)) {
        const runs = threads.get(tid).sort((a, b) => a.ts - b.ts || a.end - b.end);
        const starts = new Float64Array(runs.length);
        const maxEnds = new Float64Array(runs.length);
        let latest = -Infinity;
        runs.forEach((run, i) => {
          starts[i] = run.ts;
          latest = Math.max(latest, run.end);
          maxEnds[i] = latest;
        });
        const lane = {
          pid, tid, name: threadNames.get(pid + ":" + tid) || "worker " + tid, groupName,
          y, height: laneHeight, runs, starts, maxEnds,
        };
        group.lanes.push(lane);
        lanes.push(lane);
        y += laneHeight;
      }
      groups.push(group);
    }
    if (runCount === 0) {
      startUs = 0;
      endUs = 0;
    }
    return { groups, lanes, runCount, startUs, endUs, height: y };
  }

  // First index i in the sorted array with array[i] >= value (or > value when strict).
  function lowerBound(array, value, strict) {
    let lo = 0;
    let hi = array.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (strict ? array[mid] <= value : array[mid] < value) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // Calls fn(run, index) for each run of the lane that overlaps [t0, t1): start < t1 and
  // end > t0 (a zero-length run at t0 counts). Two binary searches bound the candidates, so
  // the cost is the number of runs in view, not in the lane.
  function forEachRunInWindow(lane, t0, t1, fn) {
    const first = lowerBound(lane.maxEnds, t0, false);  // every run before ended before t0
    const last = lowerBound(lane.starts, t1, false);    // every run from here starts at or after t1
    for (let i = first; i < last; i++) {
      const run = lane.runs[i];
      if (run.end > t0 || (run.dur === 0 && run.ts >= t0)) fn(run, i);
    }
  }

  function runsInWindow(lane, t0, t1) {
    const found = [];
    forEachRunInWindow(lane, t0, t1, (run) => found.push(run));
    return found;
  }

  // Lanes any part of which lies between yTop and yBottom (content pixels). Lanes are ordered by
  // y, so a binary search finds the first.
  function lanesInView(model, yTop, yBottom) {
    const lanes = model.lanes;
    let lo = 0;
    let hi = lanes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lanes[mid].y + lanes[mid].height <= yTop) lo = mid + 1; else hi = mid;
    }
    const found = [];
    for (let i = lo; i < lanes.length && lanes[i].y < yBottom; i++) found.push(lanes[i]);
    return found;
  }

  // ---- The view: which time window is across the canvas ----------------------------------

  // The whole trace with a little room at both ends.
  function fullView(model) {
    const span = Math.max(model.endUs - model.startUs, kMinSpanUs);
    const margin = span * 0.02;
    return { t0: model.startUs - margin, t1: model.startUs + span + margin };
  }

  function timeToX(view, width, t) {
    return ((t - view.t0) / (view.t1 - view.t0)) * width;
  }

  function xToTime(view, width, x) {
    return view.t0 + (x / width) * (view.t1 - view.t0);
  }

  // Keeps the span between the deepest zoom and the whole trace, and the window over the trace.
  function clampView(view, bounds) {
    const maxSpan = bounds.t1 - bounds.t0;
    const span = Math.min(Math.max(view.t1 - view.t0, kMinSpanUs), maxSpan);
    const t0 = Math.min(Math.max(view.t0, bounds.t0), bounds.t1 - span);
    return { t0, t1: t0 + span };
  }

  // Zooms by factor (< 1 zooms in) around the time under anchorX, which stays where it is.
  function zoomView(view, width, anchorX, factor, bounds) {
    const anchor = xToTime(view, width, anchorX);
    const t0 = anchor - (anchor - view.t0) * factor;
    const t1 = anchor + (view.t1 - anchor) * factor;
    return clampView({ t0, t1 }, bounds);
  }

  // Moves the window by dx pixels (a drag to the right shows earlier times).
  function panView(view, width, dx, bounds) {
    const shift = (dx / width) * (view.t1 - view.t0);
    return clampView({ t0: view.t0 - shift, t1: view.t1 - shift }, bounds);
  }

  // The run under (x, y) in content pixels, or null: a run containing the time under x wins,
  // else the nearest within tolerancePx.
  function hitTest(model, view, width, x, y, tolerancePx) {
    const lane = lanesInView(model, y, y + 1)[0];
    if (!lane || y < lane.y) return null;
    const t = xToTime(view, width, x);
    const slack = ((tolerancePx || 3) / width) * (view.t1 - view.t0);
    let best = null;
    let bestDistance = Infinity;
    forEachRunInWindow(lane, t - slack, t + slack, (run) => {
      const distance = t < run.ts ? run.ts - t : t > run.end ? t - run.end : 0;
      if (distance < bestDistance) {
        best = run;
        bestDistance = distance;
      }
    });
    return best;
  }

  // ---- Axis and colours -------------------------------------------------------------------

  // Tick times (µs) at a round step (1, 2 or 5 times a power of ten) inside [t0, t1], at most
  // maxTicks of them.
  function timeTicks(t0, t1, maxTicks) {
    const span = t1 - t0;
    if (!(span > 0) || !(maxTicks >= 1)) return { step: 0, ticks: [] };
    const rough = span / maxTicks;
    const power = Math.pow(10, Math.floor(Math.log10(rough)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
    const ticks = [];
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
    return { step, ticks };
  }

  // A tick's label: time since the trace's start, in the unit the step calls for.
  function formatTickUs(offsetUs, stepUs) {
    if (stepUs >= 1e6) return trimZeros((offsetUs / 1e6).toFixed(Math.max(0, -Math.floor(Math.log10(stepUs / 1e6))))) + " s";
    if (stepUs >= 1e3) return trimZeros((offsetUs / 1e3).toFixed(Math.max(0, -Math.floor(Math.log10(stepUs / 1e3))))) + " ms";
    return trimZeros(offsetUs.toFixed(0)) + " \u00b5s";
  }

  function trimZeros(text) {
    return text === "-0" ? "0" : text;
  }

  // FNV-1a over the name's UTF-16 units: the same function gets the same colour on every page
  // load and every machine, and near names get unrelated hues.
  function hashName(name) {
    let hash = 0x811c9dc5;
    const s = String(name);
    for (let i = 0; i < s.length; i++) {
      hash ^= s.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    return hash >>> 0;
  }

  function colorForName(name) {
    const hash = hashName(name);
    const hue = hash % 360;
    const saturation = 55 + ((hash >>> 9) % 20);  // 55-74 %
    const lightness = 52 + ((hash >>> 17) % 14);  // 52-65 %: dark text stays readable on it
    return "hsl(" + hue + ", " + saturation + "%, " + lightness + "%)";
  }

  const api = {
    kLaneHeight, kGroupHeaderHeight, kMinSpanUs, buildLanes, forEachRunInWindow, runsInWindow,
    lanesInView, fullView, timeToX, xToTime, clampView, zoomView, panView, hitTest, timeTicks,
    formatTickUs, hashName, colorForName,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.TimelineModel = api;
})(typeof globalThis !== "undefined" ? globalThis : this);
