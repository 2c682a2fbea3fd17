// The dashboard page: reads /dashboard/stream (one JSON snapshot per tick) and draws it.
// Plain DOM and <canvas>, no library; the page's CSP allows only this file's script.
"use strict";

const COLORS = {requests: "#2563eb", errors: "#dc2626", p50: "#16a34a", p95: "#d97706",
                p99: "#9333ea", lag: "#0891b2"};
const LAG_HISTORY = 90;  // the lag chart's points: one per snapshot received
const lagHistory = [];

function $(id) { return document.getElementById(id); }

function formatNumber(n) {
  return Number.isInteger(n) ? n.toLocaleString("en") : n.toLocaleString("en", {maximumFractionDigits: 2});
}

function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${formatNumber(Math.round(n * 10) / 10)} ${units[i]}`;
}

// A canvas sized for the screen's pixel ratio, cleared; its drawing area inside the margins.
function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width, height = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  return {ctx, left: 48, top: 10, right: width - 10, bottom: height - 24};
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * step).find((m) => m >= value);
}

function grid(area, max, labels) {
  const {ctx, left, top, right, bottom} = area;
  ctx.strokeStyle = "#e5e7eb";
  ctx.fillStyle = "#6b7280";
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i += 1) {
    const y = bottom - ((bottom - top) * i) / 4;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(formatNumber(Math.round((max * i) / 4 * 100) / 100), left - 6, y + 4);
  }
  ctx.textAlign = "center";
  const every = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, i) => {
    if (i % every === 0) ctx.fillText(label, x(area, i, labels.length), bottom + 16);
  });
}

function x(area, i, count) {
  return count > 1 ? area.left + ((area.right - area.left) * i) / (count - 1) : (area.left + area.right) / 2;
}

// Lines of values (one per series) over the same labels; returns the points drawn.
function lineChart(canvas, labels, series) {
  const area = prepare(canvas);
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  grid(area, max, labels);
  const {ctx, top, bottom} = area;
  let points = 0;
  for (const s of series) {
    ctx.strokeStyle = ctx.fillStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.values.forEach((v, i) => {
      const px = x(area, i, s.values.length), py = bottom - ((bottom - top) * v) / max;
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
    s.values.forEach((v, i) => {
      if (v <= 0) return;
      ctx.beginPath();
      ctx.arc(x(area, i, s.values.length), bottom - ((bottom - top) * v) / max, 2.5, 0, 2 * Math.PI);
      ctx.fill();
      points += 1;
    });
  }
  canvas.dataset.points = String(points);
}

// Horizontal bars, one per item; returns the bars drawn.
function barChart(canvas, items, color) {
  const area = prepare(canvas);
  const {ctx, top, right} = area;
  const left = 8, height = 18, gap = 6;
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  items.forEach((item, i) => {
    const y = top + i * (height + gap);
    const width = ((right - left - 60) * item.value) / max;
    ctx.fillStyle = color;
    ctx.fillRect(left, y, Math.max(width, 1), height);
    ctx.fillStyle = "#111827";
    ctx.textAlign = "left";
    ctx.fillText(`${formatNumber(item.value)}  ${item.label}`, left + 4, y + 13);
  });
  if (!items.length) {
    ctx.fillStyle = "#6b7280";
    ctx.fillText("no errors in the window", left, top + 14);
  }
  canvas.dataset.points = String(items.filter((i) => i.value > 0).length);
}

function setValue(id, value, text) {
  const el = $(id);
  el.dataset.value = String(value);
  el.textContent = text === undefined ? formatNumber(value) : text;
}

function rows(table, items, cells, attributes) {
  const body = table.tBodies[0];
  body.replaceChildren(...items.map((item) => {
    const tr = document.createElement("tr");
    Object.entries(attributes(item)).forEach(([k, v]) => { tr.dataset[k] = String(v); });
    for (const cell of cells(item)) {
      const td = document.createElement("td");
      if (cell instanceof Node) td.append(cell); else td.textContent = cell;
      tr.append(td);
    }
    return tr;
  }));
}

function minute(at) { return new Date(at).toISOString().slice(11, 16); }

function drawTraffic(s) {
  const labels = s.series.map((p) => minute(p.at));
  lineChart($("traffic-chart"), labels, [
    {color: COLORS.requests, values: s.series.map((p) => p.perSecond)},
    {color: COLORS.errors, values: s.series.map((p) => p.errorsPerSecond)},
  ]);
  lineChart($("latency-chart"), labels, ["p50", "p95", "p99"].map((q) => ({
    color: COLORS[q], values: s.series.map((p) => p[q])})));
}

function drawErrors(s) {
  barChart($("errors-chart"), s.errorsByEndpoint.map((e) => ({label: e.endpoint, value: e.errors})), COLORS.errors);
  rows($("errors-table"), s.errorsByEndpoint,
       (e) => [e.endpoint, formatNumber(e.errors), `${formatNumber(e.errorRate * 100)} %`],
       (e) => ({endpoint: e.endpoint, errors: e.errors}));
  rows($("endpoints-table"), s.endpoints,
       (e) => [e.endpoint, formatNumber(e.requests), formatNumber(e.errors), `${formatNumber(e.errorRate * 100)} %`],
       (e) => ({endpoint: e.endpoint, requests: e.requests, errors: e.errors}));
}

function drawLag(s) {
  const events = s.lag.every((l) => l.lag !== null && l.lag !== undefined);
  const worst = Math.max(0, ...s.lag.map((l) => (events ? l.lag : l.waitingSeconds)));
  lagHistory.push({at: s.at, value: worst});
  if (lagHistory.length > LAG_HISTORY) lagHistory.shift();
  $("lag-title").textContent = events ? "Projection lag (events behind, worst stage)" : "Projection lag (seconds waiting, worst stage)";
  lineChart($("lag-chart"), lagHistory.map((h) => new Date(h.at).toISOString().slice(11, 19)),
            [{color: COLORS.lag, values: lagHistory.map((h) => h.value)}]);
  rows($("lag-table"), s.lag,
       (l) => [l.stage, l.lag === null || l.lag === undefined ? "–" : formatNumber(l.lag), formatNumber(l.waitingSeconds)],
       (l) => ({stage: l.stage, waiting: l.waitingSeconds}));
}

function drawUsage(s) {
  const u = s.usage;
  $("usage-period").textContent = `(${u.period}${u.plan ? `, plan ${u.plan}` : `, organizations with calls: ${u.organizations}`})`;
  const metrics = [["apiCalls", "API calls", formatNumber], ["bandwidth", "bandwidth", formatBytes],
                   ["storage", "storage", formatBytes], ["users", "users", formatNumber]];
  rows($("usage-table"), metrics, ([key, label, format]) => {
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = u.percentUsed ? Math.min(u.percentUsed[key], 100) : 0;
    return [label, format(u[key]), u.limits ? format(u.limits[key]) : "–",
            u.percentUsed ? bar : ""];
  }, ([key]) => ({metric: key, used: u[key]}));
}

function draw(s) {
  $("scope").textContent = s.organizationId ? `Organization ${s.organizationId}` : "All organizations (operator)";
  document.querySelectorAll(".window").forEach((el) => { el.textContent = `(last ${s.windowMinutes} min)`; });
  setValue("per-second", s.requests.perSecond);
  setValue("total-requests", s.requests.total);
  setValue("total-errors", s.requests.failed);
  const l = s.latency;
  $("percentiles").textContent = [l.p50, l.p95, l.p99].map((v) => formatNumber(Math.round(v * 10) / 10)).join(" / ");
  drawTraffic(s);
  drawErrors(s);
  drawLag(s);
  drawUsage(s);
  const main = document.querySelector("main");
  main.dataset.ticks = String(Number(main.dataset.ticks) + 1);
  main.dataset.at = s.at;
}

function status(state, text) {
  const el = $("status");
  el.dataset.state = state;
  el.textContent = text;
}

function connect() {
  const source = new EventSource("/dashboard/stream");
  source.onopen = () => status("live", "live");
  source.onmessage = (message) => {
    const snapshot = JSON.parse(message.data);
    draw(snapshot);
    status("live", `live · updated ${new Date(snapshot.at).toLocaleTimeString()}`);
  };
  source.addEventListener("close", () => {
    source.close();
    window.location.assign("/dashboard/login");
  });
  source.onerror = () => {
    // EventSource reconnects by itself; a 401 (signed out) ends it for good.
    if (source.readyState === EventSource.CLOSED) window.location.assign("/dashboard/login");
    else status("connecting", "reconnecting…");
  };
}

document.addEventListener("DOMContentLoaded", connect);
