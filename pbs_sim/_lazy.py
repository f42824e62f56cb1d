"""``LazyModule``: a module imported on first attribute access.

Why: ``pbs-sim`` reports a bad input file in a fraction of a second only if checking it does not
import numpy (~0.1-0.3 s), scipy.stats (~1 s) or pandas. The configuration modules refer to them
through this proxy; the first real use imports the module and copies its namespace into the proxy,
so later attribute lookups cost a plain dict hit. Type checkers see the real module (import it under
``TYPE_CHECKING``).
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    def __init__(self, name: str) -> None:
        self.__dict__["_lazy_name"] = name

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__dict__["_lazy_name"])
        self.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
        return getattr(module, attr)
