// A small stand-in for a browser, enough to run the dashboard's pages under plain node (no npm
// package, no browser on the build machines): a DOM built from our own page files, events,
// timers driven by hand, a fake fetch and a canvas that counts what it was asked to draw.
// It knows only what the pages use; a page that starts using more fails here loudly, which is
// the point.
"use strict";

const fs = require("fs");
const path = require("path");
const vm = require("vm");

// ---- Nodes ---------------------------------------------------------------------------------

class FakeNode {
  constructor(doc) {
    this.ownerDocument = doc;
    this.parentNode = null;
    this.childNodes = [];
  }
  get firstChild() { return this.childNodes[0] || null; }
  get lastChild() { return this.childNodes[this.childNodes.length - 1] || null; }
  get parentElement() { return this.parentNode instanceof FakeElement ? this.parentNode : null; }

  adopt(child) {
    if (typeof child === "string") child = this.ownerDocument.createTextNode(child);
    if (child instanceof FakeFragment) return child.childNodes.splice(0).map((c) => { c.parentNode = null; return c; });
    if (child.parentNode) child.parentNode.removeChild(child);
    return [child];
  }
  insertAt(index, child) {
    const nodes = this.adopt(child);
    for (const n of nodes) n.parentNode = this;
    this.childNodes.splice(index, 0, ...nodes);
  }
  appendChild(child) { this.insertAt(this.childNodes.length, child); return child; }
  append(...children) { for (const c of children) this.insertAt(this.childNodes.length, c); }
  prepend(...children) { children.reverse().forEach((c) => this.insertAt(0, c)); }
  insertBefore(child, ref) {
    this.insertAt(ref ? this.childNodes.indexOf(ref) : this.childNodes.length, child);
    return child;
  }
  removeChild(child) {
    const i = this.childNodes.indexOf(child);
    if (i < 0) throw new Error("removeChild: not a child");
    this.childNodes.splice(i, 1);
    child.parentNode = null;
    return child;
  }
  remove() { if (this.parentNode) this.parentNode.removeChild(this); }
  replaceChildren(...children) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    this.append(...children);
  }
  contains(node) {
    for (let n = node; n; n = n.parentNode) if (n === this) return true;
    return false;
  }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(""); }
  set textContent(value) {
    this.replaceChildren();
    const text = String(value);
    if (text.length > 0) this.append(this.ownerDocument.createTextNode(text));
  }
  // Every element below this one, in document order.
  *descendants() {
    for (const child of this.childNodes) {
      if (!(child instanceof FakeElement)) continue;
      yield child;
      yield* child.descendants();
    }
  }
  querySelectorAll(selector) { return Array.from(this.descendants()).filter((e) => e.matches(selector)); }
  querySelector(selector) {
    for (const e of this.descendants()) if (e.matches(selector)) return e;
    return null;
  }
}

class FakeText extends FakeNode {
  constructor(doc, data) {
    super(doc);
    this.data = String(data);
  }
  get textContent() { return this.data; }
  set textContent(value) { this.data = String(value); }
}

class FakeFragment extends FakeNode {}

// One "tag#id.class[attr=value]" compound (lists and descendant chains: FakeElement.matches).
function matchesCompound(element, compound) {
  const re = /([a-zA-Z][a-zA-Z0-9-]*)|#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:=(?:"([^"]*)"|'([^']*)'|([^\]]*)))?\]/g;
  let consumed = 0;
  let m;
  while ((m = re.exec(compound)) !== null) {
    if (m.index !== consumed) throw new Error("fake DOM cannot parse selector " + compound);
    consumed = re.lastIndex;
    if (m[1] && element.tagName !== m[1].toUpperCase()) return false;
    if (m[2] && element.getAttribute("id") !== m[2]) return false;
    if (m[3] && !element.classList.contains(m[3])) return false;
    if (m[4]) {
      if (!element.hasAttribute(m[4])) return false;
      const wanted = m[5] !== undefined ? m[5] : m[6] !== undefined ? m[6] : m[7];
      if (wanted !== undefined && element.getAttribute(m[4]) !== wanted) return false;
    }
  }
  if (consumed !== compound.length) throw new Error("fake DOM cannot parse selector " + compound);
  return true;
}

class FakeClassList {
  constructor(element) { this.element = element; }
  names() { return (this.element.getAttribute("class") || "").split(/\s+/).filter(Boolean); }
  contains(name) { return this.names().includes(name); }
  add(...names) { this.element.setAttribute("class", Array.from(new Set(this.names().concat(names))).join(" ")); }
  remove(...names) { this.element.setAttribute("class", this.names().filter((n) => !names.includes(n)).join(" ")); }
  toggle(name, force) {
    const on = force === undefined ? !this.contains(name) : Boolean(force);
    if (on) this.add(name); else this.remove(name);
    return on;
  }
}

class FakeElement extends FakeNode {
  constructor(doc, tag) {
    super(doc);
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.listeners = new Map();
    this.classList = new FakeClassList(this);
    this.style = {};
    this.scrollTop = 0;
    this.disabled = false;
    this.checked = false;
    this.valueSet = null;
  }
  setAttribute(name, value) {
    this.attributes.set(name.toLowerCase(), String(value));
    if (name === "disabled") this.disabled = true;
    if (name === "checked") this.checked = true;
  }
  getAttribute(name) { return this.attributes.has(name) ? this.attributes.get(name) : null; }
  hasAttribute(name) { return this.attributes.has(name); }
  removeAttribute(name) { this.attributes.delete(name); }
  get id() { return this.getAttribute("id") || ""; }
  set id(v) { this.setAttribute("id", v); }
  get className() { return this.getAttribute("class") || ""; }
  set className(v) { this.setAttribute("class", v); }
  get title() { return this.getAttribute("title") || ""; }
  set title(v) { this.setAttribute("title", v); }
  get type() { return this.getAttribute("type") || ""; }
  set type(v) { this.setAttribute("type", v); }
  get href() { return this.getAttribute("href") || ""; }
  get hidden() { return this.hasAttribute("hidden"); }
  set hidden(v) { if (v) this.setAttribute("hidden", ""); else this.removeAttribute("hidden"); }
  get children() { return this.childNodes.filter((c) => c instanceof FakeElement); }
  get options() { return this.querySelectorAll("option"); }
  get value() {
    if (this.tagName === "OPTION") return this.hasAttribute("value") ? this.getAttribute("value") : this.textContent;
    if (this.tagName === "SELECT") {
      const values = this.options.map((o) => o.value);
      if (this.valueSet !== null && values.includes(this.valueSet)) return this.valueSet;
      return values.length > 0 ? values[0] : "";
    }
    return this.valueSet === null ? (this.getAttribute("value") || "") : this.valueSet;
  }
  set value(v) { this.valueSet = String(v); }
  get clientWidth() { return 1200; }
  get clientHeight() { return 400; }
  get scrollHeight() { return 400; }
  getBoundingClientRect() { return { left: 0, top: 0, width: 1200, height: 400 }; }
  matches(selector) { return selector.split(",").some((s) => this.matchesChain(s.trim().split(/\s+/))); }
  // "a b c": this element is c, with a b ancestor that has an a ancestor.
  matchesChain(compounds) {
    if (!matchesCompound(this, compounds[compounds.length - 1])) return false;
    let rest = compounds.slice(0, -1);
    for (let n = this.parentNode; n instanceof FakeElement && rest.length > 0; n = n.parentNode) {
      if (matchesCompound(n, rest[rest.length - 1])) rest = rest.slice(0, -1);
    }
    return rest.length === 0;
  }
  closest(selector) {
    for (let n = this; n instanceof FakeElement; n = n.parentNode) if (n.matches(selector)) return n;
    return null;
  }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }
  removeEventListener(type, fn) {
    const list = this.listeners.get(type) || [];
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }
  // Bubbles to the document like a real event; returns false if a listener called preventDefault.
  dispatchEvent(event) {
    event.target = event.target || this;
    event.defaultPrevented = false;
    event.preventDefault = () => { event.defaultPrevented = true; };
    let stopped = false;
    event.stopPropagation = () => { stopped = true; };
    for (let n = this; n && !stopped; n = n.parentNode) {
      for (const fn of (n.listeners && n.listeners.get(event.type)) || []) fn.call(n, event);
    }
    return !event.defaultPrevented;
  }
  click() {
    if (this.disabled) return;
    if (this.tagName === "INPUT" && this.type === "checkbox") this.checked = !this.checked;
    this.dispatchEvent({ type: "click", button: 0 });
    if (this.tagName === "BUTTON" && this.type === "submit") {
      const form = this.closest("form");
      if (form) form.dispatchEvent({ type: "submit" });
    }
  }
  setPointerCapture() {}
  scrollIntoView() {}
  select() {}
  focus() {}
  getContext(kind) {
    if (this.tagName !== "CANVAS" || kind !== "2d") return null;
    if (!this.context) this.context = fakeContext2d();
    return this.context;
  }
}

// A 2D context that draws nothing and counts each call by name.
function fakeContext2d() {
  const calls = {};
  const target = { calls, font: "", fillStyle: "", strokeStyle: "", textBaseline: "", globalAlpha: 1 };
  return new Proxy(target, {
    get(obj, name) {
      if (name in obj) return obj[name];
      return () => {
        calls[name] = (calls[name] || 0) + 1;
      };
    },
  });
}

class FakeDocument extends FakeNode {
  constructor() {
    super(null);
    this.ownerDocument = this;
    this.readyState = "loading";
    this.hidden = false;
    this.title = "";
    this.listeners = new Map();
  }
  createElement(tag) { return new FakeElement(this, tag); }
  createTextNode(text) { return new FakeText(this, text); }
  createDocumentFragment() { return new FakeFragment(this); }
  getElementById(id) { return this.querySelector("#" + id); }
  get documentElement() { return this.children[0]; }
  get children() { return this.childNodes.filter((c) => c instanceof FakeElement); }
  get body() { return this.querySelector("body"); }
  get head() { return this.querySelector("head"); }
  addEventListener(type, fn) { FakeElement.prototype.addEventListener.call(this, type, fn); }
  removeEventListener(type, fn) { FakeElement.prototype.removeEventListener.call(this, type, fn); }
  dispatchEvent(event) { return FakeElement.prototype.dispatchEvent.call(this, event); }
}

// ---- Our own HTML files into a document ----------------------------------------------------

const kVoidTags = new Set(["meta", "link", "input", "br", "img", "hr"]);
const kEntities = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };

function decodeEntities(text) {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (m, name) => kEntities[name]);
}

function parseHtml(html) {
  const doc = new FakeDocument();
  let current = doc;
  const token = /<!--[\s\S]*?-->|<!doctype[^>]*>|<\/([a-zA-Z0-9]+)\s*>|<([a-zA-Z0-9]+)((?:[^>"']|"[^"]*"|'[^']*')*)>|([^<]+)/gi;
  let m;
  while ((m = token.exec(html)) !== null) {
    if (m[1]) {
      if (current.tagName !== m[1].toUpperCase()) throw new Error("unbalanced </" + m[1] + ">");
      current = current.parentNode;
    } else if (m[2]) {
      const element = doc.createElement(m[2]);
      const attrs = /([^\s=/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
      let a;
      while ((a = attrs.exec(m[3])) !== null) {
        const value = a[2] !== undefined ? a[2] : a[3] !== undefined ? a[3] : a[4] !== undefined ? a[4] : "";
        element.setAttribute(a[1], decodeEntities(value));
      }
      current.appendChild(element);
      if (!kVoidTags.has(m[2].toLowerCase())) current = element;
    } else if (m[4] && current !== doc) {
      current.appendChild(doc.createTextNode(decodeEntities(m[4])));
    }
  }
  if (current !== doc) throw new Error("unclosed <" + current.tagName + ">");
  return doc;
}

// ---- A page, loaded with its scripts, in its own global scope ------------------------------

// Loads webRoot/<file> as if the browser opened url, with api(method, path, init) answering
// fetch: it returns {status, body} (body is JSON-encoded unless it is a string).
function loadPage(webRoot, file, url, api, extra) {
  const doc = parseHtml(fs.readFileSync(path.join(webRoot, file), "utf8"));
  const parsed = new URL(url, "http://dashboard.test");
  const timers = [];
  let now = 0;
  let nextTimer = 1;
  const frames = [];
  const requests = [];
  const navigations = [];
  const errors = [];
  const options = Object.assign({ confirm: () => true }, extra);

  const location = {
    pathname: parsed.pathname,
    search: parsed.search,
    hash: parsed.hash,
    get href() { return "http://dashboard.test" + this.pathname + this.search; },
    assign(to) { navigations.push({ kind: "assign", to }); },
    replace(to) { navigations.push({ kind: "replace", to }); },
  };
  const history = {
    replaceState(state, title, to) {
      const next = new URL(to, "http://dashboard.test");
      location.pathname = next.pathname;
      location.search = next.search;
      location.hash = next.hash;
    },
  };
  async function fetch(target, init) {
    const request = Object.assign({ method: "GET", headers: {} }, init, { url: String(target) });
    requests.push(request);
    const answer = await api(request.method, request.url, request);
    const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    return {
      status: answer.status,
      ok: answer.status >= 200 && answer.status < 300,
      async json() { return JSON.parse(text); },
      async text() { return text; },
    };
  }
  const window = {
    document: doc, location, history, fetch, console: { log() {}, warn() {}, error: (e) => errors.push(e) },
    URL, URLSearchParams, TextEncoder,
    setTimeout(fn, ms) {
      const id = nextTimer++;
      timers.push({ id, at: now + (ms || 0), fn });
      return id;
    },
    clearTimeout(id) {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    requestAnimationFrame(fn) { frames.push(fn); return frames.length; },
    confirm: (message) => options.confirm(message),
    getSelection: () => "",
    devicePixelRatio: 1,
    addEventListener() {},
  };
  window.window = window;
  const context = vm.createContext(window);
  for (const script of doc.querySelectorAll("script")) {
    const src = script.getAttribute("src");
    const code = fs.readFileSync(path.join(webRoot, src.replace(/^\/static\//, "static/")), "utf8");
    vm.runInContext(code, context, { filename: src });
  }
  doc.readyState = "interactive";
  doc.dispatchEvent({ type: "DOMContentLoaded" });

  // Lets every pending promise (fake fetches included) settle.
  async function settle() {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    while (frames.length > 0) frames.shift()();
  }
  // Moves the clock on by ms, running each timer that falls due, in order.
  async function advance(ms) {
    const until = now + ms;
    await settle();
    for (;;) {
      timers.sort((a, b) => a.at - b.at || a.id - b.id);
      if (timers.length === 0 || timers[0].at > until) break;
      const timer = timers.shift();
      now = timer.at;
      timer.fn();
      await settle();
    }
    now = until;
  }
  return { window, document: doc, requests, navigations, errors, settle, advance, timers };
}

module.exports = { parseHtml, loadPage, FakeElement };
