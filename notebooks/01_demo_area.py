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
# # 1 · The demo area
#
# wetindex ships a synthetic but plausible coastal municipality, the **demo world**, so
# that every part of the system can be run, tested and explained without a single
# download. This notebook walks through it:
#
# 1. the terrain (hillshade) with its depressions ("bluespots"), the stream, the lake,
#    the sea and the dike that protects a low polder;
# 2. one storm: rain, sea level and groundwater as time series;
# 3. the "true" water the storm causes at its peak, split by process (rain, stream,
#    sea, groundwater).
#
# The demo world is what the model is trained on when the area is the demo. Its
# numbers say nothing about a real municipality; its *shapes* (which cells flood, and
# why) are what the model has to learn.
#
# **Parameters.** The next cell runs a small 2 × 2 km area with 1.5 years of history,
# so the notebook finishes in seconds. Set `FULL_AREA = True` for the 10 × 10 km,
# 3-year demo that `make demo` builds (a few minutes the first time, then cached).

# %% tags=["parameters"]
FULL_AREA = False
SIZE_M, YEARS, SEED = (10_000.0, 3.0, 42) if FULL_AREA else (2_000.0, 1.5, 7)

# %% [markdown]
# Outputs go to `$WETINDEX_NOTEBOOK_OUTPUT` when it is set (the test suite sets it to
# a temporary folder), otherwise to `var/notebooks/` in the repository (git-ignored).
# The demo world is cached there by its configuration, so a second run is instant.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LightSource, ListedColormap
from matplotlib.patches import Patch

from wetindex.config import demo_config
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import demo_world

REPO = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "models" / "configs").is_dir())
OUTPUT = Path(os.environ.get("WETINDEX_NOTEBOOK_OUTPUT", REPO / "var" / "notebooks"))

ctx = AreaContext(demo_config(size_m=SIZE_M, years=YEARS, seed=SEED),
                           root=REPO, output_root=OUTPUT)
world = demo_world(ctx)
world

# %% [markdown]
# ## The terrain
#
# `world.static` holds the terrain model on the area grid (10 m cells, EPSG:25832,
# heights in metres above DVR90) and the masks that describe the landscape. A
# hillshade makes the relief readable; colour shows height.

# %%
grid = world.grid
extent = (grid.x_min / 1000, grid.x_max / 1000, grid.y_min / 1000, grid.y_max / 1000)
elevation = world.static["elevation"].values
shade = LightSource(azdeg=315, altdeg=35).hillshade(
    np.nan_to_num(elevation, nan=0.0), vert_exag=8, dx=grid.cell_size, dy=grid.cell_size)

fig, ax = plt.subplots(figsize=(7.5, 6.5))
ax.imshow(shade, cmap="gray", extent=extent)
im = ax.imshow(elevation, cmap="terrain", vmin=-2, vmax=float(np.nanpercentile(elevation, 99)),
               alpha=0.55, extent=extent)
fig.colorbar(im, ax=ax, label="terrain height [m DVR90]", shrink=0.8)
ax.set(title="Demo area: terrain (hillshade and height)",
       xlabel="easting [km, EPSG:25832]", ylabel="northing [km, EPSG:25832]")
ax.legend(handles=[Patch(color="#2a7ab0", label="low (sea, lake, polder)"),
                   Patch(color="#c9b27c", label="high (dunes, hills)")], loc="lower right")
plt.show()

# %% [markdown]
# ## Bluespots, stream, lake, sea and dike
#
# A **bluespot** is a closed depression: rain that falls in its catchment collects
# there until it spills over. The **stream** floods its floodplain when discharge is
# high. The **dike** ("Nordre Dige") keeps the sea out of the low polder behind it
# until the sea rises above its lowest crest. Every one of these is a way a cell gets
# wet, and the model sees each of them through a terrain feature (notebook 2).

# %%
masks = {
    "sea": world.static["sea"].values,
    "lake": world.static["lake"].values,
    "stream": world.static["stream"].values,
    "bluespot": world.truth_cells["bluespot"].values > 0,
}
polder = world.truth_cells["polder"].values.astype(bool)
colours = {"sea": "#1f4e9c", "lake": "#3a8fd9", "stream": "#00b7ff", "bluespot": "#7fdcff"}
layer = np.zeros(grid.shape, dtype=int)
for i, name in enumerate(["bluespot", "stream", "lake", "sea"], start=1):
    layer[masks[name]] = i
cmap = ListedColormap([colours[n] for n in ["bluespot", "stream", "lake", "sea"]])

fig, ax = plt.subplots(figsize=(7.5, 6.5))
ax.imshow(shade, cmap="gray", extent=extent)
ax.imshow(np.ma.masked_equal(layer, 0), cmap=cmap, vmin=0.5, vmax=4.5, extent=extent,
          interpolation="nearest", alpha=0.85)
ax.contour(grid.x / 1000, grid.y / 1000, polder, levels=[0.5], colors="#e6a100",
           linewidths=1.5)
dx, dy = world.dike_line.xy
ax.plot(np.asarray(dx) / 1000, np.asarray(dy) / 1000, color="#c0392b", lw=3,
        label=f"dike (lowest crest {world.dike_crest_min:.2f} m)")
ax.plot([], [], color="#e6a100", lw=1.5, label="polder behind the dike")
for place in world.places:
    c = place.geometry.representative_point()
    ax.annotate(place.name, (c.x / 1000, c.y / 1000), fontsize=7, ha="center",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7, "lw": 0})
handles = [Patch(color=colours[n], label=n) for n in colours]
ax.legend(handles=[*handles, *ax.get_lines()[:2]], loc="lower right", fontsize=8)
ax.set(title="Demo area: where water can come from",
       xlabel="easting [km, EPSG:25832]", ylabel="northing [km, EPSG:25832]")
plt.show()

n_bluespots = len(np.unique(world.truth_cells["bluespot"].values)) - 1
print(f"{n_bluespots} bluespots cover {masks['bluespot'].mean():.1%} of the area; "
      f"the polder {polder.mean():.1%}.")

# %% [markdown]
# ## A storm as time series
#
# The forcing is hourly and area-wide: rain [mm/h], evaporation [mm/d], sea level
# [m DVR90] and the groundwater anomaly [m] (how far the water table is above its
# usual level). `world.events` lists the storms the demo world is built to contain:
# sea storms that overtop the dike, and one summer cloudburst.

# %%
world.events

# %%
peak = pd.Timestamp(world.events["overtopping_storms"][0])
window = slice(peak - pd.Timedelta(days=4), peak + pd.Timedelta(days=3))
forcing = world.forcing.sel(time=window)
t = pd.DatetimeIndex(forcing["time"].values)

fig, axes = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True)
axes[0].bar(t, forcing["rain"].values, width=1 / 24, color="#2c7fb8", label="rain")
axes[0].set(ylabel="rain [mm/h]", title=f"Storm around {peak:%Y-%m-%d %H:%M} UTC")
axes[1].plot(t, forcing["sea_level"].values, color="#08306b", label="sea level")
axes[1].axhline(world.dike_crest_min, color="#c0392b", ls="--", label="lowest dike crest")
axes[1].set(ylabel="sea level [m DVR90]")
axes[2].plot(t, forcing["groundwater_anomaly"].values, color="#31a354",
             label="groundwater anomaly")
axes[2].set(ylabel="groundwater anomaly [m]", xlabel="time [UTC]")
for ax in axes:
    ax.axvline(peak, color="grey", lw=0.8, ls=":")
    ax.legend(loc="upper left", fontsize=8)
fig.autofmt_xdate()
plt.show()

# %% [markdown]
# ## The true water at the storm's peak
#
# `world.water(times)` gives the simulated flood water (a bool per cell and hour;
# permanent water such as the sea and the lake is never flood water). We find the hour
# with the most flooded cells in the storm window, then split that hour's water by the
# process that caused it with `world.water_components(time)`.

# %%
flooded = world.water(t.values).sum(dim=("y", "x")).to_series()
peak_water = flooded.idxmax()
components = world.water_components(peak_water)

fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(flooded.index, flooded.values * grid.cell_area / 1e4, color="#08519c",
        label="flooded area")
ax.axvline(peak_water, color="#c0392b", ls=":", label=f"peak {peak_water:%d %b %H:%M}")
ax.set(title="Flooded area during the storm (demo truth)", xlabel="time [UTC]",
       ylabel="flooded area [ha]")
ax.legend(loc="upper left")
fig.autofmt_xdate()
plt.show()

# %%
process_colours = {"pluvial": "#6baed6", "fluvial": "#00c0a0", "coastal": "#08306b",
                   "groundwater": "#74c476"}
water_layer = np.zeros(grid.shape, dtype=int)
for i, name in enumerate(process_colours, start=1):
    water_layer[components[name].values & (water_layer == 0)] = i

fig, ax = plt.subplots(figsize=(7.5, 6.5))
ax.imshow(shade, cmap="gray", extent=extent)
ax.imshow(np.ma.masked_equal(water_layer, 0),
          cmap=ListedColormap(list(process_colours.values())), vmin=0.5, vmax=4.5,
          extent=extent, interpolation="nearest")
ax.plot(np.asarray(dx) / 1000, np.asarray(dy) / 1000, color="#c0392b", lw=2, label="dike")
ax.legend(handles=[*(Patch(color=c, label=f"{k} flooding") for k, c in
                     process_colours.items()), ax.get_lines()[0]],
          loc="lower right", fontsize=8)
ax.set(title=f"True flood water at {peak_water:%Y-%m-%d %H:%M} UTC, by process",
       xlabel="easting [km, EPSG:25832]", ylabel="northing [km, EPSG:25832]")
plt.show()

pd.Series({k: int(components[k].sum()) for k in process_colours},
          name="flooded cells").to_frame().assign(
    hectares=lambda d: d["flooded cells"] * grid.cell_area / 1e4)

# %% [markdown]
# **What to take away.** Water comes from four processes with different drivers:
# pluvial water from heavy rain on bluespots, fluvial water from the stream after
# days of rain, coastal water when the sea overtops the dike and fills the polder,
# and groundwater when the water table reaches the surface in low, wet ground. A
# forecast has to know both the terrain (where) and the drivers (when): notebook 2
# shows the features that carry each.
