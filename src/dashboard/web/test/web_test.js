// Tests of the dashboard's browser code under plain node: `node src/dashboard/web/test/web_test.js`.
// First the pure functions (dashboard.js, timeline.js, overview.js), then checks over the page
// files themselves (no markup built from data, no external resource, nothing inline that a
// strict Content-Security-Policy would block), then every page run against fixtures in the fake
// DOM of fake_dom.js (pages_test.js). Prints one line per test and "N passed, N failed".
"use strict";

const assert = require("assert");
const fs = require("fs");
const path = require("path");

const kWebRoot = path.join(__dirname, "..");
const Dash = require("../static/dashboard.js");
const Timeline = require("../static/timeline.js");
const Overview = require("../static/overview.js");
const fixtures = require("./fixtures.js");

const tests = [];
function test(name, fn) {
  tests.push({ name, fn });
}

// ---- dashboard.js -------------------------------------------------------------------------

test("escapeHtml turns markup into text", () => {
  assert.strictEqual(Dash.escapeHtml("<script>alert('x')</script>"), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  assert.strictEqual(Dash.escapeHtml('a & "b"'), "a &amp; &quot;b&quot;");
  assert.strictEqual(Dash.escapeHtml("&lt;"), "&amp;lt;", "escaping twice shows the first escape");
  assert.strictEqual(Dash.escapeHtml(null), "");
  assert.strictEqual(Dash.escapeHtml(42), "42");
});

test("safeNextPath keeps paths on this server and refuses every other place", () => {
  for (const good of ["/", "/jobs", "/actors/abc123", "/logs?node_id=ab&file=raylet.out", "/tasks#failed"]) {
    assert.strictEqual(Dash.safeNextPath(good), good, good);
  }
  const bad = [
    "//evil.com", "https://evil.com", "http://evil.com/jobs", "/\\evil.com", "\\\\evil.com", "//evil.com/jobs",
    "javascript:alert(1)", "jobs", "", null, undefined, 42, "/\t/evil.com", "/\n/evil.com", " /jobs",
    "/jobs\\..\\", "data:text/html,<script>alert(1)</script>",
  ];
  for (const next of bad) assert.strictEqual(Dash.safeNextPath(next), "/", JSON.stringify(next));
});

test("formatBytes uses binary units with at most three significant digits", () => {
  assert.strictEqual(Dash.formatBytes(0), "0 B");
  assert.strictEqual(Dash.formatBytes(512), "512 B");
  assert.strictEqual(Dash.formatBytes(1023), "1023 B");
  assert.strictEqual(Dash.formatBytes(1024), "1.0 KiB");
  assert.strictEqual(Dash.formatBytes(1536), "1.5 KiB");
  assert.strictEqual(Dash.formatBytes(200 * 1024 * 1024), "200 MiB");
  assert.strictEqual(Dash.formatBytes(5 * 1024 ** 3), "5.0 GiB");
  assert.strictEqual(Dash.formatBytes(3 * 1024 ** 4), "3.0 TiB");
  assert.strictEqual(Dash.formatBytes(-2048), "-2.0 KiB");
  assert.strictEqual(Dash.formatBytes(null), Dash.kMissing);
  assert.strictEqual(Dash.formatBytes("12"), Dash.kMissing, "a string is not a byte count");
});

test("formatDuration picks the unit by size", () => {
  assert.strictEqual(Dash.formatDuration(0.00035), "350 \u00b5s");
  assert.strictEqual(Dash.formatDuration(0.0015), "1.5 ms");
  assert.strictEqual(Dash.formatDuration(0.25), "250 ms");
  assert.strictEqual(Dash.formatDuration(4.2), "4.20 s");
  assert.strictEqual(Dash.formatDuration(42), "42.0 s");
  assert.strictEqual(Dash.formatDuration(125), "2m 05s");
  assert.strictEqual(Dash.formatDuration(3 * 3600 + 7 * 60 + 9), "3h 07m");
  assert.strictEqual(Dash.formatDuration(2 * 86400 + 4 * 3600), "2d 04h");
  assert.strictEqual(Dash.formatDuration(null), Dash.kMissing);
});

test("formatTime, formatCount, shortId, displayValue", () => {
  assert.match(Dash.formatTime(1700000000000), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.strictEqual(Dash.formatTime(null), Dash.kMissing);
  assert.strictEqual(Dash.formatCount(1234567), "1,234,567");
  assert.strictEqual(Dash.formatCount(999), "999");
  assert.strictEqual(Dash.shortId("0123456789abcdef"), "01234567\u2026");
  assert.strictEqual(Dash.shortId("abc"), "abc");
  assert.strictEqual(Dash.displayValue(null), Dash.kMissing);
  assert.strictEqual(Dash.displayValue(false), "no");
  assert.strictEqual(Dash.displayValue({ CPU: 1 }), '{"CPU":1}');
  assert.strictEqual(Dash.percentOf(3, 4), 75);
  assert.strictEqual(Dash.percentOf(5, 4), 100);
  assert.strictEqual(Dash.percentOf(1, 0), 0);
});

test("sortRows orders numbers and text, is stable, keeps missing values last both ways", () => {
  const rows = [
    { id: "a", n: 3, s: "banana" }, { id: "b", n: null, s: "Apple" }, { id: "c", n: 1, s: "cherry" },
    { id: "d", n: 3, s: null }, { id: "e", n: 10, s: "apple" },
  ];
  const ids = (list) => list.map((r) => r.id).join("");
  assert.strictEqual(ids(Dash.sortRows(rows, (r) => r.n, false)), "cadeb", "10 sorts after 3 as a number");
  assert.strictEqual(ids(Dash.sortRows(rows, (r) => r.n, true)), "eadcb", "ties keep their order, null stays last");
  assert.strictEqual(ids(Dash.sortRows(rows, (r) => r.s, false)), "beacd", "case does not matter; Apple before apple as given");
  assert.strictEqual(ids(Dash.sortRows(rows, (r) => r.s, true)), "cabed", "equal keys keep their order descending too");
  assert.strictEqual(ids(rows), "abcde", "the input is left as it was");
  const mixed = Dash.sortRows([{ v: "x" }, { v: 2 }, { v: true }], (r) => r.v, false).map((r) => r.v);
  assert.deepStrictEqual(mixed, [true, 2, "x"], "booleans sort as 0/1, numbers before text");
});

test("filterRows needs every word, in any case", () => {
  const rows = [{ t: "alive counter node-1" }, { t: "dead counter node-2" }, { t: "alive trainer node-2" }];
  const text = (r) => r.t;
  assert.strictEqual(Dash.filterRows(rows, "", text).length, 3);
  assert.deepStrictEqual(Dash.filterRows(rows, "  ALIVE  node-2 ", text), [rows[2]]);
  assert.deepStrictEqual(Dash.filterRows(rows, "counter", text), [rows[0], rows[1]]);
  assert.deepStrictEqual(Dash.filterRows(rows, "missing", text), []);
});

test("headLength cuts after the third line or the character limit, and not a text that fits", () => {
  assert.strictEqual(Dash.headLength("a\nb\nc", 3, 240), -1);
  assert.strictEqual(Dash.headLength("a\nb\nc\n", 3, 240), 5);
  assert.strictEqual(Dash.headLength("a\nb\nc\nd", 3, 240), 5);
  assert.strictEqual(Dash.headLength("x".repeat(300), 3, 240), 240);
  assert.strictEqual(Dash.headLength("x".repeat(240), 3, 240), -1);
  assert.strictEqual(Dash.headLength("a\n" + "x".repeat(300), 3, 240), 240);
  assert.strictEqual(Dash.headLength("", 3, 240), -1);
});

test("stateClass maps states to badge colours", () => {
  assert.strictEqual(Dash.stateClass("ALIVE"), "ok");
  assert.strictEqual(Dash.stateClass("FAILED"), "bad");
  assert.strictEqual(Dash.stateClass("PENDING_NODE"), "warn");
  assert.strictEqual(Dash.stateClass("SOMETHING_NEW"), "idle");
});

// ---- overview.js --------------------------------------------------------------------------

test("clusterTotals sums live nodes only and skips marker resources", () => {
  const totals = Overview.clusterTotals(fixtures.nodes());
  assert.strictEqual(totals.alive, 2);
  assert.strictEqual(totals.dead, 1);
  assert.deepStrictEqual(totals.resources.CPU, { used: 11, total: 16 });
  assert.deepStrictEqual(totals.resources.GPU, { used: 1, total: 2 });
  assert.strictEqual(totals.resources["node:10.0.0.1"], undefined);
  assert.strictEqual(totals.objectStore.capacity, 16 * 1024 ** 3);
  assert.strictEqual(totals.workers, 13);
  assert.deepStrictEqual(Overview.resourceNames(totals.resources), ["CPU", "GPU", "memory", "accelerator_x"]);
});

// ---- timeline.js --------------------------------------------------------------------------

function smallTrace() {
  return {
    traceEvents: [
      { ph: "M", name: "process_name", pid: 2, args: { name: "node bb" } },
      { ph: "M", name: "process_name", pid: 1, args: { name: "node aa" } },
      { ph: "M", name: "thread_name", pid: 1, tid: 7, args: { name: "worker a7" } },
      { ph: "X", name: "f", pid: 2, tid: 1, ts: 500, dur: 100, args: {} },
      { ph: "X", name: "g", pid: 1, tid: 7, ts: 100, dur: 50, args: { task_id: "t1" } },
      { ph: "X", name: "f", pid: 1, tid: 3, ts: 0, dur: 1000, args: {} },
      { ph: "X", name: "h", pid: 1, tid: 7, ts: 20, dur: 10, args: {} },
      { ph: "B", name: "ignored", pid: 1, tid: 7, ts: 5 },
      { ph: "X", name: "bad", pid: 1, tid: 7, ts: "soon", dur: 1 },
    ],
    displayTimeUnit: "ms",
  };
}

test("buildLanes: one lane per worker, grouped by node, ordered, laid out top to bottom", () => {
  const model = Timeline.buildLanes(smallTrace(), { laneHeight: 20, groupHeaderHeight: 22 });
  assert.strictEqual(model.runCount, 4, "only complete (X) events with a numeric ts count");
  assert.deepStrictEqual(model.groups.map((g) => g.name), ["node aa", "node bb"]);
  assert.deepStrictEqual(model.lanes.map((l) => l.pid + ":" + l.tid), ["1:3", "1:7", "2:1"]);
  assert.deepStrictEqual(model.lanes.map((l) => l.name), ["worker 3", "worker a7", "worker 1"], "unnamed workers get their number");
  assert.deepStrictEqual(model.lanes.map((l) => l.y), [22, 42, 84], "a header, two lanes, a header, one lane");
  assert.strictEqual(model.height, 104);
  assert.deepStrictEqual(model.lanes[1].runs.map((r) => r.name), ["h", "g"], "runs ordered by start");
  assert.strictEqual(model.startUs, 0);
  assert.strictEqual(model.endUs, 1000);
  assert.strictEqual(Timeline.buildLanes(null).runCount, 0);
  assert.strictEqual(Timeline.buildLanes({ traceEvents: [] }).lanes.length, 0);
});

test("runsInWindow keeps only runs that overlap the window, long ones included", () => {
  const events = [];
  // A long run from 0 to 10,000 and short ones of 10 µs every 100 µs after it started.
  events.push({ ph: "X", name: "long", pid: 1, tid: 1, ts: 0, dur: 10000 });
  for (let t = 100; t < 10000; t += 100) events.push({ ph: "X", name: "short" + t, pid: 1, tid: 1, ts: t, dur: 10 });
  events.push({ ph: "X", name: "instant", pid: 1, tid: 1, ts: 5050, dur: 0 });
  const lane = Timeline.buildLanes({ traceEvents: events }).lanes[0];
  const names = (t0, t1) => Timeline.runsInWindow(lane, t0, t1).map((r) => r.name);
  assert.deepStrictEqual(names(5005, 5200), ["long", "short5000", "instant", "short5100"],
    "5000-5010 ends after 5005, the instant run lies inside, 5200 starts at t1");
  assert.deepStrictEqual(names(5011, 5099), ["long", "instant"]);
  assert.deepStrictEqual(names(10000, 20000), [], "the long run ends exactly at t0");
  assert.deepStrictEqual(names(-50, 1), ["long"]);
  assert.strictEqual(names(0, 10001).length, events.length);
});

test("culling looks at the runs in view, not at the whole lane", () => {
  const events = [];
  for (let i = 0; i < 10000; i++) events.push({ ph: "X", name: "f", pid: 1, tid: 1, ts: i * 10, dur: 5 });
  const lane = Timeline.buildLanes({ traceEvents: events }).lanes[0];
  let visited = 0;
  Timeline.forEachRunInWindow(lane, 50000, 50100, () => visited++);
  assert.strictEqual(visited, 10, "runs at 50000..50090");
});

test("lanesInView returns the lanes crossing a vertical band", () => {
  const model = Timeline.buildLanes(smallTrace(), { laneHeight: 20, groupHeaderHeight: 22 });
  const tids = (top, bottom) => Timeline.lanesInView(model, top, bottom).map((l) => l.tid);
  assert.deepStrictEqual(tids(0, 1000), [3, 7, 1]);
  assert.deepStrictEqual(tids(45, 50), [7]);
  assert.deepStrictEqual(tids(62, 84), [], "the second node's header only");
  assert.deepStrictEqual(tids(0, 22), [], "the first node's header only");
});

test("zoom keeps the time under the cursor, pan moves by pixels, both stay in bounds", () => {
  const bounds = { t0: 0, t1: 1000000 };
  const view = { t0: 0, t1: 1000000 };
  const zoomed = Timeline.zoomView(view, 1000, 250, 0.5, bounds);
  assert.strictEqual(zoomed.t1 - zoomed.t0, 500000);
  assert.strictEqual(Timeline.xToTime(zoomed, 1000, 250), 250000, "the anchor stays put");
  const panned = Timeline.panView(zoomed, 1000, -100, bounds);
  assert.strictEqual(panned.t0, zoomed.t0 + 50000, "dragging left by 100 px shows later times");
  const pastStart = Timeline.panView(zoomed, 1000, 10000, bounds);
  assert.strictEqual(pastStart.t0, 0, "cannot pan before the trace");
  const out = Timeline.zoomView(zoomed, 1000, 500, 100, bounds);
  assert.deepStrictEqual(out, bounds, "cannot zoom out past the whole trace");
  let deep = view;
  for (let i = 0; i < 100; i++) deep = Timeline.zoomView(deep, 1000, 500, 0.1, bounds);
  assert.ok(Math.abs(deep.t1 - deep.t0 - Timeline.kMinSpanUs) < 1e-6, "zoom in stops at the minimum span");
});

test("hitTest finds the run under the pointer", () => {
  const model = Timeline.buildLanes(smallTrace(), { laneHeight: 20, groupHeaderHeight: 22 });
  const view = { t0: 0, t1: 1000 };
  const run = Timeline.hitTest(model, view, 1000, 120, 50, 3);
  assert.strictEqual(run.name, "g");
  assert.strictEqual(run.args.task_id, "t1");
  assert.strictEqual(Timeline.hitTest(model, view, 1000, 400, 50, 3), null, "nothing near x=400 on that lane");
  assert.strictEqual(Timeline.hitTest(model, view, 1000, 120, 10, 3), null, "a node header is no run");
  assert.strictEqual(Timeline.hitTest(model, view, 1000, 152, 50, 3).name, "g", "within tolerance after its end");
});

test("timeTicks picks round steps inside the window", () => {
  const { step, ticks } = Timeline.timeTicks(0, 1000000, 10);
  assert.strictEqual(step, 100000);
  assert.strictEqual(ticks.length, 11);
  assert.strictEqual(Timeline.timeTicks(130, 980, 4).step, 500);
  assert.deepStrictEqual(Timeline.timeTicks(130, 980, 4).ticks, [500]);
  assert.strictEqual(Timeline.formatTickUs(2000000, 1000000), "2 s");
  assert.strictEqual(Timeline.formatTickUs(500000, 100000), "500 ms");
  assert.strictEqual(Timeline.formatTickUs(500, 100), "500 \u00b5s");
});

test("colorForName is stable and tells functions apart", () => {
  assert.strictEqual(Timeline.colorForName("train_step"), Timeline.colorForName("train_step"));
  assert.strictEqual(Timeline.hashName("a"), 0xe40c292c, "FNV-1a of 'a'");
  const colors = new Set(["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"].map(Timeline.colorForName));
  assert.ok(colors.size >= 7, "near names get different colours");
  assert.match(Timeline.colorForName("x"), /^hsl\(\d+, \d+%, \d+%\)$/);
});

// ---- The files themselves -----------------------------------------------------------------

function webFiles(extension) {
  const found = [];
  for (const dir of [kWebRoot, path.join(kWebRoot, "static")]) {
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith(extension)) found.push(path.join(dir, name));
    }
  }
  return found;
}

test("no script builds markup from strings", () => {
  const scripts = webFiles(".js");
  assert.ok(scripts.length >= 10);
  for (const file of scripts) {
    const code = fs.readFileSync(file, "utf8");
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
      assert.ok(!code.includes(sink), path.basename(file) + " uses " + sink);
    }
  }
});

test("pages load nothing from elsewhere and nothing inline (a strict CSP can hold)", () => {
  const pages = webFiles(".html");
  assert.strictEqual(pages.length, 10);
  const assets = new Set(fs.readdirSync(path.join(kWebRoot, "static")));
  for (const file of pages.concat(webFiles(".css"))) {
    const text = fs.readFileSync(file, "utf8");
    const name = path.basename(file);
    assert.ok(!/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]/i.test(text), name + " names another host");
    assert.ok(!/@import|url\(/i.test(text), name + " pulls in another file");
    if (!name.endsWith(".html")) continue;
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(text), name + " has an inline script");
    assert.ok(!/\son[a-z]+\s*=/i.test(text), name + " has an inline event handler");
    assert.ok(!/\sstyle\s*=/i.test(text), name + " has an inline style");
    for (const [, ref] of text.matchAll(/(?:src|href)="([^"]+)"/g)) {
      if (!ref.startsWith("/static/")) continue;
      assert.ok(assets.has(ref.slice("/static/".length)), name + " refers to a missing " + ref);
    }
  }
});

// ---- Runner -------------------------------------------------------------------------------

async function main() {
  for (const t of require("./pages_test.js").tests) test(t.name, t.fn);
  let passed = 0;
  let failed = 0;
  for (const t of tests) {
    try {
      await t.fn();
      passed++;
      console.log("ok - " + t.name);
    } catch (err) {
      failed++;
      console.log("not ok - " + t.name + "\n  " + String(err && err.stack ? err.stack : err).replace(/\n/g, "\n  "));
    }
  }
  console.log(passed + " passed, " + failed + " failed");
  process.exitCode = failed === 0 ? 0 : 1;
}

main();
