"""Progress of long work on stderr: a bar on a terminal, otherwise a status line now and then.

Owns: ``Progress``, the callable the engines' ``progress(m)`` hooks receive (``m`` units just done).
On a terminal it is a tqdm bar (rate and time left); elsewhere (a log, CI) it stays silent for short
work and, once the work has run ``first_note_s`` and looks long, prints one line every
``every_s`` with the fraction done, the elapsed time and an estimate of the time left — so a
10^12-trial prediction is never silent. Must not touch: computation.
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


class Progress:
    def __init__(self, total: int, unit: str, desc: str, enabled: bool = True, *, tty: bool | None = None,
                 first_note_s: float | None = None, every_s: float | None = None) -> None:
        self.total, self.unit, self.desc = total, unit, desc
        self.done = 0
        self.started = self.last_note = time.perf_counter()
        self.first_note_s = FIRST_NOTE_S if first_note_s is None else first_note_s
        self.every_s = EVERY_S if every_s is None else every_s
        self.enabled = enabled
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.bar: Any = None
        self.notes = 0
        if enabled and self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit, unit_scale=True, desc=desc, file=sys.stderr, dynamic_ncols=True)

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
        if now - self.last_note >= due and self.done < self.total:
            left = elapsed * (self.total - self.done) / max(self.done, 1)
            print(f"pbs-sim: {self.desc}: {100 * self.done / self.total:.1f} % of {self.total:,} {self.unit}s after "
                  f"{_duration(elapsed)}; about {_duration(left)} left", file=sys.stderr, flush=True)
            self.last_note, self.notes = now, self.notes + 1

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
