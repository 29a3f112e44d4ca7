/* gmp-trace viewer, part 4 of 5: the self-test tests/browser.sh runs (URL
   hash #selftest): it drives the page's own handlers as a user would and
   publishes what worked, and frame times, in window.gmpTrace.selftest. */

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
