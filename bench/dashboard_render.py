#!/usr/bin/python3
"""Render time of each dashboard page with 10,000 rows, in a real headless Chromium.

Starts the fixture server (src/dashboard/web/test/fake_server.js PORT --rows N) on a free port,
logs in with the token, then for every page loads it afresh (about:blank first) RUNS times after
WARMUP discarded loads, and reads in the browser when the page's main table or canvas was
filled. Prints one JSON object on stdout and nothing else (progress goes to stderr); exits 0
even over the target, naming the pages whose median is over it in "over_target" and those with
any run over it in "max_over_target".

How a load is timed (all in the page's own clock, performance.now(), whose 0 is the navigation
start): a script added with the DevTools call Page.addScriptToEvaluateOnNewDocument runs before
the page's own scripts and
  - keeps a MutationObserver on the document; the first time the page's "filled" condition holds
    (below) it notes `filled` (the page's JS has put the rows into the DOM), forces the style
    (a computed colour) and notes `styled`, then the layout (document.body.offsetHeight) and
    notes `layout`, then waits for the frame that
    shows it (requestAnimationFrame, then a MessageChannel task: that task runs after the frame's
    paint on the main thread; when the fill itself happened inside a requestAnimationFrame
    callback, as the timeline draws there, only the task) and notes `painted`. `painted` is the
    render time reported as median_ms / max_ms / runs.
  - wraps Response.prototype.json to note, for every API answer, when the page asked for its
    JSON, when the parse ended, and when the main thread was next free (a MessageChannel task
    posted then runs after every microtask of the page's code that used the answer): the page's
    synchronous work on that answer.
The main answer's Resource Timing (responseEnd) says when its body had arrived: the time before it
is the server and the network (the fake server builds the fixtures on every request), the time
after it is the browser's.

"Filled", per page (data-testid elements of src/dashboard/web/*.html and static/*.js):
  overview          a node-card
  jobs              a job-row in jobs-table
  actors            an actor-row
  tasks             a failed-task-row (and a task-summary-row)
  placement_groups  a placement-group-row
  objects           an object-row
  timeline          timeline-count showing a number > 0 (set at the end of the canvas draw)
  logs              text in log-text
A DataTable's "empty" row carries no row testid, so it does not count.

What --rows 10000 gives each page (fake_server.js and test/fixtures.js; "shown" in the output
says what the page showed): objects 10,000 references (the table puts 1,000 in the DOM, "show
more" for the rest) and timeline 10,000 task runs; tasks 1,000 failures (fake_server caps them
at 1,000, and the page asks for limit=1000 anyway); actors 500 (capped by fake_server); jobs (5),
placement groups (2), nodes (3) and logs (one line) are fixed fixtures, whatever --rows.

Unless --no-refresh, it also waits for the page's next poll and reports the time the page
spent on the refreshed answer (JSON parse + its code until the main thread is free; the table
does not re-render when the rows are the same, but it does compare them).

Run with Debian's python (/usr/bin/python3, which has python3-selenium) and Debian's chromium,
chromium-driver, and node:

    /usr/bin/python3 bench/dashboard_render.py            # --rows 10000 --runs 5 --warmup 1
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

kRepo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(kRepo, "tests", "dashboard"))

try:
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    import headless_chromium
except ImportError as err:  # the pyenv python on PATH has no selenium
    sys.exit("dashboard_render: cannot import selenium (%s); run with /usr/bin/python3 and install "
             "python3-selenium chromium chromium-driver (scripts/install-deps.sh)" % err)

kFakeServer = os.path.join(kRepo, "src", "dashboard", "web", "test", "fake_server.js")
kTargetMs = 200

# page -> (path, the API path whose answer fills it, poll interval in s or None)
kPages = [
    ("overview", "/", "/api/v0/nodes", 2),
    ("jobs", "/jobs", "/api/v0/jobs", 2),
    ("actors", "/actors", "/api/v0/actors", 2),
    ("tasks", "/tasks", "/api/v0/tasks", 2),
    ("placement_groups", "/placement_groups", "/api/v0/placement_groups", 2),
    ("objects", "/objects", "/api/v0/objects", 5),
    ("timeline", "/timeline", "/api/v0/timeline", None),
    ("logs", "/logs", "/api/v0/logs/", None),
]

# Runs in every document before its own scripts (DevTools, so the page's CSP does not apply).
kProbe = r"""
(() => {
  if (window.__bench) return;
  const B = window.__bench = { filled: null, layout: null, painted: null, inFrame: false, answers: [] };
  let resolvePainted;
  B.whenPainted = new Promise((r) => { resolvePainted = r; });

  // Ask for a task that runs after everything queued now (microtasks included).
  function afterCurrentTask(fn) {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => fn();
    channel.port2.postMessage(0);
  }

  // Know when code runs inside a frame's requestAnimationFrame callbacks: the frame's paint
  // then follows those callbacks, before the next task.
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => raf((t) => {
    if (!B.inFrame) {
      B.inFrame = true;
      afterCurrentTask(() => { B.inFrame = false; });
    }
    return cb(t);
  });

  const count = (selector) => document.querySelectorAll(selector).length;
  const conditions = {
    overview: () => count("[data-testid=node-card]") > 0,
    jobs: () => count("[data-testid=jobs-table] [data-testid=job-row]") > 0,
    actors: () => count("[data-testid=actors-table] [data-testid=actor-row]") > 0,
    tasks: () => count("[data-testid=failed-task-row]") > 0 && count("[data-testid=task-summary-row]") > 0,
    placement_groups: () => count("[data-testid=placement-group-row]") > 0,
    objects: () => count("[data-testid=objects-table] [data-testid=object-row]") > 0,
    timeline: () => {
      const c = document.querySelector("[data-testid=timeline-count]");
      return !!c && /^\d+$/.test(c.textContent) && Number(c.textContent) > 0;
    },
    logs: () => {
      const t = document.querySelector("[data-testid=log-text]");
      return !!t && t.textContent.length > 0;
    },
  };

  function check() {
    if (B.filled !== null || !document.body) return;
    const condition = conditions[document.body.getAttribute("data-page")];
    if (!condition || !condition()) return;
    B.filled = performance.now();
    // Style first (a computed colour needs the style of the document, not its layout), then
    // layout: which of the two a page's rows cost.
    void getComputedStyle(document.body.lastElementChild || document.body).color;
    B.styled = performance.now();
    void document.body.offsetHeight;  // layout now, not in the next frame
    B.layout = performance.now();
    const done = () => {
      B.painted = performance.now();
      resolvePainted();
    };
    if (B.inFrame) afterCurrentTask(done); else raf(() => afterCurrentTask(done));
    observer.disconnect();
  }
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true, characterData: true });

  // An API path ending in "/" names every path under it (a log file), any other one itself.
  window.__benchMatch = (url, apiPath) => {
    const path = new URL(url).pathname;
    return apiPath.endsWith("/") ? path.startsWith(apiPath) : path === apiPath;
  };

  const json = Response.prototype.json;
  Response.prototype.json = function () {
    const answer = { url: this.url, asked: performance.now(), parsed: null, idle: null };
    B.answers.push(answer);
    return json.call(this).then((value) => {
      answer.parsed = performance.now();
      afterCurrentTask(() => { answer.idle = performance.now(); });
      return value;
    });
  };
})();
"""

# Read once the page is painted: the probe's marks and what the page shows.
kReadMarks = r"""
const done = arguments[arguments.length - 1];
const apiPath = arguments[0];
const B = window.__bench;
if (!B) { done({ error: "the probe did not run in this document" }); return; }
B.whenPainted.then(() => setTimeout(() => {
  const nav = performance.getEntriesByType("navigation")[0] || {};
  const main = B.answers.filter((a) => window.__benchMatch(a.url, apiPath));
  const resource = main.length
    ? performance.getEntriesByType("resource").filter((r) => r.name === main[0].url)[0] : null;
  const q = (s) => document.querySelectorAll(s).length;
  const text = (s) => { const e = document.querySelector(s); return e ? e.textContent : null; };
  done({
    filled: B.filled, styled: B.styled, layout: B.layout, painted: B.painted,
    dcl: nav.domContentLoadedEventEnd || null, load: nav.loadEventEnd || null,
    main: main.length ? main[0] : null,
    mainRequested: resource ? resource.startTime : null,
    mainResponseEnd: resource ? resource.responseEnd : null,
    mainBytes: resource ? (resource.decodedBodySize || null) : null,
    domRows: q("tbody tr[data-testid]"),
    tableCounts: Array.from(document.querySelectorAll(".row-count")).map((e) => e.textContent),
    timelineCount: text("[data-testid=timeline-count]"),
    timelineTotal: text("[data-testid=timeline-total]"),
    failureCount: text("[data-testid=task-failure-count]"),
    banner: (() => { const b = document.querySelector("[data-testid=error-banner]"); return b && !b.hidden ? b.textContent : null; })(),
  });
}, 0));
"""

# The next poll's answer for apiPath, once the page has finished with it.
kReadRefresh = r"""
const done = arguments[arguments.length - 1];
const apiPath = arguments[0];
const deadline = performance.now() + arguments[1];
function look() {
  const main = window.__bench.answers.filter((a) => window.__benchMatch(a.url, apiPath));
  if (main.length > 1 && main[1].idle !== null) { done(main[1]); return; }
  if (performance.now() > deadline) { done(null); return; }
  setTimeout(look, 50);
}
look();
"""


def log(line):
    print(line, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, rows):
    proc = subprocess.Popen(["node", kFakeServer, str(port), "--rows", str(rows)], cwd=kRepo,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()  # "dashboard with fake data on http://..." once it listens
    if "http://" not in line:
        proc.kill()
        raise RuntimeError("fake_server did not start: %r" % line)
    log("server: " + line.strip())
    return proc


def start_browser(profile_dir):
    # No throttling of a page that is not in front: every load is timed alike.
    driver = headless_chromium.start(profile_dir, ["--disable-background-timer-throttling",
                                                   "--disable-renderer-backgrounding"])
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    return driver


def login(driver, base, token):
    driver.get(base + "/login")
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=token]"))
    driver.find_element(By.CSS_SELECTOR, "[data-testid=token]").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "[data-testid=login]").click()
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.body && document.body.getAttribute('data-page')") == "overview")


def measure_once(driver, base, path, api_path, refresh_wait_s):
    driver.get("about:blank")
    driver.get(base + path)
    marks = driver.execute_async_script(kReadMarks, api_path)
    if marks.get("error"):
        raise RuntimeError(marks["error"])
    main = marks["main"] or {}
    sample = {
        "painted_ms": marks["painted"],
        "filled_ms": marks["filled"],
        "styled_ms": marks["styled"],
        "layout_ms": marks["layout"],
        "dom_content_loaded_ms": marks["dcl"],
        "data_requested_ms": marks["mainRequested"],
        "data_arrived_ms": marks["mainResponseEnd"],
        "data_bytes": marks["mainBytes"],
        "json_ms": (main["parsed"] - max(main["asked"], marks["mainResponseEnd"] or 0)) if main.get("parsed") else None,
        # The page's code on the answer: until the rows are in the DOM when that happened in the
        # same run of code (tables), else until the main thread was free (the timeline builds its
        # lanes, then draws in the next frame).
        "script_ms": ((marks["filled"] if main["parsed"] < marks["filled"] < main["idle"] else main["idle"])
                      - main["parsed"]) if main.get("idle") else None,
        "shown": {k: marks[k] for k in ("domRows", "tableCounts", "timelineCount", "timelineTotal", "failureCount")
                  if marks[k] not in (None, [], 0)},
        "banner": marks["banner"],
    }
    if refresh_wait_s:
        answer = driver.execute_async_script(kReadRefresh, api_path, refresh_wait_s * 1000)
        if answer:
            sample["refresh_ms"] = answer["idle"] - answer["asked"]
    return sample


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median_ms": round(statistics.median(values), 1), "max_ms": round(max(values), 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10000, help="fake_server.js --rows (default 10000)")
    parser.add_argument("--runs", type=int, default=5, help="measured loads per page (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded loads per page first (default 1)")
    parser.add_argument("--pages", default=",".join(p[0] for p in kPages), help="comma-separated subset")
    parser.add_argument("--no-refresh", dest="refresh", action="store_false", help="skip the poll refresh timing")
    parser.add_argument("--token", default="orrery")
    args = parser.parse_args()
    wanted = args.pages.split(",")

    server = driver = None
    profile = tempfile.mkdtemp(prefix="dashboard-render-")
    try:
        port = free_port()
        server = start_server(port, args.rows)
        base = "http://127.0.0.1:%d" % port
        driver = start_browser(profile)
        log("browser: %s %s" % (driver.capabilities.get("browserName"), driver.capabilities.get("browserVersion")))
        driver.execute_cdp_cmd("Page.enable", {})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": kProbe})
        login(driver, base, args.token)

        pages = {}
        over = []      # median over the target
        max_over = []  # some run over it
        for name, path, api_path, poll_s in kPages:
            if name not in wanted:
                continue
            samples = []
            for i in range(args.warmup + args.runs):
                refresh = poll_s + 3 if (args.refresh and poll_s and i >= args.warmup) else None
                sample = measure_once(driver, base, path, api_path, refresh)
                if sample["banner"]:
                    log("warn: %s shows an error banner: %r" % (name, sample["banner"][:200]))
                if i < args.warmup:
                    continue
                samples.append(sample)
                log("%s run %d: painted %.1f ms (data arrived %.1f, filled %.1f, styled %.1f, layout %.1f)%s" % (
                    name, len(samples), sample["painted_ms"], sample["data_arrived_ms"] or -1,
                    sample["filled_ms"], sample["styled_ms"], sample["layout_ms"],
                    ", refresh %.1f ms" % sample["refresh_ms"] if "refresh_ms" in sample else ""))
            runs = [round(s["painted_ms"], 1) for s in samples]
            entry = {
                "median_ms": round(statistics.median(runs), 1),
                "max_ms": round(max(runs), 1),
                "runs": runs,
                # The parts: times from the navigation start, or durations (*_duration); median
                # and max over the runs. browser_after_data = painted - data_arrived.
                "breakdown_ms": {
                    "dom_content_loaded": summary([s["dom_content_loaded_ms"] for s in samples]),
                    "data_requested": summary([s["data_requested_ms"] for s in samples]),
                    "data_arrived": summary([s["data_arrived_ms"] for s in samples]),
                    "filled": summary([s["filled_ms"] for s in samples]),
                    "layout_done": summary([s["layout_ms"] for s in samples]),
                    "browser_after_data": summary([s["painted_ms"] - s["data_arrived_ms"] for s in samples
                                                   if s["data_arrived_ms"] is not None]),
                    "json_parse_duration": summary([s["json_ms"] for s in samples]),
                    "script_duration": summary([s["script_ms"] for s in samples]),
                    "style_layout_duration": summary([s["layout_ms"] - s["filled_ms"] for s in samples]),
                    "style_duration": summary([s["styled_ms"] - s["filled_ms"] for s in samples]),
                    "layout_duration": summary([s["layout_ms"] - s["styled_ms"] for s in samples]),
                    # paint and the rest of the frame (and up to one frame's wait for it)
                    "frame_duration": summary([s["painted_ms"] - s["layout_ms"] for s in samples]),
                },
                "data_bytes": samples[-1]["data_bytes"],
                "shown": samples[-1]["shown"],
            }
            refreshes = [s["refresh_ms"] for s in samples if "refresh_ms" in s]
            if refreshes:
                entry["refresh"] = dict(summary(refreshes), runs=[round(r, 1) for r in refreshes])
            pages[name] = entry
            if entry["median_ms"] > kTargetMs:
                over.append(name)
            if entry["max_ms"] > kTargetMs:
                max_over.append(name)

        result = {
            "benchmark": "dashboard_render",
            "rows": args.rows,
            "runs_per_page": args.runs,
            "warmup_runs": args.warmup,
            "browser": "headless chromium %s" % driver.capabilities.get("browserVersion"),
            "pages": pages,
            "target_ms": kTargetMs,
            "over_target": over,
            "max_over_target": max_over,
        }
        print(json.dumps(result))
        return 0
    finally:
        if driver is not None:
            try:
                driver.quit()
            except WebDriverException:
                pass
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
