"""The static stage: terrain features, built once per area and inputs (Zarr, keyed by content)."""

from __future__ import annotations

import hashlib

import xarray as xr

from wetindex.atomicdir import switched_dir
from wetindex.features.terrain import static_features
from wetindex.sources.base import AreaInputs
from wetindex.stages.cluster import dask_client
from wetindex.stages.context import AreaContext, artifact_key


def build_static(ctx: AreaContext, inputs: AreaInputs) -> xr.Dataset:
    """Static terrain features, built once per area and inputs (Zarr, keyed by content)."""
    raw = inputs.static_inputs()
    key = artifact_key(hashlib.sha256(raw["elevation"].values.tobytes()).hexdigest(),
               inputs.grid.to_dict())
    final = ctx.area_dir / "static" / f"{key}.zarr"
    if final.exists():  # the CRS is not stored in the Zarr (spatial_ref is dropped)
        static = xr.open_zarr(final, consolidated=False).load()
        return static.rio.write_crs(inputs.grid.crs).rio.write_transform(
            inputs.grid.transform)
    # an area without a stream mask (local files) gets no distance_to_stream
    stream = raw["stream"] if bool(raw["stream"].any()) else None
    args = (raw["elevation"], raw["sea"])
    kwargs = dict(stream=stream, dike_crest=raw["dike_crest"], land_cover=raw["land_cover"],
                  permanent_water=raw["permanent_water"])
    with dask_client(ctx) as client:
        if client is None:
            static = static_features(*args, **kwargs)
        else:  # the global routing is one task; it runs on the cluster's worker
            static = client.submit(static_features, *args, **kwargs, pure=False).result()
    encoded = static.drop_vars("spatial_ref", errors="ignore").chunk({"y": 512, "x": 512})
    with switched_dir(final) as tmp:
        encoded.to_zarr(tmp, mode="w", consolidated=False)
    return static

