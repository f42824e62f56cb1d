"""The documentation site builds with ``mkdocs build --strict`` (what ``make docs`` and CI run), offline,
and its generated references cover the code: every scenario key, every command, every public name.

The build runs in a subprocess from the repository (mkdocs.yml at the top, sources in docs/) into a
temporary directory; it takes a few seconds. A second build of a copy with a broken link shows that
the strict build does fail, so the first one passing means something.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("material", reason="the docs extra is not installed: pip install -e '.[docs]'")


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    res = _build(REPO / "mkdocs.yml", out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "WARNING" not in res.stderr, res.stderr
    return out


def _text(html: Path) -> str:
    return re.sub(r"<[^>]+>", " ", html.read_text(encoding="utf-8"))


def test_every_page_in_the_nav_is_built(site: Path) -> None:
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]

    def pages(items: list) -> list[str]:
        out: list[str] = []
        for item in items:
            for value in (item.values() if isinstance(item, dict) else [item]):
                out += pages(value) if isinstance(value, list) else [value]
        return out

    for page in pages(nav):
        assert (site / page.replace(".md", ".html")).is_file(), page


def test_the_scenario_reference_lists_every_key_with_its_default(site: Path) -> None:
    sys.path.insert(0, str(REPO / "docs" / "hooks"))
    try:
        import pbs_docs
    finally:
        sys.path.pop(0)
    from pbs_sim.config import describe_fields

    html = (site / "reference" / "scenario.html").read_text(encoding="utf-8")
    for key, default, _doc in describe_fields():
        row = re.search(rf"<code>{re.escape(key)}</code></td>\s*<td><code>([^<]*)</code>", html)
        assert row, f"{key} is not on the scenario-keys page"
        shown = row.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        assert shown == pbs_docs._toml_value(default).replace("\\|", "|"), key


def test_the_cli_reference_has_every_command_and_option(site: Path) -> None:
    import click

    from pbs_sim.cli import COMMANDS, cli

    text = _text(site / "reference" / "cli.html")
    ctx = click.Context(cli)
    for name in COMMANDS:
        assert f"pbs-sim {name}" in text, name
        cmd = cli.get_command(ctx, name)
        assert cmd is not None
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.opts[0] in text, f"pbs-sim {name} {param.opts[0]}"


def test_the_api_reference_documents_every_public_name(site: Path) -> None:
    import pbs_sim

    text = _text(site / "reference" / "api.html")
    for name in pbs_sim.__all__:
        if callable(getattr(pbs_sim, name)):
            assert re.search(rf"\b{re.escape(name)}\b", text), name
    assert "Raises" in text and "Returns" in text


def test_the_site_fetches_nothing_from_the_network(site: Path) -> None:
    """Offline: no stylesheet, script, font or image from another host (links to sources are fine)."""
    remote = re.compile(r"""<(?:link|script|img)\b[^>]*\b(?:href|src)=["']?(?:https?:)?//""", re.I)
    hits = [f"{p.relative_to(site)}: {m.group(0)}" for p in site.rglob("*.html")
            for m in remote.finditer(p.read_text(encoding="utf-8"))]
    css = [p for p in site.rglob("*.css") if "fonts.googleapis" in p.read_text(encoding="utf-8", errors="replace")]
    assert not hits and not css, hits + [str(c) for c in css]


def test_the_committed_figures_are_shown_from_results(site: Path) -> None:
    assert (site / "results" / "quickstart" / "curve.png").read_bytes() == \
        (REPO / "results" / "quickstart" / "curve.png").read_bytes()


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs)
    (docs / "quickstart.md").write_text((docs / "quickstart.md").read_text(encoding="utf-8")
                                        + "\n[gone](tutorials/no-such-page.md)\n", encoding="utf-8")
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    config["docs_dir"] = str(docs)
    config["hooks"] = [str(REPO / "docs" / "hooks" / "pbs_docs.py")]
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            plugin["mkdocstrings"]["handlers"]["python"]["paths"] = [str(REPO)]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    res = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert res.returncode != 0
    assert "no-such-page.md" in res.stdout + res.stderr
