"""`wetindex` commands: ``sources`` (the catalog) and ``fetch`` (into the cache).

``wetindex fetch --area NAME`` loads ``areas/NAME.yaml`` under the project folder;
``--config PATH`` gives the area configuration file directly. The area needs a
``grid:`` section (``wetindex init`` writes one); ``--bbox`` overrides the extent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from wetindex.commands.common import Command

# wetindex.sources.* are imported inside the commands: they pull in rioxarray and
# Dask, which `wetindex --help` must not load.


def _root(root: Path | None) -> Path:
    return Path(root or os.environ.get("WETINDEX_ROOT") or Path.cwd()).resolve()


def _catalog_dir(root: Path) -> Path:
    from wetindex.sources.catalog import DEFAULT_CATALOG_DIR

    here = root / "data_sources"
    return here if any(here.glob("*.yaml")) else DEFAULT_CATALOG_DIR


def list_sources(root: Annotated[Path | None, typer.Option(
        metavar="DIR", help="Project folder (default: here or WETINDEX_ROOT).")] = None) -> None:
    """List every data source with its licence and attribution."""
    from rich.console import Console
    from rich.table import Table

    from wetindex.sources.catalog import CatalogError
    from wetindex.sources.registry import sources_table

    try:
        entries = sources_table(_catalog_dir(_root(root)))
    except CatalogError as err:
        typer.secho(str(err), err=True, fg="red")
        raise typer.Exit(2) from None
    table = Table(title="wetindex data sources", show_lines=False)
    for col in ("id", "inputs", "region", "licence", "attribution", "credentials"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(e.id, ", ".join(e.families), e.region + (" (coarse)" if e.coarse else ""),
                      e.licence, e.attribution, ", ".join(e.credentials) or "-")
    Console(width=160).print(table)


def _area_request(area: str | None, config: Path | None, root: Path,
                  bbox: str | None, municipality: str | None, url: str | None) -> Any:
    from wetindex.config import ConfigError, load_config
    from wetindex.grid import AreaGrid
    from wetindex.sources.registry import AreaRequest

    grid = None
    name = area or "area"
    if config is not None or area is not None:
        path = Path(config) if config is not None else root / "areas" / f"{area}.yaml"
        try:
            cfg = load_config(path)
        except ConfigError as err:
            typer.secho(str(err), err=True, fg="red")
            raise typer.Exit(2) from None
        name = cfg.name
        if cfg.grid is not None:
            grid = AreaGrid(**cfg.grid.model_dump())
    if bbox:
        try:
            west, south, east, north = (float(v) for v in bbox.split(","))
        except ValueError:
            typer.secho(f"--bbox {bbox!r}: give west,south,east,north in degrees", err=True,
                        fg="red")
            raise typer.Exit(2) from None
        return AreaRequest(name, (west, south, east, north), grid=grid,
                           municipality=municipality, url=url)
    if grid is None:
        typer.secho(f"area '{name}' has no grid: section; give one in the config (wetindex "
                    "init writes it) or pass --bbox west,south,east,north", err=True, fg="red")
        raise typer.Exit(2)
    return AreaRequest.from_grid(name, grid, municipality=municipality, url=url)


def _describe(result: Any) -> str:
    if isinstance(result, dict):
        return "; ".join(f"{k}: {_describe(v)}" for k, v in result.items())
    if hasattr(result, "dims"):
        dims = ", ".join(f"{d} {n}" for d, n in result.sizes.items())
        text = f"{getattr(result, 'name', '')} ({dims})"
        if "time" in result.dims and result.sizes["time"]:
            text += f" {str(result.time.values[0])[:16]} … {str(result.time.values[-1])[:16]}"
        return text
    if hasattr(result, "geometry"):
        return f"{len(result)} features"
    return str(result)


def fetch(
    source: Annotated[str, typer.Option(
        metavar="ID", help="Source id (see 'wetindex sources').")],
    start: Annotated[str, typer.Option(
        metavar="TIME", help="Start of the window (UTC, e.g. 2026-11-01T00:00).")],
    end: Annotated[str, typer.Option(metavar="TIME", help="End of the window (UTC).")],
    area: Annotated[str | None, typer.Option(
        metavar="NAME", help="Area name: areas/NAME.yaml.")] = None,
    config: Annotated[Path | None, typer.Option(help="Area configuration file.")] = None,
    root: Annotated[Path | None, typer.Option(metavar="DIR", help="Project folder.")] = None,
    bbox: Annotated[str | None, typer.Option(
        metavar="W,S,E,N", help="west,south,east,north (WGS84 degrees).")] = None,
    municipality: Annotated[str | None, typer.Option(
        metavar="CODE", help="Kommunekode (DAGI).")] = None,
    url: Annotated[str | None, typer.Option(
        metavar="URL", help="File URL (HIP groundwater).")] = None,
    cache_dir: Annotated[Path | None, typer.Option(metavar="DIR", help="Cache folder.")] = None,
    offline: Annotated[bool, typer.Option(help="Serve only from the cache.")] = False,
) -> None:
    """Fetch one source for an area and a time window into the cache."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from wetindex.sources.catalog import CatalogError
    from wetindex.sources.errors import SourceError
    from wetindex.sources.registry import fetch as fetch_source
    from wetindex.sources.registry import open_session

    project = _root(root)
    request = _area_request(area, config, project, bbox, municipality, url)
    cache = Path(cache_dir or project / "var" / "cache")  # the one cache (live.cache_folder)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  transient=False) as progress:
        task = progress.add_task(f"{source}: 0 answers", total=None)
        counts = {"net": 0, "cache": 0}

        def on_answer(answer: Any) -> None:
            counts["cache" if answer.from_cache else "net"] += 1
            progress.update(task, description=f"{source}: {counts['net']} fetched, "
                            f"{counts['cache']} from cache")

        try:
            session = open_session(source, cache, offline=offline or None,
                                   catalog_dir=_catalog_dir(project), on_answer=on_answer)
            result = fetch_source(session, request, start, end)
        except (SourceError, CatalogError, ValueError) as err:
            progress.stop()
            typer.secho(str(err), err=True, fg="red")
            raise typer.Exit(1) from None
    typer.echo(f"{source} for {request.name}: {counts['net']} fetched, {counts['cache']} from "
               f"cache ({cache})")
    typer.echo(f"  {_describe(result)}")
    typer.echo(f"  licence: {session.entry.licence}; attribution: {session.entry.attribution}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("sources", cls=Command)(list_sources)
    app.command("fetch", cls=Command)(fetch)
