"""The ``wetindex`` command line: thin over importable functions.

Logging is configured here, never at import. ``wetindex --help`` imports only Typer
and the command modules' signatures: each command imports the heavy stacks (pandas,
xarray, Dask, Prefect) when it runs, which keeps help well under a second.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from wetindex import __version__
from wetindex.commands import MODULES
from wetindex.commands.common import (
    Command,
    Group,
    RootOpt,
    configure_logging,
    plural,
    project_root,
    set_verbosity,
    verbosity,
)

app = typer.Typer(cls=Group, add_completion=False, no_args_is_help=True,
                  help="wetindex: local flood warnings 48 hours ahead, cell by cell.")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"wetindex {__version__}")
        raise typer.Exit()


@app.callback()
def _commands(
    version: Annotated[bool, typer.Option(
        "--version", metavar="", callback=_show_version, is_eager=True,
        help="Show the version and exit.")] = False,
    verbose: Annotated[int, typer.Option(
        "--verbose", "-v", metavar="", count=True, show_default=False,
        help="More detail: -v wetindex's debug messages, -vv the libraries' too.")] = 0,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", metavar="", help="Only warnings and errors.")] = False,
) -> None:
    """wetindex: local flood warnings 48 hours ahead, cell by cell."""
    set_verbosity(verbose, quiet)


def _prefect_environment(root: Path) -> None:
    # keep Prefect's database with the project, and send no usage telemetry
    home = Path(os.environ.setdefault("PREFECT_HOME", str(root / "var" / "prefect")))
    home.mkdir(parents=True, exist_ok=True)  # Prefect makes only the last folder itself
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the temporary server can take over a minute to start on a busy 2-core machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    # Prefect's own run messages ("Finished in state Completed()") only with -v: the
    # demo shows its stages itself (wetindex.progress)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbosity() > 0 else "WARNING")


def _load_flow(root: Path, name: str):
    _prefect_environment(root)
    # Prefect takes seconds to import: only the commands that run a flow load it
    from prefect.flows import load_flow_from_entrypoint

    return load_flow_from_entrypoint(f"{root / 'pipelines' / 'flows.py'}:{name}")


@app.command(cls=Command)
def demo(
    root: RootOpt = None,
    size_m: Annotated[float, typer.Option(
        metavar="M", help="Side of the square demo area (m).")] = 10_000.0,
    years: Annotated[float, typer.Option(
        metavar="YEARS", help="Years of hourly demo history.")] = 3.0,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the demo world.")] = 42,
    start: Annotated[str | None, typer.Option(
        metavar="TIME",
        help="Start of the demo history (UTC, e.g. 2023-01-01T00:00). Default: so that the "
             "history ends now and the forecast is issued at the current 3-hour slot.")] = None,
    storm_ahead_h: Annotated[int | None, typer.Option(
        metavar="HOURS",
        help="Hours after the issue time at which a storm surge overtops the demo dike "
             "(0 for none).")] = 20,
) -> None:
    """Run the main job on the built-in demo area, as a Prefect flow."""
    from rich.console import Console

    from wetindex import progress
    from wetindex.config import demo_start_ending_now  # pandas: only when a command runs

    console = Console(highlight=False)
    configure_logging(console)
    root = project_root(root)
    started = time.perf_counter()
    console.print(f"wetindex demo: {size_m / 1000:g} × {size_m / 1000:g} km, {years:g} years "
                  "of history. Prefect starts a temporary local server first (~20 s).")
    start = start or demo_start_ending_now(years)
    flow = _load_flow(root, "demo_flow")
    with progress.shown(console):
        result = flow(root=str(root), size_m=size_m, years=years, seed=seed, start=start,
                      storm_ahead_h=storm_ahead_h or None)
    minutes = (time.perf_counter() - started) / 60
    _print_demo_result(result, minutes)


def _print_demo_result(result, minutes: float) -> None:
    """Where the demo's products are, with the model's skill and the alerts sent."""
    site = result.site / "current"
    typer.echo("")
    typer.secho(f"Done in {minutes:.1f} min.", fg="green", bold=True)
    metadata = json.loads((result.model / "metadata.json").read_text(encoding="utf-8"))
    evaluation = metadata.get("evaluation") or {}
    skill = (evaluation.get("scores") or {}).get("model", {}).get("brier_skill") or []
    if skill:
        typer.echo("  skill     Brier skill score by lead bin (vs. climatology): " + "  ".join(
            f"{b} {v:.2f}" for b, v in zip(evaluation.get("lead_bins", []), skill,
                                           strict=False)))
    typer.echo(f"  forecast  {result.forecast}  (forecast.nc, geotiff/, warnings.geojson)")
    typer.echo(f"  model     {result.model}  (model.txt, metadata.json, model_card.md)")
    typer.echo(f"  site      {site}")
    typer.echo(f"  CAP feed  {result.feed / 'atom.xml'}")
    typer.echo(f"  alerts    {result.alerts.mail_dir}  "
               f"({plural(result.alerts.sent, 'e-mail')} received by the local mail server, "
               f"{plural(result.alerts.decisions, 'alert decision')})")
    typer.echo("")
    typer.echo("Open the site:")
    typer.echo(f"  python -m http.server --directory {site} 8000   then http://localhost:8000/")
    typer.echo(f"  or open {site / 'index.html'} in a browser")
    typer.echo("  with sign-up for alerts: wetindex serve --area demo --site   then "
               "http://localhost:8000/signup.html (mails land in the alerts folder above)")


def _register_command_modules() -> None:
    from importlib import import_module  # the modules are named in wetindex.commands

    for name in MODULES:
        import_module(f"wetindex.commands.{name}").register(app)


_register_command_modules()


def main() -> None:  # pragma: no cover - console entry point
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:  # any command: one line for the operator, never a traceback
        from wetindex.failsafe import one_line, save_traceback

        saved = save_traceback(Path(os.environ.get("WETINDEX_ROOT") or Path.cwd()) / "var"
                               / "logs", err)
        typer.secho(f"wetindex: {one_line(err)}" + (f"  (details: {saved})" if saved else ""),
                    err=True, fg="red")
        sys.exit(1)


if __name__ == "__main__":  # python -m wetindex.cli
    main()
