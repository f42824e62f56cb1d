"""The ``pbs-sim`` command line: a thin shell over the library.

Owns: argument parsing, the exit statuses, and dispatch to one module per command
(``pbs_sim/cli/<command>.py``, listed in ``COMMANDS`` and imported only when that command runs, so
``pbs-sim predict`` does not pay for SimPy or matplotlib). Errors:

- a ``PbsSimError`` (bad config, option or value) -> one line ``pbs-sim: error: FILE: KEY: REASON``
  on stderr, exit status 2, before any work;
- a usage error (unknown option, missing argument, bare ``pbs-sim``) -> Click's own
  ``Usage: ... / Try 'pbs-sim CMD -h' for help. / Error: ...`` (or the help), exit status 2;
- an ``OSError`` (read-only file system, permission, name too long, not a directory, a device) or
  running out of memory -> one line naming the path and the reason, exit status 3;
- Ctrl-C -> ``pbs-sim: interrupted``, exit status 130. No command prints a traceback for any of these.
Every command gets ``-q`` / ``-v`` here (``with_verbosity``, applied in ``LazyGroup.get_command``,
so a new command cannot miss them); they set ``pbs_sim.cli.progress.VERBOSITY`` for that command.
Must not touch: computation; everything a command does is callable from Python.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ..errors import PbsSimError

EXIT_USAGE = 2  # bad input or usage: nothing was done
EXIT_OS = 3  # the operating system refused a file operation (or memory)
EXIT_INTERRUPTED = 130

# Every command pbs-sim ships: name -> "module:attribute" (each module defines one click.Command).
# Add a command by adding its module and one line here.
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
    "export": "pbs_sim.cli.export:export",
    "loss": "pbs_sim.cli.loss:loss",
}


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    from . import progress

    # -q and -v are two options of one setting; Click calls this once for each, -q last wins over -v
    level = ctx.meta.setdefault("pbs_sim.verbosity", 0)
    if param.name == "quiet" and value:
        level = -1
    elif param.name == "verbose" and value and level >= 0:
        level = int(value)
    ctx.meta["pbs_sim.verbosity"] = level
    progress.set_verbosity(level)


VERBOSITY_OPTIONS = (
    click.Option(["-v", "--verbose"], count=True, expose_value=False, is_eager=True, callback=_set_verbosity,
                 help="Say more on stderr: what was read and checked (-vv: more still)."),
    click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, is_eager=True, callback=_set_verbosity,
                 help="No progress and no informational lines on stderr; results and errors only."),
)


def with_verbosity(cmd: click.Command) -> click.Command:
    """Give ``cmd`` the -q / -v options every pbs-sim command has (once)."""
    names = {p.name for p in cmd.params}
    cmd.params.extend(o for o in VERBOSITY_OPTIONS if o.name not in names)
    return cmd


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        cmd = getattr(importlib.import_module(module), attr)
        assert isinstance(cmd, click.Command)
        return with_verbosity(cmd)


@click.group(cls=LazyGroup, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pbs-sim", prog_name="pbs-sim")
def cli() -> None:
    """Staleness, repair and durability of Dynamo-style replicated stores.

    Analytic PBS predictions (`predict`), discrete-event simulation (`run`), parameter sweeps
    (`sweep`) and plots (`plot`). Every command takes --help.

    Exit status: 0 ok; 1 a sweep replication failed or did not run; 2 bad input or usage (nothing
    was done); 3 the operating system refused a file operation; 130 interrupted.
    """


def fail(message: str, status: int = EXIT_USAGE) -> None:
    """Print one line to stderr and exit with ``status``."""
    click.echo(f"pbs-sim: error: {' '.join(message.split())}", err=True)
    sys.exit(status)


def os_error_line(exc: OSError) -> str:
    """``PATH: reason`` for an OSError (the path the OS refused, its own words for why)."""
    reason = exc.strerror or str(exc)
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return ": ".join([*paths, reason]) if paths else reason


def main(argv: list[str] | None = None) -> Any:
    from . import progress

    try:
        return cli.main(args=argv, prog_name="pbs-sim", standalone_mode=False)
    except PbsSimError as exc:
        fail(str(exc))
    except click.exceptions.Abort as exc:
        # Click turns Ctrl-C inside a command into Abort; an Abort of Click's own (a declined prompt)
        # has no KeyboardInterrupt behind it
        interrupted = isinstance(exc.__context__, KeyboardInterrupt)
        click.echo(f"pbs-sim: {'interrupted' if interrupted else 'aborted'}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:  # usage errors: Click's own format (Usage / Try / Error)
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("pbs-sim: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:
        fail(os_error_line(exc), EXIT_OS)
    except MemoryError:
        fail("out of memory (lower the size of the run: operations, trials, keys or replications)", EXIT_OS)
    finally:
        progress.set_verbosity(0)  # -q / -v hold for one command (main may run again in this process)
    return None
