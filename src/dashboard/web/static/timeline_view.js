// The timeline page: loads /api/v0/timeline (all jobs or one) and draws it on one <canvas>:
// a lane per worker under its node, a box per task run coloured by function, a time axis.
// Wheel zooms around the cursor, shift+wheel scrolls lanes, dragging pans, hovering names the
// run, a double click shows everything again. Each frame draws only the runs in view (see
// TimelineModel.forEachRunInWindow) and at most one box per pixel column of a lane, so 10,000
// runs cost no more than the pixels they cover; there is no DOM element per run.
(function (Dash, Model) {
  "use strict";

  const el = Dash.el;
  const kGutter = 170;      // lane labels, left of the runs

  // "worker 9b51…" for "worker 9b514aff2a6fe9751cc50726df61fa70...": a whole id squeezed into
  // the gutter is unreadable, and its first eight digits tell workers apart as `orrery list
  // workers` shows them.
  function shortLabel(name) {
    return String(name).replace(/[0-9a-f]{16,}/g, (hex) => hex.slice(0, 8) + "\u2026");
  }
  const kAxisHeight = 24;   // time labels, above the lanes
  const kMaxCanvasHeight = 2000;
  const kMinLabelWidth = 36;  // a box this wide (px) gets its function name written in it

  class TimelineView {
    constructor(canvas, tooltip, countElement) {
      this.canvas = canvas;
      this.tooltip = tooltip;
      this.countElement = countElement;
      this.model = Model.buildLanes({ traceEvents: [] });
      this.bounds = Model.fullView(this.model);
      this.view = this.bounds;
      this.scrollY = 0;       // content pixels hidden above the lanes' top
      this.frameRequested = false;
      this.drag = null;
      this.colors = new Map();
      this.listen();
      this.resize();
    }

    setModel(model) {
      this.model = model;
      this.bounds = Model.fullView(model);
      this.view = this.bounds;
      this.scrollY = 0;
      this.resize();
    }

    resetView() {
      this.view = this.bounds;
      this.scrollY = 0;
      this.requestDraw();
    }

    // Canvas size follows its box's width and the lanes' height, in device pixels for sharpness.
    resize() {
      const ratio = window.devicePixelRatio || 1;
      this.width = Math.max(this.canvas.parentElement.clientWidth, 300);
      this.height = Math.min(kAxisHeight + Math.max(this.model.height, 60), kMaxCanvasHeight);
      this.canvas.width = Math.round(this.width * ratio);
      this.canvas.height = Math.round(this.height * ratio);
      this.canvas.style.width = this.width + "px";
      this.canvas.style.height = this.height + "px";
      this.ratio = ratio;
      this.clampScroll();
      this.requestDraw();
    }

    plotWidth() {
      return Math.max(this.width - kGutter, 1);
    }

    clampScroll() {
      const visible = this.height - kAxisHeight;
      this.scrollY = Math.min(Math.max(this.scrollY, 0), Math.max(this.model.height - visible, 0));
    }

    colorOf(name) {
      let color = this.colors.get(name);
      if (!color) this.colors.set(name, (color = Model.colorForName(name)));
      return color;
    }

    requestDraw() {
      if (this.frameRequested) return;
      this.frameRequested = true;
      window.requestAnimationFrame(() => {
        this.frameRequested = false;
        this.draw();
      });
    }

    draw() {
      const ctx = this.canvas.getContext("2d");
      if (!ctx) return;
      ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
      ctx.clearRect(0, 0, this.width, this.height);
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      const drawn = this.drawRuns(ctx);
      this.drawGutter(ctx);
      this.drawAxis(ctx);
      const text = String(drawn);
      if (this.countElement.textContent !== text) this.countElement.textContent = text;
    }

    // Returns how many runs are in view (time window and visible lanes).
    drawRuns(ctx) {
      const width = this.plotWidth();
      const top = this.scrollY;
      const bottom = this.scrollY + this.height - kAxisHeight;
      const { t0, t1 } = this.view;
      let drawn = 0;
      ctx.save();
      ctx.beginPath();
      ctx.rect(kGutter, kAxisHeight, width, this.height - kAxisHeight);
      ctx.clip();
      for (const group of this.model.groups) {
        const y = kAxisHeight + group.y - top;
        if (y + Model.kGroupHeaderHeight < kAxisHeight || y > this.height) continue;
        ctx.fillStyle = "#eef1f5";
        ctx.fillRect(kGutter, y, width, Model.kGroupHeaderHeight);
      }
      for (const lane of Model.lanesInView(this.model, top, bottom)) {
        const y = kAxisHeight + lane.y - top;
        let lastColumn = -1;
        Model.forEachRunInWindow(lane, t0, t1, (run) => {
          drawn++;
          const x0 = kGutter + Model.timeToX(this.view, width, run.ts);
          const x1 = kGutter + Model.timeToX(this.view, width, run.end);
          if (x1 - x0 < 1) {
            // Sub-pixel runs: one 1 px mark per pixel column is all the eye can see.
            const column = Math.floor(x0);
            if (column === lastColumn) return;
            lastColumn = column;
            ctx.fillStyle = this.colorOf(run.name);
            ctx.fillRect(column, y + 2, 1, lane.height - 4);
            return;
          }
          const left = Math.max(x0, kGutter - 1);
          const right = Math.min(x1, kGutter + width + 1);
          lastColumn = Math.floor(right);
          ctx.fillStyle = this.colorOf(run.name);
          ctx.fillRect(left, y + 2, right - left, lane.height - 4);
          if (right - left >= kMinLabelWidth) {
            ctx.fillStyle = "#1b1f24";
            ctx.fillText(run.name, left + 3, y + lane.height / 2, right - left - 6);
          }
        });
      }
      ctx.restore();
      return drawn;
    }

    drawGutter(ctx) {
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, kAxisHeight, kGutter, this.height - kAxisHeight);
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, kAxisHeight, this.width, this.height - kAxisHeight);
      ctx.clip();
      for (const group of this.model.groups) {
        const y = kAxisHeight + group.y - this.scrollY;
        if (y + Model.kGroupHeaderHeight < kAxisHeight || y > this.height) continue;
        ctx.fillStyle = "#eef1f5";
        ctx.fillRect(0, y, kGutter, Model.kGroupHeaderHeight);
        ctx.fillStyle = "#1b1f24";
        ctx.font = "600 11px system-ui, sans-serif";
        ctx.fillText(shortLabel(group.name), 6, y + Model.kGroupHeaderHeight / 2, kGutter - 12);
      }
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillStyle = "#57606a";
      for (const lane of Model.lanesInView(this.model, this.scrollY, this.scrollY + this.height - kAxisHeight)) {
        ctx.fillText(shortLabel(lane.name), 14, kAxisHeight + lane.y - this.scrollY + lane.height / 2, kGutter - 20);
      }
      ctx.restore();
      ctx.strokeStyle = "#d0d7de";
      ctx.beginPath();
      ctx.moveTo(kGutter - 0.5, kAxisHeight);
      ctx.lineTo(kGutter - 0.5, this.height);
      ctx.stroke();
    }

    // Ticks are round offsets from the trace's first run, which is what the labels read.
    drawAxis(ctx) {
      const width = this.plotWidth();
      const origin = this.model.startUs;
      const { step, ticks } = Model.timeTicks(this.view.t0 - origin, this.view.t1 - origin, Math.max(2, Math.floor(width / 90)));
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, this.width, kAxisHeight);
      ctx.strokeStyle = "#d0d7de";
      ctx.fillStyle = "#57606a";
      ctx.beginPath();
      for (const offset of ticks) {
        const x = Math.round(kGutter + Model.timeToX(this.view, width, offset + origin)) + 0.5;
        ctx.moveTo(x, kAxisHeight - 6);
        ctx.lineTo(x, this.height);
        ctx.fillText(Model.formatTickUs(offset, step), x + 3, kAxisHeight / 2 - 2);
      }
      ctx.moveTo(kGutter, kAxisHeight - 0.5);
      ctx.lineTo(this.width, kAxisHeight - 0.5);
      ctx.globalAlpha = 0.6;
      ctx.stroke();
      ctx.globalAlpha = 1;
    }

    // Canvas coordinates of a mouse event, and the same in lane-content pixels.
    pointer(event) {
      const box = this.canvas.getBoundingClientRect();
      const x = event.clientX - box.left;
      const y = event.clientY - box.top;
      return { x, y, plotX: x - kGutter, contentY: y - kAxisHeight + this.scrollY };
    }

    listen() {
      const canvas = this.canvas;
      canvas.addEventListener("wheel", (event) => {
        event.preventDefault();
        const pixels = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
        if (event.shiftKey) {
          this.scrollY += pixels;
          this.clampScroll();
        } else {
          const p = this.pointer(event);
          const anchor = Math.min(Math.max(p.plotX, 0), this.plotWidth());
          this.view = Model.zoomView(this.view, this.plotWidth(), anchor, Math.exp(pixels * 0.002), this.bounds);
        }
        this.hideTooltip();
        this.requestDraw();
      }, { passive: false });
      canvas.addEventListener("pointerdown", (event) => {
        if (event.button !== 0) return;
        this.drag = { x: event.clientX, y: event.clientY, view: this.view, scrollY: this.scrollY };
        canvas.setPointerCapture(event.pointerId);
        canvas.classList.add("dragging");
        this.hideTooltip();
      });
      canvas.addEventListener("pointermove", (event) => {
        if (this.drag) {
          this.view = Model.panView(this.drag.view, this.plotWidth(), event.clientX - this.drag.x, this.bounds);
          this.scrollY = this.drag.scrollY - (event.clientY - this.drag.y);
          this.clampScroll();
          this.requestDraw();
          return;
        }
        this.hover(event);
      });
      const endDrag = () => {
        this.drag = null;
        canvas.classList.remove("dragging");
      };
      canvas.addEventListener("pointerup", endDrag);
      canvas.addEventListener("pointercancel", endDrag);
      canvas.addEventListener("pointerleave", () => this.hideTooltip());
      canvas.addEventListener("dblclick", () => this.resetView());
      window.addEventListener("resize", () => this.resize());
    }

    hover(event) {
      const p = this.pointer(event);
      const run = p.plotX < 0 || p.y < kAxisHeight ? null
        : Model.hitTest(this.model, this.view, this.plotWidth(), p.plotX, p.contentY, 3);
      if (!run) {
        this.hideTooltip();
        return;
      }
      const lines = [
        el("strong", { text: run.name }),
        el("div", { text: "duration " + Dash.formatDuration(run.dur / 1e6) }),
        el("div", { text: "started at " + Dash.formatDuration((run.ts - this.model.startUs) / 1e6) }),
      ];
      for (const [key, value] of Object.entries(run.args).slice(0, 8)) {
        lines.push(el("div", { className: "mono", text: key + ": " + Dash.displayValue(value) }));
      }
      this.tooltip.replaceChildren(...lines);
      this.tooltip.hidden = false;
      // Keep the tooltip inside the canvas's box: flip it left of the cursor near the right edge.
      const left = p.x + 14 + 260 > this.width ? Math.max(p.x - 274, 0) : p.x + 14;
      this.tooltip.style.left = left + "px";
      this.tooltip.style.top = p.y + 14 + "px";
    }

    hideTooltip() {
      this.tooltip.hidden = true;
    }
  }

  function jobLabel(job) {
    return Dash.shortId(job.job_id, 12) + " " + (job.entrypoint || job.submission_id || "") + " (" + job.state + ")";
  }

  function start() {
    const jobSelect = document.getElementById("timeline-job");
    const status = document.getElementById("timeline-status");
    const total = document.getElementById("timeline-total");
    const view = new TimelineView(
      document.getElementById("timeline-canvas"),
      document.getElementById("timeline-tooltip"),
      document.getElementById("timeline-count"));
    let generation = 0;

    // job: the job to show ("" for all); otherwise (a change or a reload) the one selected.
    async function load(job) {
      const mine = ++generation;
      if (typeof job !== "string") job = jobSelect.value;
      history.replaceState(null, "", job ? "/timeline?job_id=" + encodeURIComponent(job) : "/timeline");
      status.textContent = "loading\u2026";
      let trace;
      try {
        trace = await Dash.apiGet("/api/v0/timeline" + (job ? "?job_id=" + encodeURIComponent(job) : ""));
      } catch (err) {
        if (mine === generation) status.textContent = "could not load the timeline";
        return;
      }
      if (mine !== generation) return;
      const model = Model.buildLanes(trace);
      view.setModel(model);
      total.textContent = Dash.formatCount(model.runCount);
      status.textContent = model.runCount === 0 ? "no task run recorded" + (job ? " for this job" : "") : "";
    }

    async function loadJobs() {
      const wanted = new URLSearchParams(location.search).get("job_id");
      let jobs = [];
      try {
        jobs = await Dash.apiGet("/api/v0/jobs");
      } catch (err) {
        jobs = [];  // the banner says why; the timeline of all jobs can still be shown
      }
      const sorted = Dash.sortRows(jobs, (j) => j.start_time_ms, true);
      jobSelect.replaceChildren(
        el("option", { text: "all jobs", attrs: { value: "" } }),
        ...sorted.map((j) => el("option", { text: jobLabel(j), attrs: { value: j.job_id } })));
      if (wanted) {
        if (!sorted.some((j) => j.job_id === wanted)) jobSelect.append(el("option", { text: wanted, attrs: { value: wanted } }));
        jobSelect.value = wanted;
      }
    }

    jobSelect.addEventListener("change", load);
    document.getElementById("timeline-reload").addEventListener("click", load);
    document.getElementById("timeline-reset").addEventListener("click", () => view.resetView());
    // Both at once: the trace, the larger answer, need not wait for the list of jobs.
    loadJobs();
    load(new URLSearchParams(location.search).get("job_id") || "");
  }

  Dash.onReady(start);
})(window.Dash, window.TimelineModel);
