/* gmp-trace viewer, part 1 of 5: decodes the embedded data (layout in
   src/html/mod.rs) into typed arrays, and lays out the rows. Every time is in
   nanoseconds since the trace's first event.

   The five parts are pasted, in order, into one function scope (see
   page.html and src/html/mod.rs) and share its variables. */

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
