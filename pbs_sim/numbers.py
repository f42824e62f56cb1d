"""Numbers for people: how every report and message prints a float.

Owns: ``number(x)`` (and ``num(x)``, the same with thousands separated, for messages), the one rule for numbers in readable output (``predict`` and ``recommend``
reports, ``run``'s summary, ``validate``, distribution listings, error messages). Python's ``:g``
writes a whole number of six digits or more in exponent form (``1e+06``), which reads as a
different kind of value and cannot be pasted back where an integer is expected; here a whole
number is printed in full, and other values to ``digits`` significant digits, in full too when
they are large. Must not touch: machine-readable output (JSON, CSV, Parquet keep every bit).
"""

from __future__ import annotations

import math

BIG = 1e15  # beyond this a float's integer digits are no longer exact: keep the exponent form


def number(x: float, digits: int = 6, *, grouped: bool = False) -> str:
    """``1000000.0`` -> ``1000000``; ``2.5`` -> ``2.5``; ``12345.67`` (4 digits) -> ``12346``;
    ``0.000012`` -> ``1.2e-05``; ``inf`` -> ``inf``. ``grouped``: thousands separated by commas
    (``1,000,000``), as messages and reports print counts and bounds for people to read.

    >>> number(1e6), number(45.5), number(12345.67, 4), number(1 / 3, 4), number(float("inf"))
    ('1000000', '45.5', '12346', '0.3333', 'inf')
    >>> number(1e7, grouped=True), number(12345.67, grouped=True), number(2.5e-7, grouped=True)
    ('10,000,000', '12,345.7', '2.5e-07')
    """
    v = float(x)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    sep = "," if grouped else ""
    if v.is_integer() and abs(v) < BIG:
        return f"{int(v):{sep}}"
    if 10**digits <= abs(v) < BIG:
        return f"{v:{sep}.0f}"  # more integer digits than asked for: rounding to a whole number loses less
    text = f"{v:.{digits}g}"
    if "e" in text and 1 <= abs(v) < BIG:  # 999.5 to 3 digits rounds up to 1e+03: print the whole number
        return f"{v:{sep}.0f}"
    if grouped and "e" not in text and abs(v) >= 1000:
        whole, dot, frac = text.partition(".")
        text = f"{int(whole):,}{dot}{frac}"
    return text


def num(x: float, digits: int = 6) -> str:
    """A number in a message: ``number(x, digits, grouped=True)`` (``10,000,000``, ``2.5``)."""
    return number(x, digits, grouped=True)


__all__ = ["num", "number"]
