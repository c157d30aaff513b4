// Serves the dashboard pages with the fixture API on 127.0.0.1, to look at them in a browser
// while the C++ server does not exist yet, and as a small model of what it must do: page routes,
// /static/, the token cookie, 401 without it, writes refused without X-Orrery-Request, and
// headers for a strict Content-Security-Policy.
//
//   node src/dashboard/web/test/fake_server.js [port] [--rows N]     (token: "orrery")
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const path = require("path");
const fixtures = require("./fixtures.js");

const kWebRoot = path.join(__dirname, "..");
const kToken = process.env.ORRERY_DASHBOARD_TOKEN || "orrery";
const kPages = {
  "/": "overview.html", "/jobs": "jobs.html", "/actors": "actors.html", "/tasks": "tasks.html",
  "/placement_groups": "placement_groups.html", "/objects": "objects.html", "/logs": "logs.html",
  "/timeline": "timeline.html", "/login": "login.html",
};
const kTypes = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml" };
const kSecurityHeaders = {
  "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
};

const args = process.argv.slice(2);
const port = Number(args.find((a) => /^\d+$/.test(a)) || 8266);
const rowsAt = args.indexOf("--rows");
const rows = rowsAt >= 0 ? Number(args[rowsAt + 1]) : 2000;
const api = fixtures.makeApi({ failedTasks: Math.min(rows, 1000), objects: rows, actors: Math.min(rows, 500), timelineRuns: rows, logChunks: 30 });
const sessions = new Set();

function send(res, status, type, body, extra) {
  res.writeHead(status, Object.assign({ "Content-Type": type, "Cache-Control": "no-store" }, kSecurityHeaders, extra));
  res.end(body);
}

function sendJson(res, status, value, extra) {
  send(res, status, "application/json", JSON.stringify(value), extra);
}

function sessionOf(req) {
  const match = /(?:^|;\s*)orrery_session=([0-9a-f]+)/.exec(req.headers.cookie || "");
  return match && sessions.has(match[1]) ? match[1] : null;
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => resolve(body));
  });
}

async function handleApi(req, res, url) {
  if (req.method === "POST" && req.headers["x-orrery-request"] !== "1") {
    return sendJson(res, 403, { error: "a write needs the X-Orrery-Request header" });
  }
  if (url.pathname === "/api/v0/login" && req.method === "POST") {
    let token = "";
    try {
      token = String(JSON.parse(await readBody(req)).token || "");
    } catch (err) {
      return sendJson(res, 400, { error: "the body is not JSON" });
    }
    const good = Buffer.from(kToken);
    const given = Buffer.from(token);
    if (given.length !== good.length || !crypto.timingSafeEqual(given, good)) return sendJson(res, 401, { error: "wrong token" });
    const session = crypto.randomBytes(16).toString("hex");
    sessions.add(session);
    return sendJson(res, 200, {}, { "Set-Cookie": "orrery_session=" + session + "; Path=/; HttpOnly; SameSite=Strict" });
  }
  const session = sessionOf(req);
  if (!session) return sendJson(res, 401, { error: "log in first" });
  if (url.pathname === "/api/v0/logout" && req.method === "POST") {
    sessions.delete(session);
    return sendJson(res, 200, {}, { "Set-Cookie": "orrery_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" });
  }
  const answer = api(req.method, url.pathname + url.search);
  sendJson(res, answer.status, answer.body);
}

function handleFile(res, file) {
  fs.readFile(path.join(kWebRoot, file), (err, data) => {
    if (err) return send(res, 404, "text/plain", "not found");
    send(res, 200, kTypes[path.extname(file)] || "application/octet-stream", data);
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname.startsWith("/api/")) return void handleApi(req, res, url);
  if (kPages[url.pathname]) return handleFile(res, kPages[url.pathname]);
  if (/^\/actors\/[0-9a-fA-F]+$/.test(url.pathname)) return handleFile(res, "actor.html");
  const asset = /^\/static\/([a-z_]+\.(?:js|css|svg))$/.exec(url.pathname);
  if (asset) return handleFile(res, "static/" + asset[1]);
  send(res, 404, "text/plain", "not found");
});

server.listen(port, "127.0.0.1", () => {
  console.log("dashboard with fake data on http://127.0.0.1:" + port + "/ (token: " + kToken + ", rows: " + rows + ")");
});
