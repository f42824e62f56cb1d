"""``pbs-sim explore``: an interactive explorer of N, R, W, latencies and targets in the browser.

* ``state``  — ``ExplorerState`` (the controls, URL-serializable), ``Explorer`` (validation, cached
               grid samples, ``View``); no web framework, so it is tested and benchmarked directly;
* ``app``    — the Panel/Bokeh page (``build_app()`` for Jupyter, ``serve()`` for the command).

Importing this package does not import Panel; ``build_app`` and ``serve`` do.
"""

from __future__ import annotations

from typing import Any

from .state import DEFAULT_TRIALS, Explorer, ExplorerState, View


def build_app(*args: Any, **kwargs: Any) -> Any:
    """See ``pbs_sim.explore.app.build_app``."""
    from .app import build_app as _build

    return _build(*args, **kwargs)


def serve(*args: Any, **kwargs: Any) -> None:
    """See ``pbs_sim.explore.app.serve``."""
    from .app import serve as _serve

    _serve(*args, **kwargs)


__all__ = ["DEFAULT_TRIALS", "Explorer", "ExplorerState", "View", "build_app", "serve"]
