// The overview page: cluster totals, then one card per node with resource bars, refreshed every
// 2 s. clusterTotals is pure and exported for the node test.
(function (Dash) {
  "use strict";

  const kPollMs = 2000;
  // Resources shown first, in this order; any other (custom) resource follows by name. Ray-style
  // per-node marker resources ("node:<ip>") say nothing a reader needs, and an
  // "object_store_memory" resource would repeat the object store bar, so both are left out.
  const kMainResources = ["CPU", "GPU", "memory"];
  const kByteResources = new Set(["memory"]);

  function isShownResource(name) {
    return !name.startsWith("node:") && name !== "object_store_memory";
  }

  function resourceNames(resources) {
    const others = Object.keys(resources || {})
      .filter((name) => !kMainResources.includes(name) && isShownResource(name))
      .sort();
    return kMainResources.filter((name) => resources && resources[name]).concat(others);
  }

  // Sums over live nodes: {alive, dead, resources: {name: {used, total}}, objectStore: {used, capacity}, workers}.
  function clusterTotals(nodes) {
    const totals = { alive: 0, dead: 0, resources: {}, objectStore: { used: 0, capacity: 0 }, workers: 0 };
    for (const node of nodes) {
      if (node.state !== "ALIVE") {
        totals.dead++;
        continue;
      }
      totals.alive++;
      for (const [name, amount] of Object.entries(node.resources || {})) {
        if (!amount || !isShownResource(name)) continue;
        const sum = totals.resources[name] || (totals.resources[name] = { used: 0, total: 0 });
        sum.used += amount.used || 0;
        sum.total += amount.total || 0;
      }
      if (node.object_store) {
        totals.objectStore.used += node.object_store.used_bytes || 0;
        totals.objectStore.capacity += node.object_store.capacity_bytes || 0;
      }
      totals.workers += node.workers || 0;
    }
    return totals;
  }

  if (typeof module !== "undefined" && module.exports) {
    module.exports = { clusterTotals, resourceNames };
    return;
  }

  const el = Dash.el;

  function amountText(name, used, total) {
    if (kByteResources.has(name)) return Dash.formatBytes(used) + " / " + Dash.formatBytes(total);
    const round = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
    return round(used) + " / " + round(total);
  }

  function bar(label, used, total, text) {
    const percent = Dash.percentOf(used, total);
    const fill = el("div", { className: "bar-fill" + (percent >= 90 ? " high" : "") });
    fill.style.width = percent.toFixed(1) + "%";
    return el("div", { className: "bar-row", dataset: { resource: label } }, [
      el("span", { className: "bar-label", text: label }),
      el("div", { className: "bar", attrs: { role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(percent), "aria-label": label } }, [fill]),
      el("span", { className: "bar-text", text }),
    ]);
  }

  function resourceBars(resources, objectStore) {
    const bars = resourceNames(resources).map((name) => {
      const amount = resources[name];
      return bar(name, amount.used, amount.total, amountText(name, amount.used, amount.total));
    });
    if (objectStore) {
      bars.push(bar("object store", objectStore.used, objectStore.capacity,
        Dash.formatBytes(objectStore.used) + " / " + Dash.formatBytes(objectStore.capacity)));
    }
    return bars;
  }

  function renderTotals(container, nodes) {
    const totals = clusterTotals(nodes);
    const store = { used: totals.objectStore.used, capacity: totals.objectStore.capacity };
    container.replaceChildren(
      el("div", { className: "stats" }, [
        Dash.statCard("nodes alive", Dash.formatCount(totals.alive), "nodes-alive"),
        Dash.statCard("nodes dead", Dash.formatCount(totals.dead), "nodes-dead"),
        Dash.statCard("workers", Dash.formatCount(totals.workers), "workers-total"),
      ]),
      el("div", { className: "bars totals" }, resourceBars(totals.resources, store.capacity > 0 ? store : null)),
    );
  }

  function nodeCard(node) {
    const alive = node.state === "ALIVE";
    const store = node.object_store
      ? { used: node.object_store.used_bytes, capacity: node.object_store.capacity_bytes }
      : null;
    const header = el("div", { className: "card-head" }, [
      el("span", { className: "node-id mono", text: Dash.shortId(node.node_id, 12), title: node.node_id }),
      node.is_head ? el("span", { className: "badge badge-head", text: "head", testid: "head-marker" }) : null,
      Dash.badge(node.state),
    ]);
    const details = [
      header,
      el("div", { className: "address mono", text: node.address }),
    ];
    if (alive) {
      details.push(el("div", { className: "bars" }, resourceBars(node.resources, store)));
      details.push(el("div", { className: "workers", text: "workers: " + Dash.displayValue(node.workers) }));
    } else {
      details.push(el("p", { className: "death-reason", testid: "death-reason", text: node.death_reason || "no reason recorded" }));
    }
    details.push(el("a", { className: "card-link", href: "/logs?node_id=" + encodeURIComponent(node.node_id), text: "logs" }));
    return el("article", {
      className: "node-card" + (alive ? "" : " dead"),
      testid: "node-card",
      dataset: { state: node.state, "node-id": node.node_id },
    }, details);
  }

  // The head first, then live nodes, then dead ones, each by address.
  function cardOrder(a, b) {
    const rank = (n) => (n.is_head ? 0 : n.state === "ALIVE" ? 1 : 2);
    return rank(a) - rank(b) || String(a.address).localeCompare(String(b.address));
  }

  function start() {
    const info = document.getElementById("cluster-info");
    const totals = document.getElementById("cluster-totals");
    const cards = document.getElementById("node-cards");
    let clusterKnown = false;
    let lastNodes = null;

    async function showCluster() {
      const cluster = await Dash.apiGet("/api/v0/cluster");
      info.replaceChildren(
        el("span", { text: "session " }), el("span", { className: "mono", text: cluster.session }),
        el("span", { text: " \u00b7 GCS " }), el("span", { className: "mono", text: cluster.gcs_address }),
        el("span", { text: " \u00b7 version " }), el("span", { className: "mono", text: cluster.version }),
      );
      clusterKnown = true;
    }

    Dash.poll(async () => {
      // The session does not change while the page is open: read it until it is known, and
      // show the nodes even while that read fails (the banner says so).
      const cluster = clusterKnown ? null : showCluster().catch(() => {});
      const nodes = await Dash.apiGet("/api/v0/nodes");
      await cluster;
      const signature = JSON.stringify(nodes);
      if (signature === lastNodes) return;
      lastNodes = signature;
      renderTotals(totals, nodes);
      const fragment = document.createDocumentFragment();
      for (const node of nodes.slice().sort(cardOrder)) fragment.append(nodeCard(node));
      if (nodes.length === 0) fragment.append(el("p", { className: "empty", text: "No node has registered yet." }));
      cards.replaceChildren(fragment);
    }, kPollMs);
  }

  Dash.onReady(start);
})(typeof module !== "undefined" && module.exports ? require("./dashboard.js") : window.Dash);
