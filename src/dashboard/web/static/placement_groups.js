// The placement groups page: every group with its strategy, state, bundles and why it is still
// pending, refreshed every 2 s.
(function (Dash) {
  "use strict";

  const el = Dash.el;
  const kPollMs = 2000;

  // [{"CPU": 1}, {"GPU": 1, "CPU": 2}] -> "{CPU 1} {CPU 2, GPU 1}"; anything else as JSON.
  function bundlesText(bundles) {
    if (!Array.isArray(bundles)) return Dash.displayValue(bundles);
    return bundles.map((bundle) => {
      if (!bundle || typeof bundle !== "object") return Dash.displayValue(bundle);
      const parts = Object.keys(bundle).sort().map((name) => name + " " + Dash.displayValue(bundle[name]));
      return "{" + parts.join(", ") + "}";
    }).join(" ");
  }

  function start() {
    const table = new Dash.DataTable([
      { key: "placement_group_id", label: "placement group", render: (g) => Dash.idText(g.placement_group_id) },
      { key: "name", label: "name" },
      { key: "strategy", label: "strategy" },
      { key: "state", label: "state", render: (g) => Dash.badge(g.state) },
      { key: "bundles", label: "bundles", value: (g) => bundlesText(g.bundles), render: (g) => el("span", { className: "mono", text: bundlesText(g.bundles) }) },
      { key: "job_id", label: "job", render: (g) => Dash.idText(g.job_id) },
      { key: "pending_reason", label: "pending reason" },
    ], {
      testid: "placement-groups-table",
      rowTestid: "placement-group-row",
      rowAttrs: (g) => ({ "data-state": g.state, "data-placement-group-id": g.placement_group_id }),
      emptyText: "No placement group.",
    });
    document.getElementById("placement-groups").append(table.element);
    Dash.poll(async () => {
      table.setRows(await Dash.apiGet("/api/v0/placement_groups"));
    }, kPollMs);
  }

  Dash.onReady(start);
})(window.Dash);
