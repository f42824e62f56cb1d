"""Every example on the documentation site (and README's cheap ones) runs, and prints what it shows.

The rules for a page's code blocks (files by title, ``$ pbs-sim`` commands with their output,
``pycon`` doctests, the ``<!-- check: ... -->`` markers, the tolerance on printed figures) are in
tests/docs_examples.py and, for authors, docs/about.md. Each page runs in its own temporary
directory, through the real entry point in this process, at the small sizes the pages use.

README, read on GitHub, is held to a looser rule: each command's shown lines must appear, in order,
among the printed ones (it may abbreviate an output without ``...``); blocks it does not run would be
listed in ``README_NOT_RUN`` with the reason. README must also run its examples, stay a landing page
(at most 200 lines) and link only to site pages that exist.
"""

from __future__ import annotations

import doctest
import inspect
from pathlib import Path
from typing import Any

import pytest
from docs_examples import (
    REPO,
    SHELL_LANGS,
    Block,
    blocks,
    commands,
    first_difference,
    line_matches,
    output_matches,
    page_steps,
    prepare,
    run_pbs_sim,
    run_python,
)

DOCS = REPO / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)

# README's command blocks that are not run here, by a string that identifies the command, and why.
# None today: README is a landing page whose three examples all run; its error examples moved to
# docs/guide/, where each carries a `<!-- check: skip: WHY -->` marker instead.
README_NOT_RUN: dict[str, str] = {}
# README python blocks not run, by a string they contain, and why (none: README has no python block)
README_PY_NOT_RUN: dict[str, str] = {}


def run_shell_block(block: Block, subsequence: bool = False, not_run: dict[str, str] | None = None) -> list[str]:
    """Run a shell block's commands; returns the commands it did not run, with why."""
    skipped = []
    rel = float(block.options.get("rel", 0.0))
    for cmd in commands(block):
        reason = next((why for key, why in (not_run or {}).items() if key in cmd.text), None)
        if reason:
            skipped.append(f"{cmd.text}: {reason}")
            continue
        printed = ""
        status = 0
        for argv in cmd.argv:
            assert argv[0] == "pbs-sim", (
                f"{block.where}: only `pbs-sim` commands run; mark the block `<!-- check: skip: WHY -->`: {cmd.text}")
            status, out = run_pbs_sim(argv[1:])
            printed += out
            if status != 0:
                break
        shown_error = any(line.startswith("pbs-sim: error:") for line in cmd.shown)
        want_status = int(block.options.get("exit", 2 if shown_error else 0))
        assert status == want_status, f"{block.where}: `{cmd.text}` exited {status}, expected {want_status}\n{printed}"
        assert output_matches(cmd.shown, printed, rel, subsequence), (
            f"{block.where}: `{cmd.text}` printed something else\n" + first_difference(cmd.shown, printed))
    return skipped


def run_page(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    skipped = []
    for block in page_steps(page):
        if block.skip:
            skipped.append(f"{block.where}: {block.skip}")
            continue
        if block.title:
            target = tmp_path / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text + "\n", encoding="utf-8")
        if block.lang in SHELL_LANGS:
            run_shell_block(block)
        elif block.lang in ("pycon", "python") and not block.title:
            run_python(block, namespace)
    return skipped


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_every_example_on_the_page_runs_and_prints_what_it_shows(
        page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_page(page, tmp_path, monkeypatch)


def test_the_site_runs_examples() -> None:
    """The tutorials are made of examples; a page that lost its blocks (a broken fence) would pass."""
    for name in ("quickstart.md", "tutorials/staleness.md", "tutorials/choosing-nrw.md", "tutorials/clock-skew.md",
                 "tutorials/siblings.md", "tutorials/sloppy-quorums.md"):
        run = [b for b in page_steps(DOCS / name) if not b.skip and (b.lang in SHELL_LANGS or b.lang == "pycon")]
        assert len(run) >= 2, f"docs/{name}: {len(run)} runnable example blocks"


def test_every_skipped_block_says_why() -> None:
    for page in PAGES:
        for b in blocks(page):
            if b.skip is not None:
                assert b.skip != "(no reason given)" and len(b.skip) > 10, f"{b.where}: skip needs a reason"


def test_shell_blocks_hold_commands() -> None:
    """A shell block without a `$ ` prompt would silently run nothing: it needs a skip marker."""
    bad = [b.where for p in PAGES for b in blocks(p) if b.lang in SHELL_LANGS and not b.skip and not commands(b)]
    assert not bad, f"shell blocks without `$ ` commands (add a prompt or `<!-- check: skip: WHY -->`): {bad}"


# ---------------------------------------------------------------------------------------------
# The comparison rules themselves: a checker that accepts everything would pass every page


@pytest.mark.parametrize(("shown", "printed", "ok"), [
    ("P(consistent) 43.59 %", "P(consistent)   43.59 %", True),
    ("P(consistent) 43.59 %", "P(consistent) 43.60 %", True),  # one unit of the last shown digit
    ("P(consistent) 43.59 %", "P(consistent) 43.61 %", False),
    ("measured ops 49,841", "measured ops 49,842", False),  # whole numbers are exact
    ("measured ops 49,841", "measured ops 49,841", True),
    ("measured ops 49,841", "measured ops 49,851", False),
    ("t-visibility 53.01 ms", "t-visibility 53.01 s", False),  # text must be equal
    ("simulated ... wall", "simulated 1,506 ms in 0.24 s wall", True),
    ("N=3 R=1 W=1", "N=3 R=2 W=1", False),
])
def test_a_shown_line_is_compared_number_by_number(shown: str, printed: str, ok: bool) -> None:
    assert line_matches(shown, printed) is ok


def test_relative_tolerance_widens_the_comparison() -> None:
    assert not line_matches("rate 0.394", "rate 0.401")
    assert line_matches("rate 0.394", "rate 0.401", rel=0.02)


def test_ellipsis_lines_and_missing_lines() -> None:
    printed = "a 1\nb 2\nc 3\n"
    assert output_matches(["a 1", "...", "c 3"], printed)
    assert not output_matches(["a 1", "c 3"], printed)  # a line left out needs "..."
    assert output_matches(["a 1", "c 3"], printed, subsequence=True)
    assert not output_matches(["a 1", "b 2", "c 3", "d 4"], printed)
    assert not output_matches(["c 3", "a 1"], printed, subsequence=True)


def test_a_wrong_figure_in_a_page_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("```console\n$ pbs-sim predict --profile lnkd-ssd --n 3 --r 1 --w 1 --seed 1 --trials 1000 "
                    "--t-ms 0\n...\n  P(consistent at t=0)      12.345 % ...\n...\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="printed something else"):
        run_page(page, tmp_path / "run", monkeypatch)


def test_a_wrong_doctest_output_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("```pycon\n>>> 1 + 1\n3\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="doctest failed"):
        run_page(page, tmp_path / "run", monkeypatch)


# ---------------------------------------------------------------------------------------------
# Docstring examples of the public API (the API reference page shows them)


def _public_callables() -> list[tuple[str, Any]]:
    import pbs_sim

    return [(n, getattr(pbs_sim, n)) for n in pbs_sim.__all__ if callable(getattr(pbs_sim, n))]


@pytest.mark.parametrize("name", [n for n, _ in _public_callables()])
def test_public_docstring_examples_run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pbs_sim

    prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    obj = getattr(pbs_sim, name)
    finder = doctest.DocTestFinder(recurse=False)
    tests = finder.find(obj, name, globs={"pbs_sim": pbs_sim, name: obj})
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    for t in tests:
        runner.run(t, out=out.append)
    assert runner.failures == 0, "".join(out)


def test_every_public_callable_has_an_api_entry_with_an_example() -> None:
    """docs/reference/api.md documents each public name (by its defining module: the package imports
    engines lazily, so the docs tool cannot see them through ``pbs_sim``), and each public function's
    docstring has parameters, a return, and an example."""
    text = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    missing, thin = [], []
    for name, obj in _public_callables():
        if f"::: {obj.__module__}.{obj.__qualname__}" not in text:
            missing.append(name)
        if inspect.isfunction(obj):
            doc = inspect.getdoc(obj) or ""
            for section in ("Args:", "Returns:", "Example"):
                if section not in doc:
                    thin.append(f"{name}: no {section}")
    assert not missing, f"not in docs/reference/api.md: {missing}"
    assert not thin, thin


# ---------------------------------------------------------------------------------------------
# README


def _readme_blocks() -> list[Block]:
    return [b for b in blocks(REPO / "README.md") if b.lang in SHELL_LANGS | {"python"}]


def _readme_id(b: Block) -> str:
    first = b.text.strip().splitlines()[0] if b.text.strip() else ""
    return f"line{b.line}:{first[:40]}"


@pytest.mark.parametrize("block", [pytest.param(b, id=_readme_id(b)) for b in _readme_blocks()])
def test_readme_examples(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    if block.lang == "python":
        reason = next((why for key, why in README_PY_NOT_RUN.items() if key in block.text), None)
        if reason:
            pytest.skip(f"README {block.where}: {reason}")
        run_python(block, {"__name__": "__readme__"})
        return
    if not block.text.lstrip().startswith("$ "):
        pytest.skip(f"{block.where}: a list of commands without shown output (`make` targets, a tour); "
                    "the site's pages run their equivalents")
    skipped = run_shell_block(block, subsequence=True, not_run=README_NOT_RUN)
    if skipped:
        pytest.skip("not run: " + "; ".join(skipped))


def test_readme_is_a_landing_page_that_runs_its_examples_and_links_into_the_site() -> None:
    import re

    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200, f"README has {len(text.splitlines())} lines; the rest belongs in docs/"
    assert "Probabilistically Bounded Staleness" in text and "not a batch job scheduler" in text
    ran = [b for b in _readme_blocks() if b.lang in SHELL_LANGS and b.text.lstrip().startswith("$ ")]
    assert len(ran) >= 3, f"README runs {len(ran)} examples with their output"
    links = re.findall(r"\]\((docs/[^)#\s]+)", text)
    assert len(links) >= 10, links
    missing = [link for link in links if not (REPO / link).is_file()]
    assert not missing, missing
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    not_in_nav = [link for link in links if link.endswith(".md") and link.removeprefix("docs/") not in nav]
    assert not not_in_nav, f"README links to pages the site does not list: {not_in_nav}"


def test_a_command_that_fails_where_the_page_shows_success_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("```console\n$ pbs-sim predict --profile lnkd-ssd --n 3 --r 4 --w 1\n...\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="exited 2, expected 0"):
        run_page(page, tmp_path / "run", monkeypatch)


def test_a_command_other_than_pbs_sim_needs_a_skip_marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "page.md"
    page.write_text("```console\n$ rm -rf results\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="only `pbs-sim` commands run"):
        run_page(page, tmp_path / "run", monkeypatch)
    page.write_text("<!-- check: skip: shows a shell command, not pbs-sim -->\n```console\n$ rm -rf results\n```\n",
                    encoding="utf-8")
    run_page(page, tmp_path / "run2", monkeypatch)


def test_every_toml_block_on_the_site_parses() -> None:
    """A TOML block shown without a title (a fragment to copy) is not run, but it must be TOML."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    bad = []
    for page in PAGES:
        for b in blocks(page):
            if b.lang == "toml" and not b.skip:
                try:
                    tomllib.loads(b.text)
                except tomllib.TOMLDecodeError as exc:
                    bad.append(f"{b.where}: {exc}")
    assert not bad, bad
