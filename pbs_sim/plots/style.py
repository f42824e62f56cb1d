"""The look and the output of pbs_sim's figures.

Owns: the shipped style (``pbs_sim.mplstyle`` beside this module, applied only inside :func:`style`),
bare pyplot-free Axes (:func:`new_axes`) and writing PNG/SVG atomically (:func:`save_figure`).
Must not touch: data, metrics, global matplotlib state (no backend is selected here).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..io import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STYLE_PATH = Path(__file__).with_name("pbs_sim.mplstyle")
FIGURE_FORMATS = ("png", "svg")


@contextlib.contextmanager
def style(overrides: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Apply the shipped ``pbs_sim.mplstyle`` (plus ``overrides``) inside a ``with`` block only."""
    from matplotlib import style as mpl_style

    with mpl_style.context([str(STYLE_PATH), dict(overrides or {})]):
        yield


def new_axes(figsize: tuple[float, float] | None = None) -> Axes:
    """One Axes on a fresh pyplot-free Figure (rcParams, e.g. :func:`style`, apply as usual)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize).add_subplot()


def save_figure(fig: Figure | Axes, path: str | Path, formats: Sequence[str] | None = None) -> list[Path]:
    """Write ``fig`` atomically; the suffix of ``path`` (``.png``/``.svg``) picks the format.

    With ``formats`` (e.g. ``("png", "svg")``) one file per format is written beside ``path`` (its
    suffix replaced). Returns the paths written. SVGs carry no date, so reruns diff cleanly.
    """
    figure = _figure_of(fig)
    target = Path(path)
    if formats is None:
        fmt = target.suffix.lower().lstrip(".")
        if fmt not in FIGURE_FORMATS:
            raise ConfigError(None, "--out", f"{str(target)!r}: the extension must be .png or .svg")
        plan = [(target, fmt)]
    else:
        bad = [f for f in formats if f not in FIGURE_FORMATS]
        if bad:
            raise ConfigError(None, "formats", f"unknown figure format(s) {', '.join(bad)}; use png or svg")
        stem = target.with_suffix("") if target.suffix.lower().lstrip(".") in FIGURE_FORMATS else target
        plan = [(stem.with_name(f"{stem.name}.{f}"), f) for f in formats]
    written = []
    for out, fmt in plan:
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {}
        with atomic_path(out) as tmp:
            figure.savefig(tmp, format=fmt, metadata=metadata)
        written.append(out)
    return written


def _figure_of(obj: Figure | Axes) -> Figure:
    fig = obj.get_figure() if hasattr(obj, "get_figure") and not hasattr(obj, "savefig") else obj
    if fig is None or not hasattr(fig, "savefig"):
        raise TypeError("expected a matplotlib Figure or Axes")
    return fig  # type: ignore[return-value]
