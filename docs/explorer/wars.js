/* The WARS Monte Carlo of pbs_sim (pbs_sim/analytic/wars/kernel.py) ported to JavaScript, for the
 * site's static explorer (docs/explorer.md): it runs in the browser with no server, and under node
 * for tests/test_static_explorer.py, which holds its numbers against pbs_sim.predict within
 * Monte-Carlo error for every built-in profile.
 *
 * Owns: the seeded PRNG, sampling the distribution families the built-in profiles use (their
 * parameters come from profiles.json, which docs/hooks/pbs_docs.py exports from pbs_sim/profiles.py
 * at build time, so they cannot drift), the per-trial rule, and the summary figures. Must not
 * touch: the page (page.js draws what summarize() returns).
 *
 * The rule, per trial (docs/design.md, "PBS and WARS"): each of the N replicas draws W (write),
 * A (ack), R (read request) and S (response) delays from the profile's laws; with a WAN profile one
 * replica, uniformly at random, is local to the write and gets no remote_extra_ms on W and A, and
 * independently one is local to the read (none on R and S). The write commits at w_t, the W-th
 * smallest W_i + A_i. A read sent t after commit is answered by the first R responders (smallest
 * R_i + S_i, ties to the lower replica index) and is consistent iff one of them already has the write,
 * w_t + t + R_i >= W_i. So tau = max(0, min over those R of (W_i - R_i) - w_t) and
 * P(consistent at t) = P(tau <= t). Read latency is the R-th smallest R_i + S_i among the replicas
 * asked; write latency is w_t. Fan-out "quorum" asks R replicas chosen uniformly at random instead.
 *
 * PRNG: xoshiro128** (Blackman and Vigna, 2018), its 128-bit state filled by splitmix32 from the
 * seed; a uniform double in [0, 1) takes 53 bits from two outputs. The stream is not numpy's, so
 * the page's numbers equal pbs_sim.predict's only within Monte-Carlo error, never digit for digit.
 */
(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.PbsWars = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  function splitmix32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x9e3779b9) >>> 0;
      let z = a;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
  }

  /** xoshiro128**: nextU32() and random() (a double in [0, 1), 53 random bits). */
  class Rng {
    constructor(seed) {
      // a seed above 2**32 mixes its high part in: every integer seed below 2**53 is its own stream
      const hi = Math.floor(Number(seed) / 4294967296) >>> 0;
      const sm = splitmix32((Number(seed) >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
      this.s = new Uint32Array([sm(), sm(), sm(), sm()]);
      if (!(this.s[0] | this.s[1] | this.s[2] | this.s[3])) this.s[0] = 1;
    }
    nextU32() {
      const s = this.s;
      const t = s[1] << 9;
      let r = Math.imul(s[1], 5);
      r = Math.imul((r << 7) | (r >>> 25), 9);
      s[2] ^= s[0];
      s[3] ^= s[1];
      s[1] ^= s[2];
      s[0] ^= s[3];
      s[2] ^= t;
      s[3] = (s[3] << 11) | (s[3] >>> 21);
      return r >>> 0;
    }
    random() {
      return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
    }
    exponential() {
      return -Math.log1p(-this.random()); // 1 - U in (0, 1]: never log(0)
    }
    normal() {
      // Box-Muller; the second value is dropped (simplicity over speed: no built-in profile uses it)
      const u = 1 - this.random();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
    }
  }

  /** A function drawing one value (ms) of the law ``d`` (a profiles.json tree) from ``rng``. */
  function sampler(d, rng) {
    switch (d.family) {
      case "constant":
        return () => d.value;
      case "exponential": {
        const scale = 1 / d.rate;
        return () => rng.exponential() * scale;
      }
      case "pareto": {
        // Pareto I as pbs_sim draws it: xm * exp(E / alpha), E ~ Exp(1)
        const inv = 1 / d.alpha;
        return () => d.xm * Math.exp(rng.exponential() * inv);
      }
      case "uniform":
        return () => d.low + rng.random() * (d.high - d.low);
      case "lognormal":
        return () => Math.exp(d.mu + d.sigma * rng.normal());
      case "weibull":
        return () => d.scale * Math.pow(rng.exponential(), 1 / d.shape);
      case "shifted": {
        const base = sampler(d.base, rng);
        return () => base() + d.by;
      }
      case "mixture": {
        const parts = d.components.map((c) => sampler(c, rng));
        const cum = [];
        let acc = 0;
        for (const w of d.weights) cum.push((acc += w));
        const last = parts.length - 1;
        return () => {
          const u = rng.random() * acc;
          let j = 0;
          while (j < last && u >= cum[j]) j++;
          return parts[j]();
        };
      }
      default:
        throw new Error(`the static explorer cannot draw the ${d.family} family`);
    }
  }

  function check(n, r, w, trials) {
    for (const [k, v] of [["N", n], ["R", r], ["W", w], ["trials", trials]]) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a whole number >= 1, got ${v}`);
    }
    if (r > n) throw new Error(`R = ${r} exceeds N = ${n}`);
    if (w > n) throw new Error(`W = ${w} exceeds N = ${n}`);
  }

  /**
   * Run the Monte Carlo. Returns sorted Float64Arrays ``tau``, ``read`` and ``write`` (one value per
   * trial) and the settings.
   */
  function simulate(profile, n, r, w, opts) {
    const o = Object.assign({ trials: 100000, seed: 1, fanout: "all" }, opts || {});
    check(n, r, w, o.trials);
    if (o.fanout !== "all" && o.fanout !== "quorum") throw new Error(`fan-out must be all or quorum, got ${o.fanout}`);
    const rng = new Rng(o.seed);
    const draw = ["w", "a", "r", "s"].map((k) => sampler(profile[k], rng));
    const extra = profile.remote_extra_ms || 0;
    const dw = new Float64Array(n), da = new Float64Array(n), dr = new Float64Array(n), ds = new Float64Array(n);
    const wa = new Float64Array(n), rs = new Float64Array(n), order = new Int32Array(n);
    const tau = new Float64Array(o.trials), read = new Float64Array(o.trials), write = new Float64Array(o.trials);
    for (let t = 0; t < o.trials; t++) {
      for (let i = 0; i < n; i++) dw[i] = draw[0]();
      for (let i = 0; i < n; i++) da[i] = draw[1]();
      for (let i = 0; i < n; i++) dr[i] = draw[2]();
      for (let i = 0; i < n; i++) ds[i] = draw[3]();
      if (extra > 0) {
        const lw = Math.floor(rng.random() * n), lr = Math.floor(rng.random() * n);
        for (let i = 0; i < n; i++) {
          if (i !== lw) { dw[i] += extra; da[i] += extra; }
          if (i !== lr) { dr[i] += extra; ds[i] += extra; }
        }
      }
      for (let i = 0; i < n; i++) { wa[i] = dw[i] + da[i]; rs[i] = dr[i] + ds[i]; }
      wa.sort();
      const wt = wa[w - 1];
      // the replicas whose answers count: the first R responders (stable insertion sort by R_i + S_i:
      // ties go to the lower index, as the Python kernel's stable argsort), or R random ones
      for (let i = 0; i < n; i++) order[i] = i;
      if (o.fanout === "quorum" && r < n) {
        for (let i = 0; i < r; i++) { // a partial Fisher-Yates shuffle: a uniformly random R-subset
          const j = i + Math.floor(rng.random() * (n - i));
          const x = order[i]; order[i] = order[j]; order[j] = x;
        }
      } else {
        for (let i = 1; i < n; i++) {
          const x = order[i], v = rs[x];
          let j = i - 1;
          while (j >= 0 && rs[order[j]] > v) { order[j + 1] = order[j]; j--; }
          order[j + 1] = x;
        }
      }
      let gap = Infinity, lat = 0;
      for (let k = 0; k < r; k++) {
        const i = order[k];
        const g = dw[i] - dr[i];
        if (g < gap) gap = g;
        if (rs[i] > lat) lat = rs[i];
      }
      tau[t] = Math.max(0, gap - wt);
      read[t] = lat;
      write[t] = wt;
    }
    tau.sort(); read.sort(); write.sort();
    return { tau, read, write, trials: o.trials, n, r, w, seed: o.seed, fanout: o.fanout };
  }

  /** The 1-based rank of the empirical q-quantile (inverted CDF), as pbs_sim's _rank. */
  function rank(q, n) {
    return Math.max(1, Math.min(n, Math.ceil(q * n - 1e-9 * Math.max(1, q * n))));
  }

  function quantile(sorted, q) {
    return sorted[rank(q, sorted.length) - 1];
  }

  /** How many of ``sorted`` are <= x (``le``) and < x (``lt``). */
  function countAt(sorted, x) {
    let lo = 0, hi = sorted.length;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (sorted[m] <= x) lo = m + 1; else hi = m; }
    const le = lo;
    lo = 0; hi = sorted.length;
    while (lo < hi) { const m = (lo + hi) >>> 1; if (sorted[m] < x) lo = m + 1; else hi = m; }
    return { le, lt: lo };
  }

  const Z95 = 1.959963984540054;

  /** The 95 % Wilson score interval of k successes in n. */
  function wilson(k, n) {
    const p = k / n, z2 = Z95 * Z95;
    const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    const half = (Z95 / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
    return [Math.max(0, centre - half), Math.min(1, centre + half)];
  }

  /**
   * The page's figures from a simulate() result: P(consistent) at t = 0 and at ``t_ms``, the
   * t-visibility at ``target`` with a 95 % order-statistic interval (normal approximation to the
   * binomial ranks; pbs_sim uses the exact binomial), latency percentiles, and the curve with its
   * Wilson band from 0 to 1.25 x max(t-visibility, t, the 99.99th percentile).
   */
  function summarize(sim, opts) {
    const o = Object.assign({ target: 0.999, t_ms: 10, points: 240 }, opts || {});
    const n = sim.trials, tau = sim.tau;
    const p0 = countAt(tau, 0).le / n;
    const kt = countAt(tau, o.t_ms).le;
    const tvis = quantile(tau, o.target);
    const sd = Math.sqrt(n * o.target * (1 - o.target));
    const l = Math.floor(n * o.target - Z95 * sd), u = Math.ceil(n * o.target + Z95 * sd) + 1;
    const ci = [l >= 1 ? tau[l - 1] : 0, u <= n ? tau[u - 1] : Infinity];
    if (sim.r + sim.w > sim.n) { ci[0] = 0; ci[1] = 0; } // tau = 0 in every trial by construction
    const pct = (a) => ({ p50: quantile(a, 0.5), p99: quantile(a, 0.99), "p99.9": quantile(a, 0.999) });
    const top = Math.max(tvis, o.t_ms, quantile(tau, 0.9999));
    const hi = top > 0 ? 1.25 * top : 1;
    // linear points from 0, and log-spaced ones over four decades below the top (a log axis, and
    // the steep start of a curve, get points too), t and the t-visibility themselves
    const grid = [];
    for (let i = 0; i <= o.points; i++) grid.push((hi * i) / o.points);
    const low = Math.max(hi * 1e-4, 1e-3), half = Math.max(2, o.points >> 1);
    for (let i = 0; i < half; i++) grid.push(low * Math.pow(hi / low, i / (half - 1)));
    grid.push(o.t_ms);
    if (Number.isFinite(tvis)) grid.push(tvis);
    grid.sort((x, y) => x - y);
    const ts = [], p = [], lo = [], up = [];
    for (const t of grid) {
      if (ts.length && t === ts[ts.length - 1]) continue;
      const k = countAt(tau, t).le, [a, b] = wilson(k, n);
      ts.push(t); p.push(k / n); lo.push(a); up.push(b);
    }
    return {
      trials: n, target: o.target, t_ms: o.t_ms,
      p_consistent_at_t0: p0, p_consistent_at_t: kt / n, p_consistent_ci: wilson(kt, n),
      t_visibility_ms: tvis, t_visibility_ci_ms: ci,
      read_latency_ms: pct(sim.read), write_latency_ms: pct(sim.write),
      curve: { t_ms: ts, p_consistent: p, ci_low: lo, ci_high: up },
    };
  }

  return { Rng, sampler, simulate, summarize, quantile, countAt, wilson, rank };
});
