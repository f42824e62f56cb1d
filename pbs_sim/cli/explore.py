"""``pbs-sim explore``: serve the interactive explorer on localhost.

Owns: the command's options and the line that says where the page is. Must not touch: the page
(``pbs_sim.explore.app``) or computation.
"""

from __future__ import annotations

import click

from ..errors import ConfigError


@click.command("explore")
@click.option("--port", type=int, default=5006, show_default=True, help="TCP port to serve on.")
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Interface to bind (localhost by default; 0.0.0.0 exposes it to the network).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
def explore(port: int, address: str, no_browser: bool) -> None:
    """Explore N, R, W, latency profiles and targets in the browser: the t-visibility curve with
    its confidence band, latency CDFs, every (R, W) trade-off and the recommender's table, live.
    The URL carries the state, so a view can be shared.

    Example: pbs-sim explore --port 5006
    """
    if not 0 < port < 65536:
        raise ConfigError("--port", None, f"must be between 1 and 65535, got {port}")
    from ..explore.app import serve

    host = "localhost" if address in ("127.0.0.1", "localhost") else address
    click.echo(f"pbs-sim explore: serving at http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    serve(port=port, address=address, show=not no_browser)
