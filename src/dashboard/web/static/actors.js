// The actors page: every actor with its state, restarts, node and death cause, refreshed every
// 2 s. A row opens that actor's page.
(function (Dash) {
  "use strict";

  const el = Dash.el;
  const kPollMs = 2000;

  function actorPath(actor) {
    return "/actors/" + encodeURIComponent(actor.actor_id);
  }

  function start() {
    const table = new Dash.DataTable([
      { key: "actor_id", label: "actor", render: (a) => el("a", { className: "mono", href: actorPath(a), text: Dash.shortId(a.actor_id), title: a.actor_id }) },
      { key: "class", label: "class" },
      { key: "name", label: "name" },
      { key: "state", label: "state", render: (a) => Dash.badge(a.state) },
      { key: "restarts", label: "restarts", numeric: true },
      { key: "job_id", label: "job", render: (a) => Dash.idText(a.job_id) },
      { key: "node_id", label: "node", render: (a) => Dash.idText(a.node_id) },
      { key: "pid", label: "pid", numeric: true },
      { key: "death_cause", label: "death cause", render: (a) => el("span", { className: "clip", text: a.death_cause, title: Dash.displayValue(a.death_cause) }) },
    ], {
      testid: "actors-table",
      rowTestid: "actor-row",
      rowAttrs: (a) => ({ "data-state": a.state, "data-actor-id": a.actor_id }),
      onRowClick: (a) => location.assign(actorPath(a)),
      emptyText: "No actor yet.",
    });
    document.getElementById("actors").append(table.element);
    Dash.poll(async () => {
      table.setRows(await Dash.apiGet("/api/v0/actors"));
    }, kPollMs);
  }

  Dash.onReady(start);
})(window.Dash);
