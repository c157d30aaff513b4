// The tasks page: task counts by state (totals and per function) and the recent failures with
// their full error text, refreshed every 2 s.
(function (Dash) {
  "use strict";

  const el = Dash.el;
  const kPollMs = 2000;
  const kFailureLimit = 1000;
  // A failure's error shows this much until opened.
  const kErrorHeadLines = 3;
  const kErrorHeadChars = 240;
  // Columns of /api/v0/tasks/summary (the protocol's TaskState), in the order a task moves
  // through them.
  const kStates = [
    ["submitted", "SUBMITTED"],
    ["scheduled", "SCHEDULED"],
    ["running", "RUNNING"],
    ["finished", "FINISHED"],
    ["failed", "FAILED"],
  ];

  function renderStateTotals(container, summary) {
    const cards = kStates.map(([key, state]) => {
      const count = summary.reduce((sum, row) => sum + (row[key] || 0), 0);
      const card = Dash.statCard(state, Dash.formatCount(count), "state-count");
      card.setAttribute("data-state", state);
      card.classList.add("stat-" + Dash.stateClass(state));
      return card;
    });
    const total = summary.reduce((sum, row) => sum + (row.total || 0), 0);
    cards.push(Dash.statCard("total", Dash.formatCount(total), "task-total"));
    container.replaceChildren(...cards);
  }

  function start() {
    // Which failures the reader expanded, kept across refreshes (a render rebuilds the rows).
    const expanded = new Set();
    const failureKey = (t) => t.task_id + ":" + t.attempt;

    // A short error is shown whole; a long one by its first lines, with a way to open it. The
    // rest is in the <pre> (copied, found) but hidden, so that the browser does not lay out a
    // hundred tracebacks nobody opened.
    function errorCell(task) {
      const text = task.error_message || "";
      const key = failureKey(task);
      const head = Dash.headLength(text, kErrorHeadLines, kErrorHeadChars);
      if (head < 0) return el("pre", { className: "error-text", testid: "task-error", text });
      const rest = el("span", { text: text.slice(head) });
      const pre = el("pre", { className: "error-text", testid: "task-error" }, [text.slice(0, head), rest]);
      const toggle = el("button", { className: "link-button", testid: "task-error-toggle" });
      toggle.type = "button";
      const show = () => {
        const open = expanded.has(key);
        rest.hidden = !open;
        pre.classList.toggle("clamped", !open);
        toggle.textContent = open ? "collapse" : "expand";
      };
      toggle.addEventListener("click", () => {
        if (expanded.has(key)) expanded.delete(key); else expanded.add(key);
        show();
      });
      show();
      return el("div", { className: "error-cell" }, [pre, toggle]);
    }

    const summaryTable = new Dash.DataTable([
      { key: "function", label: "function", render: (r) => el("span", { className: "mono", text: r.function }) },
      ...kStates.map(([key, state]) => ({ key, label: state.toLowerCase().replace("_", " "), numeric: true })),
      { key: "total", label: "total", numeric: true },
    ], {
      testid: "task-summary-table",
      rowTestid: "task-summary-row",
      rowAttrs: (r) => ({ "data-function": r.function }),
      sort: { key: "total", descending: true },
      emptyText: "No task yet.",
    });

    const failureTable = new Dash.DataTable([
      { key: "submitted_ms", label: "submitted", render: (t) => Dash.formatTime(t.submitted_ms) },
      { key: "name", label: "name", render: (t) => el("span", { className: "mono", text: t.name, title: t.function }) },
      { key: "task_id", label: "task", render: (t) => Dash.idText(t.task_id) },
      { key: "attempt", label: "attempt", numeric: true },
      { key: "kind", label: "kind" },
      { key: "job_id", label: "job", render: (t) => Dash.idText(t.job_id) },
      { key: "node_id", label: "node", render: (t) => Dash.idText(t.node_id) },
      { key: "worker_id", label: "worker", render: (t) => Dash.idText(t.worker_id) },
      { key: "duration_s", label: "duration", numeric: true, render: (t) => Dash.formatDuration(t.duration_s) },
      { key: "error_type", label: "error type", render: (t) => el("span", { className: "error-type", text: t.error_type }) },
      { key: "error_message", label: "error", render: errorCell },
    ], {
      testid: "failed-tasks-table",
      rowTestid: "failed-task-row",
      rowAttrs: (t) => ({ "data-task-id": t.task_id, "data-error-type": t.error_type }),
      sort: { key: "submitted_ms", descending: true },
      emptyText: "No task has failed.",
    });

    document.getElementById("task-summary").append(summaryTable.element);
    document.getElementById("task-failures").append(failureTable.element);
    const stateTotals = document.getElementById("task-state-totals");
    const failureCount = document.getElementById("task-failure-count");

    Dash.poll(async () => {
      const [summary, failures] = await Promise.all([
        Dash.apiGet("/api/v0/tasks/summary"),
        Dash.apiGet("/api/v0/tasks?limit=" + kFailureLimit + "&state=FAILED"),
      ]);
      renderStateTotals(stateTotals, summary);
      summaryTable.setRows(summary);
      failureTable.setRows(failures.rows);
      failureCount.textContent = failures.total > failures.rows.length
        ? "the latest " + Dash.formatCount(failures.rows.length) + " of " + Dash.formatCount(failures.total)
        : Dash.formatCount(failures.total);
    }, kPollMs);
  }

  Dash.onReady(start);
})(window.Dash);
