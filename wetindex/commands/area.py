"""`wetindex` commands for an area: ``init``, ``check``, ``run``, ``status``.

An area is one file, ``areas/<name>.yaml`` under the project folder (the built-in
``demo`` area needs none). ``init`` writes it from a boundary and local input files;
``check`` says what blocks a run; ``run`` runs stages (resuming what is done);
``status`` reports health and exits non-zero when the forecast is stale.
"""

from __future__ import annotations

import json
import logging
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wetindex.areas import AREAS_DIR, area_file, load_area
from wetindex.commands.common import AreaOpt, Command, RootOpt, configure_logging, project_root
from wetindex.commands.common import fail as _fail
from wetindex.config import INPUT_KINDS, AreaConfig, ConfigError

# The stages' modules are imported inside the commands: they pull in xarray, Dask and
# LightGBM, which `wetindex --help` must not load.

__all__ = ["AREAS_DIR", "area_file", "check_area", "load_area"]


class Stage(StrEnum):
    """A stage of ``wetindex run`` (wetindex.stages.run.STAGES, in order), or all of them."""

    static = "static"
    history = "history"
    train = "train"
    forecast = "forecast"
    publish = "publish"
    alerts = "alerts"
    all = "all"


class Method(StrEnum):
    """How ``wetindex run`` forecasts: the area's rule, the physical forecast or the model."""

    auto = "auto"
    physical = "physical"
    learned = "learned"


def _parse_inputs(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        kind, sep, path = item.partition("=")
        if not sep or kind not in INPUT_KINDS or not path:
            raise _fail(f"--input {item!r}: expected KIND=PATH with KIND one of "
                        f"{', '.join(INPUT_KINDS)}", 2)
        if kind == "groundwater" and _is_number(path):  # a constant depth [m] (README)
            out[kind] = str(float(path))
            continue
        p = Path(path).expanduser()
        if not p.exists():
            raise _fail(f"--input {kind}={path}: no such file", 2)
        out[kind] = str(p.resolve())
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _kommune_boundary(root: Path, code: str, crs: str, out: Path) -> Path:
    """The municipality from the DAGI service (``wetindex.sources.dagi``), saved to ``out``."""
    hint = ("or give the boundary as a file: --aoi FILE --name NAME (with --kommune CODE to "
            "pick one municipality from a file of many, e.g. DAGI's kommuner GeoJSON)")
    try:
        from wetindex.sources import dagi
        from wetindex.sources.cache import ResponseCache
        from wetindex.sources.catalog import load_catalog
        from wetindex.sources.http import HttpClient
        from wetindex.sources.session import SourceSession

        entry = next(e for e in load_catalog(
            None if os.environ.get("WETINDEX_CATALOG_DIR") else root / "data_sources").values()
                     if "dagi" in e.id.lower())
        session = SourceSession(entry, HttpClient(), ResponseCache(root / "var" / "cache"))
        frame = dagi.fetch_boundary(session, code, crs=crs)
    except (ImportError, StopIteration) as err:
        raise _fail(f"--kommune {code}: the DAGI boundary service is not available here "
                    f"({type(err).__name__}); {hint}") from None
    except Exception as err:  # credentials, network, service answers: all need the file route
        raise _fail(f"--kommune {code}: {err}; {hint}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_crs("EPSG:4326").to_file(out, driver="GeoJSON")
    return out


def _config_text(name: str, title: str, grid: dict, inputs: dict[str, str], boundary: Path,
                 cell_size: float) -> str:
    def entry(kind: str, why: str) -> str:
        if kind in inputs:
            return f"    {kind}: {inputs[kind]}   # {why}\n"
        return f"    # {kind}: PATH   # {why} (not given)\n"

    return (
        f"# wetindex area '{name}': written by 'wetindex init'. Edit freely; unknown keys are\n"
        "# rejected. Check it with: wetindex check --area " + name + "\n"
        f"name: {name}\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
        "source: local            # inputs from the local files below\n"
        f"# the area grid: the boundary plus a margin, {cell_size:g} m cells\n"
        "grid:\n" + "".join(f"  {k}: {v}\n" for k, v in grid.items()) +
        "inputs:\n"
        f"    boundary: {boundary}   # the area polygon (checked, lon/lat)\n"
        + entry("terrain", "GeoTIFF, any CRS; resampled onto the grid")
        + entry("rain", "CSV time (UTC) + rain [mm/h], or NetCDF; none: sea warnings only")
        + entry("sea_level", "CSV time + sea_level [m]; add 'units: cm' for DMI's cm")
        + entry("evaporation", "CSV time + evaporation [mm/d]; none: a Danish climatology")
        + entry("groundwater", "GeoTIFF depth to water table [m] or a number; none: 2 m")
        + entry("labels", "observed water (NetCDF time,y,x or polygons with 'time'); "
                          "needed to train")
        + entry("dikes", "lines with the crest [m]; set 'variable: ATTR' if not crest_m")
        + entry("water", "permanent water polygons (lakes): features, never warned")
        + entry("streams", "stream lines: features")
        + entry("sea", "sea polygons; none: low/nodata terrain connected to the edge")
        + entry("places", "named polygons with a 'name'; none: 2 km tiles")
        + entry("forecast", "CSV of archived driver forecasts: issue_time, time, sea_level, "
                            "rain; none: persistence")
        + "    sea_below_m: 0.0      # terrain at/below this connected to the edge is sea\n"
        "thresholds:               # probability at which each warning level starts\n"
        "  yellow: 0.2\n  orange: 0.4\n  red: 0.7\n"
        "forecast:\n  max_lead_h: 48\n  issue_every_h: 3\n"
        "  method: auto            # auto: learned model once it passed its gate, else physical\n"
        "  stale_after_h: 6        # 'wetindex status' exits non-zero beyond this age\n"
        "schedule:                 # used by pipelines/prefect.yaml (cron, UTC)\n"
        "  forecast_cron: 45 1-22/3 * * *   # after each HARMONIE run is published\n"
        "  housekeeping_cron: 30 4 * * *\n  retention_days: 30\n  cache_max_age_days: 60\n"
        "dask:\n"
        "  scheduler_address: null # e.g. tcp://scheduler:8786 to run on a Dask cluster\n"
        "  chunk_cells: 250000\n"
    )


def init(
    kommune: Annotated[str | None, typer.Option(
        metavar="CODE", help="Danish municipality code, e.g. 0849.")] = None,
    aoi: Annotated[Path | None, typer.Option(help="Boundary file (GeoJSON, GeoPackage, "
                                                  "Shapefile; any CRS).")] = None,
    name: Annotated[str | None, typer.Option(
        metavar="NAME", help="Area name (a-z, 0-9, - and _).")] = None,
    title: Annotated[str | None, typer.Option(help="Title shown on the site.")] = None,
    cell_size: Annotated[float, typer.Option(metavar="M", help="Cell size (m).")] = 10.0,
    crs: Annotated[str, typer.Option(help="Projected CRS of the area grid.")] = "EPSG:25832",
    margin_m: Annotated[float, typer.Option(
        metavar="M", help="Margin around the boundary (m).")] = 500.0,
    input: Annotated[list[str] | None, typer.Option(  # the documented option name
        metavar="KIND=PATH",
        help="KIND=PATH, KIND one of " + ", ".join(INPUT_KINDS) + " (repeatable).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing area file.")] = False,
    root: RootOpt = None,
    live: Annotated[bool | None, typer.Option(
        help="Inputs from live open data (default with --kommune and no --aoi).")] = None,
) -> None:
    """Write areas/NAME.yaml for a new area from a boundary and local input files."""
    from wetindex.grid import AreaGrid
    from wetindex.plausibility import ImplausibleInput, check_grid_size
    from wetindex.sources.local_boundary import BoundaryError, grid_for, read_boundary

    root = project_root(root)
    if aoi is None and kommune is None:
        raise _fail("give --aoi FILE --name NAME, or --kommune CODE", 2)
    inputs = _parse_inputs(input or [])
    name = name or (f"kommune-{kommune.zfill(4)}" if kommune else None)
    if name is None:
        raise _fail("--aoi needs --name NAME (the area's name, e.g. jammerbugt)", 2)
    target = area_file(root, name)
    if target.exists() and not force:
        raise _fail(f"{target} exists; pass --force to overwrite it", 2)
    boundary_file = root / AREAS_DIR / f"{name}.boundary.geojson"
    source = aoi if aoi is not None else _kommune_boundary(root, kommune, crs, boundary_file)
    try:
        boundary = read_boundary(source, crs, code=kommune if aoi is not None else None)
        grid = grid_for(boundary, cell_size, margin_m)
        check_grid_size(grid["nx"], grid["ny"], cell_size)  # before any array is allocated
    except (BoundaryError, ImplausibleInput) as err:
        raise _fail(str(err), 2) from None
    import geopandas as gpd

    boundary_file.parent.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame({"name": [boundary.title]}, geometry=[boundary.geometry],
                     crs=boundary.crs).to_crs("EPSG:4326").to_file(boundary_file,
                                                                   driver="GeoJSON")
    live = aoi is None if live is None else live
    if live:
        from wetindex.sources.live_init import discover, live_config_text, live_section

        found = discover(AreaGrid(**grid), boundary.geometry, root / "var" / "cache")
        text = live_config_text(name, title or boundary.title, grid, live_section(
            boundary_file, kommune, found, inputs), cell_size)
        for note in found.notes:
            typer.echo(f"  {note}")
        inputs = {**inputs, "terrain": "live", "rain": "live", "sea_level": "live"}
    else:
        text = _config_text(name, title or boundary.title, grid, inputs, boundary_file,
                            cell_size)
    try:  # what init writes must load
        import yaml

        from wetindex.config import parse_config

        missing = [k for k in ("terrain", "sea_level") if k not in inputs]  # rain: optional
        if not missing:
            parse_config(yaml.safe_load(text), str(target))
    except ConfigError as err:
        raise _fail(str(err), 2) from None
    target.write_text(text, encoding="utf-8")
    typer.echo(f"Wrote {target}")
    typer.echo(f"  boundary {boundary.title}: {boundary.area_km2:.1f} km² (from "
               f"{boundary.source_crs} to {boundary.crs}), grid {grid['nx']} × {grid['ny']} "
               f"cells of {cell_size:g} m")
    typer.echo("Next steps:")
    if missing:
        typer.echo(f"  0. add the missing inputs ({', '.join(missing)}) to {target} "
                   "(inputs: section) or rerun init with --input KIND=PATH --force")
    for step in (f"wetindex check  --area {name}", f"wetindex run all --area {name}",
                 f"wetindex status --area {name}"):
        typer.echo(f"  {step}")


def check(
    area: AreaOpt,
    root: RootOpt = None,
) -> None:
    """Validate the area's config and inputs; exit 1 listing what blocks a run."""
    from wetindex.failsafe import operator_errors

    root = project_root(root)
    try:
        config = load_area(root, area)
    except ConfigError as err:
        raise _fail(str(err)) from None
    with operator_errors(f"check of area {config.name!r}", config.area_dir(root) / "logs"):
        problems, notes = check_area(config, root)
    for line in notes:
        if line.startswith("WARNING: "):  # found in the files, not blocking
            typer.secho(f"  WARN  {line[9:]}", fg="yellow")
        else:
            typer.echo(f"  ok    {line}")
    for line in problems:
        typer.secho(f"  FAIL  {line}", fg="red")
    if problems:
        raise _fail(f"{len(problems)} problem(s) block a run of area {config.name!r}")
    typer.secho(f"area {config.name!r} is ready: wetindex run all --area {config.name}",
                fg="green")


def check_area(config: AreaConfig, root: Path) -> tuple[list[str], list[str]]:
    """``(problems, notes)`` for an area: inputs readable, labels, Dask scheduler reachable."""
    problems: list[str] = []
    notes: list[str] = [f"config: {config.name} ({config.source})"]
    if config.source == "local":
        from wetindex.plausibility import check_grid_size
        from wetindex.sources.local import LocalInputs

        try:  # the size first: nothing is read for an area one machine cannot hold
            check_grid_size(config.grid.nx, config.grid.ny, config.grid.cell_size)
        except ValueError as err:
            return [f"grid: {err}"], notes
        inputs = LocalInputs(config, root)
        for what, probe in (
            ("boundary", lambda: inputs.outline()),
            ("terrain", lambda: inputs.static_inputs()),
            ("series", lambda: inputs.observed_end()),
            ("groundwater", lambda: inputs.groundwater_depth(inputs.observed_end())),
            ("labels", lambda: inputs.labels(inputs.issue_times()[:1].values, [0])),
        ):
            try:
                probe()
                notes.append(f"{what}: readable")
            except Exception as err:  # every input problem is a line here, never a traceback
                (notes if what == "labels" and config.inputs.labels is None else problems)\
                    .append(f"{what}: {err}")
        notes += [f"proxy: {v}" for v in inputs.proxies.values()]
        if not any(p.startswith("terrain") for p in problems):
            from wetindex.sources.operator_check import static_report

            for bucket, lines in zip((problems, notes), static_report(inputs), strict=True):
                bucket += lines
        if not problems:
            from wetindex.checks import freshness_problems, subscription_problems

            for bucket, lines in zip((problems, notes),
                                     freshness_problems(config, inputs), strict=True):
                bucket += lines
            problems += subscription_problems(config, root, inputs.grid.crs)
        notes.append("credentials: none needed (local files)")
    elif config.source == "live":
        from wetindex.sources.live_check import check_live

        live_problems, live_notes = check_live(config, root, config.area_dir(root))
        problems += live_problems
        notes += live_notes
    else:
        notes.append("demo world: built on first run, no credentials needed")
    if config.dask.scheduler_address:
        try:
            from dask.distributed import Client

            with Client(config.dask.scheduler_address, timeout="3s") as client:
                notes.append(f"dask: {len(client.scheduler_info()['workers'])} worker(s) at "
                             f"{config.dask.scheduler_address}")
        except OSError as err:
            problems.append(f"dask: scheduler {config.dask.scheduler_address} unreachable "
                            f"({err}); start it or remove dask.scheduler_address")
    model_cfg = root / config.training.model_config_file
    if not model_cfg.exists():
        problems.append(f"training.model_config_file: {model_cfg} not found")
    from wetindex.checks import model_gate_lines

    gate_problems, gate_notes = model_gate_lines(config, root)
    return problems + gate_problems, notes + gate_notes


def run(
    stage: Annotated[Stage, typer.Argument(help="The stage to run, or all in order.")],
    area: AreaOpt,
    issue_time: Annotated[str | None, typer.Option(
        metavar="TIME",
        help="Issue time (UTC, e.g. 2026-01-05T06:00); default: the latest.")] = None,
    root: RootOpt = None,
    method: Annotated[Method | None, typer.Option(
        help="How to forecast; default: the area's forecast.method.")] = None,
    force: Annotated[bool, typer.Option(
        help="Put a model live that does not beat the references on its hold-out.")] = False,
) -> None:
    """Run one stage (or all, in order); a rerun resumes from what is done.

    Exit 0: done. Exit 1: a stage failed, or the inputs are too old (the site then says "not updated since …"). Exit 3: done but degraded (late inputs continued).
    """  # noqa: E501 - one line: Rich keeps a docstring's line breaks in the help
    from wetindex.failsafe import EXIT_DEGRADED, operator_errors
    from wetindex.freshness import StaleInputsError
    from wetindex.sources.base import InputMissingError
    from wetindex.stages.context import AreaContext
    from wetindex.stages.run import STAGES, AreaRun, StageError

    configure_logging()
    root = project_root(root)
    stage, method = stage.value, method.value if method is not None else None
    try:
        config = load_area(root, area)
    except ConfigError as err:
        raise _fail(str(err)) from None
    with operator_errors(f"run {stage} of area {config.name!r}", config.area_dir(root) / "logs"):
        runner = AreaRun(AreaContext(config, root), issue_time, method=method,
                         force_model=force)
        try:
            for name in STAGES if stage == "all" else (stage,):
                result = runner.run(name)
                how = "reused" if result.reused else f"done in {result.seconds:.1f} s"
                typer.echo(f"{name:9s} {how}: {result.summary}")
        except StaleInputsError as err:
            typer.secho(f"REFUSED: {err}", err=True, fg="red")
            if stage in ("all", "forecast", "publish"):
                typer.echo(f"published: {runner.publish_not_updated(err.report)}")
            raise typer.Exit(1) from None
        except (ConfigError, StageError, InputMissingError) as err:
            raise _fail(str(err)) from None
    if runner.freshness is not None and runner.freshness.state == "degraded":
        typer.secho(f"DEGRADED: {runner.freshness.message}", err=True, fg="yellow")
        raise typer.Exit(EXIT_DEGRADED)


def status(
    area: AreaOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for monitoring.")] = False,
    root: RootOpt = None,
) -> None:
    """Last forecast and its age, inputs, model and deliveries; exit 1 when stale."""
    from wetindex.stages.context import AreaContext
    from wetindex.stages.status import area_status

    logging.getLogger("wetindex").setLevel(logging.WARNING)
    root = project_root(root)
    try:
        config = load_area(root, area)
    except ConfigError as err:
        raise _fail(str(err)) from None
    from wetindex.failsafe import operator_errors

    with operator_errors(f"status of area {config.name!r}", config.area_dir(root) / "logs"):
        st = area_status(AreaContext(config, root))
    if as_json:
        from wetindex import jsonutil  # numpy: not for `wetindex --help`

        typer.echo(jsonutil.dumps(st, indent=2))
    else:
        fc = st["forecast"]
        typer.echo(f"area      {st['area']} ({st['title']})")
        age = f"{fc['age_h']:.1f} h old" if fc["age_h"] is not None else "none"
        state = "STALE" if fc["stale"] else "fresh"
        typer.echo(f"forecast  {fc['issue_time'] or '-'} ({age}, {state}; stale after "
                   f"{fc['stale_after_h']} h)  {fc['path'] or ''}")
        for i in fc.get("inputs", []):
            typer.echo(f"  input   {i['name']:20s} {i['status']:8s} last {i['last_time']}")
        for k, v in fc.get("proxies", {}).items():
            typer.echo(f"  proxy   {k:20s} {v}")
        if fc.get("forecast_method"):
            typer.echo(f"method    {fc['forecast_method']}"
                       + (f": {fc['method_note']}" if fc.get("method_note") else ""))
        model = st["model"]
        if model:
            bss = model["brier_skill"].get("model") or []
            typer.echo(f"model     {model['version']}  BSS by lead bin: "
                       + " ".join("–" if x is None else f"{x:.2f}" for x in bss))
            typer.echo(f"  gate    {'passes' if model.get('passes_gate') else 'FAILS'}: "
                       f"{model.get('gate')}")
        else:
            typer.echo("model     none (run: wetindex run train --area " + st["area"] + ")")
        typer.echo(f"alerts    {st['deliveries'] or 'no outbox yet'}")
        if st.get("not_updated"):
            typer.secho(f"NOT UPDATED  {st['not_updated']['message']}", fg="red")
    if st["stale"]:
        raise typer.Exit(1)
    if st.get("degraded"):
        raise typer.Exit(3)  # a forecast made with late inputs continued: not all is well


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    for command in (init, check, run, status):
        app.command(cls=Command)(command)
