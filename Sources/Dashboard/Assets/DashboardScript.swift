/// The dashboard's and the HTML report's script: renders a `DashboardUpdate`, draws the charts on `<canvas>`, and in
/// live mode subscribes to `/api/live` (Server-Sent Events) and drives the start/stop/edit controls.
enum DashboardScript {
    static let javascript = #"""
"use strict";
(function () {
  const REPORT = window.STAMPEDE_REPORT || null;
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const q = token ? "?token=" + encodeURIComponent(token) : "";
  const $ = (id) => document.getElementById(id);
  let series = new Map();
  let last = null;

  function fmtInt(n) { return n == null ? "–" : Math.round(n).toLocaleString("en-US"); }
  function fmtNum(n, d) { if (n == null || !isFinite(n)) return "–"; return Number(n).toLocaleString("en-US", {maximumFractionDigits: d == null ? 1 : d, minimumFractionDigits: 0}); }
  function fmtMs(n) { if (n == null || !isFinite(n)) return "–"; return n >= 100 ? fmtNum(n, 0) : n >= 10 ? fmtNum(n, 1) : fmtNum(n, 2); }
  function fmtPct(r) { return r == null ? "–" : (r * 100).toLocaleString("en-US", {maximumFractionDigits: 2}) + "%"; }
  function fmtDur(s) {
    if (s == null || !isFinite(s)) return "–";
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + sec + "s";
  }
  function setText(id, text) { const el = $(id); if (el && el.textContent !== text) el.textContent = text; }
  function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
  function fillTable(id, rows, build) {
    const body = document.querySelector("#" + id + " tbody");
    if (!body) return;
    body.replaceChildren(...rows.map(build));
    const empty = document.querySelector("#" + id + "-empty");
    if (empty) empty.hidden = rows.length > 0;
  }

  function render(u) {
    if (last && last.run.runID !== u.run.runID) series = new Map();  // a new run: its own charts
    last = u;
    const r = u.run;
    for (const s of u.series) series.set(s.second, s);
    const state = $("run-state");
    state.textContent = r.state; state.className = "badge " + r.state;
    setText("run-id", r.runID ? "run " + r.runID : "no run yet");
    setText("workload", r.workload ? r.workload + (r.loadDescription ? " · " + r.loadDescription : "") : "");
    setText("completed", fmtInt(r.completed));
    setText("target-text", r.target != null ? "of " + fmtInt(r.target) : (r.plannedSeconds != null ? "in " + fmtDur(r.plannedSeconds) : "open-ended"));
    setText("eta", r.etaSeconds != null ? fmtDur(r.etaSeconds) : "–");
    setText("elapsed", fmtDur(r.elapsedSeconds));
    $("progress-bar").style.width = ((r.progress || 0) * 100).toFixed(1) + "%";
    setText("progress-pct", r.progress != null ? fmtPct(r.progress) : "");
    setText("current-rps", fmtNum(r.currentRPS, 0));
    setText("average-rps", fmtNum(r.averageRPS, 1));
    setText("requests", fmtInt(r.requests));
    setText("failures", fmtInt(r.failures));
    setText("failure-ratio", fmtPct(r.failureRatio));
    setText("unknown", fmtInt(r.unknownOutcomes));
    setText("retries", fmtInt(r.retries) + " retries · " + fmtInt(r.dropped) + " dropped");
    setText("load-now", r.users != null ? fmtInt(r.users) + " users" : r.rate != null ? fmtNum(r.rate, 1) + " ops/s" : "–");
    setText("workers-count", fmtInt(u.workers.length));
    setText("workers-sub", r.workersRunning + " running · " + r.workersLost + " lost");
    for (const [w, l] of [["now", r.now], ["run", r.run]]) {
      for (const k of ["p50", "p95", "p99", "p999", "max"]) setText("lat-" + w + "-" + k, fmtMs(l[k]));
    }
    const msg = $("message");
    msg.hidden = !r.message; msg.textContent = r.message || "";
    msg.className = "banner" + (r.state === "failed" ? " error" : "");

    fillTable("stats-table", u.operations, (o) => {
      const tr = document.createElement("tr");
      if (o.name === "Aggregated") tr.className = "total";
      tr.append(cell(o.type || ""), cell(o.name, "text"), cell(fmtInt(o.requests)), cell(fmtInt(o.failures)),
        cell(fmtMs(o.latency.p50)), cell(fmtMs(o.percentiles[4])), cell(fmtMs(o.latency.p95)), cell(fmtMs(o.latency.p99)),
        cell(fmtMs(o.latency.mean)), cell(fmtMs(o.latency.min)), cell(fmtMs(o.latency.max)),
        cell(fmtNum(o.currentRPS, 0)), cell(fmtNum(o.currentFailuresPerSecond, 0)), cell(fmtNum(o.averageRPS, 1)));
      return tr;
    });
    fillTable("failures-table", u.failures, (f) => {
      const tr = document.createElement("tr");
      tr.append(cell(f.operation, "text"), cell(f.kind, "text"), cell(f.message, "wrap"), cell(fmtInt(f.count)));
      return tr;
    });
    const chips = $("error-kinds");
    chips.replaceChildren(...u.errorsByKind.map((k) => { const s = document.createElement("span"); s.className = "chip"; s.textContent = k.kind + ": " + fmtInt(k.count); return s; }));
    fillTable("workers-table", u.workers, (w) => {
      const tr = document.createElement("tr");
      if (w.state === "lost") tr.className = "lost";
      const id = cell(w.id, "text");
      if (w.wasLost) { const t = document.createElement("span"); t.className = "tag"; t.textContent = "lost"; id.append(t); }
      if (w.joinedMidRun) { const t = document.createElement("span"); t.className = "tag joined"; t.textContent = "joined"; id.append(t); }
      tr.append(id, cell(w.host, "text"), cell(w.state, "text"), cell(fmtNum(w.currentRPS, 0)), cell(fmtInt(w.total)),
        cell(fmtInt(w.failures)), cell(w.cpu != null ? fmtPct(w.cpu) : "–"),
        cell(w.secondsSinceHeartbeat != null ? fmtNum(w.secondsSinceHeartbeat, 1) + " s ago" : "–"));
      return tr;
    });
    const live = !REPORT;
    if (live) {
      const active = ["starting", "running", "stopping"].includes(r.state);
      $("btn-stop").disabled = !active || r.state === "stopping";
      $("btn-new").disabled = active;
      $("edit-box").hidden = !active || (r.users == null && r.rate == null);  // a fixed total has no load to edit
      if (!editTouched) $("edit-value").value = r.users != null ? r.users : (r.rate != null ? r.rate : "");
      setText("edit-unit", r.users != null || r.rate == null ? "users" : "ops/s");
      if (r.state === "idle" && !formShown) { $("start-panel").hidden = false; formShown = true; }
    }
    drawCharts();
  }

  // ---- charts -------------------------------------------------------------------------------------------------------
  function niceStep(range, ticks) {
    const raw = range / Math.max(1, ticks);
    const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    const norm = raw / mag;
    return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  }
  function drawChart(canvas, xs, lines, opts) {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 300, h = canvas.clientHeight || 200;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const left = 52, right = opts.right ? 48 : 12, top = 8, bottom = 24;
    const pw = w - left - right, ph = h - top - bottom;
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = "#5f6b7a"; g.strokeStyle = "#e5e7eb"; g.lineWidth = 1;
    const main = lines.filter((l) => !l.right);
    let ymax = 0;
    for (const l of main) for (const v of l.values) if (v > ymax) ymax = v;
    // Counts (requests, failures) get whole-number steps: an empty failures chart reads 0, 1, not 0, 1, 1.
    const step = opts.integer ? Math.max(1, niceStep(ymax || 1, 4)) : niceStep(ymax || 1, 4);
    ymax = Math.max(step, Math.ceil((ymax || 1) / step) * step);
    const yLabels = [];
    for (let v = 0; v <= ymax + step / 2; v += step) {
      const y = top + ph - (v / ymax) * ph;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
      yLabels.push(opts.format(v));
      g.textAlign = "right"; g.textBaseline = "middle"; g.fillText(yLabels[yLabels.length - 1], left - 6, y);
    }
    // The axis as drawn, readable from the page (tests, screen readers' tooling).
    canvas.dataset.yLabels = yLabels.join("|");
    const xmin = xs.length ? xs[0] : 0, xmax = xs.length ? Math.max(xs[xs.length - 1], xmin + 1) : 1;
    const xstep = niceStep(xmax - xmin, Math.max(2, Math.floor(pw / 80)));
    g.textAlign = "center"; g.textBaseline = "top";
    for (let x = Math.ceil(xmin / xstep) * xstep; x <= xmax; x += xstep) {
      const px = left + ((x - xmin) / (xmax - xmin)) * pw;
      g.fillText(fmtClock(x), px, top + ph + 6);
    }
    if (!xs.length) { g.textAlign = "center"; g.textBaseline = "middle"; g.fillText("waiting for data…", left + pw / 2, top + ph / 2); return; }
    const plot = (l, max) => {
      g.strokeStyle = l.color; g.lineWidth = l.width || 1.8; g.setLineDash(l.dash || []);
      g.beginPath();
      let started = false;
      l.values.forEach((v, i) => {
        if (v == null) { started = false; return; }
        const px = left + ((xs[i] - xmin) / (xmax - xmin)) * pw, py = top + ph - (Math.min(v, max) / max) * ph;
        if (!started) { g.moveTo(px, py); started = true; } else g.lineTo(px, py);
      });
      g.stroke(); g.setLineDash([]);
    };
    for (const l of main) plot(l, ymax);
    const side = lines.filter((l) => l.right);
    if (side.length) {
      let rmax = 0;
      for (const l of side) for (const v of l.values) if (v > rmax) rmax = v;
      const rstep = niceStep(rmax || 1, 4);
      rmax = Math.max(rstep, Math.ceil((rmax || 1) / rstep) * rstep);
      g.fillStyle = "#64748b"; g.textAlign = "left"; g.textBaseline = "middle";
      for (let v = 0; v <= rmax + rstep / 2; v += rstep) g.fillText(fmtNum(v, 0), left + pw + 6, top + ph - (v / rmax) * ph);
      for (const l of side) plot(l, rmax);
    }
  }
  function fmtClock(s) { const m = Math.floor(s / 60), sec = Math.round(s % 60); return m + ":" + String(sec).padStart(2, "0"); }
  function drawCharts() {
    const points = [...series.values()].sort((a, b) => a.second - b.second);
    const xs = points.map((p) => p.second + 1);
    const ms = (i) => points.map((p) => p.requests > p.failures ? p.percentilesMicros[i] / 1000 : null);
    const hasLoad = points.some((p) => p.load != null);
    drawChart($("chart-rps"), xs, [
      {color: "#2563eb", values: points.map((p) => p.requests), width: 2},
      ...(hasLoad ? [{color: "#64748b", values: points.map((p) => p.load), right: true, dash: [5, 4], width: 1.4}] : []),
    ], {format: (v) => fmtNum(v, 0), integer: true, right: hasLoad});
    drawChart($("chart-latency"), xs, [
      {color: "#2563eb", values: ms(0)}, {color: "#d97706", values: ms(5)}, {color: "#dc2626", values: ms(7)},
    ], {format: (v) => fmtMs(v)});
    drawChart($("chart-failures"), xs, [{color: "#b91c1c", values: points.map((p) => p.failures), width: 2}], {format: (v) => fmtNum(v, 0), integer: true});
    const c = $("chart-rps"); if (c) c.dataset.points = String(points.length);
  }
  window.addEventListener("resize", () => drawCharts());

  // ---- live mode: stream and controls -------------------------------------------------------------------------------
  let editTouched = false, formShown = false;
  let toastTimer = null;
  function toast(text, bad) {
    const el = $("action-result");
    el.textContent = text; el.className = "banner" + (bad ? " error" : ""); el.hidden = !text;
    clearTimeout(toastTimer);
    if (!bad) toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
  }
  async function post(path, body) {
    const res = await fetch(path + q, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {}), credentials: "same-origin"});
    let data = {};
    try { data = await res.json(); } catch (e) { /* no body */ }
    if (!res.ok) throw new Error(data.error || res.statusText);
    return data;
  }
  function formValue(name) { const el = document.querySelector("#start-form [name=" + name + "]"); return el ? el.value.trim() : ""; }
  function numberOrNull(text) { if (text === "") return null; const n = Number(text); return isFinite(n) ? n : NaN; }
  function startRequest() {
    const model = document.querySelector("#start-form [name=model]:checked").value;
    const body = {workload: formValue("workload"), model: model};
    const add = (key, value) => { if (value !== "" && value != null) body[key] = value; };
    add("profile", formValue("profile"));
    add("scenario", formValue("scenario"));
    add("timeScale", numberOrNull(formValue("timeScale")));
    add("target", numberOrNull(formValue("target")));
    add("duration", formValue("duration"));
    add("stages", formValue("stages"));
    add("consistency", formValue("consistency"));
    add("contactPoints", formValue("contactPoints"));
    if (model === "open") add("rate", numberOrNull(formValue("rate")));
    else { add("users", numberOrNull(formValue("users"))); add("spawnRate", numberOrNull(formValue("spawnRate"))); add("thinkTime", formValue("thinkTime")); }
    return body;
  }
  function syncModel() {
    const open = document.querySelector("#start-form [name=model]:checked").value === "open";
    for (const el of document.querySelectorAll(".closed-only")) el.hidden = open;
    for (const el of document.querySelectorAll(".open-only")) el.hidden = !open;
    $("profile-field").hidden = formValue("workload") !== "profile";
  }
  function connect() {
    const source = new EventSource("/api/live" + q);
    source.addEventListener("update", (e) => { try { render(JSON.parse(e.data)); setText("connection", "live"); } catch (err) { console.error(err); } });
    source.onerror = () => setText("connection", "reconnecting…");
  }
  function setupLive() {
    for (const a of document.querySelectorAll("a[data-report]")) a.href = a.getAttribute("data-report") + q;
    document.querySelectorAll("#start-form [name=model], #start-form [name=workload]").forEach((el) => el.addEventListener("change", syncModel));
    syncModel();
    $("btn-new").addEventListener("click", () => { $("start-panel").hidden = false; formShown = true; });
    $("btn-cancel").addEventListener("click", () => { $("start-panel").hidden = true; });
    $("start-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      try { const d = await post("/api/start", startRequest()); toast("Started run " + d.runID); $("start-panel").hidden = true; series = new Map(); }
      catch (err) { toast("Could not start: " + err.message, true); }
    });
    $("btn-stop").addEventListener("click", async () => {
      try { await post("/api/stop"); toast("Stopping…"); } catch (err) { toast("Could not stop: " + err.message, true); }
    });
    $("edit-value").addEventListener("input", () => { editTouched = true; });
    $("btn-apply").addEventListener("click", async () => {
      const v = Number($("edit-value").value);
      const body = last && last.run.users == null && last.run.rate != null ? {rate: v} : {users: Math.round(v)};
      try { await post("/api/adjust", body); toast("Load changed"); editTouched = false; } catch (err) { toast("Could not change the load: " + err.message, true); }
    });
    fetch("/api/update" + q, {credentials: "same-origin"}).then((r) => r.json()).then(render).catch(() => {}).finally(connect);
  }

  if (REPORT) { render(REPORT); }
  else { setupLive(); }
})();
"""#
}
