// Shared by every dashboard page. The first half is pure (formatting, escaping, sorting,
// filtering, the login redirect check) and is also loaded by node for test/web_test.js; the
// second half is the browser side: API calls with the cluster-token redirect, the error banner,
// polling, the navigation bar and a small DOM builder.
//
// Every value that came from the cluster enters the DOM through textContent (see el()), never as
// markup: a task name or a log line holding "<script>" is shown, not run. No page script parses
// a string as HTML; test/web_test.js checks that.
(function (root) {
  "use strict";

  const kMissing = "\u2014";  // an em dash for an absent (null) value

  // ---- Pure helpers -----------------------------------------------------------------------

  const kHtmlEscapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

  // For the rare place that must build markup as a string. The pages themselves use el().
  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/[&<>"']/g, (c) => kHtmlEscapes[c]);
  }

  function isMissing(value) {
    return value === null || value === undefined || (typeof value === "number" && Number.isNaN(value));
  }

  // How a raw API value reads in a table cell.
  function displayValue(value) {
    if (isMissing(value)) return kMissing;
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  const kByteUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

  // 1536 -> "1.5 KiB". Binary units because memory and object store capacities are powers of two.
  function formatBytes(bytes) {
    if (isMissing(bytes) || typeof bytes !== "number") return kMissing;
    let value = Math.abs(bytes);
    let unit = 0;
    while (value >= 1024 && unit < kByteUnits.length - 1) {
      value /= 1024;
      unit++;
    }
    const sign = bytes < 0 ? "-" : "";
    if (unit === 0) return sign + Math.round(value) + " B";
    // Keep three significant digits at most; 1023.95 KiB must not print as "1024 KiB".
    const digits = value < 100 ? 1 : 0;
    return sign + value.toFixed(digits) + " " + kByteUnits[unit];
  }

  function pad2(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // Seconds to a short human duration: "350 µs", "12 ms", "4.20 s", "2m 05s", "3h 07m", "2d 04h".
  function formatDuration(seconds) {
    if (isMissing(seconds) || typeof seconds !== "number") return kMissing;
    if (seconds < 0) return "-" + formatDuration(-seconds);
    if (seconds < 0.001) return Math.round(seconds * 1e6) + " \u00b5s";
    if (seconds < 1) {
      const ms = seconds * 1000;
      return (ms < 10 ? ms.toFixed(1) : String(Math.round(ms))) + " ms";
    }
    if (seconds < 60) return seconds.toFixed(seconds < 10 ? 2 : 1) + " s";
    const whole = Math.floor(seconds);
    if (whole < 3600) return Math.floor(whole / 60) + "m " + pad2(whole % 60) + "s";
    if (whole < 86400) return Math.floor(whole / 3600) + "h " + pad2(Math.floor(whole / 60) % 60) + "m";
    return Math.floor(whole / 86400) + "d " + pad2(Math.floor(whole / 3600) % 24) + "h";
  }

  // Epoch milliseconds to local "YYYY-MM-DD HH:MM:SS".
  function formatTime(epochMs) {
    if (isMissing(epochMs) || typeof epochMs !== "number") return kMissing;
    const d = new Date(epochMs);
    return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " +
      pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  }

  // 12345 -> "12,345".
  function formatCount(n) {
    if (isMissing(n) || typeof n !== "number") return kMissing;
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  // Ids are long hex strings; tables show a prefix and keep the whole id in a title.
  function shortId(id, length) {
    if (isMissing(id)) return kMissing;
    const s = String(id);
    const n = length || 8;
    return s.length > n ? s.slice(0, n) + "\u2026" : s;
  }

  function percentOf(used, total) {
    if (typeof used !== "number" || typeof total !== "number" || !(total > 0)) return 0;
    return Math.min(100, Math.max(0, (used / total) * 100));
  }

  // Where the login page may send the browser after a successful login. Only a path on this
  // origin: "//evil.com", "/\evil.com" and "https://evil.com" would leave it (browsers read a
  // backslash as a slash and drop tabs and newlines inside URLs), so anything but a plain
  // "/path" becomes "/".
  function safeNextPath(next) {
    if (typeof next !== "string" || next.length === 0 || next.length > 2048) return "/";
    if (next[0] !== "/") return "/";
    if (next[1] === "/" || next[1] === "\\") return "/";
    if (/[\u0000-\u001f\u007f\\]/.test(next)) return "/";
    try {
      const base = "http://orrery.invalid";
      if (new URL(next, base).origin !== base) return "/";
    } catch (err) {
      return "/";
    }
    return next;
  }

  // The value sortRows orders by: numbers as numbers, strings without case, booleans false first;
  // null when there is nothing to order by.
  function sortKey(value) {
    if (isMissing(value)) return null;
    if (typeof value === "number") return value;
    if (typeof value === "boolean") return value ? 1 : 0;
    if (typeof value === "string") return value.toLowerCase();
    return JSON.stringify(value).toLowerCase();
  }

  function compareKeys(a, b) {
    const aNumber = typeof a === "number";
    if (aNumber !== (typeof b === "number")) return aNumber ? -1 : 1;  // numbers before text
    return a < b ? -1 : a > b ? 1 : 0;
  }

  // A new array of rows ordered by keyOf(row), stable, missing values last in either direction.
  // Keys are computed once per row (not once per comparison) so 10,000 rows sort in a few ms.
  function sortRows(rows, keyOf, descending) {
    const decorated = rows.map((row, index) => ({ key: sortKey(keyOf(row)), index, row }));
    const direction = descending ? -1 : 1;
    decorated.sort((x, y) => {
      if (x.key === null || y.key === null) {
        if (x.key === y.key) return x.index - y.index;
        return x.key === null ? 1 : -1;
      }
      return direction * compareKeys(x.key, y.key) || x.index - y.index;
    });
    return decorated.map((d) => d.row);
  }

  // Rows whose text (textOf(row), lower case) contains every word of the filter.
  function filterRows(rows, filterText, textOf) {
    const words = String(filterText || "").toLowerCase().split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) return rows.slice();
    return rows.filter((row) => {
      const text = textOf(row);
      return words.every((w) => text.includes(w));
    });
  }

  // Which colour family a state's badge gets.
  const kStateClasses = {
    ALIVE: "ok", RUNNING: "ok", SUCCEEDED: "ok", FINISHED: "ok", CREATED: "ok",
    FAILED: "bad", DEAD: "bad", REMOVED: "idle", STOPPED: "idle",
    PENDING: "warn", PENDING_CREATION: "warn", DEPENDENCIES_UNREADY: "warn", RESTARTING: "warn",
    SUBMITTED: "warn", PENDING_ARGS: "warn", PENDING_NODE: "warn", SCHEDULED: "info", RESCHEDULING: "warn",
    PENDING_REMOVAL: "warn",
  };

  function stateClass(state) {
    return kStateClasses[state] || "idle";
  }

  // Where the shown start of a long text ends: after `lines` lines (its newline not included)
  // or `chars` characters, whichever comes first; -1 when the whole text fits in that.
  function headLength(text, lines, chars) {
    let end = -1;
    for (let line = 0; line < lines; line++) {
      end = text.indexOf("\n", end + 1);
      if (end < 0) break;
    }
    if (end < 0) end = text.length;
    end = Math.min(end, chars);
    return end < text.length ? end : -1;
  }

  const pure = {
    kMissing, escapeHtml, isMissing, displayValue, formatBytes, formatDuration, formatTime,
    formatCount, shortId, percentOf, safeNextPath, sortRows, filterRows, stateClass, headLength,
  };

  if (typeof module !== "undefined" && module.exports) {
    module.exports = pure;
    return;
  }

  // ---- Browser side -----------------------------------------------------------------------

  // Builds an element without ever parsing markup. props: className, text, title, href, testid,
  // dataset, attrs, hidden, onClick. Children may be nodes or strings (strings become text).
  function el(tag, props, children) {
    const node = document.createElement(tag);
    const p = props || {};
    if (p.className) node.className = p.className;
    if (p.text !== undefined) node.textContent = displayValue(p.text);
    if (p.title !== undefined && p.title !== null) node.title = String(p.title);
    if (p.href !== undefined) node.setAttribute("href", p.href);
    if (p.testid) node.setAttribute("data-testid", p.testid);
    if (p.hidden) node.hidden = true;
    if (p.dataset) {
      for (const [key, value] of Object.entries(p.dataset)) {
        if (!isMissing(value)) node.setAttribute("data-" + key, String(value));
      }
    }
    if (p.attrs) {
      for (const [key, value] of Object.entries(p.attrs)) {
        if (!isMissing(value)) node.setAttribute(key, String(value));
      }
    }
    if (p.onClick) node.addEventListener("click", p.onClick);
    for (const child of children || []) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function badge(state) {
    return el("span", { className: "badge badge-" + stateClass(state), text: state });
  }

  // A hex id shortened, the whole id in its title (shown on hover) and kept for copy.
  function idText(id, length) {
    return el("span", { className: "mono", text: shortId(id, length), title: isMissing(id) ? null : id });
  }

  function statCard(label, value, testid) {
    return el("div", { className: "stat", testid }, [
      el("div", { className: "stat-value", text: value }),
      el("div", { className: "stat-label", text: label }),
    ]);
  }

  // ---- API calls --------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.name = "ApiError";
      this.status = status;  // 0 when the server could not be reached
    }
  }

  function loginUrlForHere() {
    return "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  // The banner lists one message per failing source (a path without its query, or the caller's
  // errorKey) so that one endpoint's success does not hide another's failure.
  const failingSources = new Map();

  function showError(source, message) {
    failingSources.set(source, message);
    renderBanner();
  }

  function clearError(source) {
    if (failingSources.delete(source)) renderBanner();
  }

  function renderBanner() {
    const banner = document.getElementById("error-banner");
    if (!banner) return;
    banner.textContent = Array.from(failingSources.values()).join("\n");
    banner.hidden = failingSources.size === 0;
  }

  async function apiRequest(method, path, body, options) {
    const source = (options && options.errorKey) || path.split("?")[0];
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      // The server refuses a write without this header: a cross-origin form cannot set it.
      init.headers["X-Orrery-Request"] = "1";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body === undefined ? {} : body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      const message = "Cannot reach the dashboard server (" + method + " " + path + ")";
      showError(source, message);
      throw new ApiError(message, 0);
    }
    if (response.status === 401) {
      location.assign(loginUrlForHere());
      throw new ApiError("not logged in", 401);
    }
    if (!response.ok) {
      let detail = "";
      try {
        detail = (await response.text()).slice(0, 300);
      } catch (err) {
        detail = "";
      }
      const message = method + " " + path + " failed: HTTP " + response.status + (detail ? ": " + detail : "");
      showError(source, message);
      throw new ApiError(message, response.status);
    }
    let parsed;
    try {
      parsed = await response.json();
    } catch (err) {
      const message = method + " " + path + " returned something that is not JSON";
      showError(source, message);
      throw new ApiError(message, response.status);
    }
    clearError(source);
    return parsed;
  }

  function apiGet(path, options) {
    return apiRequest("GET", path, undefined, options);
  }

  function apiPost(path, body, options) {
    return apiRequest("POST", path, body, options);
  }

  // ---- Polling ----------------------------------------------------------------------------

  // Runs task now and then intervalMs after each run ends (never two at once), pauses while the
  // tab is hidden. An API failure is already on the banner; any other exception is a page bug
  // and goes there too, so that a test sees it. Returns {stop(), now()}.
  function poll(task, intervalMs) {
    let timer = null;
    let running = false;
    let stopped = false;
    const bugSource = "page:" + Math.random();

    async function tick() {
      timer = null;
      if (stopped || document.hidden) return;  // visibilitychange restarts a hidden page
      running = true;
      try {
        await task();
        clearError(bugSource);
      } catch (err) {
        if (!(err instanceof ApiError)) {
          console.error(err);
          showError(bugSource, "Page error: " + (err && err.message ? err.message : err));
        }
      }
      running = false;
      if (!stopped && !document.hidden) timer = setTimeout(tick, intervalMs);
    }

    function onVisibilityChange() {
      if (!document.hidden && !running && timer === null && !stopped) tick();
    }

    document.addEventListener("visibilitychange", onVisibilityChange);
    tick();
    return {
      stop() {
        stopped = true;
        if (timer !== null) clearTimeout(timer);
        timer = null;
        document.removeEventListener("visibilitychange", onVisibilityChange);
        clearError(bugSource);
      },
      now() {
        if (stopped || running) return;
        if (timer !== null) clearTimeout(timer);
        tick();
      },
    };
  }

  // ---- Page frame -------------------------------------------------------------------------

  const kPages = [
    ["overview", "/", "Overview"],
    ["jobs", "/jobs", "Jobs"],
    ["actors", "/actors", "Actors"],
    ["tasks", "/tasks", "Tasks"],
    ["placement_groups", "/placement_groups", "Placement groups"],
    ["objects", "/objects", "Objects"],
    ["logs", "/logs", "Logs"],
    ["timeline", "/timeline", "Timeline"],
  ];

  async function logOut() {
    try {
      await apiPost("/api/v0/logout", {});
    } catch (err) {
      return;  // the banner says why; staying logged in is the honest outcome
    }
    location.assign("/login");
  }

  function buildNav(currentPage) {
    const links = kPages.map(([page, href, label]) => {
      const link = el("a", { href, text: label, testid: "nav-" + page });
      if (page === currentPage) {
        link.className = "current";
        link.setAttribute("aria-current", "page");
      }
      return link;
    });
    const logout = el("button", { className: "link-button", text: "log out", testid: "logout", onClick: logOut });
    logout.type = "button";
    return el("header", { className: "topbar" }, [
      el("a", { className: "brand", href: "/", text: "Orrery" }),
      el("nav", { attrs: { "aria-label": "dashboard pages" } }, links),
      logout,
    ]);
  }

  // Puts the navigation bar and the (hidden) error banner at the top of every page but login.
  function initFrame() {
    const page = document.body.getAttribute("data-page");
    if (page === "login" || document.getElementById("error-banner")) return;
    const banner = el("div", { className: "error-banner", testid: "error-banner", hidden: true, attrs: { role: "alert" } });
    banner.id = "error-banner";
    document.body.prepend(buildNav(page), banner);
  }

  function onReady(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  // Appends text to a <pre>, keeping only the last maxChars so a long-followed log does not grow
  // the page without bound, and keeps the view at the bottom if the reader was there.
  function appendLogText(pre, text, maxChars) {
    if (!text) return;
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    const limit = maxChars || 1 << 20;
    const current = pre.textContent;
    if (current.length + text.length > limit) {
      pre.textContent = (current + text).slice(-limit);
    } else {
      pre.append(document.createTextNode(text));
    }
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  onReady(initFrame);

  root.Dash = Object.assign({}, pure, {
    el, badge, idText, statCard, ApiError, apiGet, apiPost, poll, onReady, appendLogText,
    showError, clearError,
  });
})(typeof globalThis !== "undefined" ? globalThis : this);
