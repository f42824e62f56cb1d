"""Progress of long work on stderr, and how much every command says: ``-q`` / ``-v``.

Owns: ``Progress``, the callable the engines' ``progress(m)`` hooks receive (``m`` units just done).
On a terminal it is a tqdm bar (rate and time left); elsewhere (a log, CI) it prints a plain line
each time another tenth of the work is done (``STEPS``: counted in units, not seconds, so the same
work gives the same lines), and also one once the work has run ``first_note_s`` and then every
``every_s``, so a 10^12-trial prediction is never silent for hours. Each line has the fraction done,
the elapsed time and an estimate of the time left. Callers enable it only for long-ish work (a
count threshold of their own), so short commands print nothing extra.

Also owns the verbosity of the command line: ``VERBOSITY`` (-1 with ``-q``, 0 by default, 1 with
``-v``, 2 with ``-vv``), set by the ``-q`` / ``-v`` options ``pbs_sim.cli.LazyGroup`` gives every
command; ``-q`` silences progress and :func:`info` lines, ``-v`` adds detail lines (:func:`detail`).
Must not touch: computation.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172_800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86_400:.1f} days"


FIRST_NOTE_S = 10.0  # off a terminal: the first status line after this long...
EVERY_S = 60.0  # ...then one every minute
STEPS = 10  # off a terminal: also a line each time another 1/STEPS of the work is done

#: -1 quiet (-q), 0 normal, 1 and up verbose (-v, -vv); set per command by the -q / -v options.
VERBOSITY = 0


def set_verbosity(level: int) -> None:
    global VERBOSITY
    VERBOSITY = level


def info(message: str, *, stdout: bool = False) -> None:
    """An informational line (what was written where): shown unless ``-q``."""
    if VERBOSITY >= 0:
        print(message if stdout else f"pbs-sim: {message}", file=sys.stdout if stdout else sys.stderr, flush=True)


def detail(message: str, level: int = 1) -> None:
    """A detail line on stderr, shown with ``-v`` (``level`` 1) or ``-vv`` (2)."""
    if level <= VERBOSITY:
        print(f"pbs-sim: {message}", file=sys.stderr, flush=True)


class Progress:
    def __init__(self, total: int, unit: str, desc: str, enabled: bool = True, *, tty: bool | None = None,
                 first_note_s: float | None = None, every_s: float | None = None, units: str | None = None,
                 steps: int | None = None, initial: int = 0) -> None:
        self.total, self.unit, self.desc = total, unit, desc
        self.units = units if units is not None else f"{unit}s"
        self.done = initial  # already done before (a resumed sweep)
        self.steps = STEPS if steps is None else steps
        self.next_step = ((int(initial * self.steps / total) + 1) * total / self.steps
                          if self.steps > 0 and total > 0 else float("inf"))
        self.started = self.last_note = time.perf_counter()
        self.first_note_s = FIRST_NOTE_S if first_note_s is None else first_note_s
        self.every_s = EVERY_S if every_s is None else every_s
        self.enabled = enabled and VERBOSITY >= 0
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.bar: Any = None
        self.notes = 0
        if self.enabled and self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit=unit, unit_scale=True, desc=desc, file=sys.stderr,
                            dynamic_ncols=True)

    def __call__(self, m: int) -> None:
        self.done += m
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(m)
            return
        now = time.perf_counter()
        elapsed = now - self.started
        due = self.first_note_s if self.notes == 0 else self.every_s
        stepped = self.done >= self.next_step
        if stepped:  # the next multiple of total / steps at or above what is done
            self.next_step = (int(self.done * self.steps / self.total) + 1) * self.total / self.steps
        if (stepped or now - self.last_note >= due) and self.done < self.total:
            left = elapsed * (self.total - self.done) / max(self.done, 1)
            print(f"pbs-sim: {self.desc}: {100 * self.done / self.total:.1f} % of {self.total:,} {self.units} after "
                  f"{_duration(elapsed)}; about {_duration(left)} left", file=sys.stderr, flush=True)
            self.last_note, self.notes = now, self.notes + 1

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
