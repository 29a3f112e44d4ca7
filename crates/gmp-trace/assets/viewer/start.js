/* gmp-trace viewer, part 5 of 5: start-up, URL hash options
   (view=<from µs>,<to µs>, select=longest, selftest), the first frame. */

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
