// The objects page: totals, memory per owning process and the largest object references,
// refreshed every 5 s (listing references costs the cluster more than the other pages' reads).
(function (Dash) {
  "use strict";

  const el = Dash.el;
  const kPollMs = 5000;
  // The API sends the largest this many references: a busy cluster holds hundreds of thousands,
  // megabytes to parse on every refresh for rows nobody scrolls to (`orrery memory` lists all).
  const kReferenceLimit = 1000;

  function bytesColumn(key, label) {
    return { key, label, numeric: true, render: (r) => Dash.formatBytes(r[key]) };
  }

  function renderSummary(container, summary) {
    container.replaceChildren(
      Dash.statCard("references", Dash.formatCount(summary.references), "object-references"),
      Dash.statCard("distinct objects", Dash.formatCount(summary.distinct_objects), "distinct-objects"),
      Dash.statCard("in process memory", Dash.formatBytes(summary.process_memory_bytes)),
      Dash.statCard("in the object store", Dash.formatBytes(summary.object_store_bytes)),
      Dash.statCard("spilled", Dash.formatBytes(summary.spilled_bytes)),
    );
  }

  function start() {
    const owners = new Dash.DataTable([
      { key: "process", label: "process", render: (o) => el("span", { className: "mono", text: o.process }) },
      { key: "pid", label: "pid", numeric: true },
      { key: "worker_id", label: "worker", render: (o) => Dash.idText(o.worker_id) },
      { key: "job_id", label: "job", render: (o) => Dash.idText(o.job_id) },
      { key: "node_id", label: "node", render: (o) => Dash.idText(o.node_id) },
      { key: "objects", label: "objects", numeric: true, render: (o) => Dash.formatCount(o.objects) },
      { key: "borrowed", label: "borrowed", numeric: true },
      bytesColumn("process_memory_bytes", "process memory"),
      bytesColumn("object_store_bytes", "object store"),
      bytesColumn("spilled_bytes", "spilled"),
    ], {
      testid: "object-owners-table",
      rowTestid: "object-owner-row",
      sort: { key: "object_store_bytes", descending: true },
      emptyText: "No process holds an object reference.",
    });

    const objects = new Dash.DataTable([
      { key: "object_id", label: "object", render: (o) => Dash.idText(o.object_id, 12) },
      bytesColumn("size", "size"),
      { key: "reference_kind", label: "reference" },
      { key: "owned", label: "owned" },
      { key: "location", label: "location" },
      { key: "spilled", label: "spilled" },
      { key: "process", label: "process", render: (o) => el("span", { className: "mono", text: o.process }) },
      { key: "pid", label: "pid", numeric: true },
      { key: "job_id", label: "job", render: (o) => Dash.idText(o.job_id) },
      { key: "node_id", label: "node", render: (o) => Dash.idText(o.node_id) },
    ], {
      testid: "objects-table",
      rowTestid: "object-row",
      rowAttrs: (o) => ({ "data-object-id": o.object_id }),
      sort: { key: "size", descending: true },
      emptyText: "No object reference.",
    });

    document.getElementById("object-owners").append(owners.element);
    document.getElementById("object-list").append(objects.element);
    const summary = document.getElementById("object-summary");
    const listCount = document.getElementById("object-list-count");
    Dash.poll(async () => {
      const answer = await Dash.apiGet("/api/v0/objects?limit=" + kReferenceLimit);
      renderSummary(summary, answer.summary || {});
      owners.setRows(answer.owners || []);
      const listed = answer.objects || [];
      objects.setRows(listed);
      const total = answer.objects_total || 0;
      listCount.textContent = total > listed.length
        ? "the " + Dash.formatCount(listed.length) + " largest of " + Dash.formatCount(total) : "";
    }, kPollMs);
  }

  Dash.onReady(start);
})(window.Dash);
