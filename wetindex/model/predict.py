"""The 48-hour forecast: probability of surface water per cell and lead hour."""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
import xarray as xr

from wetindex.candidate_rows import CandidateRows
from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.features.stack import drivers_for_issues, feature_rows, static_table
from wetindex.grid import AreaGrid
from wetindex.model.forest import forest_from_booster
from wetindex.model.gridded import predict_cube
from wetindex.model.screen import screened_cells
from wetindex.sources.base import AreaInputs

#: Rows predicted per call by :func:`predict_probability_naive`, bounding its memory.
CHUNK_ROWS = 500_000


@dataclass
class ForecastInputs:
    """Everything the model saw for one issue time, kept to explain warnings."""

    issue_time: np.datetime64
    cells: np.ndarray  # flat indices of the screened (candidate) cells
    static_rows: np.ndarray  # (n_cells, n_static)
    drivers: np.ndarray  # (n_leads, n_drivers)
    groundwater_depth: np.ndarray  # (n_cells,) at the issue time

    def rows(self, lead_index: int, which: np.ndarray | None = None) -> np.ndarray:
        """Feature rows of the candidate cells (or a subset by position) at one lead."""
        sel = slice(None) if which is None else which
        return feature_rows(self.static_rows[sel], self.drivers[lead_index],
                            self.groundwater_depth[sel])


def gather_inputs(
    inputs: AreaInputs, static: xr.Dataset, issue_time: np.datetime64, screen: dict[str, float],
    *, rows_per_block: bool = False,
) -> ForecastInputs:
    """Drivers and static rows for the candidate cells at ``issue_time``.

    With ``rows_per_block`` the static rows are made when a block of cells is asked for
    (:class:`wetindex.candidate_rows.CandidateRows`: the streamed forecast's memory).
    """
    issue_time = np.datetime64(issue_time, "ns")
    observed = inputs.observed(issue_time - np.timedelta64(HISTORY_NEEDED_H, "h"), issue_time)
    forecast = inputs.forecast(issue_time).expand_dims(issue_time=[issue_time])
    drivers = drivers_for_issues(observed, forecast, np.array([issue_time]))[0]
    cells = screened_cells(inputs, static, screen)
    depth = inputs.groundwater_depth(issue_time).values.ravel()[cells].astype("float32")
    rows = CandidateRows(static, cells) if rows_per_block else static_table(static, cells)
    return ForecastInputs(issue_time, cells, rows, drivers, depth)


def predict_probability(
    booster: lgb.Booster, fin: ForecastInputs, grid: AreaGrid, *, num_threads: int = 0
) -> xr.DataArray:
    """Probability cube ``(lead, y, x)``; screened-out cells get 0.

    The trees run compiled, with each lead's area drivers folded into them
    (:mod:`wetindex.model.fastpredict`); the result equals ``booster.predict`` on
    :meth:`ForecastInputs.rows` within 1e-6. Memory: the output cube plus the
    static rows of the candidate cells; no feature matrix is made.
    """
    n_leads = fin.drivers.shape[0]
    prob = np.zeros((n_leads, grid.ny * grid.nx), dtype="float32")
    predict_cube(forest_from_booster(booster), fin.static_rows, fin.groundwater_depth,
                 fin.drivers, fin.cells, prob, num_threads=num_threads)
    return _probability_array(prob, fin, grid)


def predict_probability_naive(
    booster: lgb.Booster, fin: ForecastInputs, grid: AreaGrid, *, num_threads: int = 0
) -> xr.DataArray:
    """The reference: ``booster.predict`` on every candidate cell-hour, lead by lead.

    In chunks of :data:`CHUNK_ROWS` rows; kept to check and benchmark the fast path.
    """
    n_leads = fin.drivers.shape[0]
    prob = np.zeros((n_leads, grid.ny * grid.nx), dtype="float32")
    n = len(fin.cells)
    for li in range(n_leads):
        for start in range(0, n, CHUNK_ROWS):
            part = np.arange(start, min(n, start + CHUNK_ROWS))
            prob[li, fin.cells[part]] = booster.predict(fin.rows(li, part),
                                                        num_threads=num_threads)
    return _probability_array(prob, fin, grid)


def _probability_array(prob: np.ndarray, fin: ForecastInputs, grid: AreaGrid) -> xr.DataArray:
    n_leads = prob.shape[0]
    leads = np.arange(1, n_leads + 1)
    valid = pd.Timestamp(fin.issue_time) + pd.to_timedelta(leads, unit="h")
    da = xr.DataArray(
        prob.reshape(n_leads, grid.ny, grid.nx), dims=("lead", "y", "x"),
        coords={"lead": leads, **grid.coords(), "issue_time": fin.issue_time,
                "valid_time": ("lead", valid.values)},
        name="probability", attrs={"units": "1", "long_name": "probability of surface water"})
    da["lead"].attrs["units"] = "h"
    # in place: the default copies the whole cube twice (2 × 1.7 GB on 9 M cells)
    da.rio.write_crs(grid.crs, inplace=True)
    da.rio.write_transform(grid.transform, inplace=True)
    return da


def levels(probability: xr.DataArray, thresholds: list[float]) -> xr.DataArray:
    """Warning level per cell: 0 none, 1 yellow, 2 orange, 3 red (``p >= threshold``).

    A cell gets the highest level whose threshold it reaches. NumPy-backed cubes are
    done lead by lead into one uint8 cube (no full-size temporaries); lazy ones stay lazy.
    """
    if probability.chunks is not None or probability.ndim < 1:
        lvl = xr.zeros_like(probability, dtype="uint8")
        for i, threshold in enumerate(thresholds, start=1):
            lvl = xr.where(probability >= threshold, np.uint8(i), lvl).astype("uint8")
    else:
        p = probability.values
        out = np.zeros(p.shape, dtype="uint8")
        for step_p, step_out in zip(p.reshape(-1, *p.shape[-2:]) if p.ndim >= 2 else [p],
                                    out.reshape(-1, *p.shape[-2:]) if p.ndim >= 2 else [out],
                                    strict=True):
            for i, threshold in enumerate(thresholds, start=1):
                np.copyto(step_out, np.uint8(i), where=step_p >= threshold)
        lvl = probability.copy(data=out)
    lvl.name = "level"
    lvl.attrs = {"flag_values": [0, 1, 2, 3], "flag_meanings": "none yellow orange red"}
    return lvl
