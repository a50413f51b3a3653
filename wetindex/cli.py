"""The ``wetindex`` command line: thin over importable functions.

Logging is configured here, never at import.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from wetindex.config import demo_start_ending_now

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="wetindex: local flood warnings 48 hours ahead, cell by cell.")


@app.callback()
def _commands() -> None:
    """wetindex: local flood warnings 48 hours ahead, cell by cell."""


def project_root(root: Path | None) -> Path:
    """The project folder holding ``pipelines/``, ``models/`` and ``web/``."""
    candidate = Path(root or os.environ.get("WETINDEX_ROOT") or Path.cwd()).resolve()
    if not (candidate / "pipelines" / "flows.py").exists():
        typer.secho(
            f"{candidate} is not a wetindex project folder (no pipelines/flows.py). Run from "
            "the repository's folder or pass --root / set WETINDEX_ROOT.", err=True, fg="red")
        raise typer.Exit(2)
    return candidate


def _configure_logging() -> None:
    # wetindex's own progress at INFO; the HTTP chatter of Prefect's client stays quiet
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("wetindex").setLevel(logging.INFO)


def _prefect_environment(root: Path) -> None:
    # keep Prefect's database with the project, and send no usage telemetry
    home = Path(os.environ.setdefault("PREFECT_HOME", str(root / "var" / "prefect")))
    home.mkdir(parents=True, exist_ok=True)  # Prefect makes only the last folder itself
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # the temporary server can take over a minute to start on a busy 2-core machine
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _load_flow(root: Path, name: str):
    _prefect_environment(root)
    from prefect.flows import load_flow_from_entrypoint

    return load_flow_from_entrypoint(f"{root / 'pipelines' / 'flows.py'}:{name}")


@app.command()
def demo(
    root: Annotated[Path | None, typer.Option(help="Project folder (default: here).")] = None,
    size_m: Annotated[float, typer.Option(help="Side of the square demo area [m].")] = 10_000.0,
    years: Annotated[float, typer.Option(help="Years of hourly demo history.")] = 3.0,
    seed: Annotated[int, typer.Option(help="Seed of the demo world.")] = 42,
    start: Annotated[str | None, typer.Option(
        help="Start of the demo history (UTC, e.g. 2023-01-01T00:00). Default: so that the "
             "history ends now and the forecast is issued at the current 3-hour slot.")] = None,
    storm_ahead_h: Annotated[int | None, typer.Option(
        help="Hours after the issue time at which a storm surge overtops the demo dike "
             "(0 for none).")] = 20,
) -> None:
    """Run the main job on the built-in demo area, as a Prefect flow."""
    _configure_logging()
    root = project_root(root)
    started = time.perf_counter()
    typer.echo(f"wetindex demo: {size_m / 1000:.0f} × {size_m / 1000:.0f} km, {years:g} years "
               "of history. Prefect starts a temporary local server first (~20 s).")
    start = start or demo_start_ending_now(years)
    flow = _load_flow(root, "demo_flow")
    result = flow(root=str(root), size_m=size_m, years=years, seed=seed, start=start,
                  storm_ahead_h=storm_ahead_h or None)
    minutes = (time.perf_counter() - started) / 60
    site = result.site / "current"
    typer.echo("")
    typer.secho(f"Done in {minutes:.1f} min.", fg="green", bold=True)
    typer.echo(f"  forecast  {result.forecast}  (forecast.nc, geotiff/, warnings.geojson)")
    typer.echo(f"  model     {result.model}  (model.txt, metadata.json, model_card.md)")
    typer.echo(f"  site      {site}")
    typer.echo(f"  CAP feed  {result.feed / 'atom.xml'}")
    typer.echo(f"  alerts    {result.alerts.mail_dir}  ({result.alerts.sent} e-mails received by "
               f"the local mail server, {result.alerts.decisions} alert decisions)")
    typer.echo("")
    typer.echo("Open the site:")
    typer.echo(f"  python -m http.server --directory {site} 8000   then http://localhost:8000/")
    typer.echo(f"  or open {site / 'index.html'} in a browser")
    typer.echo("  with sign-up for alerts: wetindex serve --area demo --site   then "
               "http://localhost:8000/signup.html (mails land in the alerts folder above)")


def _register_command_modules() -> None:
    from importlib import import_module

    from wetindex.commands import MODULES

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
