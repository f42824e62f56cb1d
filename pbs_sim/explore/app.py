"""The explorer's page: Panel widgets and Bokeh figures over ``state.Explorer``.

Owns: the layout, the controls, turning a ``View`` into figures, headline and table, putting the
state into the URL and reading it back, and showing bad input as a message in the page. Must not
touch: computation (``state.py``). The same ``build_app()`` serves ``pbs-sim explore`` and displays
inline in Jupyter (after ``pn.extension()``).

Why Panel/Bokeh: the page is Python end to end (no JavaScript to maintain), updates are pushed
over a websocket by replacing ColumnDataSource data (cheap), and the same object renders in a
notebook. The headline numbers carry ``data-value`` attributes holding the exact floats, which the
browser test reads.
"""

from __future__ import annotations

import contextlib
import html
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any
from urllib.parse import urlencode

from ..errors import PbsSimError
from ..recommender.availability import format_availability
from .state import MODES, PROFILE_CHOICES, Explorer, ExplorerState, View, parse_dcs, parse_query

TABLE_COLUMNS = {
    "rank": "rank", "n": "N", "r": "R", "w": "W", "read_latency_p999_ms": "read p99.9 ms",
    "write_latency_p999_ms": "write p99.9 ms", "t_visibility_ms": "t-visibility ms",
    "read_availability": "read avail.", "write_availability": "write avail.", "pareto": "Pareto front",
    "misses": "misses",
}


PAIR_COLUMNS = {
    "write_dc": "write DC", "read_dc": "read DC", "p_consistent_at_t": "P(consistent at t)",
    "t_visibility_ms": "t-visibility ms", "read_latency_p999_ms": "read p99.9 ms", "write_latency_p999_ms": "write p99.9 ms",
    "shown": "shown", "note": "note",
}
LEVEL_CHOICES = ("ONE", "LOCAL_ONE", "TWO", "THREE", "LOCAL_QUORUM", "QUORUM", "EACH_QUORUM", "ALL")


def _fmt_ms(x: float) -> str:
    return "∞" if not math.isfinite(x) else f"{x:.4g} ms"


def headline_html(v: View) -> str:
    """The numbers the browser test checks: text for people, ``data-value`` for exact comparison."""
    st = v.state
    lo, hi = v.t_visibility_ci_ms
    plo, phi = v.p_consistent_ci

    def num(ident: str, value: float, text: str) -> str:
        return f'<span id="{ident}" data-value="{value!r}">{html.escape(text)}</span>'

    if v.mode == "topology":
        dcs = ", ".join(f"{html.escape(n)} RF {k}" for n, k in v.datacenters)
        store = (f"<b>{html.escape(v.profile_name)}</b>, datacenters {dcs} (WAN {html.escape(st.wan)}), "
                 f'write in <span id="pbs-write-dc">{html.escape(v.write_dc)}</span> at {v.write_level}, read in '
                 f'<span id="pbs-read-dc">{html.escape(v.read_dc)}</span> at {v.read_level}')
        strict = ""
    else:
        store = f"<b>{html.escape(v.profile_name)}</b>, N={st.n} R={st.r} W={st.w}"
        strict = ("<br><i>R + W &gt; N: a strict quorum, every read is consistent in this model</i>"
                  if st.r + st.w > st.n else "")
    return (
        f'<div id="pbs-headline" data-state="{html.escape(urlencode(st.to_query()))}" '
        f'style="font-size: 15px; line-height: 1.6">'
        f"{store}, read fan-out {st.fanout}, "
        f"{st.trials:,} trials, seed {st.seed}<br>"
        f"P(consistent at t = {st.t_ms:g} ms) = "
        + num("pbs-p-consistent", v.p_consistent_at_t, f"{100 * v.p_consistent_at_t:.3f} %")
        + f" <small>(95 % CI {100 * plo:.3f} – {100 * phi:.3f} %)</small><br>"
        f"t-visibility at {100 * st.target:g} % = "
        + num("pbs-t-visibility", v.t_visibility_ms, _fmt_ms(v.t_visibility_ms))
        + f" <small>(95 % CI {_fmt_ms(lo)} – {_fmt_ms(hi)})</small><br>"
        f"P(consistent at t = 0) = "
        + num("pbs-p0", v.p_consistent_at_t0, f"{100 * v.p_consistent_at_t0:.3f} %")
        + " · read p99.9 " + num("pbs-read-p999", v.read_p999_ms, _fmt_ms(v.read_p999_ms))
        + " · write p99.9 " + num("pbs-write-p999", v.write_p999_ms, _fmt_ms(v.write_p999_ms))
        + strict
        + "</div>"
    )


def log_ticks(values: list[float]) -> list[float]:
    """Ticks 1, 2, 5 x 10^k from just below the smallest positive value to just above the largest
    (1 .. 9 x 10^k when that gives fewer than four), for a log axis over ``values``."""
    pos = [x for x in values if x > 0 and math.isfinite(x)]
    if not pos:
        return [1.0]
    lo, hi = min(pos), max(pos)
    if hi <= lo:
        lo, hi = lo / 2, hi * 2
    ticks: list[float] = []
    for mantissas in ((1, 2, 5), tuple(range(1, 10))):
        ticks = [float(f"{m}e{k}") for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
                 for m in mantissas if lo / 1.5 <= m * 10.0**k <= hi * 1.5]
        if len(ticks) >= 4:
            break
    return ticks


class ExplorerApp:
    """One browser session (or one notebook cell): widgets, figures and their update."""

    def __init__(self, state: ExplorerState | None = None, explorer: Explorer | None = None,
                 sync_url: bool = True, query: Mapping[str, str] | None = None) -> None:
        import panel as pn
        from bokeh.models import (
            ColumnDataSource,
            CustomJSTickFormatter,
            DataRange1d,
            FixedTicker,
            HoverTool,
        )
        from bokeh.models.annotations import Span
        from bokeh.plotting import figure

        self.explorer = explorer or Explorer()
        self.sync_url = sync_url
        self._suspend = False
        self.last_update_s = math.nan
        st = state or ExplorerState()
        w = pn.widgets
        # Panel 1.9 renamed a widget's ``name`` (its label) to ``label``; accept both
        label_key = "label" if "label" in w.TextInput.param else "name"

        def mk(cls: Any, label: str, **kw: Any) -> Any:
            return cls(**{label_key: label}, **kw)

        dc_names = self._dc_options(st.dcs)
        self.widgets: dict[str, Any] = {
            "profile": mk(w.Select, "Profile", options=list(PROFILE_CHOICES), value=st.profile),
            "w_dist": mk(w.TextInput, "W delay (write)", value=st.w_dist),
            "a_dist": mk(w.TextInput, "A delay (ack)", value=st.a_dist),
            "r_dist": mk(w.TextInput, "R delay (read request)", value=st.r_dist),
            "s_dist": mk(w.TextInput, "S delay (response)", value=st.s_dist),
            "n": mk(w.IntInput, "N (replicas)", value=st.n, step=1),
            "r": mk(w.IntInput, "R (read quorum)", value=st.r, step=1),
            "w": mk(w.IntInput, "W (write quorum)", value=st.w, step=1),
            "fanout": mk(w.Select, "Read fan-out", options=["all", "quorum"], value=st.fanout),
            "t_ms": mk(w.FloatInput, "t after commit (ms)", value=st.t_ms, step=1.0),
            "target": mk(w.FloatInput, "Target probability", value=st.target, step=0.001),
            "trials": mk(w.IntInput, "Trials", value=st.trials, step=10_000),
            # text, not IntInput: a seed goes up to 2**63 - 1 and the browser's numbers are doubles
            # (exact only to 2**53), so a number widget would show, and send back, another seed
            "seed": mk(w.TextInput, "Seed", value=str(st.seed)),
            "n_range": mk(w.TextInput, "Recommender: N range", value=st.n_range),
            "max_read_ms": mk(w.TextInput, "max read p99.9 (ms)", value=st.max_read_ms, placeholder="none"),
            "max_write_ms": mk(w.TextInput, "max write p99.9 (ms)", value=st.max_write_ms, placeholder="none"),
            "max_t_visibility_ms": mk(w.TextInput, "max t-visibility (ms)", value=st.max_t_visibility_ms, placeholder="none"),
            "node_availability": mk(w.FloatInput, "node availability", value=st.node_availability, step=0.0001),
            "min_availability": mk(w.TextInput, "min availability", value=st.min_availability, placeholder="none"),
            "mode": mk(w.Select, "Model", options=list(MODES), value=st.mode),
            "dcs": mk(w.TextInput, "Datacenters (name:RF, ...)", value=st.dcs),
            "wan": mk(w.TextInput, "WAN delay between datacenters (one way, ms)", value=st.wan),
            "read_level": mk(w.Select, "Read level", options=list(LEVEL_CHOICES), value=st.read_level),
            "write_level": mk(w.Select, "Write level", options=[*LEVEL_CHOICES, "ANY"], value=st.write_level),
            "write_dc": mk(w.Select, "Write DC", options=dc_names, value=st.write_dc or (dc_names[0] if dc_names else None)),
            "read_dc": mk(w.Select, "Read DC", options=dc_names, value=st.read_dc or (dc_names[-1] if dc_names else None)),
        }
        narrow = {"n", "r", "w"}
        half = {"t_ms", "target", "trials", "seed", "max_read_ms", "max_write_ms", "node_availability", "min_availability",
                "read_level", "write_level", "write_dc", "read_dc"}
        for key, widget in self.widgets.items():
            widget.css_classes = [f"pbs-{key.replace('_', '-')}"]
            widget.width = 110 if key in narrow else 170 if key in half else 350
        self.trace = mk(w.FileInput, "Latency trace (CSV)", accept=".csv", css_classes=["pbs-trace"])
        self._url_messages: list[str] = []  # what the URL asked for that is not drawn (parse_query)
        self._trace: tuple[str, bytes] | None = None  # this session's uploaded trace

        self.alert = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["pbs-message"])
        self.headline = pn.pane.HTML("", css_classes=["pbs-headline"], sizing_mode="stretch_width")
        self.table_note = pn.pane.Markdown("", css_classes=["pbs-table-note"])
        self.table = pn.pane.DataFrame(None, index=False, sizing_mode="stretch_width", max_rows=40,
                                       css_classes=["pbs-table"])
        self.timing = pn.pane.Str("", css_classes=["pbs-timing"])

        self.src_curve = ColumnDataSource({"t_ms": [], "p_consistent": [], "ci_low": [], "ci_high": []})
        self.src_read = ColumnDataSource({"ms": [], "p": []})
        self.src_write = ColumnDataSource({"ms": [], "p": []})
        self.src_trade = ColumnDataSource({"t_visibility_ms": [], "latency_ms": [], "label": [], "color": [], "size": [],
                                           "short": [], "align": [], "x_offset": []})
        self.src_now = ColumnDataSource({"t_visibility_ms": [], "latency_ms": [], "label": [], "align": [], "x_offset": []})

        # A log t axis: a heavy-tailed profile (lnkd-disk) rises within the first few ms of a range
        # its tail stretches to hundreds, which a linear axis squeezes against the y axis, band and all.
        # t = 0 has no place on it: P(consistent at t = 0) is in the headline.
        fc = figure(title="P(consistent) against time after commit (95 % band)", x_axis_label="t after commit (ms, log)",
                    y_axis_label="P(consistent)", height=320, sizing_mode="stretch_width", x_axis_type="log",
                    tools="pan,wheel_zoom,box_zoom,reset,save")
        fc.varea(x="t_ms", y1="ci_low", y2="ci_high", source=self.src_curve, fill_alpha=0.35, fill_color="#1f77b4")
        for edge in ("ci_low", "ci_high"):  # the band's edges drawn too: it stays visible where it is thin
            fc.line(x="t_ms", y=edge, source=self.src_curve, line_width=1, line_alpha=0.6, color="#1f77b4")
        fc.line(x="t_ms", y="p_consistent", source=self.src_curve, line_width=2)
        self.span_target = Span(location=0.999, dimension="width", line_dash="dashed", line_color="gray")
        self.span_tvis = Span(location=0, dimension="height", line_dash="dotted", line_color="firebrick")
        fc.add_layout(self.span_target)
        fc.add_layout(self.span_tvis)
        fl = figure(title="Latency CDFs (R-th read response, W-th write ack)", x_axis_label="latency (ms)",
                    y_axis_label="P(latency ≤ x)", height=320, sizing_mode="stretch_width", x_axis_type="log",
                    tools="pan,wheel_zoom,box_zoom,reset,save")
        # ticks at 1, 2, 5 x 10^k over the data (draw() sets them): Bokeh's log ticker labels only
        # whole decades, none at all on a range like 0.3 .. 15 ms
        self.latency_ticker = FixedTicker(ticks=[])
        fl.xaxis.ticker = self.latency_ticker
        fl.xaxis.formatter = CustomJSTickFormatter(code="return String(Number(tick.toPrecision(3)));")
        fl.line(x="ms", y="p", source=self.src_read, line_width=2, color="#1f77b4", legend_label="read")
        fl.line(x="ms", y="p", source=self.src_write, line_width=2, color="#d62728", legend_label="write")
        fl.legend.location = "bottom_right"
        ft = figure(title="Every (R, W) of this N: latency vs staleness", x_axis_label="t-visibility at target (ms)",
                    y_axis_label="read p99.9 + write p99.9 (ms)", height=320, sizing_mode="stretch_width",
                    tools="pan,wheel_zoom,box_zoom,reset,save",
                    x_range=DataRange1d(range_padding=0.12), y_range=DataRange1d(range_padding=0.12))
        ft.scatter(x="t_visibility_ms", y="latency_ms", source=self.src_trade, size="size", color="color", alpha=0.8)
        # every point named "R,W"; labels face inwards (right of a point in the left half of the
        # plot, left of it in the right half) so none runs off the frame
        ft.text(x="t_visibility_ms", y="latency_ms", text="short", source=self.src_trade, text_font_size="8pt",
                x_offset="x_offset", y_offset=4, text_align="align", text_baseline="bottom", text_color="#555555")
        ft.scatter(x="t_visibility_ms", y="latency_ms", source=self.src_now, size=16, color="firebrick",
                   marker="circle_cross", fill_alpha=0.2)
        ft.text(x="t_visibility_ms", y="latency_ms", text="label", source=self.src_now, text_font_size="10pt",
                x_offset="x_offset", y_offset=-6, text_align="align", text_baseline="top", text_color="firebrick")
        ft.add_tools(HoverTool(tooltips=[("", "@label"), ("t-vis", "@t_visibility_ms ms"), ("latency", "@latency_ms ms")]))
        self.fig_curve, self.fig_latency, self.fig_trade = fc, fl, ft

        ww = self.widgets
        self.custom_box = pn.Column(ww["w_dist"], ww["a_dist"], ww["r_dist"], ww["s_dist"])
        self.flat_box = pn.Row(ww["n"], ww["r"], ww["w"])
        self.topology_box = pn.Column(
            ww["dcs"], ww["wan"], pn.Row(ww["read_level"], ww["write_level"]), pn.Row(ww["write_dc"], ww["read_dc"]),
            css_classes=["pbs-topology-controls"],
        )
        self.recommender_box = pn.Column(
            "### Recommender targets", ww["n_range"], pn.Row(ww["max_read_ms"], ww["max_write_ms"]),
            ww["max_t_visibility_ms"], pn.Row(ww["node_availability"], ww["min_availability"]),
        )
        controls = pn.Column(
            "### Store", ww["mode"], ww["profile"], self.custom_box, self.trace, self.flat_box, self.topology_box,
            ww["fanout"], pn.Row(ww["t_ms"], ww["target"]), pn.Row(ww["trials"], ww["seed"]),
            self.recommender_box, self.timing, width=380,
        )
        # The recommender table gets the full width of its own row, and scrolls sideways rather than
        # being cut off (beside the trade-off plot, at 1,400 px, its last columns were clipped).
        self.table.styles = {"overflow-x": "auto"}
        self.table_title = pn.pane.Markdown("### Recommended configurations")
        main = pn.Column(
            self.alert, self.headline,
            pn.Row(pn.pane.Bokeh(fc, sizing_mode="stretch_width"), pn.pane.Bokeh(fl, sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            pn.pane.Bokeh(ft, sizing_mode="stretch_width"),
            pn.Column(self.table_title, self.table_note, self.table, sizing_mode="stretch_width",
                      css_classes=["pbs-recommendations"]),
            sizing_mode="stretch_width",
        )
        self.layout = pn.Row(controls, main, sizing_mode="stretch_width", css_classes=["pbs-explorer"])
        for widget in self.widgets.values():
            widget.param.watch(self._changed, "value")
        self.trace.param.watch(self._uploaded, "value")
        self._show_profile_controls()
        if sync_url and pn.state.curdoc is not None and pn.state.location is not None:
            pn.state.onload(self._load_from_url)
        elif query is not None:
            self.load_query(query)
        else:
            self.update()

    # -- state <-> widgets <-> URL ---------------------------------------------------------------

    @staticmethod
    def _dc_options(text: str) -> list[str]:
        try:
            return [n for n, _ in parse_dcs(text)]
        except PbsSimError:
            return []

    def _sync_dc_options(self) -> None:
        """The write and read DC selects offer the datacenters typed (the first and the last by default)."""
        names = self._dc_options(self.widgets["dcs"].value)
        if not names:
            return  # a bad datacenters text: validation shows its message, the selects keep their options
        suspend, self._suspend = self._suspend, True
        try:
            for key, default in (("write_dc", names[0]), ("read_dc", names[-1])):
                widget = self.widgets[key]
                value = widget.value if widget.value in names else default
                if list(widget.options) != names:
                    widget.options = names
                if widget.value != value:
                    widget.value = value
        finally:
            self._suspend = suspend

    def state(self) -> ExplorerState:
        values = {f.name: self.widgets[f.name].value for f in fields(ExplorerState)}
        with contextlib.suppress(ValueError):  # else kept as typed: validation names the seed control
            values["seed"] = int(str(values["seed"]).strip())
        names = self._dc_options(str(values["dcs"]))
        if names:  # the first / last datacenter is the default: "" keeps the URL short
            values["write_dc"] = "" if values["write_dc"] in (None, names[0]) else values["write_dc"]
            values["read_dc"] = "" if values["read_dc"] in (None, names[-1]) else values["read_dc"]
        return ExplorerState(**values)

    def set_state(self, st: ExplorerState) -> None:
        """Set every widget (one update at the end, not one per widget)."""
        self._suspend = True
        try:
            for f in fields(ExplorerState):
                if f.name in ("write_dc", "read_dc"):
                    continue
                value = str(st.seed) if f.name == "seed" else getattr(st, f.name)
                widget = self.widgets[f.name]
                if widget.value != value:
                    widget.value = value
            names = self._dc_options(st.dcs)
            for key, default in (("write_dc", names[0] if names else ""), ("read_dc", names[-1] if names else "")):
                widget = self.widgets[key]
                if list(widget.options) != names:
                    widget.options = names
                want = getattr(st, key) or default
                if widget.value != want:
                    widget.value = want
        finally:
            self._suspend = False
        self._show_profile_controls()
        self.update()

    def load_query(self, query: Mapping[str, str]) -> None:
        """Show what a URL's query asks for: every usable parameter in the controls and the
        figures, and one message per parameter that is not used (it shows its default instead),
        kept until the next change of a control."""
        st, self._url_messages = parse_query({k: str(v) for k, v in query.items()})
        self.set_state(st)

    def _load_from_url(self) -> None:
        import panel as pn

        loc = pn.state.location
        self.load_query(dict(loc.query_params) if loc is not None else {})

    def _changed(self, *events: Any) -> None:
        if self._suspend:
            return
        self._url_messages = []
        if any(getattr(e, "obj", None) is self.widgets["dcs"] for e in events):
            self._sync_dc_options()
        self._show_profile_controls()
        self.update()

    def _uploaded(self, *events: Any) -> None:
        if self.trace.value:
            self._trace = (self.trace.filename or "trace.csv", bytes(self.trace.value))
            self.update()

    def _show_profile_controls(self) -> None:
        kind = self.widgets["profile"].value
        self.custom_box.visible = kind == "custom"
        self.trace.visible = kind == "trace"
        topo = self.widgets["mode"].value == "topology"
        self.flat_box.visible = not topo
        self.recommender_box.visible = not topo
        self.topology_box.visible = topo

    # -- the update ---------------------------------------------------------------------------------

    def update(self) -> None:
        t0 = time.perf_counter()
        st = self.state()
        notes = self._url_messages
        try:
            view = self.explorer.view(st, trace=self._trace)
        except PbsSimError as exc:
            self.show_message(*notes, str(exc))
            return
        except Exception as exc:  # never a traceback in the page
            self.show_message(*notes, f"could not compute this view ({type(exc).__name__}: {exc})")
            return
        if notes:
            self.show_message(*notes)
        else:
            self.alert.visible = False
            self.alert.object = ""
        self.draw(view)
        self.last_update_s = time.perf_counter() - t0
        self.timing.object = f"last update: {1000 * self.last_update_s:.0f} ms (server side)"
        if self.sync_url:
            self._push_url(st)

    def show_message(self, *lines: str) -> None:
        self.alert.object = "<br>".join(html.escape(line) for line in lines)
        self.alert.visible = True

    def _push_url(self, st: ExplorerState) -> None:
        import panel as pn

        loc = pn.state.location if pn.state.curdoc is not None else None
        if loc is not None:
            query = urlencode(st.to_query())
            loc.search = f"?{query}" if query else ""

    def draw(self, v: View) -> None:
        import pandas as pd

        self.headline.object = headline_html(v)
        # the log t axis has no t = 0 (the headline gives P(consistent at t = 0))
        pos = [i for i, t in enumerate(v.curve["t_ms"]) if t > 0]
        self.src_curve.data = {k: [v.curve[k][i] for i in pos] for k in ("t_ms", "p_consistent", "ci_low", "ci_high")}
        self.span_target.location = v.state.target
        tvis_drawn = math.isfinite(v.t_visibility_ms) and v.t_visibility_ms > 0
        self.span_tvis.location = v.t_visibility_ms if tvis_drawn else 1.0
        self.span_tvis.visible = tvis_drawn
        self.src_read.data = {"ms": [max(x, 1e-6) for x in v.read_cdf["ms"]], "p": v.read_cdf["p"]}
        self.src_write.data = {"ms": [max(x, 1e-6) for x in v.write_cdf["ms"]], "p": v.write_cdf["p"]}
        self.latency_ticker.ticks = log_ticks(
            [*self.src_read.data["ms"], *self.src_write.data["ms"]])
        tr = v.tradeoff
        finite = [math.isfinite(x) for x in tr["t_visibility_ms"]]
        keep = [i for i, ok in enumerate(finite) if ok]
        xs = [tr["t_visibility_ms"][i] for i in keep]
        mid = (min(xs) + max(xs)) / 2 if xs else 0.0

        def facing(x: float, gap: float) -> tuple[str, float]:
            return ("right", -gap) if xs and max(xs) > min(xs) and x > mid else ("left", gap)

        self.src_trade.data = {
            "t_visibility_ms": xs,
            "latency_ms": [tr["latency_ms"][i] for i in keep],
            "label": [tr["label"][i] for i in keep],
            "color": ["firebrick" if tr["current"][i] else "#1f77b4" for i in keep],
            "size": [12 if tr["current"][i] else 8 for i in keep],
            "short": ["" if tr["current"][i] else f"{tr['r'][i]},{tr['w'][i]}" for i in keep],  # the current one: its own label
            "align": [facing(x, 6)[0] for x in xs],
            "x_offset": [facing(x, 6)[1] for x in xs],
        }
        now = [i for i in keep if tr["current"][i]]
        now_data: dict[str, Any] = {k: [tr[k][i] for i in now] for k in ("t_visibility_ms", "latency_ms", "label")}
        now_data["align"] = [facing(tr["t_visibility_ms"][i], 10)[0] for i in now]
        now_data["x_offset"] = [facing(tr["t_visibility_ms"][i], 10)[1] for i in now]
        self.src_now.data = now_data
        topo = v.mode == "topology"
        from bokeh.models.annotations import Title

        for fig, text in ((self.fig_trade, f"Every (read level, write level) for writes in {v.write_dc}, reads in "
                           f"{v.read_dc}: latency vs staleness" if topo else "Every (R, W) of this N: latency vs staleness"),
                          (self.fig_latency, "Latency CDFs (this pair's read and write levels)" if topo
                           else "Latency CDFs (R-th read response, W-th write ack)")):
            if isinstance(fig.title, Title):
                fig.title.text = text
        self.table_title.object = "### Every (write DC, read DC) pair" if topo else "### Recommended configurations"
        table = v.table
        if topo:
            cols = [c for c in PAIR_COLUMNS if c in table.columns]
            shown = pd.DataFrame(table[cols]).rename(columns=PAIR_COLUMNS)
            if "P(consistent at t)" in shown:
                shown["P(consistent at t)"] = shown["P(consistent at t)"].map(
                    lambda x: "" if x != x else f"{100 * x:.3f} %")
            for col in ("t-visibility ms", "read p99.9 ms", "write p99.9 ms"):
                if col in shown:
                    shown[col] = shown[col].map(lambda x: "" if x != x else f"{x:.4g}")
            if "shown" in shown:
                shown["shown"] = shown["shown"].map(lambda x: "◀" if x is True else "")
            self.table.object = shown
            self.table_note.object = v.table_message
            return
        cols = [c for c in TABLE_COLUMNS if c in table.columns]
        shown = pd.DataFrame(table[cols].head(40)).rename(columns=TABLE_COLUMNS)
        for col in ("read p99.9 ms", "write p99.9 ms", "t-visibility ms"):
            shown[col] = shown[col].map(lambda x: f"{x:.4g}")
        if "Pareto front" in shown:
            shown["Pareto front"] = shown["Pareto front"].map(lambda x: "★" if x else "")
        for col in ("read avail.", "write avail."):
            shown[col] = shown[col].map(format_availability)
        self.table.object = shown
        self.table_note.object = v.table_message


def build_app(state: ExplorerState | dict[str, str] | None = None, *, explorer: Explorer | None = None,
              sync_url: bool | None = None) -> Any:
    """The explorer as a Panel layout (serve it, or display it in Jupyter after ``pn.extension()``).

    ``state``: an ``ExplorerState`` or URL-style query values (``{"n": "5", "r": "2"}``, read as a
    URL is: a value that cannot be used shows its default and a message). In a served page the
    URL's query wins and is kept up to date (``sync_url``, default: when served).
    """
    import panel as pn

    if sync_url is None:
        sync_url = pn.state.curdoc is not None and pn.state.curdoc.session_context is not None
    if isinstance(state, dict):
        app = ExplorerApp(None, explorer=explorer, sync_url=sync_url, query=state)
    else:
        app = ExplorerApp(state, explorer=explorer, sync_url=sync_url)
    return app.layout


def serve(port: int = 5006, address: str = "127.0.0.1", show: bool = True,
          ready: Callable[[], object] | None = None) -> None:
    """Serve the explorer until interrupted (``pbs-sim explore``).

    ``ready()`` is called once the port is bound, before the first request is served (the command
    says "serving at" there, so it never says so for a server that did not start). Ctrl-C stops
    the server and raises ``KeyboardInterrupt`` (the command's exit status 130): Panel's own SIGINT
    handler stops the loop and returns as if the server had ended normally, so it is replaced.
    """
    import signal

    import panel as pn

    explorer = Explorer()  # one cache shared by every browser session of this server

    def page() -> Any:
        app = ExplorerApp(explorer=explorer, sync_url=True)
        return app.layout

    origins = [f"localhost:{port}", f"127.0.0.1:{port}"] + ([f"{address}:{port}"] if address not in ("127.0.0.1", "localhost") else [])
    server = pn.serve({"/": page}, port=port, address=address, show=show, title="pbs-sim explore",
                      websocket_origin=origins, verbose=False, start=False)
    interrupted: list[int] = []

    def on_sigint(signum: int, frame: object) -> None:
        interrupted.append(signum)
        server.io_loop.asyncio_loop.call_soon_threadsafe(server.io_loop.stop)

    signal.signal(signal.SIGINT, on_sigint)
    try:
        if ready is not None:
            ready()
        server.start()
        server.io_loop.start()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if interrupted:
        raise KeyboardInterrupt


__all__ = ["ExplorerApp", "build_app", "headline_html", "log_ticks", "serve"]

