"""The ``pbs-sim`` command line: a thin shell over the library.

Owns: argument parsing, turning every ``PbsSimError`` and usage mistake into one line on stderr with
exit status 2 (no traceback), and dispatch to one module per command (``pbs_sim/cli/<command>.py``),
imported lazily so ``pbs-sim predict`` does not pay for SimPy or matplotlib.
Must not touch: computation; everything a command does is callable from Python.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ..errors import PbsSimError

# command name -> "module:attribute"; each module defines one click.Command.
COMMANDS: dict[str, str] = {
    "profiles": "pbs_sim.cli.profiles:profiles",
    "predict": "pbs_sim.cli.predict:predict",
    "run": "pbs_sim.cli.run:run",
    "validate": "pbs_sim.cli.validate:validate",
    "sweep": "pbs_sim.cli.sweep:sweep",
    "plot": "pbs_sim.cli.plot:plot",
    "recommend": "pbs_sim.cli.recommend:recommend",
    "explore": "pbs_sim.cli.explore:explore",
    "check": "pbs_sim.cli.check:check",
    "export": "pbs_sim.cli.check:export",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                return _unavailable(cmd_name)
            raise
        cmd = getattr(mod, attr)
        assert isinstance(cmd, click.Command)
        return cmd


def _unavailable(name: str) -> click.Command:
    @click.command(name, help="(not available in this build)")
    def _cmd() -> None:
        raise PbsSimError(f"the '{name}' command is not available in this build")

    return _cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pbs-sim", prog_name="pbs-sim")
def cli() -> None:
    """Staleness, repair and durability of Dynamo-style replicated stores.

    Analytic PBS predictions (`predict`), discrete-event simulation (`run`), parameter sweeps
    (`sweep`) and plots (`plot`). Every command takes --help.
    """


def fail(message: str) -> None:
    """Print one line to stderr and exit with status 2."""
    click.echo(f"pbs-sim: error: {message}", err=True)
    sys.exit(2)


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="pbs-sim", standalone_mode=False)
    except PbsSimError as exc:
        fail(str(exc))
    except click.exceptions.Abort:
        click.echo("pbs-sim: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        path = ctx.command_path if ctx is not None else ""
        where = path.removeprefix("pbs-sim").strip()
        fail((f"{where}: " if where else "") + " ".join(exc.format_message().split()))
    except KeyboardInterrupt:
        click.echo("pbs-sim: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    return None
