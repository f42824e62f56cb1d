"""Numbers for people: how every report and message prints a float.

Owns: ``number(x)``, the one rule for numbers in readable output (``predict`` and ``recommend``
reports, ``run``'s summary, ``validate``, distribution listings, error messages). Python's ``:g``
writes a whole number of six digits or more in exponent form (``1e+06``), which reads as a
different kind of value and cannot be pasted back where an integer is expected; here a whole
number is printed in full, and other values to ``digits`` significant digits, in full too when
they are large. Must not touch: machine-readable output (JSON, CSV, Parquet keep every bit).
"""

from __future__ import annotations

import math

BIG = 1e15  # beyond this a float's integer digits are no longer exact: keep the exponent form


def number(x: float, digits: int = 6) -> str:
    """``1000000.0`` -> ``1000000``; ``2.5`` -> ``2.5``; ``12345.67`` (4 digits) -> ``12346``;
    ``0.000012`` -> ``1.2e-05``; ``inf`` -> ``inf``.

    >>> number(1e6), number(45.5), number(12345.67, 4), number(1 / 3, 4), number(float("inf"))
    ('1000000', '45.5', '12346', '0.3333', 'inf')
    """
    v = float(x)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if v.is_integer() and abs(v) < BIG:
        return str(int(v))
    if 10**digits <= abs(v) < BIG:
        return f"{v:.0f}"  # more integer digits than asked for: rounding to a whole number loses less
    return f"{v:.{digits}g}"


__all__ = ["number"]
