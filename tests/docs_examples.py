"""The documented examples, extracted and run: the machinery of tests/test_docs_examples.py.

Owns: reading a Markdown page into its code blocks, running each the way the page says (the rules
below, also stated for authors in docs/about.md), and comparing what a block shows with what the
run printed, within the stated tolerance.
Must not touch: the pages themselves, or any file outside the temporary directory a page runs in.

Rules, per page, in page order, in a fresh temporary directory holding copies of ``experiments/``
and ``results/`` (so a page may name them, and nothing it writes reaches the repository):

- a fenced block with ``title="NAME"`` (any language) is written to ``NAME`` there, so the commands
  after it can read it;
- a ``console`` / ``shell`` / ``sh`` / ``bash`` block holds commands after a ``$ `` prompt (a line
  ending in ``\\`` continues on the next; ``&&`` chains commands); the lines after a command, up to
  the next prompt, are what it prints (stdout and stderr, interleaved as on a terminal). Only
  ``pbs-sim`` commands run, in this process through the real entry point ``pbs_sim.cli.main``; any
  other command needs a ``skip`` marker;
- a ``pycon`` block (``>>>`` / ``...`` prompts) runs as a doctest; all of a page's ``pycon`` and
  ``python`` blocks share one namespace, like one session; a ``python`` block runs without an
  output check;
- an HTML comment on the line before a block, ``<!-- check: ... -->``, qualifies it:
  ``skip: REASON`` (not run; the reason is shown in the test report), ``rel=0.05`` (numbers within
  5 % relative), ``exit=N`` (the commands' expected exit status when it is not 0, or 2 for a block
  that shows a ``pbs-sim: error:`` line).

Comparison of shown and printed output: blank lines are ignored and runs of spaces count as one
space; a line ``...`` stands for any number of lines, and ``...`` inside a line for any text; a whole
number shown (a count, N, a seed: ``49,841``) must equal the printed one, a decimal must be within
one unit of its last shown digit (``43.59`` accepts 43.58 to 43.60), or either within the block's
``rel`` when that is wider; all other text must be equal.
"""

from __future__ import annotations

import doctest
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHELL_LANGS = {"console", "shell", "sh", "bash", "shell-session"}
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
MARKER = re.compile(r"^\s*<!--\s*check:\s*(?P<body>.*?)\s*-->\s*$")
TITLE = re.compile(r"""title=(?:"([^"]*)"|'([^']*)'|(\S+))""")
# a number as printed: 49,841 or 43.590 or 1e+06 (no sign: a minus sign is compared as text)
NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
NUMBER_RE = re.compile(NUMBER)


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    title: str | None
    text: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        page = self.page.relative_to(REPO) if self.page.is_relative_to(REPO) else self.page
        return f"{page}:{self.line}"

    @property
    def skip(self) -> str | None:
        return self.options.get("skip")


def _options(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if body.startswith("skip"):
        reason = body[4:].lstrip(":").strip()
        out["skip"] = reason or "(no reason given)"
        return out
    for part in body.replace(",", " ").split():
        key, _, value = part.partition("=")
        out[key] = value or "true"
    return out


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` with its language, title and ``check:`` marker."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent, info = m.group("fence"), len(m.group("indent")), m.group("info").strip()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not re.match(rf"^ {{0,{indent + 3}}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        i += 1
        lang = info.split()[0].lstrip(".{").rstrip("}") if info else ""
        t = TITLE.search(info)
        title = next((g for g in t.groups() if g), None) if t else None
        prev = lines[start - 1] if start > 0 else ""
        mk = MARKER.match(prev)
        out.append(Block(page, start + 1, lang, title, "\n".join(body), _options(mk.group("body")) if mk else {}))
    return out


# ---------------------------------------------------------------------------------------------
# Shell blocks


@dataclass
class Command:
    argv: list[list[str]]  # one argv per command of an `a && b` chain
    shown: list[str]  # the output lines the block shows for it
    text: str


def commands(block: Block) -> list[Command]:
    """The ``$ `` commands of a shell block with the output shown after each."""
    out: list[Command] = []
    lines = block.text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            if out:
                out[-1].shown.append(line)
            elif line.strip():
                raise ValueError(f"{block.where}: text before the first '$ ' prompt: {line!r}")
            i += 1
            continue
        cmd = line[2:]
        while cmd.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd.rstrip()[:-1] + " " + lines[i].strip()
        i += 1
        words = shlex.split(cmd, comments=True)
        chain: list[list[str]] = [[]]
        for w in words:
            if w == "&&":
                chain.append([])
            else:
                chain[-1].append(w)
        out.append(Command([c for c in chain if c], [], cmd))
    return out


def run_pbs_sim(argv: list[str]) -> tuple[int, str]:
    """``pbs-sim ARGV`` through ``pbs_sim.cli.main`` in this process: exit status and its output
    (stdout and stderr interleaved, as a terminal shows them)."""
    import click
    from click.testing import CliRunner

    from pbs_sim.cli import main

    @click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def entry(args: tuple[str, ...]) -> None:
        main(list(args))

    res = CliRunner().invoke(entry, argv, catch_exceptions=False)
    return res.exit_code, res.output


# ---------------------------------------------------------------------------------------------
# Comparing shown with printed output


def _unit(number: str) -> float:
    """One unit of the last digit shown: 43.590 -> 0.001, 49,841 -> 1, 1.5e+06 -> 1e5."""
    mant, _, exp = number.replace(",", "").lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 10.0 ** (-decimals + (int(exp) if exp else 0))


def _value(number: str) -> float:
    return float(number.replace(",", ""))


def line_matches(shown: str, printed: str, rel: float = 0.0) -> bool:
    """One shown line against one printed line (the rules in the module docstring)."""
    shown, printed = " ".join(shown.split()), " ".join(printed.split())
    pattern: list[str] = []
    expected: list[str] = []
    for part in re.split(r"(\.\.\.)", shown):
        if part == "...":
            pattern.append(".*?")
            continue
        pos = 0
        for m in NUMBER_RE.finditer(part):
            pattern.append(re.escape(part[pos:m.start()]))
            pattern.append(f"({NUMBER})")
            expected.append(m.group())
            pos = m.end()
        pattern.append(re.escape(part[pos:]))
    m = re.fullmatch("".join(pattern), printed)
    if m is None:
        return False
    for exp, got in zip(expected, m.groups(), strict=True):
        e, g = _value(exp), _value(got)
        # a whole number (a count, N, a seed) is exact; a decimal may differ in its last shown digit
        unit = _unit(exp) * (1 + 1e-9) if re.search(r"[.eE]", exp) else 0.0
        if abs(e - g) > max(unit, rel * abs(e)):
            return False
    return True


def output_matches(shown: list[str], printed: str, rel: float = 0.0, subsequence: bool = False) -> bool:
    """Shown lines against the printed output: ``...`` lines match any run of lines; with
    ``subsequence`` every printed line not shown is allowed (README's abbreviated blocks)."""
    want = [s for s in shown if s.strip()]
    got = [p for p in printed.splitlines() if p.strip()]
    if subsequence:
        want = [w for w in want if w.strip() != "..."]
        j = 0
        for w in want:
            while j < len(got) and not line_matches(w, got[j], rel):
                j += 1
            if j == len(got):
                return False
            j += 1
        return True

    # want[i:] against got[j:]; "..." lines absorb any run; memoized over (i, j)
    from functools import cache

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i].strip() == "...":
            return any(match(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and line_matches(want[i], got[j], rel) and match(i + 1, j + 1)

    return match(0, 0)


def first_difference(shown: list[str], printed: str) -> str:
    want = [s for s in shown if s.strip()]
    return ("shown:\n  " + "\n  ".join(want) + "\nprinted:\n  " + "\n  ".join(p for p in printed.splitlines() if p.strip()))


# ---------------------------------------------------------------------------------------------
# Python blocks


class NumberChecker(doctest.OutputChecker):
    """doctest's checker with the shell blocks' rules: numbers within a unit of the last shown digit."""

    def __init__(self, rel: float = 0.0) -> None:
        self.rel = rel

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        if super().check_output(want, got, optionflags):
            return True
        return output_matches(want.splitlines(), got, self.rel)


def run_python(block: Block, namespace: dict[str, Any]) -> None:
    rel = float(block.options.get("rel", 0.0))
    if block.lang == "pycon":
        test = doctest.DocTestParser().get_doctest(block.text, namespace, block.where, str(block.page), block.line)
        runner = doctest.DocTestRunner(checker=NumberChecker(rel), optionflags=doctest.ELLIPSIS)
        out: list[str] = []
        runner.run(test, out=out.append, clear_globs=False)
        namespace.update(test.globs)  # DocTest copies its globals; the next block sees these names
        assert runner.failures == 0, f"{block.where}: doctest failed\n" + "".join(out)
    else:
        exec(compile(block.text, block.where, "exec"), namespace)  # noqa: S102 - the page's own example


# ---------------------------------------------------------------------------------------------
# A page


def prepare(workdir: Path) -> None:
    """The directory a page runs in: copies of experiments/ and results/ (a command may write there)."""
    for name in ("experiments", "results"):
        shutil.copytree(REPO / name, workdir / name, dirs_exist_ok=True)


def runnable(block: Block) -> bool:
    return block.lang in SHELL_LANGS or block.lang in ("pycon", "python") or block.title is not None


def page_steps(page: Path) -> Iterator[Block]:
    for b in blocks(page):
        if runnable(b):
            yield b
