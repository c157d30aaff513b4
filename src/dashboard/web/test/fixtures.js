// Made-up answers of the dashboard API (the shapes in ../README.md), shared by the page tests
// and fake_server.js. Sizes are parameters so a test can ask for 10,000 rows. Some values hold
// markup on purpose ("<img src=x onerror=...>"): a page must show them as text.
"use strict";

const kHostile = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>";

// A hex id of the given length, different for each (kind, i).
function hexId(kind, i, length) {
  let s = "";
  let x = (Math.imul(i + 1, 2654435761) + kind.charCodeAt(0) * 40503 + kind.length) >>> 0;
  while (s.length < length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += x.toString(16).padStart(8, "0");
  }
  return s.slice(0, length);
}

const kGiB = 1024 * 1024 * 1024;

function nodes() {
  return [
    {
      node_id: hexId("node", 0, 56), address: "10.0.0.1:6380", state: "ALIVE", is_head: true,
      resources: { CPU: { used: 3, total: 8 }, GPU: { used: 1, total: 2 }, memory: { used: 12 * kGiB, total: 32 * kGiB }, "node:10.0.0.1": { used: 0, total: 1 } },
      object_store: { used_bytes: 3 * kGiB, capacity_bytes: 8 * kGiB }, workers: 5, death_reason: null,
    },
    {
      node_id: hexId("node", 1, 56), address: "10.0.0.2:6380", state: "ALIVE", is_head: false,
      resources: { CPU: { used: 8, total: 8 }, memory: { used: 30 * kGiB, total: 32 * kGiB }, accelerator_x: { used: 0.5, total: 1 } },
      object_store: { used_bytes: 0, capacity_bytes: 8 * kGiB }, workers: 8, death_reason: null,
    },
    {
      node_id: hexId("node", 2, 56), address: "10.0.0.3:6380", state: "DEAD", is_head: false,
      resources: null, object_store: null, workers: null, death_reason: "health check failed: " + kHostile,
    },
  ];
}

function jobs() {
  const t = 1700000000000;
  return [
    { job_id: "01000000", submission_id: "raysubmit_running", state: "RUNNING", driver_pid: 4242, driver_node_id: hexId("node", 0, 56), start_time_ms: t, end_time_ms: null, namespace: "default", entrypoint: "python train.py --epochs 3" },
    { job_id: "02000000", submission_id: "raysubmit_done", state: "SUCCEEDED", driver_pid: 4300, driver_node_id: hexId("node", 0, 56), start_time_ms: t + 60000, end_time_ms: t + 125000, namespace: "default", entrypoint: "python eval.py " + kHostile },
    { job_id: "03000000", submission_id: "raysubmit_failed", state: "FAILED", driver_pid: 4400, driver_node_id: hexId("node", 1, 56), start_time_ms: t + 120000, end_time_ms: t + 121500, namespace: "team", entrypoint: "python broken.py" },
    { job_id: "04000000", submission_id: null, state: "RUNNING", driver_pid: 4500, driver_node_id: hexId("node", 0, 56), start_time_ms: t + 130000, end_time_ms: null, namespace: "default", entrypoint: "python interactive_driver.py" },
    { job_id: "05000000", submission_id: "raysubmit_pending", state: "PENDING", driver_pid: null, driver_node_id: null, start_time_ms: null, end_time_ms: null, namespace: "default", entrypoint: "python waiting.py" },
  ];
}

const kTraceback = [
  "Traceback (most recent call last):",
  '  File "worker.py", line 12, in run',
  "    result = step(x)",
  '  File "model.py", line 40, in step',
  "    raise ValueError(\"bad input \" + repr(x))",
  "ValueError: bad input " + kHostile,
].join("\n");

function task(i, overrides) {
  return Object.assign({
    task_id: hexId("task", i, 48), attempt: i % 3, name: "step_" + (i % 7), function: "model.step_" + (i % 7),
    kind: "NORMAL_TASK", state: "FAILED", job_id: "01000000", node_id: hexId("node", i % 2, 56),
    worker_id: hexId("worker", i % 5, 56), error_type: i % 2 ? "TASK_EXECUTION_EXCEPTION" : "WORKER_DIED",
    duration_s: i % 4 === 0 ? null : 0.25 * i, submitted_ms: 1700000000000 + i * 1000,
    error_message: i % 2 ? kTraceback : "The worker died: exit code 1",
  }, overrides);
}

function actors(count) {
  const list = [];
  const states = ["ALIVE", "ALIVE", "DEAD", "RESTARTING", "PENDING_CREATION"];
  for (let i = 0; i < count; i++) {
    const state = states[i % states.length];
    list.push({
      actor_id: hexId("actor", i, 32), class: i === 1 ? kHostile : "Counter", name: i % 2 ? "counter_" + i : null,
      namespace: "default", state, job_id: "01000000", node_id: hexId("node", i % 2, 56), pid: 5000 + i,
      restarts: i % 3, death_cause: state === "DEAD" ? "ACTOR_DIED" : null,
      death_message: state === "DEAD" ? "The actor died because its owner exited.\n" + kHostile : null,
    });
  }
  return list;
}

function actorDetail(actor, taskCount) {
  const tasks = [];
  for (let i = 0; i < taskCount; i++) {
    tasks.push(task(i, { kind: "ACTOR_TASK", state: i % 3 ? "FINISHED" : "FAILED", error_message: i % 3 ? null : kTraceback }));
  }
  return Object.assign({}, actor, { tasks });
}

function taskSummary() {
  return [
    { function: "model.step", submitted: 3, scheduled: 0, running: 4, finished: 100, failed: 3, total: 110 },
    { function: "io.load " + kHostile, submitted: 0, scheduled: 1, running: 0, finished: 20, failed: 0, total: 21 },
  ];
}

function failedTasks(count, total) {
  const rows = [];
  for (let i = 0; i < count; i++) rows.push(task(i));
  return { total: total === undefined ? count : total, rows };
}

function placementGroups() {
  return [
    { placement_group_id: hexId("pg", 0, 36), name: "trainers", strategy: "STRICT_SPREAD", state: "CREATED", bundles: [{ CPU: 1, GPU: 1 }, { CPU: 1, GPU: 1 }], job_id: "01000000", pending_reason: null },
    { placement_group_id: hexId("pg", 1, 36), name: null, strategy: "PACK", state: "PENDING", bundles: [{ CPU: 64 }], job_id: "01000000", pending_reason: "no node has 64 CPU " + kHostile },
  ];
}

// The /api/v0/objects answer for `count` references: the `limit` largest of them (0: all).
function objects(count, limit) {
  const list = [];
  for (let i = 0; i < count; i++) {
    list.push({
      object_id: hexId("object", i, 56), node_id: hexId("node", i % 2, 56), worker_id: hexId("worker", i % 5, 56),
      pid: 5000 + (i % 5), job_id: "01000000", process: i % 5 === 0 ? "driver" : "worker", owned: i % 3 !== 0,
      reference_kind: ["LOCAL_REFERENCE", "USED_BY_PENDING_TASK", "CAPTURED_IN_OBJECT"][i % 3],
      size: (i * 7919) % 100000000, location: i % 4 ? "object store" : "in process", spilled: i % 10 === 0,
    });
  }
  return {
    summary: { references: count, distinct_objects: Math.ceil(count * 0.8), process_memory_bytes: 12345678, object_store_bytes: 3 * kGiB, spilled_bytes: 512 * 1024 * 1024 },
    owners: [0, 1, 2, 3, 4].map((i) => ({
      worker_id: hexId("worker", i, 56), process: i === 0 ? "driver" : "worker", pid: 5000 + i, job_id: "01000000",
      node_id: hexId("node", i % 2, 56), objects: Math.ceil(count / 5), process_memory_bytes: 1000000 * i,
      object_store_bytes: 200000000 * i, spilled_bytes: 0, borrowed: i,
    })),
    objects: list.sort((a, b) => b.size - a.size).slice(0, limit > 0 ? limit : count),
    objects_total: count,
  };
}

// Two nodes of workersPerNode workers; runs laid end to end on each worker, 1 ms apart.
function trace(runCount, workersPerNode) {
  const perNode = workersPerNode || 4;
  const events = [];
  for (let n = 0; n < 2; n++) {
    events.push({ ph: "M", name: "process_name", pid: n + 1, tid: 0, args: { name: "node " + hexId("node", n, 56) } });
    for (let w = 0; w < perNode; w++) {
      events.push({ ph: "M", name: "thread_name", pid: n + 1, tid: w + 1, args: { name: "worker " + hexId("worker", n * perNode + w, 56) } });
    }
  }
  const lanes = 2 * perNode;
  const clock = new Array(lanes).fill(1700000000000000);
  for (let i = 0; i < runCount; i++) {
    const lane = i % lanes;
    const dur = 200 + ((i * 37) % 800);
    events.push({ ph: "X", name: "fn_" + (i % 6), pid: Math.floor(lane / perNode) + 1, tid: (lane % perNode) + 1, ts: clock[lane], dur, args: { task_id: hexId("task", i, 48) } });
    clock[lane] += dur + 1000;
  }
  return { traceEvents: events, displayTimeUnit: "ms" };
}

// Answers API requests from the fixtures above. options: {failedTasks, objects, actors,
// timelineRuns, logChunks}. Returns handle(method, pathAndQuery) -> {status, body}.
function makeApi(options) {
  const o = Object.assign({ failedTasks: 25, objects: 200, actors: 12, timelineRuns: 400, logChunks: 3 }, options);
  const actorList = actors(o.actors);
  // The large answers are built once each: the render bench times the page, not this server.
  const built = new Map();
  const once = (key, build) => {
    if (!built.has(key)) built.set(key, build());
    return built.get(key);
  };
  const jobLogReads = new Map();
  const stopped = new Set();
  return function handle(method, pathAndQuery) {
    const url = new URL(pathAndQuery, "http://dashboard.test");
    const p = url.pathname;
    const q = url.searchParams;
    const ok = (body) => ({ status: 200, body });
    if (method === "POST") {
      const stop = p.match(/^\/api\/v0\/jobs\/([^/]+)\/stop$/);
      if (stop) {
        stopped.add(decodeURIComponent(stop[1]));
        return ok({ stopped: true });
      }
      if (p === "/api/v0/logout") return ok({});
      return { status: 404, body: { error: "no such endpoint" } };
    }
    if (p === "/api/v0/cluster") return ok({ session: "session_2024-01-01_00-00-00_123", gcs_address: "10.0.0.1:6379", version: "0.1.0" });
    if (p === "/api/v0/nodes") return ok(nodes());
    if (p === "/api/v0/jobs") {
      return ok(jobs().map((j) => (stopped.has(j.submission_id) ? Object.assign(j, { state: "STOPPED", end_time_ms: j.start_time_ms + 5000 }) : j)));
    }
    const jobLog = p.match(/^\/api\/v0\/jobs\/([^/]+)\/logs$/);
    if (jobLog) {
      const id = decodeURIComponent(jobLog[1]);
      const reads = (jobLogReads.get(id) || 0) + 1;
      jobLogReads.set(id, reads);
      const offset = Number(q.get("offset") || 0);
      const text = "line " + reads + " of " + id + " " + kHostile + "\n";
      return ok({ text, next_offset: offset + text.length, ended: reads >= o.logChunks });
    }
    if (p === "/api/v0/actors") return ok(actorList);
    const actor = p.match(/^\/api\/v0\/actors\/([^/]+)$/);
    if (actor) {
      const found = actorList.find((a) => a.actor_id === decodeURIComponent(actor[1]));
      return found ? ok(actorDetail(found, 6)) : { status: 404, body: { error: "no such actor" } };
    }
    if (p === "/api/v0/tasks/summary") return ok(taskSummary());
    if (p === "/api/v0/tasks") {
      const limit = Number(q.get("limit") || 100);
      const all = once("tasks", () => failedTasks(o.failedTasks));
      return ok({ total: all.total, rows: all.rows.slice(0, limit) });
    }
    if (p === "/api/v0/placement_groups") return ok(placementGroups());
    if (p === "/api/v0/objects") {
      const limit = q.has("limit") ? Number(q.get("limit")) : 1000;
      return ok(once("objects " + limit, () => objects(o.objects, limit)));
    }
    if (p === "/api/v0/logs") {
      return ok([{ file: "raylet.out", size: 2048 }, { file: "worker-" + hexId("worker", 0, 56) + ".out", size: 200000 }, { file: "gcs_server.out", size: 10 }]);
    }
    const logFile = p.match(/^\/api\/v0\/logs\/([^/]+)\/([^/]+)$/);
    if (logFile) {
      const size = 200000;
      const offset = q.has("offset") ? Number(q.get("offset")) : size - 64;
      const text = offset >= size ? "" : decodeURIComponent(logFile[2]) + " tail " + kHostile + "\n";
      return ok({ text, next_offset: Math.max(offset, size), size });
    }
    if (p === "/api/v0/timeline") {
      const runs = q.has("job_id") ? Math.floor(o.timelineRuns / 2) : o.timelineRuns;
      return ok(once("timeline " + runs, () => trace(runs)));
    }
    return { status: 404, body: { error: "no such endpoint" } };
  };
}

module.exports = { kHostile, kTraceback, hexId, nodes, jobs, actors, taskSummary, failedTasks, objects, trace, makeApi };
