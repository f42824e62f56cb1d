/* The static explorer page (docs/explorer.md): controls, headline, percentiles and a BokehJS curve
 * over wars.js. Owns: reading the controls, drawing a summary, and timing itself (time to first
 * result, per-update latency: shown in the page and in data- attributes the browser test reads).
 * Must not touch: the Monte Carlo (wars.js) or the profiles' parameters (profiles.js, generated).
 *
 * Everything runs in this page: BokehJS and the profiles are files of the site, nothing is fetched
 * from elsewhere, and it opens from file:// as well as from any static server.
 */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const PROFILES = window.PBS_PROFILES;
  const fmtMs = (x) => (Number.isFinite(x) ? `${x.toPrecision(4).replace(/\.?0+$/, "").replace(/\.?0+e/, "e")} ms` : "∞");
  const pct = (p) => `${(100 * p).toFixed(3)} %`;
  let source = null, span = null, tvisSpan = null, figure = null, drawnLog = null;
  let timings = { first: null, last: null, updates: 0 };
  let pending = null;

  function readControls() {
    const int = (id) => Number($(id).value.trim() === "" ? NaN : Number($(id).value));
    return {
      profile: $("pbs-profile").value,
      n: int("pbs-n"), r: int("pbs-r"), w: int("pbs-w"),
      trials: int("pbs-trials"), seed: int("pbs-seed"),
      t_ms: Number($("pbs-t").value), target: Number($("pbs-target").value),
      fanout: $("pbs-fanout").value, log: $("pbs-log").checked,
    };
  }

  function validate(c) {
    if (!(c.profile in PROFILES)) return `unknown profile ${c.profile}`;
    for (const [k, v, hi] of [["N", c.n, 30], ["R", c.r, null], ["W", c.w, null], ["trials", c.trials, 2000000]]) {
      if (!Number.isInteger(v) || v < 1) return `${k} must be a whole number >= 1`;
      if (hi !== null && v > hi) return `${k} must be <= ${hi} in this page`;
    }
    if (c.r > c.n) return `R = ${c.r} exceeds N = ${c.n}`;
    if (c.w > c.n) return `W = ${c.w} exceeds N = ${c.n}`;
    if (!Number.isInteger(c.seed) || c.seed < 0 || c.seed > Number.MAX_SAFE_INTEGER) return "seed must be a whole number >= 0";
    if (!(Number.isFinite(c.t_ms) && c.t_ms >= 0)) return "t must be a number of ms >= 0";
    if (!(c.target > 0 && c.target < 1)) return "the target must be a probability in (0, 1)";
    return null;
  }

  function makeFigure(log) {
    const plt = Bokeh.Plotting;
    const host = $("pbs-curve");
    if (figure !== null && figure.document) { // a new axis type is a new figure: drop the old one's document
      const old = figure.document, i = Bokeh.documents.indexOf(old);
      old.clear();
      if (i >= 0) Bokeh.documents.splice(i, 1);
    }
    host.innerHTML = "";
    figure = plt.figure({
      title: "P(consistent) against time after commit (95 % Wilson band)",
      x_axis_label: log ? "t after commit (ms, log)" : "t after commit (ms)", y_axis_label: "P(consistent)",
      height: 360, sizing_mode: "stretch_width", x_axis_type: log ? "log" : "linear",
      tools: "pan,wheel_zoom,box_zoom,reset,save",
    });
    source = new Bokeh.ColumnDataSource({ data: { t_ms: [], p_consistent: [], ci_low: [], ci_high: [] } });
    figure.varea({ x: { field: "t_ms" }, y1: { field: "ci_low" }, y2: { field: "ci_high" }, source,
      fill_alpha: 0.3, fill_color: "#1f77b4" });
    for (const edge of ["ci_low", "ci_high"]) { // the band's edges too: it stays visible where it is thin
      figure.line({ x: { field: "t_ms" }, y: { field: edge }, source, line_width: 1, line_alpha: 0.6, line_color: "#1f77b4" });
    }
    figure.line({ x: { field: "t_ms" }, y: { field: "p_consistent" }, source, line_width: 2 });
    span = new Bokeh.Span({ location: 0.999, dimension: "width", line_dash: "dashed", line_color: "gray" });
    tvisSpan = new Bokeh.Span({ location: 0, dimension: "height", line_dash: "dotted", line_color: "firebrick" });
    figure.add_layout(span);
    figure.add_layout(tvisSpan);
    drawnLog = log;
    plt.show(figure, host);
  }

  function draw(c, s) {
    if (drawnLog !== c.log) makeFigure(c.log);
    const cv = s.curve;
    let data = cv;
    if (c.log) { // a log axis has no t = 0: start six decades below the top
      const keep = cv.t_ms.map((t) => t > 0);
      const pick = (a) => a.filter((_, i) => keep[i]);
      data = { t_ms: pick(cv.t_ms), p_consistent: pick(cv.p_consistent), ci_low: pick(cv.ci_low), ci_high: pick(cv.ci_high) };
    }
    source.data = data;
    span.location = c.target;
    tvisSpan.location = Number.isFinite(s.t_visibility_ms) ? Math.max(s.t_visibility_ms, c.log ? 1e-6 : 0) : 0;
    const state = `profile=${c.profile}&n=${c.n}&r=${c.r}&w=${c.w}&trials=${c.trials}&seed=${c.seed}` +
      `&t=${c.t_ms}&target=${c.target}&fanout=${c.fanout}`;
    const [plo, phi] = s.p_consistent_ci, [tlo, thi] = s.t_visibility_ci_ms;
    const num = (id, v, text) => `<span id="${id}" data-value="${v}">${text}</span>`;
    $("pbs-headline").setAttribute("data-state", state);
    $("pbs-headline").innerHTML =
      `<b>${c.profile}</b>, N=${c.n} R=${c.r} W=${c.w}, read fan-out ${c.fanout}, ${c.trials.toLocaleString("en")} trials, seed ${c.seed}<br>` +
      `P(consistent at t = ${c.t_ms} ms) = ${num("pbs-p-consistent", s.p_consistent_at_t, pct(s.p_consistent_at_t))}` +
      ` <small>(95 % CI ${pct(plo)} – ${pct(phi)})</small><br>` +
      `t-visibility at ${100 * c.target} % = ${num("pbs-t-visibility", s.t_visibility_ms, fmtMs(s.t_visibility_ms))}` +
      ` <small>(95 % CI ${fmtMs(tlo)} – ${fmtMs(thi)})</small><br>` +
      `P(consistent at t = 0) = ${num("pbs-p0", s.p_consistent_at_t0, pct(s.p_consistent_at_t0))}` +
      (c.r + c.w > c.n ? "<br><i>R + W &gt; N: a strict quorum, every read is consistent in this model</i>" : "");
    const rows = ["p50", "p99", "p99.9"].map((q) =>
      `<tr><td>${q}</td><td id="pbs-read-${q.replace(".", "")}" data-value="${s.read_latency_ms[q]}">${fmtMs(s.read_latency_ms[q])}</td>` +
      `<td id="pbs-write-${q.replace(".", "")}" data-value="${s.write_latency_ms[q]}">${fmtMs(s.write_latency_ms[q])}</td></tr>`);
    $("pbs-latency").innerHTML = `<thead><tr><th>percentile</th><th>read (R-th response)</th><th>write (W-th ack)</th></tr></thead><tbody>${rows.join("")}</tbody>`;
  }

  function update() {
    pending = null;
    const c = readControls();
    const bad = validate(c);
    const msg = $("pbs-message");
    if (bad) { msg.textContent = bad; msg.hidden = false; return; } // the last good numbers stay
    msg.hidden = true;
    const t0 = performance.now();
    const sim = PbsWars.simulate(PROFILES[c.profile], c.n, c.r, c.w, { trials: c.trials, seed: c.seed, fanout: c.fanout });
    const s = PbsWars.summarize(sim, { target: c.target, t_ms: c.t_ms });
    draw(c, s);
    // the update ends when the browser has painted it (the next animation frame)
    requestAnimationFrame(() => {
      const now = performance.now();
      timings.updates += 1;
      timings.last = now - t0;
      if (timings.first === null) timings.first = now; // since navigation start
      const el = $("pbs-timing");
      el.setAttribute("data-first-ms", timings.first.toFixed(1));
      el.setAttribute("data-last-ms", timings.last.toFixed(1));
      el.setAttribute("data-updates", String(timings.updates));
      el.textContent = `first result ${timings.first.toFixed(0)} ms after the page was opened; ` +
        `last update ${timings.last.toFixed(0)} ms (in this browser)`;
    });
  }

  // ?profile=ymmr&n=5&r=2&w=2 (also trials, seed, t, target, fanout, log=0) opens those settings:
  // a link, or a plain `chromium --headless --screenshot URL`, shows a chosen view; the headline's
  // data-state is such a query
  const QUERY = { profile: "pbs-profile", n: "pbs-n", r: "pbs-r", w: "pbs-w", trials: "pbs-trials",
    seed: "pbs-seed", t: "pbs-t", target: "pbs-target", fanout: "pbs-fanout" };
  function fromQuery(q) {
    for (const [key, id] of Object.entries(QUERY)) if (q.has(key)) $(id).value = q.get(key);
    if (q.has("log")) $("pbs-log").checked = !["0", "false", "no"].includes(q.get("log"));
  }

  function schedule() {
    // coalesce a burst of events (typing) into one update, after the browser shows the new value
    if (pending === null) pending = setTimeout(update, 0);
  }

  function init() {
    const sel = $("pbs-profile");
    for (const [name, p] of Object.entries(PROFILES)) {
      const o = document.createElement("option");
      o.value = name; o.textContent = name; o.title = p.description;
      sel.appendChild(o);
    }
    sel.value = "lnkd-disk";
    fromQuery(new URLSearchParams(window.location.search));
    const describe = () => { $("pbs-profile-note").textContent = PROFILES[sel.value].description; };
    describe();
    sel.addEventListener("change", describe);
    for (const el of document.querySelectorAll(".pbs-static input, .pbs-static select")) {
      el.addEventListener("change", schedule);
      el.addEventListener("input", schedule);
    }
    update();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
