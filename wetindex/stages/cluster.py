"""Scale-out: the Dask client of an area (the forecast's blocks and the static build run
on it when a scheduler is configured; :mod:`wetindex.forecast_stream`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
    from dask.distributed import Client  # noqa: PLC0415 - only with a configured scheduler

    with Client(address, timeout="30s") as client:
        yield client
