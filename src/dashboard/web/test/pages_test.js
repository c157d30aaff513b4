// Every page run in fake_dom.js against the fixtures: what a Selenium test will look for is
// there (data-testid), values with markup stay text, 401 goes to the login page, a failed fetch
// shows the banner and the next success clears it, writes carry X-Orrery-Request, polling
// streams and stops. Loaded by web_test.js.
"use strict";

const assert = require("assert");
const path = require("path");
const { loadPage } = require("./fake_dom.js");
const fixtures = require("./fixtures.js");

const kWebRoot = path.join(__dirname, "..");
const tests = [];
function test(name, fn) {
  tests.push({ name: "page: " + name, fn });
}

const byTestid = (page, id) => page.document.querySelectorAll("[data-testid=" + id + "]");
const oneTestid = (page, id) => {
  const found = byTestid(page, id);
  assert.strictEqual(found.length, 1, "one element with data-testid=" + id);
  return found[0];
};

// A page whose fetches go to the fixture API; options.api replaces that router.
async function open(file, url, options) {
  const o = options || {};
  const api = o.api || fixtures.makeApi(o.fixtures);
  const page = loadPage(kWebRoot, file, url, async (method, target) => api(method, target), { confirm: o.confirm });
  await page.settle();
  return page;
}

// No element came from a value: the hostile fixture strings hold <img> and <script>.
function assertNoInjectedMarkup(page) {
  assert.strictEqual(page.document.querySelectorAll("img").length, 0, "an <img> from a value became an element");
  const scripts = page.document.querySelectorAll("script").filter((s) => !s.hasAttribute("src"));
  assert.strictEqual(scripts.length, 0, "a <script> from a value became an element");
  assert.ok(page.document.body.textContent.includes("<img src=x"), "the hostile value is shown as text");
  assert.deepStrictEqual(page.errors, [], "no page error");
}

function assertNav(page, current) {
  const links = page.document.querySelectorAll("nav a");
  assert.strictEqual(links.length, 8);
  const marked = links.filter((a) => a.getAttribute("aria-current") === "page");
  assert.strictEqual(marked.length, 1);
  assert.strictEqual(marked[0].getAttribute("href"), current);
  assert.strictEqual(oneTestid(page, "error-banner").hidden, true);
}

test("overview shows a card per node, the dead one greyed with its reason", async () => {
  const page = await open("overview.html", "/");
  assertNav(page, "/");
  const cards = byTestid(page, "node-card");
  assert.strictEqual(cards.length, 3);
  assert.deepStrictEqual(cards.map((c) => c.getAttribute("data-state")), ["ALIVE", "ALIVE", "DEAD"], "head first");
  assert.strictEqual(byTestid(page, "head-marker").length, 1);
  assert.ok(cards[0].contains(byTestid(page, "head-marker")[0]));
  assert.ok(cards[2].classList.contains("dead"));
  assert.ok(cards[2].querySelector("[data-testid=death-reason]").textContent.startsWith("health check failed"));
  const bars = cards[0].querySelectorAll(".bar-row").map((b) => b.getAttribute("data-resource"));
  assert.deepStrictEqual(bars, ["CPU", "GPU", "memory", "object store"]);
  assert.strictEqual(cards[0].querySelector(".node-id").title, fixtures.nodes()[0].node_id, "full id on hover");
  assert.strictEqual(oneTestid(page, "nodes-alive").querySelector(".stat-value").textContent, "2");
  assert.ok(oneTestid(page, "cluster-info").textContent.includes("10.0.0.1:6379"));
  assertNoInjectedMarkup(page);
  const before = page.requests.length;
  await page.advance(2000);
  assert.ok(page.requests.slice(before).some((r) => r.url === "/api/v0/nodes"), "polls nodes every 2 s");
  assert.ok(page.requests.every((r) => r.credentials === "same-origin"));
});

test("a 401 sends the browser to the login page with the way back", async () => {
  const page = await open("jobs.html", "/jobs?x=1", { api: () => ({ status: 401, body: {} }) });
  assert.deepStrictEqual(page.navigations[0], { kind: "assign", to: "/login?next=%2Fjobs%3Fx%3D1" });
  assert.strictEqual(oneTestid(page, "error-banner").hidden, true, "a 401 is no error to show");
});

test("a failed fetch shows the banner; the next success clears it", async () => {
  let fail = true;
  const api = fixtures.makeApi();
  const page = await open("actors.html", "/actors", {
    api: (method, target) => (fail ? { status: 500, body: "storage unavailable" } : api(method, target)),
  });
  const banner = oneTestid(page, "error-banner");
  assert.strictEqual(banner.hidden, false);
  assert.ok(banner.textContent.includes("HTTP 500"));
  assert.ok(banner.textContent.includes("storage unavailable"));
  fail = false;
  await page.advance(2000);
  assert.strictEqual(banner.hidden, true);
  assert.strictEqual(byTestid(page, "actor-row").length, 12);
});

test("jobs: rows with state, a row streams its driver log until it ends", async () => {
  const page = await open("jobs.html", "/jobs", { fixtures: { logChunks: 3 } });
  assertNav(page, "/jobs");
  const rows = byTestid(page, "job-row");
  assert.strictEqual(rows.length, 5);
  const running = rows.find((r) => r.getAttribute("data-submission-id") === "raysubmit_running");
  assert.strictEqual(running.getAttribute("data-state"), "RUNNING");
  const panel = oneTestid(page, "job-log-panel");
  assert.strictEqual(panel.hidden, true);
  running.querySelector("td").click();
  await page.settle();
  assert.strictEqual(panel.hidden, false);
  const logReads = () => page.requests.filter((r) => r.url.startsWith("/api/v0/jobs/raysubmit_running/logs"));
  assert.strictEqual(logReads()[0].url, "/api/v0/jobs/raysubmit_running/logs", "the first read asks for the tail");
  await page.advance(1000);
  assert.match(logReads()[1].url, /\?offset=\d+$/);
  await page.advance(5000);
  assert.strictEqual(logReads().length, 3, "no read after the log ended");
  const log = oneTestid(page, "job-log");
  assert.ok(log.textContent.includes("line 3 of raysubmit_running"));
  assert.strictEqual(oneTestid(page, "job-log-status").textContent, "log ended");
  assertNoInjectedMarkup(page);
});

test("jobs: Stop asks first and posts with the write header", async () => {
  let answer = false;
  const page = await open("jobs.html", "/jobs", { confirm: () => answer });
  const stopButtons = () => byTestid(page, "stop-job");
  assert.strictEqual(stopButtons().length, 2, "pending and running submitted jobs; not a driver without a submission");
  const posts = () => page.requests.filter((r) => r.method === "POST");
  stopButtons()[0].click();
  await page.settle();
  assert.strictEqual(posts().length, 0, "refused at the confirm");
  assert.strictEqual(byTestid(page, "job-log-panel")[0].hidden, true, "the button is not a row click");
  answer = true;
  const row = stopButtons()[0].closest("tr");
  const id = row.getAttribute("data-submission-id");
  stopButtons()[0].click();
  await page.settle();
  assert.strictEqual(posts().length, 1);
  assert.strictEqual(posts()[0].url, "/api/v0/jobs/" + id + "/stop");
  assert.strictEqual(posts()[0].headers["X-Orrery-Request"], "1");
  assert.strictEqual(posts()[0].credentials, "same-origin");
  const after = byTestid(page, "job-row").find((r) => r.getAttribute("data-submission-id") === id);
  assert.strictEqual(after.getAttribute("data-state"), "STOPPED", "the table refreshed at once");
});

test("jobs: a driver without a submission says why it has no log", async () => {
  const page = await open("jobs.html", "/jobs");
  const row = byTestid(page, "job-row").find((r) => r.getAttribute("data-job-id") === "04000000");
  row.querySelector("td").click();
  await page.settle();
  assert.ok(oneTestid(page, "job-log-status").textContent.includes("not submitted through the job API"));
  assert.ok(page.requests.every((r) => !r.url.includes("/logs")));
});

test("actors: rows link to the actor page", async () => {
  const page = await open("actors.html", "/actors");
  assertNav(page, "/actors");
  const rows = byTestid(page, "actor-row");
  assert.strictEqual(rows.length, 12);
  assert.strictEqual(rows[2].getAttribute("data-state"), "DEAD");
  const id = rows[0].getAttribute("data-actor-id");
  assert.strictEqual(rows[0].querySelector("a").getAttribute("href"), "/actors/" + id);
  rows[0].querySelectorAll("td")[1].click();
  assert.deepStrictEqual(page.navigations, [{ kind: "assign", to: "/actors/" + id }]);
  assertNoInjectedMarkup(page);
});

test("actor: fields, death message and its tasks", async () => {
  const dead = fixtures.actors(12)[2];
  const page = await open("actor.html", "/actors/" + dead.actor_id);
  assertNav(page, "/actors");
  assert.ok(oneTestid(page, "actor-fields").textContent.includes(dead.actor_id));
  const death = oneTestid(page, "actor-death-message");
  assert.strictEqual(death.textContent, dead.death_message);
  assert.strictEqual(death.parentNode.hidden, false);
  assert.strictEqual(byTestid(page, "actor-task-row").length, 6);
  assertNoInjectedMarkup(page);
});

test("actor: an unknown id says so and stops polling", async () => {
  const page = await open("actor.html", "/actors/ffff");
  assert.ok(page.document.getElementById("actor-title").textContent.startsWith("No actor"));
  const before = page.requests.length;
  await page.advance(10000);
  assert.strictEqual(page.requests.length, before);
});

test("tasks: counts by state and the full text of each failure", async () => {
  const page = await open("tasks.html", "/tasks", { fixtures: { failedTasks: 40 } });
  assertNav(page, "/tasks");
  const counts = byTestid(page, "state-count");
  const failed = counts.find((c) => c.getAttribute("data-state") === "FAILED");
  assert.strictEqual(failed.querySelector(".stat-value").textContent, "3");
  assert.strictEqual(byTestid(page, "task-summary-row").length, 2);
  assert.strictEqual(byTestid(page, "failed-task-row").length, 40);
  const failureRequest = page.requests.find((r) => r.url.startsWith("/api/v0/tasks?"));
  assert.match(failureRequest.url, /state=FAILED/);
  const errors = byTestid(page, "task-error");
  assert.strictEqual(errors.length, 40);
  const traceback = errors.find((e) => e.textContent === fixtures.kTraceback);
  assert.ok(traceback, "the whole traceback is in the <pre>");
  assert.strictEqual(traceback.tagName, "PRE");
  assert.ok(traceback.classList.contains("clamped"));
  const rest = traceback.querySelector("span");
  assert.ok(rest.hidden, "past its third line the traceback is hidden until opened");
  assert.strictEqual(traceback.textContent.length - rest.textContent.length,
                     fixtures.kTraceback.split("\n").slice(0, 3).join("\n").length);
  const toggle = traceback.parentNode.querySelector("[data-testid=task-error-toggle]");
  assert.strictEqual(toggle.textContent, "expand");
  toggle.click();
  assert.ok(!traceback.classList.contains("clamped"), "expanded");
  assert.ok(!rest.hidden);
  assert.strictEqual(toggle.textContent, "collapse");
  assertNoInjectedMarkup(page);
});

test("tables: the 1,000 largest of 10,000 references show a page at a time, sort by header, filter by text", async () => {
  const page = await open("objects.html", "/objects", { fixtures: { objects: 10000 } });
  assertNav(page, "/objects");
  assert.strictEqual(oneTestid(page, "object-list-count").textContent, "the 1,000 largest of 10,000");
  const table = oneTestid(page, "objects-table");
  const shown = () => table.querySelectorAll("tbody tr").length;
  assert.strictEqual(shown(), 50);
  const block = table.closest(".table-block");
  assert.ok(block.querySelector(".row-count").textContent.includes("showing 50 of 1,000"));
  block.querySelector("button.more").click();
  assert.strictEqual(shown(), 100);
  const sizes = () => table.querySelectorAll("tbody tr").map((tr) => tr.querySelectorAll("td")[1].textContent);
  const largest = Math.max(...fixtures.objects(10000).objects.map((o) => o.size));
  assert.strictEqual(sizes()[0], page.window.Dash.formatBytes(largest), "sorted by size, largest first");
  const pidHeader = table.querySelectorAll("th").find((th) => th.textContent === "pid");
  pidHeader.querySelector("button").click();
  assert.strictEqual(pidHeader.getAttribute("aria-sort"), "ascending");
  const pids = table.querySelectorAll("tbody tr").map((tr) => Number(tr.querySelectorAll("td")[7].textContent));
  assert.deepStrictEqual(pids, pids.slice().sort((a, b) => a - b));
  pidHeader.querySelector("button").click();
  assert.strictEqual(pidHeader.getAttribute("aria-sort"), "descending");
  const filter = block.querySelector("input");
  const wanted = fixtures.objects(10000, 1000).objects[567].object_id;
  filter.value = wanted.slice(0, 20);
  filter.dispatchEvent({ type: "input" });
  assert.strictEqual(shown(), 1);
  assert.strictEqual(table.querySelector("tbody tr").getAttribute("data-object-id"), wanted);
  assert.strictEqual(byTestid(page, "object-owner-row").length, 5);
});

test("placement groups: bundles and pending reasons as text", async () => {
  const page = await open("placement_groups.html", "/placement_groups");
  assertNav(page, "/placement_groups");
  const rows = byTestid(page, "placement-group-row");
  assert.strictEqual(rows.length, 2);
  assert.ok(rows[0].textContent.includes("{CPU 1, GPU 1} {CPU 1, GPU 1}"));
  assertNoInjectedMarkup(page);
});

test("logs: the head's first file by default, follow reads from the offset each second", async () => {
  const page = await open("logs.html", "/logs");
  assertNav(page, "/logs");
  const node = oneTestid(page, "log-node");
  const file = oneTestid(page, "log-file");
  assert.strictEqual(node.value, fixtures.nodes()[0].node_id, "the head first");
  assert.strictEqual(file.options.length, 3);
  assert.strictEqual(file.value, "gcs_server.out", "files sorted by name");
  const text = oneTestid(page, "log-text");
  assert.ok(text.textContent.startsWith("gcs_server.out tail"));
  assert.strictEqual(page.window.location.search, "?node_id=" + node.value + "&file=gcs_server.out");
  const follow = oneTestid(page, "log-follow");
  follow.checked = true;
  follow.dispatchEvent({ type: "change" });
  await page.advance(3000);
  const reads = page.requests.filter((r) => r.url.includes("/gcs_server.out?offset=200000"));
  assert.ok(reads.length >= 3, "follows every second");
  follow.checked = false;
  follow.dispatchEvent({ type: "change" });
  const before = page.requests.length;
  await page.advance(3000);
  assert.strictEqual(page.requests.length, before, "unchecked stops it");
  assertNoInjectedMarkup(page);
});

test("logs: ?node_id=&file= opens that file", async () => {
  const second = fixtures.nodes()[1].node_id;
  const page = await open("logs.html", "/logs?node_id=" + second + "&file=raylet.out");
  assert.strictEqual(oneTestid(page, "log-node").value, second);
  assert.strictEqual(oneTestid(page, "log-file").value, "raylet.out");
  assert.ok(page.requests.some((r) => r.url === "/api/v0/logs/" + second + "/raylet.out"));
});

test("timeline: draws every run at first, fewer after a zoom, filters by job", async () => {
  const page = await open("timeline.html", "/timeline", { fixtures: { timelineRuns: 10000 } });
  assertNav(page, "/timeline");
  const count = oneTestid(page, "timeline-count");
  assert.strictEqual(count.textContent, "10000");
  assert.strictEqual(oneTestid(page, "timeline-total").textContent, "10,000");
  const canvas = oneTestid(page, "timeline");
  const calls = canvas.getContext("2d").calls;
  assert.ok(calls.fillRect < 10000, "sub-pixel runs share a mark per pixel column (" + calls.fillRect + ")");
  canvas.dispatchEvent({ type: "wheel", deltaY: -1500, deltaMode: 0, clientX: 600, clientY: 100, shiftKey: false });
  await page.settle();
  const zoomed = Number(count.textContent);
  assert.ok(zoomed > 0 && zoomed < 1000, "a deep zoom draws only the runs in view (" + zoomed + ")");
  const jobs = oneTestid(page, "timeline-job");
  assert.strictEqual(jobs.options.length, 6, "all jobs and each job");
  jobs.value = "01000000";
  jobs.dispatchEvent({ type: "change" });
  await page.settle();
  assert.ok(page.requests.some((r) => r.url === "/api/v0/timeline?job_id=01000000"));
  assert.strictEqual(count.textContent, "5000");
  assert.deepStrictEqual(page.errors, []);
});

test("login: wrong token says so; the right one goes to next, never off this server", async () => {
  const attempt = async (next, status) => {
    const page = await open("login.html", "/login?next=" + encodeURIComponent(next), {
      api: () => ({ status, body: {} }),
    });
    assert.strictEqual(page.document.querySelectorAll("nav").length, 0, "no nav bar on the login page");
    oneTestid(page, "token").value = "s3cret";
    oneTestid(page, "login").click();
    await page.settle();
    return page;
  };
  const wrong = await attempt("/jobs", 401);
  assert.strictEqual(oneTestid(wrong, "login-error").textContent, "wrong token");
  assert.strictEqual(oneTestid(wrong, "login-error").hidden, false);
  assert.deepStrictEqual(wrong.navigations, []);
  const right = await attempt("/jobs?x=1", 200);
  const post = right.requests[0];
  assert.strictEqual(post.url, "/api/v0/login");
  assert.strictEqual(post.method, "POST");
  assert.deepStrictEqual(JSON.parse(post.body), { token: "s3cret" });
  assert.deepStrictEqual(right.navigations, [{ kind: "replace", to: "/jobs?x=1" }]);
  for (const evil of ["//evil.com", "https://evil.com/x"]) {
    const page = await attempt(evil, 200);
    assert.deepStrictEqual(page.navigations, [{ kind: "replace", to: "/" }], evil);
  }
});

test("login: a one-time link logs in by itself, once, and leaves no trace in the address", async () => {
  const page = await open("login.html", "/login?next=%2Factors#once=ab12", { api: () => ({ status: 200, body: {} }) });
  await page.settle();
  assert.strictEqual(page.requests.length, 1);
  assert.deepStrictEqual(JSON.parse(page.requests[0].body), { once: "ab12" });
  assert.strictEqual(page.requests[0].headers["X-Orrery-Request"], "1");
  assert.strictEqual(page.window.location.hash, "", "the nonce is taken out of the address");
  assert.deepStrictEqual(page.navigations, [{ kind: "replace", to: "/actors" }]);
  const spent = await open("login.html", "/login#once=ab12", { api: () => ({ status: 401, body: {} }) });
  await spent.settle();
  assert.match(oneTestid(spent, "login-error").textContent, /used already or has expired/);
  assert.deepStrictEqual(spent.navigations, []);
});

test("log out posts and goes to the login page", async () => {
  const page = await open("placement_groups.html", "/placement_groups");
  oneTestid(page, "logout").click();
  await page.settle();
  const post = page.requests.find((r) => r.method === "POST");
  assert.strictEqual(post.url, "/api/v0/logout");
  assert.strictEqual(post.headers["X-Orrery-Request"], "1");
  assert.deepStrictEqual(page.navigations, [{ kind: "assign", to: "/login" }]);
});

module.exports = { tests };
