/* gmp-trace viewer: draws the embedded trace on one canvas.
 *
 * Data layout: see src/html/data.rs. Times are nanoseconds since the trace's
 * first event. Level of detail: a track never gets more than one shape per
 * pixel column (a run of sub-pixel slices is skipped with one binary search
 * and drawn as a busy-fraction column), so a frame costs
 * O(tracks x width x log n) at any zoom. */
(function () {
  'use strict';

  var st = window.gmpTrace;
  var D = JSON.parse(document.getElementById('gmp-data').textContent);
  if (D.v !== 1) throw new Error('gmp-trace data version ' + D.v + ' is not 1');
  var S = D.strings, ENDS = D.ends;
  var SPAN = Math.max(D.span, 1000);

  /* ---- decoding ---------------------------------------------------------- */

  function column(v, n, delta, Type) {
    var a = new (Type || Float64Array)(n), i, acc = 0;
    if (typeof v === 'number') { a.fill(v); return a; }
    if (v.length !== n) throw new Error('a column holds ' + v.length + ' values for ' + n + ' items');
    if (delta) { for (i = 0; i < n; i++) { acc += v[i]; a[i] = acc; } } else a.set(v);
    return a;
  }

  /* First index in [lo, hi) with a[i] >= x. */
  function lower(a, x, lo, hi) {
    while (lo < hi) { var mid = (lo + hi) >>> 1; if (a[mid] < x) lo = mid + 1; else hi = mid; }
    return lo;
  }
  /* First index in [lo, hi) with a[i] > x. */
  function upper(a, x, lo, hi) {
    while (lo < hi) { var mid = (lo + hi) >>> 1; if (a[mid] <= x) lo = mid + 1; else hi = mid; }
    return lo;
  }

  var MARKS = {
    'steal': ['#e8590c', 'down'],
    'handoff': ['#0c8599', 'diamond'],
    'park': ['#868e96', 'down'],
    'unpark': ['#2b8a3e', 'up'],
    'netpoll': ['#1971c2', 'circle'],
    'retake': ['#c92a2a', 'square'],
    'G created': ['#7048e8', 'plus'],
    'preempt mark': ['#d6336c', 'down']
  };
  function markStyle(name) {
    var m = MARKS[name];
    return m ? { colour: m[0], shape: m[1] } : { colour: '#495057', shape: 'ring' };
  }

  var tracks = D.tracks.map(function (t, index) {
    var s = t.slices, n = s.n, i;
    var start = column(s.t, n, true), dur = column(s.d, n, false);
    var end = new Float64Array(n), cum = new Float64Array(n + 1);
    for (i = 0; i < n; i++) { end[i] = start[i] + dur[i]; cum[i + 1] = cum[i] + dur[i]; }
    return {
      index: index, name: t.name, pid: t.pid, tid: t.tid, n: n,
      start: start, dur: dur, end: end, cum: cum,
      g: column(s.g, n, false), m: column(s.m, n, true), e: column(s.e, n, false, Int8Array),
      spawn: column(s.s, n, false, Int32Array), nm: column(s.nm, n, false, Int32Array),
      cat: column(s.c, n, false, Int32Array), extra: column(s.x, n, false, Int32Array),
      marks: t.marks.map(function (m) {
        return {
          name: S[m.name], style: markStyle(S[m.name]), n: m.n,
          t: column(m.t, m.n, true), a: column(m.a, m.n, false, Int32Array)
        };
      })
    };
  });

  /* A max-pyramid: level k holds the maximum of each 2^k samples. */
  function pyramid(v) {
    var levels = [v];
    while (levels[levels.length - 1].length > 1) {
      var prev = levels[levels.length - 1], next = new Float64Array((prev.length + 1) >> 1);
      for (var i = 0; i < next.length; i++) {
        next[i] = 2 * i + 1 < prev.length ? Math.max(prev[2 * i], prev[2 * i + 1]) : prev[2 * i];
      }
      levels.push(next);
    }
    return levels;
  }
  /* Maximum of samples [l, r). */
  function rangeMax(levels, l, r) {
    var best = -Infinity, k = 0;
    while (l < r) {
      if (l & 1) best = Math.max(best, levels[k][l++]);
      if (r & 1) best = Math.max(best, levels[k][--r]);
      l >>= 1; r >>= 1; k++;
    }
    return best;
  }

  var counters = D.counters.map(function (c) {
    var t = column(c.t, c.n, true), v = column(c.v, c.n, false), max = 0;
    for (var i = 0; i < c.n; i++) if (v[i] > max) max = v[i];
    return { label: c.label, track: c.track, n: c.n, t: t, v: v, max: max, levels: pyramid(v) };
  });

  var F = D.flows;
  var flows = {
    n: F.n, t: column(F.t, F.n, true), d: column(F.d, F.n, false),
    ft: column(F.ft, F.n, false, Int32Array), tt: column(F.tt, F.n, false, Int32Array), maxD: 0
  };
  for (var fi = 0; fi < flows.n; fi++) flows.maxD = Math.max(flows.maxD, flows.d[fi]);

  /* ---- layout ------------------------------------------------------------ */

  var AXIS_H = 28, GUTTER = 176, TRACK_H = 44, LANE_H = 13, COUNTER_H = 30, SLICE_H = TRACK_H - LANE_H - 5;
  var FONT = '11px system-ui, "DejaVu Sans", sans-serif';
  var rows = [], contentH = 0, trackRow = [];
  function addRow(r) { r.y = contentH; contentH += r.h; rows.push(r); return r; }
  counters.forEach(function (c) { if (c.track < 0) addRow({ kind: 'counter', c: c, h: COUNTER_H }); });
  tracks.forEach(function (t) {
    trackRow[t.index] = addRow({ kind: 'track', t: t, h: TRACK_H });
    counters.forEach(function (c) { if (c.track === t.index) addRow({ kind: 'counter', c: c, h: COUNTER_H }); });
  });

  /* Gs get colours a golden angle apart, so consecutive ids never look alike. */
  var PALETTE = [];
  for (var pi = 0; pi < 96; pi++) {
    PALETTE.push('hsl(' + ((pi * 137.508) % 360).toFixed(1) + ',' + (pi % 2 ? '62%,66%' : '55%,74%') + ')');
  }
  /* The stripe under a poll says how it ended; a pending poll (the usual
     case) has none. */
  var END_COLOUR = {
    ready: '#2f9e44', yield: '#1c7ed6', cancelled: '#f08c00', panicked: '#e03131',
    preempted: '#ae3ec9', skipped: '#adb5bd', retaken: '#c92a2a', running: '#343a40'
  };
  var END_COLOURS = ENDS.map(function (name) { return END_COLOUR[name] || null; });
  function colourOf(t, i) {
    var g = t.g[i];
    if (g >= 0) return PALETTE[g % 96];
    var h = Math.imul((t.nm[i] || t.cat[i]) + 0x9e3779b9, 0x85ebca6b) >>> 0;
    return PALETTE[h % 96];
  }
  function sliceName(t, i) { return t.nm[i] ? S[t.nm[i]] : t.g[i] >= 0 ? 'G' + t.g[i] : ''; }

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

  /* ---- picking ------------------------------------------------------------ */

  function rowAt(y) {
    var cy = y - AXIS_H + scrollY;
    if (y < AXIS_H) return null;
    var i = upper(rowTops, cy, 0, rows.length) - 1;
    return i >= 0 && cy < rows[i].y + rows[i].h ? rows[i] : null;
  }
  var rowTops = new Float64Array(rows.map(function (r) { return r.y; }));

  function pick(x, y) {
    if (x < GUTTER || y < AXIS_H) return null;
    var r = rowAt(y);
    if (!r) return null;
    var t = T(x), tol = 4 / k, top = AXIS_H + r.y - scrollY, i;
    if (r.kind === 'counter') {
      i = upper(r.c.t, t, 0, r.c.n) - 1;
      return i >= 0 ? { kind: 'counter', c: r.c, i: i, at: t } : null;
    }
    var tr = r.t;
    if (y < top + LANE_H + 1) {
      var best = null, bd = tol;
      tr.marks.forEach(function (m) {
        if (hiddenMarks[m.name]) return;
        for (var j = lower(m.t, t - tol, 0, m.n); j < m.n && m.t[j] <= t + tol; j++) {
          var d = Math.abs(m.t[j] - t);
          if (d <= bd) { bd = d; best = { kind: 'mark', t: tr, m: m, i: j }; }
        }
      });
      if (best) return best;
    }
    i = upper(tr.start, t, 0, tr.n) - 1;
    if (i >= 0 && tr.end[i] > t) return { kind: 'slice', t: tr, i: i };
    var hit = -1, gap = tol;
    if (i >= 0 && t - tr.end[i] <= gap) { hit = i; gap = t - tr.end[i]; }
    if (i + 1 < tr.n && tr.start[i + 1] - t <= gap) hit = i + 1;
    return hit >= 0 ? { kind: 'slice', t: tr, i: hit } : null;
  }

  function argRows(id) {
    if (!id) return [];
    try {
      var o = JSON.parse(S[id]);
      return Object.keys(o).map(function (key) {
        var v = o[key];
        return [key, typeof v === 'string' ? v : JSON.stringify(v)];
      });
    } catch (err) {
      return [['args', S[id]]];
    }
  }

  /* [title, swatch colour, [[key, value]...]] for a pick. */
  function describe(p) {
    var t = p.t, i = p.i;
    if (p.kind === 'slice') {
      var rowsOut = [['track', t.name], ['start', fmtAt(t.start[i])], ['duration', fmtDur(t.dur[i])]];
      if (t.g[i] >= 0) rowsOut.unshift(['G', String(t.g[i])]);
      if (t.m[i] >= 0) rowsOut.push(['M', String(t.m[i])]);
      if (t.e[i] >= 0) rowsOut.push(['end', ENDS[t.e[i]]]);
      if (t.spawn[i]) rowsOut.push(['spawn', S[t.spawn[i]]]);
      if (t.cat[i]) rowsOut.push(['cat', S[t.cat[i]]]);
      return [sliceName(t, i), colourOf(t, i), rowsOut.concat(argRows(t.extra[i]))];
    }
    if (p.kind === 'mark') {
      return [p.m.name, p.m.style.colour, [['track', t.name], ['at', fmtAt(p.m.t[i])]].concat(argRows(p.m.a[i]))];
    }
    var c = p.c;
    return [c.label, null, [['at', fmtAt(p.at)], ['value', String(c.v[i])], ['since', fmtAt(c.t[i])], ['max', String(c.max)]]];
  }

  function table(rowsIn) {
    return '<table>' + rowsIn.map(function (kv) {
      return '<tr><td class="k">' + esc(kv[0]) + '</td><td>' + esc(kv[1]) + '</td></tr>';
    }).join('') + '</table>';
  }

  function showTip(p, x, y) {
    var d = describe(p);
    tip.innerHTML = '<b>' + esc(d[0]) + '</b>' + table(d[2]);
    tip.hidden = false;
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = (x + 16 + w > W ? Math.max(0, x - w - 12) : x + 16) + 'px';
    tip.style.top = (y + 16 + h > H ? Math.max(0, y - h - 8) : y + 16) + 'px';
  }
  function hideTip() { tip.hidden = true; }

  function select(p) {
    selected = p;
    selectedG = p && p.kind === 'slice' && p.t.g[p.i] >= 0 ? p.t.g[p.i] : null;
    if (!p) {
      detailsEl.innerHTML = '<p class="muted">Click a slice, a marker or a counter.</p>';
      requestDraw();
      return;
    }
    var d = describe(p), html = '<p><span class="swatch" style="background:' + (d[1] || 'transparent') + '"></span><b>' + esc(d[0]) + '</b></p>' + table(d[2]);
    if (selectedG !== null) html += gSummary(selectedG);
    detailsEl.innerHTML = html;
    requestDraw();
  }

  /* Every poll of G g, over all tracks. */
  function gSummary(g) {
    var polls = [], total = 0, max = 0;
    tracks.forEach(function (t) {
      for (var i = 0; i < t.n; i++) {
        if (t.g[i] === g) { polls.push([t.start[i], t.index, i]); total += t.dur[i]; max = Math.max(max, t.dur[i]); }
      }
    });
    polls.sort(function (a, b) { return a[0] - b[0]; });
    var html = '<h2>G' + g + ' over the trace</h2>' + table([
      ['polls', String(polls.length)], ['total', fmtDur(total)],
      ['mean', fmtDur(total / Math.max(1, polls.length))], ['longest', fmtDur(max)]
    ]) + '<ul>';
    polls.slice(0, 300).forEach(function (p) {
      var t = tracks[p[1]], i = p[2];
      html += '<li data-track="' + p[1] + '" data-index="' + i + '">' + esc(t.name) + ' · ' + fmtAt(t.start[i]) +
        ' · ' + fmtDur(t.dur[i]) + (t.e[i] >= 0 ? ' · ' + ENDS[t.e[i]] : '') + '</li>';
    });
    if (polls.length > 300) html += '<li class="muted">… ' + (polls.length - 300) + ' more</li>';
    return html + '</ul>';
  }
  detailsEl.addEventListener('click', function (e) {
    var li = e.target.closest('li[data-track]');
    if (!li) return;
    var t = tracks[+li.dataset.track], i = +li.dataset.index;
    zoomTo(t, i);
    select({ kind: 'slice', t: t, i: i });
  });

  /* ---- input ---------------------------------------------------------------- */

  function local(e) {
    var r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  canvas.addEventListener('wheel', function (e) {
    e.preventDefault();
    var p = local(e), unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? H : 1;
    if (e.shiftKey) { scrollY += (e.deltaY || e.deltaX) * unit; clampView(); requestDraw(); return; }
    if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) { pan(e.deltaX * unit); return; }
    zoomAt(p.x, Math.exp(e.deltaY * unit * 0.002));
  }, { passive: false });

  var drag = null;
  canvas.addEventListener('mousedown', function (e) {
    if (e.button !== 0) return;
    var p = local(e);
    drag = { x: p.x, y: p.y, vs: vs, ve: ve, scroll: scrollY, moved: false };
    canvas.classList.add('dragging');
    e.preventDefault();
  });
  window.addEventListener('mousemove', function (e) {
    var p = local(e);
    if (drag) {
      var dx = p.x - drag.x, dy = p.y - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) {
        vs = drag.vs - dx / k; ve = drag.ve - dx / k; scrollY = drag.scroll - dy;
        clampView(); hideTip(); requestDraw();
      }
      return;
    }
    var inside = p.x >= 0 && p.y >= 0 && p.x < W && p.y < H;
    hover = inside ? pick(p.x, p.y) : null;
    hoverX = inside ? p.x : -1;
    if (hover) showTip(hover, p.x, p.y); else hideTip();
    requestDraw();
  });
  window.addEventListener('mouseup', function (e) {
    if (!drag) return;
    var d = drag;
    drag = null;
    canvas.classList.remove('dragging');
    if (!d.moved) { var p = local(e); select(pick(p.x, p.y)); }
  });
  canvas.addEventListener('mouseleave', function () { hover = null; hoverX = -1; hideTip(); requestDraw(); });
  canvas.addEventListener('dblclick', function (e) {
    var p = local(e), hit = pick(p.x, p.y);
    if (hit && hit.kind === 'slice') { zoomTo(hit.t, hit.i); select(hit); }
  });
  window.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var x = hoverX >= GUTTER ? hoverX : GUTTER + (W - GUTTER) / 2;
    switch (e.key) {
      case 'w': case 'W': case '+': case '=': zoomAt(x, 0.6); break;
      case 's': case 'S': case '-': zoomAt(x, 1 / 0.6); break;
      case 'a': case 'A': case 'ArrowLeft': pan(-(W - GUTTER) * 0.15); break;
      case 'd': case 'D': case 'ArrowRight': pan((W - GUTTER) * 0.15); break;
      case '0': case 'Home': fit(); requestDraw(); break;
      case 'Escape': select(null); break;
      case 'f': case 'F': if (selected && selected.kind === 'slice') zoomTo(selected.t, selected.i); break;
      default: return;
    }
    e.preventDefault();
  });
  window.addEventListener('resize', resize);

  /* ---- header and panel --------------------------------------------------- */

  function buildLegend() {
    var legend = document.getElementById('legend'), html = '', present = {};
    tracks.forEach(function (t) { for (var i = 0; i < t.n; i++) present[t.e[i]] = true; });
    for (var e = 0; e < ENDS.length; e++) {
      if (!present[e] || !END_COLOURS[e]) continue;
      html += '<span class="chip static"><i style="background:' + END_COLOURS[e] + '"></i>' + esc(ENDS[e]) + '</span>';
    }
    var seen = {};
    tracks.forEach(function (t) { t.marks.forEach(function (m) { seen[m.name] = m.style; }); });
    Object.keys(seen).sort().forEach(function (name) {
      html += '<span class="chip" data-mark="' + esc(name) + '" style="color:' + seen[name].colour + '"><i class="tri"></i><span style="color:#e9ecf2">' + esc(name) + '</span></span>';
    });
    if (flows.n) html += '<span class="chip" data-flows="1"><span>↗ wakes</span></span>';
    legend.innerHTML = html;
    legend.addEventListener('click', function (ev) {
      var chip = ev.target.closest('.chip');
      if (!chip || chip.classList.contains('static')) return;
      if (chip.dataset.flows) showFlows = !showFlows;
      else hiddenMarks[chip.dataset.mark] = !hiddenMarks[chip.dataset.mark];
      chip.classList.toggle('off');
      requestDraw();
    });
  }

  function buildInfo() {
    var slices = 0, ps = 0, gs = new Set();
    tracks.forEach(function (t) {
      slices += t.n;
      if (t.tid >= 0 && t.tid < 1000) ps++;
      for (var i = 0; i < t.n; i++) if (t.g[i] >= 0) gs.add(t.g[i]);
    });
    document.getElementById('title').textContent = D.title;
    document.getElementById('stats').textContent =
      ps + ' Ps · ' + slices.toLocaleString('en-US') + ' polls · ' + fmtDur(D.span);
    document.getElementById('info').innerHTML = table([
      ['events', D.events.toLocaleString('en-US')], ['span', fmtDur(D.span)], ['tracks', String(tracks.length)],
      ['polls', slices.toLocaleString('en-US')], ['Gs', gs.size.toLocaleString('en-US')],
      ['wakes', flows.n.toLocaleString('en-US')], ['counters', String(counters.length)],
      ['starts at', D.t0 + ' µs (trace clock)']
    ]) + '<p class="muted">Times are shown from the first event.</p>';
  }

  function longest() {
    var best = null;
    tracks.forEach(function (t) {
      for (var i = 0; i < t.n; i++) if (!best || t.dur[i] > best.t.dur[best.i]) best = { kind: 'slice', t: t, i: i };
    });
    return best;
  }

  /* ---- self-test (#selftest): drives the page as a user would ---------------- */

  function selftest() {
    var res = {};
    function check(name, ok) { res[name] = !!ok; if (!ok) st.errors.push('selftest: ' + name + ' failed'); }
    var r = canvas.getBoundingClientRect(), cx = r.left + GUTTER + (W - GUTTER) / 2, cy = r.top + AXIS_H + 20;
    fit(); draw();
    var span0 = ve - vs;
    canvas.dispatchEvent(new WheelEvent('wheel', { clientX: cx, clientY: cy, deltaY: -400, bubbles: true, cancelable: true }));
    draw();
    check('zoom', ve - vs < span0 * 0.7);
    var vs0 = vs;
    canvas.dispatchEvent(new MouseEvent('mousedown', { clientX: cx, clientY: cy, button: 0, bubbles: true }));
    window.dispatchEvent(new MouseEvent('mousemove', { clientX: cx - 150, clientY: cy, bubbles: true }));
    window.dispatchEvent(new MouseEvent('mouseup', { clientX: cx - 150, clientY: cy, bubbles: true }));
    draw();
    check('pan', vs > vs0);
    fit(); draw();
    check('fit', Math.abs(ve - vs - span0) <= span0 * 1e-9);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'w', bubbles: true }));
    draw();
    check('keys', ve - vs < span0 * 0.7);
    fit(); draw();
    function hoverAt(x, y) {
      window.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + x, clientY: r.top + y, bubbles: true }));
      return tip.hidden ? '' : tip.textContent;
    }
    function showRow(row) { scrollY = row.y; clampView(); return AXIS_H + row.y - scrollY; }
    var markTrack = tracks.filter(function (t) { return t.marks.some(function (m) { return m.n > 0; }); })[0];
    if (markTrack) {
      var mk = markTrack.marks.filter(function (m) { return m.n > 0; })[0], at = mk.t[0];
      vs = at - 5000; ve = at + 5000; clampView();
      var my = showRow(trackRow[markTrack.index]) + LANE_H / 2 + 1;
      draw();
      check('hoverMark', hoverAt(X(at), my).indexOf(mk.name) >= 0);
    }
    var counterRow = rows.filter(function (row) { return row.kind === 'counter' && row.c.n > 0; })[0];
    if (counterRow) {
      fit();
      var cyy = showRow(counterRow) + counterRow.h / 2;
      draw();
      check('hoverCounter', hoverAt(X(counterRow.c.t[counterRow.c.n - 1]) + 2, cyy).indexOf(counterRow.c.label) >= 0);
    }
    hover = null; hoverX = -1; hideTip();
    scrollY = 0; fit(); draw();
    var L = longest();
    if (L) {
      zoomTo(L.t, L.i); draw();
      var px = r.left + (X(L.t.start[L.i]) + X(L.t.end[L.i])) / 2;
      var py = r.top + rowMid(L.t.index);
      window.dispatchEvent(new MouseEvent('mousemove', { clientX: px, clientY: py, bubbles: true }));
      check('hover', !tip.hidden && tip.textContent.indexOf(sliceName(L.t, L.i)) >= 0);
      canvas.dispatchEvent(new MouseEvent('mousedown', { clientX: px, clientY: py, button: 0, bubbles: true }));
      window.dispatchEvent(new MouseEvent('mouseup', { clientX: px, clientY: py, bubbles: true }));
      check('select', selected !== null && selected.i === L.i && detailsEl.textContent.indexOf(sliceName(L.t, L.i)) >= 0);
      select(null);
      hover = null; hoverX = -1; hideTip();
    }
    /* Frame cost, fitted and zoomed to 1% of the trace (median of 5). */
    function frames() {
      var ms = [];
      for (var n = 0; n < 5; n++) { draw(); ms.push(st.drawMs); }
      return ms.sort(function (a, b) { return a - b; })[2];
    }
    fit();
    res.fullViewDrawMs = frames();
    vs = SPAN * 0.495; ve = SPAN * 0.505; clampView();
    res.zoomedDrawMs = frames();
    fit(); draw();
    res.loadMs = Math.round(loadMs);
    st.selftest = res;
    st.publish();
  }

  /* ---- start ---------------------------------------------------------------- */

  var opts = {};
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    if (!kv) return;
    var eq = kv.indexOf('=');
    opts[decodeURIComponent(eq < 0 ? kv : kv.slice(0, eq))] = eq < 0 ? '' : decodeURIComponent(kv.slice(eq + 1));
  });

  var loadMs = 0;
  buildLegend();
  buildInfo();
  fit();
  resize();
  if (opts.view) {
    var ab = opts.view.split(',');
    vs = +ab[0] * 1e3; ve = +ab[1] * 1e3; clampView(); draw();
  }
  if (opts.select === 'longest') {
    var L0 = longest();
    if (L0) { if (!opts.view) zoomTo(L0.t, L0.i); select(L0); draw(); }
  }
  /* From navigation to the first frame with everything decoded. */
  loadMs = performance.now();
  if ('selftest' in opts) selftest();
})();
