"""Packaging a library people cite: the license as an SPDX string (setuptools' table form is
deprecated), the license file shipped, and CITATION.cff agreeing with the package's version."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml  # PyYAML comes with dask[distributed], a dev dependency

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_license_is_an_spdx_string_and_its_files_exist() -> None:
    project = _project()
    assert isinstance(project["license"], str), "setuptools >= 77 deprecates the license table"
    for name in project["license-files"]:
        assert (REPO / name).is_file(), name
    assert "MIT License" in (REPO / "LICENSE").read_text(encoding="utf-8")


def test_classifiers_carry_no_license_classifier_beside_the_spdx_expression() -> None:
    # PEP 639: a License :: classifier next to an SPDX `license` is an error for setuptools
    assert not [c for c in _project()["classifiers"] if c.startswith("License ::")]


def test_citation_file_names_this_version_and_the_pbs_paper() -> None:
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == _project()["version"]
    titles = [ref["title"] for ref in cff["references"]]
    assert "Probabilistically Bounded Staleness for Practical Partial Quorums" in titles


def test_project_urls_name_the_home_docs_source_issues_and_changelog() -> None:
    urls = _project().get("urls", {})
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(urls), sorted(urls)
    assert all(u.startswith("https://") for u in urls.values()), urls


def test_the_install_page_says_how_to_install_from_the_wheel() -> None:
    text = (REPO / "docs" / "quickstart.md").read_text(encoding="utf-8")
    assert "python -m build" in text and "pip install dist/pbs_sim-" in text
