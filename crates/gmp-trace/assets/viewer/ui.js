/* gmp-trace viewer, part 3 of 5: picking what is under the pointer, the
   tooltip and side panel, mouse and keyboard, the header. */

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
