# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2 · Features: what the model sees
#
# The model predicts, for every cell and every lead hour, the probability that the
# cell is under water. It sees two kinds of inputs:
#
# * **static terrain features**, computed once per area from the terrain model
#   (`wetindex.features.terrain.static_features`): where water can collect, how far
#   a cell is above the nearest drainage, whether the sea can reach it, and whether a
#   dike protects it;
# * **dynamic drivers** for one issue time and every lead hour
#   (`wetindex.features.hydromet.drivers_at_leads`): rain over the last 1–72 h
#   (observed, then forecast), wetness of the soil, sea level and the rise of the
#   groundwater.
#
# The last section shows how a feature is computed lazily with Dask, chunk by chunk,
# and what that costs compared with plain NumPy.

# %% tags=["parameters"]
FULL_AREA = False
SIZE_M, YEARS, SEED = (10_000.0, 3.0, 42) if FULL_AREA else (2_000.0, 1.5, 7)
#: side [cells] of the mosaic used to time Dask against NumPy, and its chunk size
MOSAIC_CELLS, CHUNK_CELLS = (4_000, 1_000) if FULL_AREA else (1_600, 400)

# %%
import os
import time
from pathlib import Path

import dask
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from wetindex.config import demo_config
from wetindex.features.hydromet import HISTORY_NEEDED_H, drivers_at_leads
from wetindex.features.terrain import slope, static_features
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import area_inputs

REPO = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "models" / "configs").is_dir())
OUTPUT = Path(os.environ.get("WETINDEX_NOTEBOOK_OUTPUT", REPO / "var" / "notebooks"))

ctx = AreaContext(demo_config(size_m=SIZE_M, years=YEARS, seed=SEED),
                           root=REPO, output_root=OUTPUT)
inputs = area_inputs(ctx)  # the demo world behind the common AreaInputs interface
grid = inputs.grid
extent = (grid.x_min / 1000, grid.x_max / 1000, grid.y_min / 1000, grid.y_max / 1000)
grid

# %% [markdown]
# ## Static terrain features
#
# `inputs.static_inputs()` gives the raw static inputs on the area grid: `elevation`
# [m], `sea`, `stream`, `permanent_water` (masks), `dike_crest` [m] and `land_cover`.
# `static_features` turns them into the terrain cube. The pipeline calls the same
# function in `wetindex.stages.static.build_static`, which also caches the cube as Zarr.

# %%
raw = inputs.static_inputs()
started = time.perf_counter()
static = static_features(
    raw["elevation"], raw["sea"], stream=raw["stream"], dike_crest=raw["dike_crest"],
    land_cover=raw["land_cover"], permanent_water=raw["permanent_water"])
print(f"static features for {grid.nx * grid.ny:,} cells in "
      f"{time.perf_counter() - started:.2f} s")
pd.DataFrame({name: {"units": da.attrs.get("units", ""),
                     "description": da.attrs.get("long_name", ""),
                     "min": float(np.nanmin(da.values.astype(float))),
                     "max": float(np.nanmax(da.values.astype(float)))}
              for name, da in static.data_vars.items()}).T

# %%
panels = [
    ("elevation", "terrain height", "m", "terrain", None),
    ("slope", "slope (Horn)", "degree", "viridis", None),
    ("bluespot_depth", "bluespot depth", "m", "Blues", None),
    ("hand", "HAND (height above drainage)", "m", "magma_r", (0, 5)),
    ("flow_accumulation", "flow accumulation (log10)", "log10 cells", "cividis", None),
    ("twi", "topographic wetness index", "1", "YlGnBu", None),
    ("distance_to_coast", "distance to the coast", "m", "plasma", None),
    ("dike_protected", "kept dry by the dike", "yes / no", "Reds", (0, 1)),
]
fig, axes = plt.subplots(2, 4, figsize=(16, 8), constrained_layout=True)
for ax, (name, title, units, cmap, limits) in zip(axes.ravel(), panels, strict=True):
    values = static[name].values.astype(float)
    if name == "flow_accumulation":
        values = np.log10(values)
    vmin, vmax = limits or (np.nanpercentile(values, 1), np.nanpercentile(values, 99))
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, extent=extent)
    fig.colorbar(im, ax=ax, shrink=0.8, label=f"{name} [{units}]")
    ax.set(title=title, xlabel="easting [km]", ylabel="northing [km]")
fig.suptitle("Static terrain features of the demo area (EPSG:25832)")
plt.show()

# %% [markdown]
# Read the panels together: a cell floods from rain when it lies in a deep
# **bluespot** with a large catchment (high **flow accumulation**, high **TWI**); from
# the stream when it is low above it (small **HAND**); from the sea when it is close
# to the coast and below the sea-flood level, unless the **dike** protects it.

# %% [markdown]
# ## Dynamic drivers for one issue time
#
# A forecast is issued every 3 hours. For an issue time, the drivers are computed for
# every lead hour 1–48: rain sums over windows that reach back into the observations
# and forward into the forecast, an antecedent precipitation index (wet soil), the
# rain-minus-evaporation balance, the sea level and the groundwater rise. We pick the
# issue time one day before the first sea storm that has the 30 days of observed
# history the rain windows and the wetness index need.

# %%
first_hour = pd.Timestamp(inputs.world.forcing["time"].values[0])
storm_peak = next(t for t in map(pd.Timestamp, inputs.world.events["overtopping_storms"])
                  if t - pd.Timedelta(hours=24 + HISTORY_NEEDED_H) >= first_hour)
issue_time = (storm_peak - pd.Timedelta(hours=24)).floor("3h")
observed = inputs.observed(
    (issue_time - pd.Timedelta(hours=HISTORY_NEEDED_H)).to_datetime64(),
    issue_time.to_datetime64())
forecast = inputs.forecast(issue_time.to_datetime64())
drivers = drivers_at_leads(observed, forecast, issue_time.to_datetime64())
drivers.to_dataframe().drop(columns=["issue_time"], errors="ignore").head()

# %%
lead = drivers["lead"].values
fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True, constrained_layout=True)
for name, style in [("rain_1h", "-"), ("rain_6h", "--"), ("rain_24h", "-."), ("rain_72h", ":")]:
    axes[0, 0].plot(lead, drivers[name], style, label=name.replace("_", " over "))
axes[0, 0].set(title="Rain sums ending at the valid time", ylabel="rain [mm]")
axes[0, 1].plot(lead, drivers["api"], label="antecedent precipitation index")
axes[0, 1].plot(lead, drivers["rain_minus_evaporation_7d"], label="rain − evaporation, 7 d")
axes[0, 1].set(title="Wetness of the ground", ylabel="water [mm]")
axes[1, 0].plot(lead, drivers["sea_level"], label="sea level")
axes[1, 0].plot(lead, drivers["sea_level_max_24h"], "--", label="highest sea level, last 24 h")
axes[1, 0].axhline(inputs.world.dike_crest_min, color="#c0392b", ls=":",
                   label="lowest dike crest")
axes[1, 0].set(title="Sea", ylabel="sea level [m DVR90]", xlabel="lead time [h]")
axes[1, 1].plot(lead, drivers["groundwater_rise"] * 100, color="#31a354",
                label="groundwater rise since issue")
axes[1, 1].set(title="Groundwater", ylabel="rise [cm]", xlabel="lead time [h]")
for ax in axes.ravel():
    ax.legend(fontsize=8)
fig.suptitle(f"Drivers per lead hour, issued {issue_time:%Y-%m-%d %H:%M} UTC")
plt.show()

# %% [markdown]
# The model combines them per cell: the groundwater depth at the valid time, the sea
# level's margin over the cell's sea-flood level, and the rain relative to what fills
# the cell's bluespot (`wetindex.features.stack` builds those rows).

# %% [markdown]
# ## Lazily with Dask, and what it costs
#
# Feature functions take and return xarray objects and stay lazy on Dask input: on a
# chunked elevation, `slope` builds a task graph (one task per chunk, plus the
# overlaps that give each chunk the one-cell halo Horn's method needs) and computes
# nothing until asked. That keeps memory bounded by the chunk size on a
# municipality of ~9 million cells, and lets a Dask cluster share the work.
#
# To time something bigger than the small demo area, we tile its terrain into a
# mosaic (the numbers do not matter here, only the size).

# %%
reps = int(np.ceil(MOSAIC_CELLS / grid.nx))
mosaic_values = np.tile(raw["elevation"].values, (reps, reps))[:MOSAIC_CELLS, :MOSAIC_CELLS]
mosaic = xr.DataArray(
    mosaic_values, dims=("y", "x"),
    coords={"y": grid.y_max - (np.arange(MOSAIC_CELLS) + 0.5) * grid.cell_size,
            "x": grid.x_min + (np.arange(MOSAIC_CELLS) + 0.5) * grid.cell_size},
    name="elevation", attrs={"units": "m"},
).rio.write_crs(grid.crs)

lazy = slope(mosaic.chunk({"y": CHUNK_CELLS, "x": CHUNK_CELLS}))
graph = lazy.data.__dask_graph__()
print(f"mosaic {MOSAIC_CELLS} × {MOSAIC_CELLS} cells in chunks of {CHUNK_CELLS}: "
      f"{lazy.data.npartitions} output chunks, {len(graph)} tasks in the graph, "
      f"nothing computed yet ({type(lazy.data).__name__})")

# %%
timings = {}
started = time.perf_counter()
eager = slope(mosaic)
timings["NumPy (whole grid)"] = time.perf_counter() - started
for scheduler in ("synchronous", "threads"):
    started = time.perf_counter()
    with dask.config.set(scheduler=scheduler):
        computed = lazy.compute()
    timings[f"Dask, {scheduler} scheduler"] = time.perf_counter() - started

same = np.allclose(eager.values, computed.values, equal_nan=True)
print(f"Dask and NumPy give the same slope: {same}")
pd.Series(timings, name="seconds").round(3).to_frame()

# %%
fig, ax = plt.subplots(figsize=(8, 3.2))
bars = ax.barh(list(timings), list(timings.values()), color=["#999999", "#6baed6", "#2171b5"],
               label="wall time")
ax.bar_label(bars, fmt="%.3f s", padding=3)
ax.set(title=f"slope on {MOSAIC_CELLS**2 / 1e6:.1f} M cells: eager vs. lazy",
       xlabel="wall time [s] (2 shared cores: pessimistic)", ylabel="how it was computed")
ax.legend(loc="lower right")
ax.set_xlim(0, max(timings.values()) * 1.35)
plt.show()

# %% [markdown]
# **What it costs.** On a grid that fits in memory, NumPy is as fast or faster: the
# kernel is compiled with numba and the grid is small, so Dask's scheduling and
# the halo exchange are pure overhead. Dask pays off when the grid does *not* fit,
# or when the chunks are spread over a cluster. Global steps (filling depressions,
# routing, distances) cannot be chunked and run on the whole grid; local ones (slope,
# TWI, the drivers) can.
