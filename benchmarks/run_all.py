"""Run every benchmark in this folder, one after another, and print their tables.

Each ``bench_*.py`` prints a markdown table and writes ``benchmarks/results/<name>.json``; README's
figures come from those files. Run on an otherwise idle machine: the figures are CPU time per core.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n## {script.stem}\n", flush=True)
        status |= subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
