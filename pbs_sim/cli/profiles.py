"""``pbs-sim profiles``: list the built-in WARS profiles (or one user profile file)."""

from __future__ import annotations

import click

from ..io import dumps
from ..profiles import BUILTIN, get_profile


@click.command("profiles")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: name -> {w, a, r, s, ...}.")
def profiles(names: tuple[str, ...], as_json: bool) -> None:
    """List latency profiles: the PBS paper's production fits and any NAMES given (names or .toml paths)."""
    chosen = [get_profile(n, source="profiles") for n in names] if names else list(BUILTIN.values())
    if as_json:
        click.echo(dumps({p.name: {**p.to_dict(), "description": p.description} for p in chosen}, indent=2))
        return
    for p in chosen:
        click.echo(f"{p.name}: {p.description}")
        for delay, text in p.rows():
            click.echo(f"  {delay:<3} {text}")
        click.echo("")
