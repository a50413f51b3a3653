"""Scale-out: the Dask client of an area, and the probability cube predicted chunk by
chunk of cells on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr

from wetindex.grid import AreaGrid
from wetindex.model.predict import ForecastInputs, predict_probability
from wetindex.stages.context import AreaContext


@contextmanager
def dask_client(ctx: AreaContext) -> Iterator[Any]:
    """A ``dask.distributed.Client`` on the configured scheduler, or ``None`` (local).

    Without ``dask.scheduler_address`` feature building and prediction run in this
    process (NumPy kernels and LightGBM on local threads).
    """
    address = ctx.config.dask.scheduler_address
    if not address:
        yield None
        return
    from dask.distributed import Client  # optional: only with a scheduler  # noqa: PLC0415 - dask.distributed, only with a configured scheduler

    with Client(address, timeout="30s") as client:
        yield client


def _predict_part(booster, part: ForecastInputs) -> np.ndarray:
    """Probabilities ``(lead, cells)`` of one chunk of candidate cells (runs on a worker)."""
    n = len(part.cells)
    line = AreaGrid("EPSG:3857", 1.0, 0.0, 1.0, n, 1)  # the chunk's cells as a 1 × n grid
    return predict_probability(booster, part, line, num_threads=1).values.reshape(-1, n)


def predict_cells(booster, fin: ForecastInputs, grid: AreaGrid, client=None, *,
                  chunk_cells: int = 250_000) -> xr.DataArray:
    """The probability cube, predicted locally or chunk by chunk of cells on a Dask cluster.

    Each chunk is :func:`predict_probability` on a slice of the candidate cells, so
    the distributed result equals the local one cell for cell.
    """
    if client is None:
        return predict_probability(booster, fin, grid)
    empty = replace(fin, cells=fin.cells[:0], static_rows=fin.static_rows[:0],
                    groundwater_depth=fin.groundwater_depth[:0])
    cube = predict_probability(booster, empty, grid)  # the output's coords, all zeros
    remote_booster = client.scatter(booster, broadcast=True)
    bounds = [(s, min(len(fin.cells), s + chunk_cells))
              for s in range(0, len(fin.cells), chunk_cells)]
    futures = [client.submit(
        _predict_part, remote_booster,
        replace(fin, cells=np.arange(e - s), static_rows=fin.static_rows[s:e],
                groundwater_depth=fin.groundwater_depth[s:e]), pure=False)
        for s, e in bounds]
    flat = cube.values.reshape(cube.sizes["lead"], -1)
    for (s, e), part in zip(bounds, client.gather(futures), strict=True):
        flat[:, fin.cells[s:e]] = part
    return cube
