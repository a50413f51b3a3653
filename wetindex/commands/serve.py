"""`wetindex serve --area NAME`: the sign-up API (uvicorn), see :mod:`wetindex.alerts.serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    area: Annotated[str, typer.Option(help="Area name (areas/NAME.yaml) or file.")],
    host: Annotated[str | None, typer.Option(help="Listen address (default alerts.serve.host)."
                                             )] = None,
    port: Annotated[int | None, typer.Option(help="Port (default alerts.serve.port).")] = None,
    site: Annotated[bool, typer.Option(
        "--site/--no-site", help="Also serve the published site at / (API at /api/).")] = False,
    root: Annotated[Path | None, typer.Option(help="Project folder (default: here).")] = None,
) -> None:
    """Run the sign-up API behind the site's reverse proxy (one worker)."""
    from wetindex.alerts.crypto import MissingSecretKeyError
    from wetindex.alerts.delivery import DeliveryConfigError
    from wetindex.alerts.serve import serve as run_server
    from wetindex.cli import project_root
    from wetindex.commands.area import load_area
    from wetindex.config import ConfigError
    from wetindex.stages.context import AreaContext

    root = project_root(root)
    try:
        ctx = AreaContext(load_area(root, area), root)
        run_server(ctx, host=host, port=port, with_site=site)
    except (ConfigError, MissingSecretKeyError, DeliveryConfigError, FileNotFoundError) as err:
        typer.secho(str(err), err=True, fg="red")
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command()(serve)
