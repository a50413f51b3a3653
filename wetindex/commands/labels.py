"""``wetindex labels build``: an area's label store from Copernicus scenes, EMS maps and reports.

Training (``wetindex run train``) reads the store from ``var/<area>/labels/``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from wetindex.commands.common import (
    AreaOpt,
    Command,
    Group,
    RootOpt,
    configure_logging,
    project_root,
)

# The label builders are imported inside the command: they pull in xarray and the
# sources' HTTP stack, which `wetindex --help` must not load.

labels_app = typer.Typer(cls=Group, no_args_is_help=True, help="Observed water labels of an area.")


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg="red")
    return typer.Exit(1)


@labels_app.command("build", cls=Command)
def build(
    area: AreaOpt,
    start: Annotated[str, typer.Option(
        metavar="TIME", help="Start of the window (UTC, e.g. 2025-01-01).")],
    end: Annotated[str, typer.Option(metavar="TIME", help="End of the window (UTC).")],
    root: RootOpt = None,
    sensors: Annotated[str, typer.Option(
        help="Comma-separated: s1_grd, s2_l2a; 'none' for EMS/reports only.")] = "s1_grd,s2_l2a",
    orbit: Annotated[str | None, typer.Option(
        help="Sentinel-1 orbit direction: ascending|descending (default: the most "
             "frequent).")] = None,
    polarisation: Annotated[str, typer.Option(help="Sentinel-1 polarisation (VV).")] = "VV",
    max_cloud: Annotated[float, typer.Option(
        metavar="PERCENT", help="Sentinel-2 cloud cover at most (%).")] = 30.0,
    worldcover: Annotated[Path | None, typer.Option(
        help="ESA WorldCover GeoTIFF: class 80 is permanent water.")] = None,
    ems: Annotated[list[Path] | None, typer.Option(
        help="Copernicus EMS product folder (repeatable); every product in it is read.")] = None,
    reports: Annotated[list[Path] | None, typer.Option(
        help="Incident reports, CSV or GeoJSON (repeatable).")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Download cache folder.")] = None,
    offline: Annotated[bool, typer.Option(help="Serve only from the cache.")] = False,
) -> None:
    """Search, download and process scenes over the area; write its label store."""
    from wetindex.areas import load_area
    from wetindex.config import ConfigError
    from wetindex.model.label_build import SceneChoice, build_area_labels
    from wetindex.model.labels import LabelInputError
    from wetindex.sources.catalog import CatalogError
    from wetindex.sources.errors import SourceError

    configure_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    root = project_root(root)
    chosen = tuple(s.strip() for s in sensors.split(",") if s.strip() and s.strip() != "none")
    try:
        config = load_area(root, area)
        choice = SceneChoice(polarisation=polarisation.upper(), orbit_state=orbit,
                             max_cloud_cover=max_cloud)
        store, log, folder = build_area_labels(
            config, root, start, end, sensors=chosen, choice=choice, worldcover=worldcover,
            ems=ems, reports=reports, cache_dir=cache_dir, offline=offline or None)
    except (ConfigError, LabelInputError, SourceError, CatalogError, ValueError) as err:
        raise _fail(str(err)) from None
    for row in log:
        mark = "used   " if row["used"] else "skipped"
        typer.echo(f"{mark} {row['scene']}: {row['why']}")
    for m in store.summary():
        n = m["wet_cells"] + m["dry_cells"] + m["unknown_cells"] + m["permanent_cells"]
        typer.echo(f"{m['start'][:16]} {m['source']:10s} water {m['wet_cells']:7d} dry "
                   f"{m['dry_cells']:7d} unknown {m['unknown_cells'] / max(n, 1):5.1%}")
    typer.echo(f"label store: {len(store)} maps in {folder} (training reads it)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.add_typer(labels_app, name="labels")
