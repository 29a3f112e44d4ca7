/* gmp-trace viewer, part 2 of 5: the view (time window, scroll) and the
   drawing. Level of detail: a track never gets more than one shape per pixel
   column (a run of sub-pixel slices is skipped with one binary search and
   drawn as a busy-fraction column), so a frame costs
   O(tracks x width x log n) at any zoom. */

/* ---- view state ---------------------------------------------------------- */

var canvas = document.getElementById('timeline'), ctx = canvas.getContext('2d');
var viewEl = document.getElementById('view'), tip = document.getElementById('tip');
var detailsEl = document.getElementById('details');
var W = 800, H = 400, k = 1;
var vs = 0, ve = SPAN, scrollY = 0;
var hover = null, hoverX = -1, selected = null, selectedG = null;
var showFlows = true, hiddenMarks = {};
var drawn = 0, drawnMarks = 0, drawnFlows = 0, tracksDrawn = 0;
var MIN_SPAN = 20;

function clampView() {
  var span = ve - vs, mid = (vs + ve) / 2;
  if (!(span >= MIN_SPAN)) span = MIN_SPAN;
  if (span > SPAN * 1.5) span = SPAN * 1.5;
  vs = mid - span / 2; ve = mid + span / 2;
  var slack = span * 0.25;
  if (vs < -slack) { ve += -slack - vs; vs = -slack; }
  if (ve > SPAN + slack) { vs -= ve - SPAN - slack; ve = SPAN + slack; }
  var maxScroll = Math.max(0, contentH - (H - AXIS_H));
  scrollY = Math.min(Math.max(0, scrollY), maxScroll);
  k = (W - GUTTER) / (ve - vs);
}
function X(t) { return GUTTER + (t - vs) * k; }
function T(x) { return vs + (x - GUTTER) / k; }
function fit() { vs = -SPAN * 0.01; ve = SPAN * 1.01; clampView(); }
function zoomAt(x, factor) {
  var t = T(Math.max(GUTTER, x)), old = ve - vs;
  var span = Math.min(SPAN * 1.5, Math.max(MIN_SPAN, old * factor));
  vs = t - (t - vs) * (span / old); ve = vs + span;
  clampView(); requestDraw();
}
function pan(px) { var dt = px / k; vs += dt; ve += dt; clampView(); requestDraw(); }
function zoomTo(t, i) {
  var a = t.start[i], b = t.end[i], pad = Math.max((b - a) * 0.6, 200);
  vs = a - pad; ve = b + pad; clampView();
  var r = trackRow[t.index];
  if (r.y < scrollY || r.y + r.h > scrollY + H - AXIS_H) scrollY = r.y - (H - AXIS_H) / 3;
  clampView(); requestDraw();
}

/* ---- formatting --------------------------------------------------------- */

function sig(v) { return String(Number(v.toPrecision(4))); }
function fmtDur(ns) {
  var a = Math.abs(ns);
  if (a < 1e3) return sig(ns) + ' ns';
  if (a < 1e6) return sig(ns / 1e3) + ' µs';
  if (a < 1e9) return sig(ns / 1e6) + ' ms';
  return sig(ns / 1e9) + ' s';
}
/* A time since the trace's start, to the nanosecond. */
function fmtAt(ns) {
  var a = Math.abs(ns);
  if (a < 1e6) return (ns / 1e3).toFixed(3) + ' µs';
  if (a < 1e9) return (ns / 1e6).toFixed(6) + ' ms';
  return (ns / 1e9).toFixed(9) + ' s';
}
/* An axis label: unit by magnitude, decimals by the tick step. */
function fmtTick(ns, step) {
  var a = Math.max(Math.abs(vs), Math.abs(ve)), unit = 1e3, name = ' µs';
  if (a >= 1e9) { unit = 1e9; name = ' s'; } else if (a >= 1e6) { unit = 1e6; name = ' ms'; }
  var decimals = Math.max(0, Math.ceil(-Math.log10(step / unit) - 1e-9));
  return (ns / unit).toFixed(Math.min(decimals, 9)) + name;
}
function niceStep(raw) {
  var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}
function esc(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
  });
}

/* ---- drawing ------------------------------------------------------------ */

var pending = false;
function requestDraw() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(function () { pending = false; draw(); });
}

/* Slices are not painted one by one: their rectangles are collected per
   colour and each colour is filled once a frame (a fillStyle change costs
   more than a rectangle). Layers: bodies, then end stripes and edges, then
   labels; slices of other Gs than the selected one go in a faded layer. */
var bodies = {}, faded = {}, details = {}, labels = [];
function queue(layer, colour, x, y, w, h) {
  var b = layer[colour];
  if (!b) b = layer[colour] = [];
  b.push(x, y, w, h);
}
function fillLayer(layer, alpha) {
  ctx.globalAlpha = alpha;
  for (var colour in layer) {
    var b = layer[colour];
    ctx.fillStyle = colour;
    ctx.beginPath();
    for (var i = 0; i < b.length; i += 4) ctx.rect(b[i], b[i + 1], b[i + 2], b[i + 3]);
    ctx.fill();
  }
  ctx.globalAlpha = 1;
}
function flushSlices() {
  fillLayer(faded, 0.3);
  fillLayer(bodies, 1);
  fillLayer(details, 1);
  ctx.font = FONT; ctx.textBaseline = 'middle'; ctx.textAlign = 'left';
  ctx.fillStyle = '#1f2430';
  for (var i = 0; i < labels.length; i += 3) ctx.fillText(labels[i], labels[i + 1], labels[i + 2]);
  bodies = {}; faded = {}; details = {}; labels = [];
}

function paintSlice(t, i, x0, x1, top) {
  var a = Math.max(x0, GUTTER - 1), b = Math.min(x1, W + 1), w = b - a;
  if (selectedG !== null && t.g[i] !== selectedG) {
    queue(faded, colourOf(t, i), a, top, w, SLICE_H);
    return;
  }
  queue(bodies, colourOf(t, i), a, top, w, SLICE_H);
  var e = t.e[i];
  if (e >= 0 && END_COLOURS[e] && w >= 3) queue(details, END_COLOURS[e], a, top + SLICE_H - 3, w, 3);
  if (x1 - x0 >= 5 && x0 >= GUTTER) queue(details, 'rgba(255,255,255,0.85)', x0, top, 1, SLICE_H);
  if (w > 24) {
    var text = sliceName(t, i);
    if (w > 90) text += '  ' + fmtDur(t.dur[i]);
    var max = Math.floor((w - 8) / 6.4);
    if (text.length > max) text = max >= 3 ? text.slice(0, max - 1) + '…' : '';
    if (text) labels.push(text, a + 4, top + SLICE_H / 2 - 1);
  }
}

function drawSlices(t, y) {
  var n = t.n;
  if (!n) return;
  var top = y + LANE_H, i = upper(t.end, vs, 0, n), j, x0, x1, col, tEnd, busy, hh, mid;
  while (i < n && t.start[i] < ve) {
    x0 = X(t.start[i]); x1 = X(t.end[i]);
    if (x1 - x0 >= 1) { paintSlice(t, i, x0, x1, top); drawn++; i++; continue; }
    /* Sub-pixel: everything starting in this pixel column becomes one shape. */
    col = Math.floor(x0); tEnd = T(col + 1);
    j = lower(t.start, tEnd, i + 1, n);
    if (j - 1 > i && X(t.end[j - 1]) > col + 2) j--;
    mid = (i + j - 1) >> 1;
    var layer = selectedG !== null && t.g[mid] !== selectedG ? faded : bodies;
    if (j === i + 1) {
      queue(layer, colourOf(t, mid), col, top, 1, SLICE_H);
    } else {
      busy = Math.min(1, (t.cum[j] - t.cum[i]) / (tEnd - T(col)));
      hh = Math.max(2, Math.round(SLICE_H * busy));
      queue(layer, colourOf(t, mid), col, top + SLICE_H - hh, 1, hh);
    }
    drawn++; i = j;
  }
}

/* Adds one marker to the current path; a kind's markers are filled (or,
   for the generic ring, stroked) together, in one call. */
function shape(kind, x, cy) {
  switch (kind) {
    case 'down': ctx.moveTo(x - 4.5, cy - 4); ctx.lineTo(x + 4.5, cy - 4); ctx.lineTo(x, cy + 4); ctx.closePath(); break;
    case 'up': ctx.moveTo(x - 4.5, cy + 4); ctx.lineTo(x + 4.5, cy + 4); ctx.lineTo(x, cy - 4); ctx.closePath(); break;
    case 'diamond': ctx.moveTo(x, cy - 5); ctx.lineTo(x + 4, cy); ctx.lineTo(x, cy + 5); ctx.lineTo(x - 4, cy); ctx.closePath(); break;
    case 'circle': ctx.moveTo(x + 3.6, cy); ctx.arc(x, cy, 3.6, 0, 2 * Math.PI); break;
    case 'square': ctx.rect(x - 3.5, cy - 3.5, 7, 7); break;
    case 'plus': ctx.rect(x - 1, cy - 4.5, 2, 9); ctx.rect(x - 4.5, cy - 1, 9, 2); break;
    default: ctx.moveTo(x + 3.4, cy); ctx.arc(x, cy, 3.4, 0, 2 * Math.PI);
  }
}

function drawMarks(t, y) {
  var cy = y + LANE_H / 2 + 1, pad = 6 / k;
  t.marks.forEach(function (m) {
    if (hiddenMarks[m.name]) return;
    var i = lower(m.t, vs - pad, 0, m.n);
    ctx.beginPath();
    while (i < m.n && m.t[i] <= ve + pad) {
      var x = X(m.t[i]);
      shape(m.style.shape, x, cy);
      drawnMarks++;
      /* At most one marker of a kind per 5 pixels (half its width):
         denser ones would only paint over each other. */
      i = lower(m.t, T(x + 5), i + 1, m.n);
    }
    if (m.style.shape === 'ring') {
      ctx.strokeStyle = m.style.colour; ctx.lineWidth = 1.6; ctx.stroke();
    } else {
      ctx.fillStyle = m.style.colour; ctx.fill();
    }
  });
}

function drawCounter(c, y, h, processLevel) {
  if (!c.n) return;
  var base = y + h - 3, scale = c.max > 0 ? (h - 9) / c.max : 0;
  function Y(v) { return base - v * scale; }
  var i = Math.max(0, upper(c.t, vs, 0, c.n) - 1), j, x, col, vmax, prev;
  ctx.beginPath();
  x = Math.max(X(c.t[i]), GUTTER - 2);
  ctx.moveTo(x, base);
  prev = 0;
  while (i < c.n && c.t[i] < ve) {
    x = X(c.t[i]); col = Math.floor(x);
    j = lower(c.t, T(col + 1), i + 1, c.n);
    ctx.lineTo(x, Y(prev));
    if (j - i > 1) {
      vmax = rangeMax(c.levels, i, j);
      ctx.lineTo(x, Y(vmax)); ctx.lineTo(col + 1, Y(vmax));
      prev = c.v[j - 1];
      ctx.lineTo(col + 1, Y(prev));
    } else {
      prev = c.v[i];
      ctx.lineTo(x, Y(prev));
    }
    drawn++;
    i = j;
  }
  x = Math.min(X(SPAN), W + 2);
  ctx.lineTo(x, Y(prev));
  ctx.strokeStyle = processLevel ? '#0ca678' : '#4263eb';
  ctx.lineWidth = 1;
  ctx.stroke();
  ctx.lineTo(x, base);
  ctx.closePath();
  ctx.fillStyle = processLevel ? 'rgba(12,166,120,0.22)' : 'rgba(66,99,235,0.2)';
  ctx.fill();
}

function rowMid(ti) {
  var r = trackRow[ti];
  return AXIS_H + r.y - scrollY + LANE_H + SLICE_H / 2;
}

/* The G of the slice a flow ends in (its `f` binds to the enclosing slice). */
function flowTarget(i) {
  var t = tracks[flows.tt[i]], at = flows.t[i] + flows.d[i], j = upper(t.start, at, 0, t.n) - 1;
  return j >= 0 && t.end[j] >= at ? t.g[j] : -1;
}

var MAX_FLOWS = 150, flowsHidden = 0;
function drawFlows() {
  var f = flows;
  flowsHidden = 0;
  if (!f.n) return;
  var i = lower(f.t, vs - f.maxD, 0, f.n), budget = 20000, cand = [];
  while (i < f.n && budget-- > 0) {
    var t1 = f.t[i];
    if (t1 > ve) break;
    if (t1 + f.d[i] < vs) { i++; continue; }
    cand.push(i);
    /* At most one arrow per pixel column of its start. */
    var x1 = X(t1);
    i = x1 >= GUTTER ? lower(f.t, T(Math.floor(x1) + 1), i + 1, f.n) : i + 1;
  }
  /* Too many to read: only the wakes of the selected G. */
  var all = cand.length <= MAX_FLOWS, plain = [], strong = [];
  cand.forEach(function (c) {
    var mine = selectedG !== null && flowTarget(c) === selectedG;
    if (mine) strong.push(c); else if (all) plain.push(c);
  });
  if (!all) flowsHidden = cand.length - strong.length;
  arrows(plain, 'rgba(31,36,48,0.45)', 1);
  arrows(strong, '#d9480f', 1.8);
}

function arrows(list, colour, width) {
  if (!list.length) return;
  var heads = [];
  ctx.beginPath();
  list.forEach(function (i) {
    var t1 = flows.t[i], t2 = t1 + flows.d[i];
    var x1 = X(t1), x2 = X(t2), y1 = rowMid(flows.ft[i]), y2 = rowMid(flows.tt[i]);
    var dx = Math.max(12, Math.min(60, Math.abs(x2 - x1) / 2)), lift = y1 === y2 ? -16 : 0;
    ctx.moveTo(x1, y1);
    ctx.bezierCurveTo(x1 + dx, y1 + lift, x2 - dx, y2 + lift, x2, y2);
    heads.push(x2, y2, x2 - dx, y2 + lift);
    drawnFlows++;
  });
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.stroke();
  ctx.fillStyle = colour;
  ctx.beginPath();
  for (var h = 0; h < heads.length; h += 4) {
    var ex = heads[h], ey = heads[h + 1], ang = Math.atan2(ey - heads[h + 3], ex - heads[h + 2]);
    ctx.moveTo(ex, ey);
    ctx.lineTo(ex - 7 * Math.cos(ang - 0.4), ey - 7 * Math.sin(ang - 0.4));
    ctx.lineTo(ex - 7 * Math.cos(ang + 0.4), ey - 7 * Math.sin(ang + 0.4));
    ctx.closePath();
  }
  ctx.fill();
}

function outline(t, i, width, colour) {
  var y = AXIS_H + trackRow[t.index].y - scrollY + LANE_H;
  var x0 = X(t.start[i]), x1 = Math.max(X(t.end[i]), x0 + 1);
  ctx.strokeStyle = colour; ctx.lineWidth = width;
  ctx.strokeRect(x0 - width / 2, y - width / 2, x1 - x0 + width, SLICE_H + width);
}

function drawAxis() {
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, AXIS_H);
  ctx.fillStyle = '#e9ecf1';
  ctx.fillRect(0, AXIS_H - 1, W, 1);
  var step = niceStep((ve - vs) / Math.max(1, (W - GUTTER) / 110));
  ctx.font = FONT; ctx.textBaseline = 'middle'; ctx.textAlign = 'left';
  for (var t = Math.ceil(vs / step) * step; t <= ve; t += step) {
    var x = Math.round(X(t)) + 0.5;
    if (x < GUTTER) continue;
    ctx.fillStyle = '#adb5bd'; ctx.fillRect(x - 0.5, AXIS_H - 7, 1, 6);
    var tick = fmtTick(t, step);
    if (x + 3 + ctx.measureText(tick).width > W - 2) continue;
    ctx.fillStyle = '#495057'; ctx.fillText(tick, x + 3, AXIS_H / 2 - 2);
  }
  if (hoverX >= GUTTER) {
    var label = fmtAt(T(hoverX)), w = ctx.measureText(label).width + 10;
    var lx = Math.min(hoverX - w / 2, W - w);
    ctx.fillStyle = '#1f2430'; ctx.fillRect(lx, 3, w, AXIS_H - 8);
    ctx.fillStyle = '#ffffff'; ctx.fillText(label, lx + 5, AXIS_H / 2 - 2);
  }
  ctx.fillStyle = '#f0f2f5';
  ctx.fillRect(0, 0, GUTTER, AXIS_H);
  ctx.fillStyle = '#6b7385';
  ctx.fillText(fmtDur(ve - vs) + ' in view', 10, AXIS_H / 2 - 2);
}

function drawGrid() {
  var step = niceStep((ve - vs) / Math.max(1, (W - GUTTER) / 110));
  ctx.fillStyle = '#eef0f3';
  for (var t = Math.ceil(vs / step) * step; t <= ve; t += step) ctx.fillRect(Math.round(X(t)), AXIS_H, 1, H - AXIS_H);
  /* Outside the trace. */
  ctx.fillStyle = '#eceef2';
  if (X(0) > GUTTER) ctx.fillRect(GUTTER, AXIS_H, X(0) - GUTTER, H - AXIS_H);
  if (X(SPAN) < W) ctx.fillRect(X(SPAN), AXIS_H, W - X(SPAN), H - AXIS_H);
}

function drawGutter() {
  ctx.fillStyle = '#f0f2f5';
  ctx.fillRect(0, AXIS_H, GUTTER, H - AXIS_H);
  ctx.fillStyle = '#dde1e8';
  ctx.fillRect(GUTTER - 1, AXIS_H, 1, H - AXIS_H);
  ctx.textAlign = 'left'; ctx.textBaseline = 'middle';
  rows.forEach(function (r) {
    var y = AXIS_H + r.y - scrollY;
    if (y + r.h < AXIS_H || y > H) return;
    ctx.fillStyle = '#e3e6eb';
    ctx.fillRect(0, y + r.h - 1, GUTTER, 1);
    if (r.kind === 'track') {
      var t = r.t;
      ctx.font = 'bold 12px system-ui, "DejaVu Sans", sans-serif';
      ctx.fillStyle = '#1f2430';
      ctx.fillText(clip(t.name, 22), 10, y + 15);
      ctx.font = FONT;
      ctx.fillStyle = '#6b7385';
      ctx.fillText(t.n + ' polls · ' + Math.round(100 * t.cum[t.n] / SPAN) + '% busy', 10, y + 31);
    } else {
      ctx.font = FONT;
      ctx.fillStyle = '#495057';
      ctx.fillText(clip(r.c.label, 20), 18, y + r.h / 2);
      ctx.textAlign = 'right';
      ctx.fillStyle = '#8c95a6';
      ctx.fillText('max ' + sig(r.c.max), GUTTER - 8, y + r.h / 2);
      ctx.textAlign = 'left';
    }
  });
}
function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

function drawScrollbar() {
  var viewH = H - AXIS_H;
  if (contentH <= viewH) return;
  var h = Math.max(24, viewH * viewH / contentH), y = AXIS_H + (viewH - h) * scrollY / (contentH - viewH);
  ctx.fillStyle = 'rgba(31,36,48,0.25)';
  ctx.fillRect(W - 6, y, 4, h);
}

function draw() {
  var began = performance.now();
  drawn = drawnMarks = drawnFlows = tracksDrawn = 0;
  k = (W - GUTTER) / (ve - vs);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);
  ctx.save();
  ctx.beginPath(); ctx.rect(GUTTER, AXIS_H, W - GUTTER, H - AXIS_H); ctx.clip();
  drawGrid();
  ctx.font = FONT; ctx.textBaseline = 'middle'; ctx.textAlign = 'left';
  for (var ri = 0; ri < rows.length; ri++) {
    var r = rows[ri], y = AXIS_H + r.y - scrollY;
    if (y + r.h < AXIS_H || y > H) continue;
    ctx.fillStyle = '#e9ecf1';
    ctx.fillRect(GUTTER, y + r.h - 1, W - GUTTER, 1);
    if (r.kind === 'track') {
      tracksDrawn++;
      drawSlices(r.t, y);
      drawMarks(r.t, y);
    } else {
      drawCounter(r.c, y, r.h, r.c.track < 0);
    }
  }
  flushSlices();
  if (showFlows) drawFlows();
  if (hover && hover.kind === 'slice') outline(hover.t, hover.i, 1, 'rgba(31,36,48,0.6)');
  if (selected && selected.kind === 'slice') outline(selected.t, selected.i, 2, '#1f2430');
  if (hoverX >= GUTTER) { ctx.fillStyle = 'rgba(31,36,48,0.25)'; ctx.fillRect(Math.round(hoverX), AXIS_H, 1, H - AXIS_H); }
  if (flowsHidden) {
    var note = flowsHidden.toLocaleString('en-US') + ' wakes in view: zoom in, or click a slice to see its G\'s';
    ctx.font = FONT; ctx.textAlign = 'right';
    var nw = ctx.measureText(note).width + 12;
    ctx.fillStyle = 'rgba(255,255,255,0.9)'; ctx.fillRect(W - nw - 8, H - 24, nw, 18);
    ctx.fillStyle = '#6b7385'; ctx.fillText(note, W - 14, H - 15);
    ctx.textAlign = 'left';
  }
  if (!rows.length) {
    ctx.fillStyle = '#6b7385'; ctx.font = '14px system-ui, sans-serif';
    ctx.fillText('This trace has no events to draw.', GUTTER + 20, AXIS_H + 30);
  }
  ctx.restore();
  drawGutter();
  drawAxis();
  drawScrollbar();
  st.tracks = tracks.length;
  st.tracksDrawn = tracksDrawn;
  st.slicesDrawn = drawn;
  st.marksDrawn = drawnMarks;
  st.flowsDrawn = drawnFlows;
  st.view = [vs, ve];
  st.drawMs = Math.round((performance.now() - began) * 10) / 10;
  st.ready = true;
  st.publish();
}

function resize() {
  var r = viewEl.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  W = Math.max(GUTTER + 100, Math.floor(r.width));
  H = Math.max(AXIS_H + 60, Math.floor(r.height));
  canvas.width = Math.round(W * dpr);
  canvas.height = Math.round(H * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  clampView();
  draw();
}
