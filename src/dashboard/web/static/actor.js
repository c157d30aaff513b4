// One actor's page (/actors/<actor_id>): its fields, its death message and its tasks, newest
// first, refreshed every 2 s.
(function (Dash) {
  "use strict";

  const el = Dash.el;
  const kPollMs = 2000;

  function actorIdFromPath() {
    const parts = location.pathname.split("/").filter((p) => p.length > 0);
    return parts.length >= 2 ? decodeURIComponent(parts[1]) : "";
  }

  function field(label, value) {
    return [el("dt", { text: label }), el("dd", {}, [value])];
  }

  function renderFields(container, actor) {
    const nodeLink = Dash.isMissing(actor.node_id)
      ? Dash.kMissing
      : el("a", { className: "mono", href: "/logs?node_id=" + encodeURIComponent(actor.node_id), text: actor.node_id, title: "this node's logs" });
    const rows = [
      field("actor id", el("span", { className: "mono", text: actor.actor_id })),
      field("class", Dash.displayValue(actor.class)),
      field("name", Dash.displayValue(actor.name)),
      field("namespace", Dash.displayValue(actor.namespace)),
      field("state", Dash.badge(actor.state)),
      field("job", el("span", { className: "mono", text: actor.job_id })),
      field("node", nodeLink),
      field("pid", Dash.displayValue(actor.pid)),
      field("restarts", Dash.displayValue(actor.restarts)),
      field("death cause", Dash.displayValue(actor.death_cause)),
    ];
    container.replaceChildren(...rows.flat());
  }

  function start() {
    const actorId = actorIdFromPath();
    const title = document.getElementById("actor-title");
    const fields = document.getElementById("actor-fields");
    const deathBlock = document.getElementById("actor-death");
    const deathMessage = document.getElementById("actor-death-message");
    title.textContent = "Actor " + actorId;
    document.title = "Actor " + Dash.shortId(actorId) + " \u00b7 Orrery";

    const tasks = new Dash.DataTable([
      { key: "submitted_ms", label: "submitted", render: (t) => Dash.formatTime(t.submitted_ms) },
      { key: "name", label: "name" },
      { key: "task_id", label: "task", render: (t) => Dash.idText(t.task_id) },
      { key: "attempt", label: "attempt", numeric: true },
      { key: "state", label: "state", render: (t) => Dash.badge(t.state) },
      { key: "duration_s", label: "duration", numeric: true, render: (t) => Dash.formatDuration(t.duration_s) },
      { key: "worker_id", label: "worker", render: (t) => Dash.idText(t.worker_id) },
      { key: "error_type", label: "error type" },
      { key: "error_message", label: "error", render: (t) => (t.error_message ? el("pre", { className: "error-text clamped", text: t.error_message }) : "") },
    ], {
      testid: "actor-tasks-table",
      rowTestid: "actor-task-row",
      rowAttrs: (t) => ({ "data-state": t.state }),
      emptyText: "This actor has run no task yet.",
    });
    document.getElementById("actor-tasks").append(tasks.element);

    const poller = Dash.poll(async () => {
      let actor;
      try {
        actor = await Dash.apiGet("/api/v0/actors/" + encodeURIComponent(actorId));
      } catch (err) {
        if (err instanceof Dash.ApiError && err.status === 404) {
          title.textContent = "No actor " + actorId;
          poller.stop();
        }
        throw err;
      }
      renderFields(fields, actor);
      deathBlock.hidden = !actor.death_message;
      deathMessage.textContent = actor.death_message || "";
      tasks.setRows(actor.tasks || []);
    }, kPollMs);
  }

  Dash.onReady(start);
})(window.Dash);
