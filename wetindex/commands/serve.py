"""`wetindex serve --area NAME`: the sign-up API (uvicorn), see :mod:`wetindex.alerts.serve`."""

from __future__ import annotations

from typing import Annotated

import typer

from wetindex.areas import load_area
from wetindex.commands.common import AreaOpt, Command, RootOpt, project_root

# The sign-up API (FastAPI, uvicorn, SQLAlchemy) is imported when the command runs,
# not for `wetindex --help`.


def serve(
    area: AreaOpt,
    host: Annotated[str | None, typer.Option(
        metavar="ADDRESS", help="Listen address (default alerts.serve.host).")] = None,
    port: Annotated[int | None, typer.Option(
        metavar="PORT", help="Port (default alerts.serve.port).")] = None,
    site: Annotated[bool, typer.Option(
        "--site/--no-site", help="Also serve the published site at / (API at /api/).")] = False,
    root: RootOpt = None,
) -> None:
    """Run the sign-up API behind the site's reverse proxy (one worker)."""
    from wetindex.alerts.crypto import MissingSecretKeyError
    from wetindex.alerts.delivery import DeliveryConfigError
    from wetindex.alerts.serve import serve as run_server
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
    app.command(cls=Command)(serve)
