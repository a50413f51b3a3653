"""The learned forecast, streamed block of rows by block of rows from features to files.

Peak memory of the forecast is a block, not the area: for each block of grid rows
(about ``dask.chunk_cells`` cells) the candidate cells' probabilities are predicted
for every lead (:meth:`wetindex.model.gridded.ChunkEvaluator.predict_chunk`), calibrated,
turned into the excess water, warning score and level (:func:`wetindex.normal.excess_arrays`,
:func:`wetindex.model.predict.levels`: the same rules as the in-memory path, cell by
cell, so blocks do not change the result), rounded to 8-bit codes and written
(:class:`wetindex.forecast_io.CubeWriter`). With a Dask client the blocks are the
tasks: at most :data:`IN_FLIGHT` per worker are submitted at a time and written as
they come back.

What needs the whole area afterwards reads the written 8-bit cube lazily:
:func:`stream_forecast` returns it opened from disk; warnings per place
(:func:`warnings_from_codes`) read the ``level`` codes and the ``warning_score`` codes
(1 byte per cell-hour, not 4) and the site and the alerts read a lead or a window at a
time.

The candidate cells' static rows are made per block too when ``fin.static_rows`` is a
:class:`wetindex.candidate_rows.CandidateRows` (the forecast stage's); the per-cell
fields (:class:`AreaFields`, about 20 B a cell) and the candidate cells' index,
groundwater depth (12 B a candidate) are still whole.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex import progress
from wetindex.forecast_io import (
    NODATA,
    SCALE,
    STAGING_MARK,
    CubeWriter,
    block_rows,
    encode_fraction,
    open_forecast,
    read_codes,
)
from wetindex.grid import AreaGrid
from wetindex.model.artifacts import LoadedModel
from wetindex.model.calibration import apply_calibration
from wetindex.model.gridded import ChunkEvaluator
from wetindex.model.predict import ForecastInputs, levels
from wetindex.model.zones import zone_drivers
from wetindex.normal import (
    DEFAULT_CHANCE,
    area_exposure,
    excess_arrays,
    forecast_sea_level_max,
    normal_for_model,
    sea_prone_land,
    standing_water,
)
from wetindex.risk import place_raster, warning_areas, warning_order
from wetindex.sources.base import AreaInputs
from wetindex.warnings import WarningArea

#: Blocks submitted per Dask worker before the first comes back (bounds memory).
IN_FLIGHT = 2
#: The progress line of the blocks (under the forecast stage's line, as training's rounds).
FORECAST_BLOCKS = "  forecast blocks"


@dataclass
class AreaFields:
    """Per-cell ``(y, x)`` fields that turn probabilities into excess water and levels."""

    normal: np.ndarray  # seasonal normal of the valid month, 0–1
    standing: np.ndarray | None  # bool: water standing at the issue time
    exposure: np.ndarray  # exposure weight
    permanent_water: np.ndarray  # bool
    sea_prone: np.ndarray | None  # bool: land the forecast sea can reach
    dike_crest: np.ndarray  # [m], NaN off the dikes

    def rows(self, y0: int, y1: int) -> AreaFields:
        """The fields of rows ``y0:y1``, flattened to cells."""
        def part(a):
            return None if a is None else np.asarray(a)[y0:y1].ravel()

        return AreaFields(*(part(getattr(self, f.name)) for f in dataclasses.fields(self)))


def area_fields(inputs: AreaInputs, static: xr.Dataset, normal: xr.DataArray,
                issue_time: pd.Timestamp) -> AreaFields:
    """The fields :func:`wetindex.normal.forecast_dataset` uses, for block-wise use."""
    raw = inputs.static_inputs()
    # a 48-h forecast is compared with the normal of the month its middle falls in
    month = (pd.Timestamp(issue_time) + pd.Timedelta(hours=24)).month
    return AreaFields(
        normal=np.asarray(normal.sel(month=month).values, "float32"),
        standing=standing_water(inputs, issue_time),
        exposure=np.asarray(area_exposure(raw, static), "float32"),
        permanent_water=np.asarray(raw["permanent_water"].values).astype(bool),
        sea_prone=sea_prone_land(static, forecast_sea_level_max(inputs, issue_time)),
        dike_crest=np.asarray(raw["dike_crest"].values, "float64"))


def block_codes(prob: np.ndarray, fields: AreaFields, leads: np.ndarray,
                thresholds: Sequence[float], calibration: dict | None,
                chance: Sequence[float] = DEFAULT_CHANCE) -> dict[str, np.ndarray]:
    """8-bit codes of one block from its probabilities ``(lead, cells)``.

    The same arithmetic as the in-memory path (calibration, then
    :func:`~wetindex.normal.excess_arrays` and :func:`~wetindex.model.predict.levels`),
    all of it per cell, so the blocks' result equals the whole area's.
    """
    maps = (calibration or {}).get("maps", [])
    if any(not m.get("identity") for m in maps):
        prob = apply_calibration(prob, leads[:, None], calibration)
    prob = np.asarray(prob, "float32")
    excess, score = excess_arrays(prob, fields.normal, fields.standing, fields.exposure,
                                  fields.permanent_water, fields.sea_prone,
                                  thresholds=thresholds, chance=chance)
    level = levels(xr.DataArray(score.astype("float32"), dims=("lead", "cell")),
                   list(thresholds)).values
    del excess  # the stored cube keeps what the levels come from (see forecast_io)
    return {"probability": encode_fraction(prob), "warning_score": encode_fraction(score),
            "level": level.astype("uint8")}


def _block_task(evaluator: ChunkEvaluator, static_rows: np.ndarray, depth: np.ndarray,
                drivers: np.ndarray, zone_of_cell: np.ndarray | None, where: np.ndarray,
                n_cells: int, fields: AreaFields, leads: np.ndarray,
                thresholds: Sequence[float], calibration: dict | None,
                chance: Sequence[float], num_threads: int) -> dict[str, np.ndarray]:
    """One block from features to codes (a Dask task on a cluster)."""
    prob = np.zeros((len(leads), n_cells), dtype="float32")
    prob[:, where] = evaluator.predict_chunk(static_rows, depth, drivers, zone_of_cell,
                                             num_threads=num_threads)
    return block_codes(prob, fields, leads, thresholds, calibration, chance)


def stream_forecast(booster, fin: ForecastInputs, grid: AreaGrid, fields: AreaFields, *,
                    forecasts_dir: Path, thresholds: Sequence[float],
                    chance: Sequence[float] = DEFAULT_CHANCE,
                    calibration: dict | None = None, attrs: dict | None = None,
                    client: Any = None, chunk_cells: int = 250_000,
                    zones: tuple[np.ndarray, np.ndarray] | None = None,
                    timings: dict[str, float] | None = None,
                    on_block: Callable[[int, int], None] | None = None) -> xr.Dataset:
    """Predict and write the forecast block by block; the written cube, opened lazily.

    Parameters
    ----------
    booster : lightgbm.Booster
        The model.
    fin : ForecastInputs
        Static rows, groundwater depth and drivers of the candidate cells.
    grid : AreaGrid
        The area's grid.
    fields : AreaFields
        From :func:`area_fields`.
    forecasts_dir : Path
        The area's ``forecasts/``: the cube is written to a staging folder in it, which
        :func:`wetindex.forecast_io.write_forecast_grids` moves into the forecast folder.
    thresholds : sequence of float
        Warning-score thresholds of levels 1–3.
    chance : sequence of float
        The chance of new water each level needs (:func:`wetindex.normal.warning_score`).
    calibration : dict, optional
        The model's calibration (applied per block).
    attrs : dict, optional
        Global attributes of forecast.nc.
    client : dask.distributed.Client, optional
        Blocks run as tasks on its workers; None: in this process.
    chunk_cells : int
        About this many cells per block.
    zones : (numpy.ndarray, numpy.ndarray), optional
        Gridded drivers: ``(drivers (zones, leads, n_driver), zone of each candidate
        cell (cells,) in the order of ``fin.cells``)`` — e.g. each rain grid cell's
        forecast rain, or rain and coast stretch merged with
        :func:`wetindex.model.gridded.merge_zones`. Predicted block by block like
        area drivers (only the zones present in a block are evaluated); ``fin.drivers``
        is then not used.
    timings : dict, optional
        Filled with seconds spent in ``predict_and_codes``, ``write`` and ``cog``
        (benchmarks).
    on_block : callable, optional
        ``on_block(blocks written, blocks in all)`` after each block (a progress bar).
    """
    clock = _Clock(timings)
    cells = np.asarray(fin.cells)
    order = None
    if len(cells) > 1 and np.any(np.diff(cells) < 0):
        order = np.argsort(cells, kind="stable")
        cells = cells[order]
    drivers, zone_of_cell = (fin.drivers, None) if zones is None else zones
    if zone_of_cell is not None and len(zone_of_cell) != len(fin.cells):
        raise ValueError(f"zones: a zone for each of the {len(fin.cells)} candidate cells "
                         f"is needed, got {len(zone_of_cell)}")
    leads = np.arange(1, drivers.shape[-2] + 1)
    rows = block_rows(grid, chunk_cells)
    issue = pd.Timestamp(fin.issue_time)
    stage = Path(forecasts_dir) / f".{issue:%Y%m%dT%H%MZ}{STAGING_MARK}{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    writer = CubeWriter(stage, grid, fin.issue_time, leads, rows, attrs)
    evaluator = ChunkEvaluator(booster)
    thresholds = list(thresholds)

    def task_args(y0: int) -> tuple:
        y1 = min(grid.ny, y0 + rows)
        lo, hi = np.searchsorted(cells, [y0 * grid.nx, y1 * grid.nx])
        pick = slice(lo, hi) if order is None else order[lo:hi]
        return (fin.static_rows[pick], fin.groundwater_depth[pick], drivers,
                None if zone_of_cell is None else zone_of_cell[pick],
                cells[lo:hi] - y0 * grid.nx, (y1 - y0) * grid.nx, fields.rows(y0, y1),
                leads, thresholds, calibration, list(chance))

    starts = range(0, grid.ny, rows)
    written: list[int] = []

    def write(y0: int, codes: dict[str, np.ndarray]) -> None:
        clock.lap("predict_and_codes")
        n = codes["level"].shape[1] // grid.nx
        writer.write(y0, {k: v.reshape(len(leads), n, grid.nx) for k, v in codes.items()})
        clock.lap("write")
        written.append(y0)
        if on_block is not None:
            on_block(len(written), len(starts))

    try:
        if client is None:
            for y0 in starts:
                write(y0, _block_task(evaluator, *task_args(y0), num_threads=0))
        else:
            _stream_on_cluster(client, evaluator, starts, task_args, write)
    except BaseException:
        writer.abort()
        shutil.rmtree(stage, ignore_errors=True)
        raise
    clock.lap("predict_and_codes")
    writer.close()
    clock.lap("cog")
    return open_forecast(stage, grid)


class _Clock:
    """Seconds per named step into ``timings`` (nothing when it is None)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now


def _stream_on_cluster(client, evaluator: ChunkEvaluator, starts: range,
                       task_args: Callable[[int], tuple],
                       write: Callable[[int, dict], None]) -> None:
    """Blocks as Dask tasks, a bounded number in flight, written as they finish."""
    from dask.distributed import as_completed  # noqa: PLC0415 - distributed only on a cluster

    remote_evaluator = client.scatter(evaluator, broadcast=True)
    limit = IN_FLIGHT * max(1, len(client.scheduler_info().get("workers", {})))
    pending = iter(starts)
    running = as_completed()
    where: dict[Any, int] = {}

    def submit_next() -> bool:
        y0 = next(pending, None)
        if y0 is None:
            return False
        fut = client.submit(_block_task, remote_evaluator, *task_args(y0), num_threads=1,
                            pure=False)
        where[fut.key] = y0
        running.add(fut)
        return True

    for _ in range(limit):
        if not submit_next():
            break
    for fut in running:
        write(where.pop(fut.key), fut.result())
        fut.release()
        submit_next()


def warnings_from_codes(ds: xr.Dataset, places: Sequence, grid: AreaGrid, *,
                        explain: Callable | None = None, dike_crest: np.ndarray | None = None,
                        groundwater_depth: np.ndarray | None = None,
                        **kwargs) -> list[WarningArea]:
    """Warnings per place from the written 8-bit cube, place by place on its window.

    :func:`wetindex.risk.warning_areas` reads ``level`` and ``warning_score`` whole; here
    each place gets the window of rows and columns around it (with the places after it
    that overlap the window, which take cells from it as they do on the whole grid), as
    stored codes (1 byte per cell-hour), and its probability is turned back into a
    fraction. Memory is the largest place's window, not the area. The result equals
    :func:`~wetindex.risk.warning_areas` on the decoded cube.
    """
    bounds = [p.geometry.bounds for p in places]
    dike = None if dike_crest is None else np.asarray(dike_crest).reshape(grid.shape)
    depth = (None if groundwater_depth is None
             else np.asarray(groundwater_depth).reshape(grid.shape))
    out: list[WarningArea] = []
    for i, place in enumerate(places):
        win = _window(bounds[i], grid)
        if win is None:
            continue
        r0, r1, c0, c1 = win
        rivals = [p for j, p in enumerate(places)
                  if j > i and _overlap(bounds[j], bounds[i])]
        sub = AreaGrid(grid.crs, grid.cell_size, grid.x_min + c0 * grid.cell_size,
                       grid.y_max - r0 * grid.cell_size, c1 - c0, r1 - r0)
        part = ds.isel(y=slice(r0, r1), x=slice(c0, c1))
        score = read_codes(part, "warning_score")
        # unknown (255) is not a score: it is never warned (its level is 0) nor the peak
        score[score == NODATA] = 0
        coded = xr.Dataset({"level": (("lead", "y", "x"), read_codes(part, "level")),
                            "warning_score": (("lead", "y", "x"), score)},
                           coords={"valid_time": ("lead", ds["valid_time"].values)})
        own = (place_raster([place, *rivals], sub) == 1).ravel()
        found = warning_areas(
            coded, [place, *rivals], sub, explain=_shifted(explain, grid, sub, r0, c0, own),
            dike_crest=None if dike is None else dike[r0:r1, c0:c1],
            groundwater_depth=None if depth is None else depth[r0:r1, c0:c1], **kwargs)
        # scores come back as codes: the probability and the hourly score as fractions
        out += [dataclasses.replace(
            w, probability=round(w.probability * SCALE, 3),
            hourly_score=[None if v is None else round(v * SCALE, 4) for v in w.hourly_score])
            for w in found if w.place == place.name]
    return sorted(out, key=warning_order)


def _window(bounds: tuple[float, float, float, float],
            grid: AreaGrid) -> tuple[int, int, int, int] | None:
    """Rows and columns ``(r0, r1, c0, c1)`` around ``bounds``, one cell of margin."""
    x0, y0, x1, y1 = bounds
    cs = grid.cell_size
    c0 = max(0, int(np.floor((x0 - grid.x_min) / cs)) - 1)
    c1 = min(grid.nx, int(np.ceil((x1 - grid.x_min) / cs)) + 1)
    r0 = max(0, int(np.floor((grid.y_max - y1) / cs)) - 1)
    r1 = min(grid.ny, int(np.ceil((grid.y_max - y0) / cs)) + 1)
    return (r0, r1, c0, c1) if r1 > r0 and c1 > c0 else None


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _shifted(explain: Callable | None, grid: AreaGrid, sub: AreaGrid, r0: int, c0: int,
             own: np.ndarray):
    """``explain`` taking the window's flat cell indices instead of the area's.

    Only the window's own place is explained (``own``: its cells); a rival place's
    warning in the window is dropped, so its (costly) explanation is not made.
    """
    if explain is None:
        return None

    def on_window(lead_index: int, cells: np.ndarray):
        cells = np.asarray(cells)
        if len(cells) and not own[cells[0]]:
            return {"terrain": 1.0}
        rows, cols = np.divmod(cells, sub.nx)
        return explain(lead_index, (rows + r0) * grid.nx + cols + c0)

    return on_window


def learned_forecast(model: LoadedModel, inputs: AreaInputs, static: xr.Dataset,
                     fin: ForecastInputs, issue_time: pd.Timestamp, *, forecasts_dir: Path,
                     thresholds: Sequence[float], chance: Sequence[float] = DEFAULT_CHANCE,
                     attrs: dict | None = None, client: Any = None,
                     chunk_cells: int = 250_000) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    """The learned forecast stage's products: the streamed cube and the warnings' fields.

    Returns ``(dataset, cell_fields)`` like :func:`wetindex.normal.forecast_dataset`:
    the dataset is the written 8-bit cube opened lazily, ``cell_fields`` holds
    ``dike_crest``. Gridded forecast rain (live areas with rain zones) streams block by
    block like area drivers: each block's cells with their rain zone's drivers.
    """
    normal = normal_for_model(model.path, inputs, fin.cells,
                              (model.metadata.get("periods") or {}).get("train"))
    zoned = getattr(inputs, "rain_zones", None)
    zoned = zoned(pd.Timestamp(issue_time).to_datetime64()) if zoned is not None else None
    zones = None
    if zoned is not None:
        zone_of_cell, rain_zone = zoned
        zones = (zone_drivers(inputs, fin.issue_time, rain_zone),
                 np.asarray(zone_of_cell)[fin.cells])
        # how many rain zones the drivers came in: the file says the rain was gridded
        attrs = {**(attrs or {}), "driver_zones": len(rain_zone)}
    fields = area_fields(inputs, static, normal, issue_time)
    ds = stream_forecast(model.booster, fin, inputs.grid, fields, forecasts_dir=forecasts_dir,
                         thresholds=thresholds, chance=chance,
                         calibration=model.metadata.get("calibration"),
                         attrs=attrs, client=client, chunk_cells=chunk_cells,
                         zones=zones, on_block=partial(progress.advance, FORECAST_BLOCKS))
    return ds, {"dike_crest": fields.dike_crest}
