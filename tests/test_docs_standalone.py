"""The repository stands alone: what its documents cite is in the repository.

- no file cites the design brief's documents, which live outside the repository (the project's own
  are ``docs/design.md`` and ``docs/validation.md``);
- every repository path README and the site's pages (``docs/**/*.md``, ``mkdocs.yml``) name (``docs/...``, ``tests/....py``,
  ``experiments/...``, ``results/...``, ``benchmarks/...``, ``notebooks/...``) exists;
- every ``tests/file.py::name`` that ``docs/validation.md`` names is a test defined in that file;
- ``docs/validation.md`` has the sections §1-§12 that citations "docs/validation.md §N" point to;
- the shell completion README documents works.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
# the names are assembled so that this file does not cite them itself
BRIEF = ("DESIGN", "REFERENCE", "STYLE")
CITATION = re.compile("|".join(re.escape(f"{name}.md") for name in BRIEF)
                      + "|" + re.escape("REFERENCE") + " (?:§|section )" + "|" + re.escape("../" + "shared"))
SCANNED = ("README.md", "pyproject.toml", "Makefile", "mkdocs.yml", "docs", "pbs_sim", "tests", "experiments", "benchmarks",
           "notebooks", "results")
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis"}
TEXT_SUFFIXES = {".md", ".py", ".toml", ".txt", ".ipynb", ".clj", ".cfg", ".json", ".mplstyle", ".yml", ".yaml", ""}
PATH_REF = re.compile(
    r"(?<![\w./-])((?:docs|tests|experiments|results|benchmarks|notebooks)/[\w./-]*[\w/])")
TEST_REF = re.compile(r"\btests/([\w/]+\.py)::(\w+)")


def _text_files() -> list[Path]:
    out = []
    for name in SCANNED:
        root = REPO / name
        if root.is_file():
            out.append(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")]
            for fn in filenames:
                p = Path(dirpath) / fn
                if p.suffix in TEXT_SUFFIXES and p.name != Path(__file__).name and p.stat().st_size < 5_000_000:
                    out.append(p)
    return out


def _documents() -> list[Path]:
    # the site's pages include docs/tutorials/ and docs/reference/ (mkdocs.yml's nav)
    return [REPO / "README.md", REPO / "mkdocs.yml", *sorted(DOCS.rglob("*.md"))]


def test_the_site_pages_are_scanned() -> None:
    """The site's pages live in subfolders of docs/: the path checks must reach them."""
    names = {p.relative_to(DOCS).as_posix() for p in _documents() if p.is_relative_to(DOCS)}
    assert {"index.md", "tutorials/staleness.md", "reference/scenario.md"} <= names, sorted(names)


def test_no_file_cites_the_brief_outside_the_repository() -> None:
    hits = []
    for p in _text_files():
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if CITATION.search(line):
                hits.append(f"{p.relative_to(REPO)}:{i}: {line.strip()[:100]}")
    assert not hits, "cites documents that are not in the repository:\n" + "\n".join(hits)


def test_the_projects_own_documents_exist() -> None:
    for name in ("design.md", "validation.md"):
        assert (DOCS / name).is_file(), f"docs/{name} is missing"


def test_every_repository_path_the_documents_name_exists() -> None:
    missing = []
    for doc in _documents():
        for i, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for m in PATH_REF.finditer(line):
                path = m.group(1).rstrip(".")
                if not (REPO / path).exists():
                    missing.append(f"{doc.relative_to(REPO)}:{i}: {path}")
    assert not missing, "documents name paths that do not exist:\n" + "\n".join(missing)


def _defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def test_every_test_validation_md_names_is_defined() -> None:
    text = (DOCS / "validation.md").read_text(encoding="utf-8")
    refs = TEST_REF.findall(text)
    assert len(refs) >= 20, "docs/validation.md should name the tests that check each result"
    bad = []
    cache: dict[str, set[str]] = {}
    for file, name in refs:
        path = REPO / "tests" / file
        if not path.is_file():
            bad.append(f"tests/{file}::{name}: no such file")
            continue
        defined = cache.setdefault(file, _defined_tests(path))
        if name not in defined or not (name.startswith("test") or name.startswith("Test")):
            bad.append(f"tests/{file}::{name}: not a test defined there")
    assert not bad, "\n".join(bad)


def test_validation_md_numbers_its_sections_one_to_twelve() -> None:
    """Citations say "docs/validation.md §N"; §N must be the section headed "## N. ..."."""
    heads = re.findall(r"^## (\d+)\. ", (DOCS / "validation.md").read_text(encoding="utf-8"), flags=re.M)
    assert [int(h) for h in heads] == list(range(1, 13))


def test_every_section_cited_in_the_repository_exists() -> None:
    cited = set()
    for p in _text_files():
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for m in re.finditer(r"docs/validation\.md,? (?:§|section )(\d+)", text):
            cited.add(int(m.group(1)))
    assert cited <= set(range(1, 13)), sorted(cited)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_shell_completion_works(shell: str) -> None:
    """README: ``eval "$(_PBS_SIM_COMPLETE=bash_source pbs-sim)"``; the script it prints asks the
    program again with ``..._complete``, which must answer with the matching commands."""
    env = {**os.environ, "_PBS_SIM_COMPLETE": f"{shell}_source"}
    src = subprocess.run([sys.executable, "-m", "pbs_sim"], env=env, capture_output=True, text=True, timeout=60)
    assert src.returncode == 0 and "_PBS_SIM_COMPLETE" in src.stdout, src.stderr
    assert f"_PBS_SIM_COMPLETE={shell}_source" in (REPO / "README.md").read_text(encoding="utf-8")
    if shell == "bash":
        env = {**os.environ, "_PBS_SIM_COMPLETE": "bash_complete", "COMP_WORDS": "pbs-sim sw", "COMP_CWORD": "1"}
        ans = subprocess.run([sys.executable, "-m", "pbs_sim"], env=env, capture_output=True, text=True, timeout=60)
        assert ans.stdout.split() == ["plain,sweep"], ans.stdout + ans.stderr
