"""The live explorer's figures and layout (``pbs_sim.explore.app``): what a newcomer's screenshots
showed wrong, each held here.

* the curve on a log t axis (on lnkd-disk a linear one squeezed the rise, and its band, into the
  first pixels of a range the tail stretches to hundreds of ms);
* the latency CDFs' log axis ticked at 1, 2, 5 x 10^k across the data (Bokeh's own log ticker
  labelled nothing below 5 ms);
* every trade-off point named, the current point's label facing into the plot;
* the recommender table in its own full-width row, not cut off in a 1,400 px wide window (headless
  Chromium, the server and flags of tests/test_explore_browser.py).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

# the browser and the server fixtures, as tests/test_explore_browser.py starts them
from test_explore_browser import _wait, driver, server  # noqa: F401

from pbs_sim.explore import ExplorerState

SMALL = ExplorerState(trials=4_000, n_range="2..3")


@pytest.fixture
def app() -> Any:
    pytest.importorskip("panel")
    from pbs_sim.explore.app import ExplorerApp

    return ExplorerApp(SMALL, sync_url=False)


def test_the_curve_is_drawn_on_a_log_t_axis(app: Any) -> None:
    from bokeh.models import LogAxis

    assert isinstance(app.fig_curve.xaxis[0], LogAxis)
    t = app.src_curve.data["t_ms"]
    assert len(t) > 100 and min(t) > 0  # no t = 0 on a log axis (the headline has it)
    # the curve spans its rise: from P(t = 0)-ish at the first point to the target at the last
    p = app.src_curve.data["p_consistent"]
    assert p[0] < 0.6 and p[-1] >= SMALL.target
    assert min(t) < 0.01 * max(t)  # points over decades, dense near the start


def test_the_latency_axis_has_ticks_across_the_data(app: Any) -> None:
    from pbs_sim.explore.app import log_ticks

    ms = [*app.src_read.data["ms"], *app.src_write.data["ms"]]
    ticks = app.fig_latency.xaxis[0].ticker.ticks
    inside = [t for t in ticks if min(ms) <= t <= max(ms)]
    assert len(inside) >= 4, (min(ms), max(ms), ticks)
    assert any(t < 1 for t in inside)  # lnkd-disk's reads take ~0.5 ms: labelled there too
    assert log_ticks([0.3, 15.0]) == [0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
    assert log_ticks([0.48, 0.65]) == [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]  # within a decade: every digit


def test_every_tradeoff_point_is_named_and_the_current_label_faces_inwards(app: Any) -> None:
    texts = [r for r in app.fig_trade.renderers if type(r.glyph).__name__ == "Text"]
    assert {r.data_source for r in texts} == {app.src_trade, app.src_now}
    d = app.src_trade.data
    current = [i for i, c in enumerate(d["color"]) if c == "firebrick"]
    assert len(current) == 1
    assert all(s for i, s in enumerate(d["short"]) if i not in current)  # every other point: "R,W"
    assert d["short"][current[0]] == ""  # the current one carries its own, longer label
    # R = 1, W = 1 on lnkd-disk has the largest t-visibility of N = 3: the rightmost point, whose
    # label must run leftwards into the plot, not off its right edge
    xs = d["t_visibility_ms"]
    assert xs[current[0]] == max(xs)
    now = app.src_now.data
    assert now["label"] == ["R=1 W=1"] and now["align"] == ["right"] and now["x_offset"][0] < 0
    for x, align in zip(xs, d["align"], strict=True):
        assert align == ("right" if x > (min(xs) + max(xs)) / 2 else "left")
    assert app.fig_trade.x_range.range_padding > 0.1


def test_the_recommender_table_has_a_row_of_its_own(app: Any) -> None:
    import panel as pn

    main = app.layout[1]
    rows_with_table = [o for o in main if isinstance(o, pn.Row) and any(app.table in getattr(c, "objects", [c]) for c in o)]
    assert rows_with_table == []  # not beside a figure: it gets the page's width
    assert app.table.styles.get("overflow-x") == "auto"
    assert math.isfinite(app.last_update_s)


TABLE_JS = """
function find(root, sel) {
  const e = root.querySelector(sel); if (e) return e;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const f = find(el.shadowRoot, sel); if (f) return f; }
  }
  return null;
}
const host = find(document, '.pbs-table');
if (!host) return null;
const table = (host.shadowRoot || host).querySelector('table');
if (!table) return null;
const r = table.getBoundingClientRect();
return {right: r.right, left: r.left, width: innerWidth, cols: table.querySelectorAll('th').length};
"""


def test_the_recommender_table_fits_a_1400_px_window(server: str, driver: Any) -> None:  # noqa: F811
    d = driver
    d.set_window_size(1400, 1000)
    d.get(server + "?max_read_ms=5&max_write_ms=40&max_t_visibility_ms=10&min_availability=0.9999")
    got = _wait(d, TABLE_JS, "", lambda g: g["cols"] >= 10)
    assert got["right"] <= got["width"], got
