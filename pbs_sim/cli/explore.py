"""``pbs-sim explore``: serve the interactive explorer on localhost.

Owns: the command's options, refusing an address or port the server could not use (one line,
exit status 2, before anything is served or said), and the line that says where the page is,
printed only once the port is bound. Must not touch: the page (``pbs_sim.explore.app``) or
computation. Ctrl-C ends the server with ``pbs-sim: interrupted``, exit status 130 (``serve``
raises ``KeyboardInterrupt``; ``pbs_sim.cli.main`` reports it as for every command).
"""

from __future__ import annotations

import errno
import os
import socket

import click

from ..errors import ConfigError


def check_bindable(address: str, port: int) -> None:
    """Bind every address ``address`` resolves to on ``port`` as the server will (Tornado's
    ``bind_sockets``: SO_REUSEADDR, IPv6 sockets IPv6-only), then let go: the address or port the
    server could not use is refused here, before Bokeh prints a traceback for it."""
    if not address.strip():
        raise ConfigError("--address", None, "empty; give a host name or an IPv4 address (127.0.0.1 by default)")
    if ":" in address:
        # Bokeh's websocket-origin check splits host:port at every ':', so an IPv6 literal cannot be served
        raise ConfigError("--address", None, f"{address!r} is an IPv6 address; the page server (Bokeh) takes host "
                          "names and IPv4 addresses only (127.0.0.1, localhost, 0.0.0.0 or this host's name)")
    try:
        infos = socket.getaddrinfo(address, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError("--address", None, f"cannot resolve {address!r} ({reason})") from None
    for family, kind, proto, _, sockaddr in sorted(set(infos), key=str):
        try:
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            if exc.errno == errno.EAFNOSUPPORT:
                continue  # no IPv6 on this host: Tornado skips the family too
            raise
        try:
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL and address == "localhost" and sockaddr[0] == "::1":
                continue  # localhost without IPv6 loopback: Tornado serves IPv4 only, so may we
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError("--port", None, f"{port} is in use on {address} (another server listens there; "
                                  "choose another --port)") from None
            raise ConfigError("--address", None, f"cannot serve on {address} port {port}: "
                              f"{exc.strerror or exc}") from None
        finally:
            sock.close()


@click.command("explore")
@click.option("--port", type=int, default=5006, show_default=True, help="TCP port to serve on.")
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Interface to bind (localhost by default; 0.0.0.0 exposes it to the network). "
                   "A host name or IPv4 address.")
@click.option("--no-browser", is_flag=True, help="Do not open a browser window.")
def explore(port: int, address: str, no_browser: bool) -> None:
    """Explore N, R, W, latency profiles and targets in the browser: the t-visibility curve with
    its confidence band, latency CDFs, every (R, W) trade-off and the recommender's table, live.
    The URL carries the state, so a view can be shared.

    Example: pbs-sim explore --port 5006
    """
    if not 0 < port < 65536:
        raise ConfigError("--port", None, f"must be between 1 and 65535, got {port}")
    check_bindable(address, port)
    from ..explore.app import serve

    host = "localhost" if address in ("127.0.0.1", "localhost") else address

    def ready() -> None:
        click.echo(f"pbs-sim explore: serving at http://{host}:{port}/ (Ctrl-C to stop)", err=True)

    serve(port=port, address=address, show=not no_browser, ready=ready)
