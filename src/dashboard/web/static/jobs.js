// The jobs page: the job table (refreshed every 2 s), a Stop button for pending and running
// submitted jobs, and a panel that streams the driver log of the job whose row was clicked.
(function (Dash) {
  "use strict";

  const el = Dash.el;
  const kPollMs = 2000;
  const kLogPollMs = 1000;
  const kStoppable = new Set(["PENDING", "RUNNING"]);

  // A running job's duration grows with the clock; a job that never started has none.
  function durationSeconds(job) {
    if (typeof job.start_time_ms !== "number") return null;
    const end = typeof job.end_time_ms === "number" ? job.end_time_ms : Date.now();
    return Math.max(0, (end - job.start_time_ms) / 1000);
  }

  function start() {
    const panel = document.getElementById("job-log-panel");
    const logTitle = document.getElementById("job-log-title");
    const logStatus = document.getElementById("job-log-status");
    const logText = document.getElementById("job-log-text");
    let jobsPoll = null;
    let logStream = null;

    async function stopJob(job, button) {
      if (!window.confirm("Stop job " + job.submission_id + "?\n" + (job.entrypoint || ""))) return;
      button.disabled = true;
      try {
        await Dash.apiPost("/api/v0/jobs/" + encodeURIComponent(job.submission_id) + "/stop", {});
      } catch (err) {
        button.disabled = false;  // the banner says why
        return;
      }
      jobsPoll.now();
    }

    function actionsCell(job) {
      if (!kStoppable.has(job.state) || !job.submission_id) return "";
      const button = el("button", { className: "danger small", text: "Stop", testid: "stop-job" });
      button.type = "button";
      button.addEventListener("click", () => stopJob(job, button));
      return button;
    }

    function closeLog() {
      if (logStream) logStream.stop();
      logStream = null;
      panel.hidden = true;
      Dash.clearError("job-log");
    }

    function openLog(job) {
      closeLog();
      panel.hidden = false;
      panel.scrollIntoView({ block: "nearest" });  // below a long table it would open unseen
      logText.textContent = "";
      logTitle.textContent = "Driver log of " + (job.submission_id || job.job_id);
      if (!job.submission_id) {
        logStatus.textContent = "This job was not submitted through the job API, so no driver log is kept.";
        return;
      }
      logStatus.textContent = "streaming\u2026";
      const base = "/api/v0/jobs/" + encodeURIComponent(job.submission_id) + "/logs";
      // The first read names no offset: the server starts at the tail of a long log.
      let offset = null;
      const stream = Dash.poll(async () => {
        const part = await Dash.apiGet(offset === null ? base : base + "?offset=" + offset, { errorKey: "job-log" });
        if (stream !== logStream) return;  // closed, or another job opened, while this was in flight
        Dash.appendLogText(logText, part.text);
        offset = part.next_offset;
        if (part.ended) {
          logStatus.textContent = "log ended";
          stream.stop();
        }
      }, kLogPollMs);
      logStream = stream;
    }

    const table = new Dash.DataTable([
      { key: "job_id", label: "job", render: (j) => Dash.idText(j.job_id) },
      { key: "submission_id", label: "submission", render: (j) => el("span", { className: "mono", text: j.submission_id }) },
      { key: "state", label: "state", render: (j) => Dash.badge(j.state) },
      { key: "entrypoint", label: "entrypoint", render: (j) => el("span", { className: "mono clip", text: j.entrypoint, title: j.entrypoint }) },
      { key: "namespace", label: "namespace" },
      { key: "start_time_ms", label: "started", render: (j) => Dash.formatTime(j.start_time_ms) },
      { key: "end_time_ms", label: "ended", render: (j) => Dash.formatTime(j.end_time_ms) },
      { key: "duration", label: "duration", numeric: true, value: durationSeconds, render: (j) => Dash.formatDuration(durationSeconds(j)) },
      { key: "driver_pid", label: "driver pid", numeric: true },
      { key: "actions", label: "", sortable: false, value: () => null, render: actionsCell },
    ], {
      testid: "jobs-table",
      rowTestid: "job-row",
      rowAttrs: (j) => ({ "data-state": j.state, "data-job-id": j.job_id, "data-submission-id": j.submission_id }),
      onRowClick: openLog,
      sort: { key: "start_time_ms", descending: true },
      emptyText: "No job yet.",
    });
    document.getElementById("jobs").append(table.element);
    document.getElementById("job-log-close").addEventListener("click", closeLog);

    jobsPoll = Dash.poll(async () => {
      const jobs = await Dash.apiGet("/api/v0/jobs");
      table.setRows(jobs, jobs.some((j) => j.state === "RUNNING"));
    }, kPollMs);
  }

  Dash.onReady(start);
})(window.Dash);
