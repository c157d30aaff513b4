// The logs page: pick a node and one of its log files, read its tail, and with "follow" read
// what is appended every second. The choice is kept in the query string (?node_id=&file=) so a
// link (from a node card, say) opens the right file.
(function (Dash) {
  "use strict";

  const el = Dash.el;
  const kFollowMs = 1000;

  function nodeLabel(node) {
    const parts = [Dash.shortId(node.node_id, 12), node.address];
    if (node.is_head) parts.push("(head)");
    if (node.state !== "ALIVE") parts.push("(dead)");
    return parts.join(" ");
  }

  function start() {
    const nodeSelect = document.getElementById("log-node");
    const fileSelect = document.getElementById("log-file");
    const follow = document.getElementById("log-follow");
    const status = document.getElementById("log-status");
    const text = document.getElementById("log-text");
    const params = new URLSearchParams(location.search);
    let nextOffset = null;
    let follower = null;
    // Bumped on every new choice, so an answer for the file shown before is dropped.
    let generation = 0;

    function filePath() {
      return "/api/v0/logs/" + encodeURIComponent(nodeSelect.value) + "/" + encodeURIComponent(fileSelect.value);
    }

    function remember() {
      const query = new URLSearchParams();
      if (nodeSelect.value) query.set("node_id", nodeSelect.value);
      if (fileSelect.value) query.set("file", fileSelect.value);
      history.replaceState(null, "", "/logs?" + query.toString());
    }

    function stopFollowing() {
      if (follower) follower.stop();
      follower = null;
    }

    function startFollowing() {
      stopFollowing();
      if (!follow.checked || nextOffset === null) return;
      const mine = generation;
      follower = Dash.poll(async () => {
        const part = await Dash.apiGet(filePath() + "?offset=" + nextOffset, { errorKey: "log-file" });
        if (mine !== generation) return;
        Dash.appendLogText(text, part.text);
        nextOffset = part.next_offset;
        status.textContent = Dash.formatBytes(part.size) + " \u00b7 following";
      }, kFollowMs);
    }

    async function showFile() {
      stopFollowing();
      const mine = ++generation;
      nextOffset = null;
      text.textContent = "";
      remember();
      if (!fileSelect.value || !nodeSelect.value) {
        status.textContent = "no log file on this node";
        return;
      }
      status.textContent = "loading\u2026";
      // No offset: the server answers with the last 64 KiB.
      const part = await Dash.apiGet(filePath(), { errorKey: "log-file" });
      if (mine !== generation) return;
      text.textContent = part.text;
      text.scrollTop = text.scrollHeight;
      nextOffset = part.next_offset;
      const startOffset = part.next_offset - new TextEncoder().encode(part.text).length;
      status.textContent = Dash.formatBytes(part.size) + (startOffset > 0 ? " \u00b7 showing the last " + Dash.formatBytes(part.size - startOffset) : "");
      startFollowing();
    }

    async function showNode(preferredFile) {
      stopFollowing();
      const mine = ++generation;
      // Without a node the server lists the head's files.
      const query = nodeSelect.value ? "?node_id=" + encodeURIComponent(nodeSelect.value) : "";
      const files = await Dash.apiGet("/api/v0/logs" + query, { errorKey: "log-files" });
      if (mine !== generation) return;
      const sorted = files.slice().sort((a, b) => String(a.file).localeCompare(String(b.file), undefined, { numeric: true }));
      fileSelect.replaceChildren(...sorted.map((f) => el("option", { text: f.file + " (" + Dash.formatBytes(f.size) + ")", attrs: { value: f.file } })));
      if (preferredFile && sorted.some((f) => f.file === preferredFile)) fileSelect.value = preferredFile;
      await showFile();
    }

    // Errors are on the banner already; these run from event handlers, not from a poll.
    const quietly = (promise) => promise.catch((err) => {
      if (!(err instanceof Dash.ApiError)) Dash.showError("logs-page", "Page error: " + err.message);
    });

    nodeSelect.addEventListener("change", () => quietly(showNode(null)));
    fileSelect.addEventListener("change", () => quietly(showFile()));
    follow.addEventListener("change", () => (follow.checked ? startFollowing() : stopFollowing()));
    document.getElementById("log-reload").addEventListener("click", () => quietly(showNode(fileSelect.value)));

    quietly((async () => {
      const nodes = await Dash.apiGet("/api/v0/nodes", { errorKey: "log-nodes" });
      const ordered = nodes.slice().sort((a, b) => (b.is_head ? 1 : 0) - (a.is_head ? 1 : 0));
      nodeSelect.replaceChildren(...ordered.map((n) => el("option", { text: nodeLabel(n), attrs: { value: n.node_id } })));
      const wanted = params.get("node_id");
      if (wanted && ordered.some((n) => n.node_id === wanted)) nodeSelect.value = wanted;
      await showNode(params.get("file"));
    })());
  }

  Dash.onReady(start);
})(window.Dash);
