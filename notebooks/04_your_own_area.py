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
# # 4 · Your own area
#
# How a municipality goes from a boundary file and its own input files to a forecast,
# and where real data sources and credentials plug in. Every step is shown twice:
#
# * **Operator's path** — the `wetindex` command an operator runs in a terminal
#   (marked ▶ in this notebook). This is the supported way to run an area in
#   production, scheduled by Prefect.
# * **Python equivalent** — the `wetindex` functions the command calls, run here so
#   you can look at every intermediate result.
#
# | step | operator's path ▶ | Python equivalent |
# | --- | --- | --- |
# | boundary → grid | `wetindex init --aoi FILE --name NAME` or `--kommune CODE` | `sources.local_boundary.read_boundary`, `grid_for` |
# | inputs → area file | `wetindex init … --input KIND=PATH` | `config.AreaConfig(source="local", grid=…, inputs=…)` |
# | check | `wetindex check --area NAME` | `commands.area.check_area(config, root)` |
# | static features | `wetindex run static --area NAME` | `stages.static.build_static(ctx, inputs)` |
# | train | `wetindex run train --area NAME` | `stages.train.train_stage(ctx, inputs, static)` |
# | forecast | `wetindex run forecast --area NAME` | `stages.forecast.forecast_stage(ctx, inputs, static, model)` |
# | publish, alerts | `wetindex run publish|alerts --area NAME` | `stages.publish.publish_stage`, `stages.alerts.alerts_stage` |
# | all of it | `wetindex run all --area NAME` | `stages.run.AreaRun(ctx).run_all()` |
# | health | `wetindex status --area NAME [--json]` | `stages.status.area_status(ctx)` |
#
# The notebook uses two areas: a **real municipality boundary** (Jammerbugt, code
# 0849, from the shared test fixtures) to show boundary → grid, and the **demo
# world's inputs written out as local files** (what a municipality would have: a
# terrain GeoTIFF, rain and sea-level CSVs, …) to show inputs → check → forecast
# without any download.

# %% tags=["parameters"]
#: municipality to cut out of the boundary file, and the grid's cell size [m]
KOMMUNE_CODE, CELL_SIZE_M = "0849", 10.0
#: the stand-in "local files": the demo world written out (small area for speed)
FULL_AREA = False
SIZE_M, YEARS, SEED = (10_000.0, 3.0, 42) if FULL_AREA else (2_000.0, 1.5, 7)
#: train with a lighter copy of the model configuration (fewer rows and trees, as in
#: notebook 03) so the run takes seconds; False trains as `wetindex run train` does
QUICK_TRAINING = not FULL_AREA

# %%
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from wetindex.cli import app
from wetindex.commands.area import check_area
from wetindex.config import (
    AreaConfig,
    GridConfig,
    LocalInputsConfig,
    TrainingConfig,
    demo_config,
)
from wetindex.demo.export import export_inputs
from wetindex.grid import AreaGrid
from wetindex.model.artifacts import ModelArtifactError, load_model
from wetindex.model.train import load_model_config, quick_model_config
from wetindex.sources.base import AreaInputs
from wetindex.sources.local_boundary import grid_for, read_boundary
from wetindex.stages.context import AreaContext
from wetindex.stages.forecast import forecast_stage
from wetindex.stages.inputs import area_inputs, demo_world
from wetindex.stages.static import build_static
from wetindex.stages.train import train_stage

REPO = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "models" / "configs").is_dir())
OUTPUT = Path(os.environ.get("WETINDEX_NOTEBOOK_OUTPUT", REPO / "var" / "notebooks"))
SHARED = Path(os.environ.get("WETINDEX_SHARED", REPO.parent / "shared"))
BOUNDARIES = SHARED / "fixtures" / "real" / "dagi_kommuner_2014_generalised.geojson"

# %% [markdown]
# ▶ The commands this wetindex offers (each is `wetindex COMMAND --help`):

# %%
commands = sorted(c.name or c.callback.__name__ for c in app.registered_commands)
groups = sorted(g.name for g in app.registered_groups)
print("commands:", ", ".join(commands))
print("command groups:", ", ".join(groups) or "none")

# %% [markdown]
# ## 1 · Boundary file → area grid
#
# ▶ `wetindex init --aoi dagi_kommuner.geojson --kommune 0849 --name jammerbugt`
#
# The boundary can be any vector file (GeoJSON, GeoPackage, Shapefile) in any CRS.
# `read_boundary` picks the municipality by its code (`KOMKODE` in DAGI files),
# reprojects it to the area CRS (EPSG:25832, ETRS89 / UTM 32N, in metres) and checks
# it; `grid_for` snaps a grid of `CELL_SIZE_M` cells around it with a margin for the
# coast and upstream land. Without the shared fixtures folder (`../shared` beside
# the repository, or `$WETINDEX_SHARED`) this section is skipped.

# %%
if BOUNDARIES.exists():
    boundary = read_boundary(BOUNDARIES, "EPSG:25832", code=KOMMUNE_CODE)
    real_grid = AreaGrid(**grid_for(boundary, CELL_SIZE_M, margin_m=500.0))
    print(f"{boundary.title}: {boundary.area_km2:.0f} km², from {boundary.source_crs} "
          f"to {boundary.crs}")
    print(f"grid: {real_grid.nx} × {real_grid.ny} cells of {real_grid.cell_size:g} m = "
          f"{real_grid.nx * real_grid.ny / 1e6:.1f} million cells; bounds {real_grid.bounds}")
else:
    boundary = real_grid = None
    print(f"skipped: {BOUNDARIES} not found (set WETINDEX_SHARED to the shared folder)")

# %%
if boundary is not None:
    fig, ax = plt.subplots(figsize=(8, 6.5))
    for part in getattr(boundary.geometry, "geoms", [boundary.geometry]):
        x, y = part.exterior.xy
        ax.fill(np.asarray(x) / 1000, np.asarray(y) / 1000, color="#a6d96a", alpha=0.6)
        ax.plot(np.asarray(x) / 1000, np.asarray(y) / 1000, color="#1a9641", lw=1)
    ax.fill([], [], color="#a6d96a", label=f"{boundary.title} ({KOMMUNE_CODE})")
    x0, y0, x1, y1 = (v / 1000 for v in real_grid.bounds)
    ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color="#d7191c", ls="--",
            label=f"area grid, {real_grid.cell_size:g} m cells")
    ax.set_aspect("equal")
    ax.set(title=f"Municipality boundary and its area grid ({boundary.crs})",
           xlabel="easting [km]", ylabel="northing [km]")
    ax.legend(loc="lower left")
    plt.show()

# %% [markdown]
# The 2014 boundaries in the fixtures are generalised (1:500 000): fine to learn
# with, not for a production mask. For production use the current DAGI boundary
# (`wetindex init --kommune 0849` fetches it) or your own survey.
#
# ## 2 · Local input files → the area configuration
#
# Here the demo world stands in for your municipality's files. It is written out in
# exactly the formats `--input KIND=PATH` reads: a terrain GeoTIFF, CSV series with a
# `time` column in UTC, a groundwater-depth GeoTIFF, the dike as GeoJSON lines with a
# crest height, the boundary, and observed water as labels (a NetCDF of water maps
# with times; your satellite water masks or incident polygons take its place).
#
# ▶ `python -m wetindex.demo.export my-files/` writes the same files.

# %%
demo_ctx = AreaContext(demo_config(size_m=SIZE_M, years=YEARS, seed=SEED),
                                root=REPO, output_root=OUTPUT)
world = demo_world(demo_ctx)
# labels: the simulated water once a day (the default, satellite passes, is slower to write)
files = export_inputs(OUTPUT / "my-area-files", world, labels_from="simulated", label_every_h=24)
pd.DataFrame({"file": {k: p.name for k, p in files.items()},
              "size [kB]": {k: round(p.stat().st_size / 1024, 1) for k, p in files.items()}})

# %% [markdown]
# ▶ `wetindex init --aoi my-area-files/boundary.geojson --name my-area --input terrain=…/terrain.tif --input rain=…/rain.csv …`
#
# writes `areas/my-area.yaml`. Its Python equivalent builds the same validated
# configuration: the grid from the boundary, one entry per input family.

# %%
local_boundary = read_boundary(files["boundary"], "EPSG:25832")
my_area = AreaConfig(
    name="my-area", title=local_boundary.title, source="local",
    grid=GridConfig(**grid_for(local_boundary, world.grid.cell_size, margin_m=0.0)),
    inputs=LocalInputsConfig(**{kind: str(path) for kind, path in files.items()}))
if QUICK_TRAINING:  # the area names its own model configuration, as an operator's may
    model_config = quick_model_config(
        load_model_config(REPO / my_area.training.model_config_file))
    quick_file = OUTPUT / "model-configs" / "my-area-quick.yaml"
    quick_file.parent.mkdir(parents=True, exist_ok=True)
    quick_file.write_text(yaml.safe_dump(model_config, sort_keys=False))
    my_area = my_area.model_copy(update={"training": TrainingConfig(
        model_config_file=str(quick_file), holdout_days=my_area.training.holdout_days)})
print(my_area.resolved_yaml())

# %% [markdown]
# ▶ `wetindex check --area my-area` — reads every input once and lists what blocks a
# run, and which documented proxies stand in for inputs you did not give.

# %%
problems, notes = check_area(my_area, REPO)
for line in notes:
    print("  ok   ", line)
for line in problems:
    print("  FAIL ", line)
print("ready to run" if not problems else f"{len(problems)} problem(s) block a run")

# %%
my_inputs = area_inputs(AreaContext(my_area, root=REPO, output_root=OUTPUT))
raw = my_inputs.static_inputs()
end = my_inputs.observed_end()
series = my_inputs.observed(end - np.timedelta64(30, "D"), end)
fig, axes = plt.subplots(1, 2, figsize=(14, 4.8), constrained_layout=True)
extent = [v / 1000 for v in (my_inputs.grid.x_min, my_inputs.grid.x_max,
                             my_inputs.grid.y_min, my_inputs.grid.y_max)]
im = axes[0].imshow(raw["elevation"].values, cmap="terrain", extent=extent)
fig.colorbar(im, ax=axes[0], label="terrain [m DVR90]")
outline = my_inputs.outline()
for part in getattr(outline, "geoms", [outline]):
    x, y = part.exterior.xy
    axes[0].plot(np.asarray(x) / 1000, np.asarray(y) / 1000, color="black", lw=1,
                 label="boundary")
axes[0].set(title="terrain.tif on the area grid", xlabel="easting [km]",
            ylabel="northing [km]")
axes[0].legend(loc="lower left")
t = pd.DatetimeIndex(series["time"].values)
axes[1].bar(t, series["rain"].values, width=1 / 24, color="#2c7fb8", label="rain [mm/h]")
axes[1].set(title="rain.csv and sea_level.csv, last 30 days", xlabel="time [UTC]",
            ylabel="rain [mm/h]")
twin = axes[1].twinx()
twin.plot(t, series["sea_level"].values, color="#08306b", lw=1, label="sea level [m]")
twin.set_ylabel("sea level [m DVR90]")
axes[1].legend(handles=[*axes[1].containers[:1], *twin.get_lines()], loc="upper right")
fig.autofmt_xdate()
plt.show()

# %% [markdown]
# ## 3 · From inputs to a forecast
#
# ▶ `wetindex run all --area my-area` runs static → history → train → forecast →
# publish → alerts for the area, resuming what is done (`wetindex.stages.run.AreaRun`).
#
# Below are the same stages' Python calls on `my-area`, the area made from the local
# files above: static features from `terrain.tif`, a model trained on its own history
# (the water maps in `labels.nc`), and a forecast from the latest issue time. A model
# trained here before is reused.

# %%
my_ctx = AreaContext(my_area, root=REPO, output_root=OUTPUT)
inputs = my_inputs  # ▶ (reads the files named in the area configuration)
static = build_static(my_ctx, inputs)  # ▶ wetindex run static --area my-area
try:
    model = load_model(my_ctx.models_root, my_area.name)
    print(f"reusing model {model.version}")
except ModelArtifactError as err:
    print(f"{err}: training one now")
    model = train_stage(my_ctx, inputs, static)  # ▶ wetindex run train --area my-area
started = time.perf_counter()
forecast = forecast_stage(my_ctx, inputs, static, model)  # ▶ wetindex run forecast
print(f"forecast issued {pd.Timestamp(forecast.dataset['issue_time'].values):%Y-%m-%d %H:%M} "
      f"UTC in {time.perf_counter() - started:.1f} s: {len(forecast.warnings)} warnings; "
      f"products in {forecast.folder}")
sorted(p.name for p in forecast.folder.iterdir())

# %%
probability = forecast.dataset["probability"]
area_share = (probability > 0.2).mean(dim=("y", "x")) * 100
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.plot(probability["lead"], area_share, marker=".", label="cells at or above yellow (p ≥ 0.2)")
ax.plot(probability["lead"], probability.max(dim=("y", "x")) * 100, label="highest probability")
ax.set(title="The forecast by lead hour", xlabel="lead time [h]", ylabel="percent [%]")
ax.legend()
plt.show()
print(f"inputs healthy: {forecast.status.healthy}; " + ", ".join(
    f"{i.name} {i.status}" for i in forecast.status.inputs))

# %% [markdown]
# ## 4 · Where real sources and credentials plug in
#
# * **An input provider** is a class implementing `wetindex.sources.base.AreaInputs`
#   (the methods listed below). `source: local` reads your files
#   (`wetindex.sources.local.LocalInputs`); the demo world is another provider.
#   Connectors for the public Danish sources live beside them in `wetindex/sources/`
#   (DMI observations and forecasts, the terrain model, DAGI boundaries, HIP
#   groundwater, Copernicus imagery, Open-Meteo), each listed with its licence and
#   attribution by ▶ `wetindex sources`.
# * **Credentials** are read from environment variables only, never from the area
#   file or the repository; a missing one fails with the variable's name. DMI's open
#   data needs no key since December 2025; the national terrain model's pixels need a
#   free Dataforsyningen token; Copernicus downloads need an account. ▶ `wetindex
#   check` says what an area's sources need.
# * **Model settings** (LightGBM, sampling, screen) are a YAML file named by
#   `training.model_config_file` in the area file; thresholds per warning level by
#   `thresholds:`; subscribers are in the area's encrypted store (`wetindex
#   subscribers add|import --area NAME`), delivery by `alerts.smtp` / `alerts.sms`.

# %%
pd.DataFrame({"what the provider must give": {
    name: (getattr(AreaInputs, name).__doc__ or "").strip().splitlines()[0]
    for name in sorted(AreaInputs.__abstractmethods__)}})
