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
# # 3 · Train and evaluate
#
# This notebook trains the wet-index model on the demo history with the pipeline's own
# stages (`wetindex.stages`: `area_inputs` → `build_static` → `train_stage`), then reads
# the evaluation that `train_stage` stores with every model:
#
# * the scores on the **hold-out period** (the last months of the history, never seen in
#   training) by lead-time bin, against the baselines the model must beat:
#   climatology, persistence of the last observed water, a rain-threshold rule on
#   depressions, and bathtub flooding from the forecast sea level;
# * **reliability**: when the model says 30 %, is it wet 30 % of the time?
#
# Finally it issues a forecast and explains one warning by its drivers.
#
# The command-line equivalent is `wetindex run train --area NAME` followed by
# `wetindex evaluate --area NAME`; `make demo` does it all for the demo area.

# %% tags=["parameters"]
FULL_AREA = False
SIZE_M, YEARS, SEED = (10_000.0, 3.0, 42) if FULL_AREA else (2_000.0, 1.5, 7)
#: a lighter model configuration (fewer rows and trees) so the notebook trains in
#: seconds; set False to train exactly as `make demo` does (several minutes)
QUICK_TRAINING = not FULL_AREA

# %%
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml
from IPython.display import Image, Markdown, display

from wetindex.config import TrainingConfig, demo_config
from wetindex.model.calibration import apply_calibration
from wetindex.model.dataset import sample_rows
from wetindex.model.screen import screened_cells
from wetindex.model.train import load_model_config, quick_model_config
from wetindex.stages.context import AreaContext
from wetindex.stages.forecast import forecast_stage
from wetindex.stages.inputs import area_inputs, latest_issue_time
from wetindex.stages.static import build_static
from wetindex.stages.train import train_stage

REPO = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "models" / "configs").is_dir())
OUTPUT = Path(os.environ.get("WETINDEX_NOTEBOOK_OUTPUT", REPO / "var" / "notebooks"))
config = demo_config(size_m=SIZE_M, years=YEARS, seed=SEED)

# %% [markdown]
# ## The model configuration
#
# Hyperparameters, sampling, the screen (which cells can flood at all) and the
# evaluation's size live in `models/configs/default.yaml`. For a quick run we derive a
# lighter copy: fewer training cells and rows, fewer boosting rounds, a smaller
# evaluation sample and no blocked cross-validation (the hold-out scores remain). It
# is written next to the outputs and named in the area configuration, exactly as an
# operator would point an area at their own model configuration.

# %%
model_config = load_model_config(REPO / config.training.model_config_file)
if QUICK_TRAINING:
    model_config = quick_model_config(model_config)  # lighter, no blocked cross-validation
    quick_file = OUTPUT / "model-configs" / "notebook-quick.yaml"
    quick_file.parent.mkdir(parents=True, exist_ok=True)
    quick_file.write_text(yaml.safe_dump(model_config, sort_keys=False))
    config = config.model_copy(update={"training": TrainingConfig(
        model_config_file=str(quick_file), holdout_days=config.training.holdout_days)})
print(yaml.safe_dump({k: model_config[k] for k in ("lightgbm", "sampling")}, sort_keys=False))

# %% [markdown]
# ## Train
#
# `train_stage` draws (cell, valid hour, lead) rows from the training period, fits
# LightGBM with early stopping on a validation period, calibrates the probabilities per
# lead bin, scores the hold-out period against the baselines and saves a new model
# version (`model.txt`, `metadata.json`, `model_card.md`, `evaluation/`).

# %%
ctx = AreaContext(config, root=REPO, output_root=OUTPUT)
inputs = area_inputs(ctx)
static = build_static(ctx, inputs)
started = time.perf_counter()
model = train_stage(ctx, inputs, static)
print(f"trained and evaluated in {time.perf_counter() - started:.1f} s "
      f"(2 shared cores: pessimistic)")
print(f"model {model.version} in {model.path}")
pd.DataFrame(model.metadata["periods"], index=["from", "to"]).T

# %%
display(Markdown(model.path.joinpath("model_card.md").read_text()))

# %% [markdown]
# ## Scores by lead time against the baselines
#
# `metadata["evaluation"]` holds, per method and lead bin (0–6 h, 6–12 h, …), the
# Brier score, the **Brier skill score** (BSS: 1 is perfect, 0 is no better than
# climatology), ROC-AUC, PR-AUC and POD / FAR / CSI at the orange threshold.

# %%
evaluation = model.metadata["evaluation"]
bins = evaluation["lead_bins"]
methods = list(evaluation["scores"])
bss = pd.DataFrame({m: evaluation["scores"][m]["brier_skill"] for m in methods},
                   index=[f"{b} h" for b in bins]).T
bss.round(3)

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), constrained_layout=True)
centres = [np.mean([float(v) for v in b.split("-")]) for b in bins]
for ax, (metric, label) in zip(axes, [("brier_skill", "Brier skill score [1]"),
                                      ("roc_auc", "ROC-AUC [1]"),
                                      ("csi_orange", "CSI at orange [1]")], strict=True):
    for method in methods:
        values = evaluation["scores"][method].get(metric)
        if values is None:
            continue
        bold = method.startswith("model")
        ax.plot(centres, values, marker="o", lw=2.5 if bold else 1.2,
                alpha=1.0 if bold else 0.75, label=method)
    ax.set(title=label.split(" [")[0] + " by lead time (hold-out)",
           xlabel="lead time, bin centre [h]", ylabel=label)
    ax.axhline(0, color="grey", lw=0.6)
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=8,
           title="method")
plt.show()

# %% [markdown]
# ## Reliability
#
# A reliability diagram bins the forecast probabilities and plots, for each bin, how
# often the cell was in fact wet. Points on the diagonal are perfectly reliable. We
# compute it here from the model's own predictions on hold-out rows: the same kind of
# rows as in training (class-subsampled and weighted back to the population), drawn
# from the hold-out period's candidate cells. Raw LightGBM probabilities and the
# calibrated ones (the per-lead-bin calibration stored with the model) are shown.

# %%
holdout = tuple(pd.Timestamp(t) for t in model.metadata["periods"]["holdout"])
candidates = screened_cells(inputs, static, model.screen)
rng = np.random.default_rng(0)
cells = np.sort(rng.choice(candidates, size=min(1500, len(candidates)), replace=False))
rows = sample_rows(inputs, static, cells, holdout, max_lead_h=config.forecast.max_lead_h,
                   valid_hour_step=6, max_positive_rows=20_000, max_negative_rows=40_000,
                   rng=rng)
raw = model.booster.predict(rows.features)
calibrated = apply_calibration(raw, rows.lead, model.metadata["calibration"])
print(f"{len(rows):,} hold-out rows, {int(rows.label.sum()):,} wet")

# %%
edges = np.linspace(0, 1, 11)
lead_groups = [(0, 12), (12, 24), (24, 48)]
fig, axes = plt.subplots(1, len(lead_groups), figsize=(15, 4.8), constrained_layout=True)
for ax, (lo, hi) in zip(axes, lead_groups, strict=True):
    in_group = (rows.lead > lo) & (rows.lead <= hi)
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8, label="perfectly reliable")
    for name, p in [("raw LightGBM", raw), ("calibrated", calibrated)]:
        which = np.digitize(p[in_group], edges[1:-1])
        w, y, q = rows.weight[in_group], rows.label[in_group], p[in_group]
        filled = [k for k in range(len(edges) - 1) if w[which == k].sum() > 0]
        forecast = [np.average(q[which == k], weights=w[which == k]) for k in filled]
        observed = [np.average(y[which == k], weights=w[which == k]) for k in filled]
        ax.plot(forecast, observed, marker="o", label=name)
    ax.set(xlim=(0, 1), ylim=(0, 1), title=f"Reliability, lead {lo}–{hi} h (hold-out)",
           xlabel="forecast probability [1]", ylabel="observed frequency of water [1]")
    ax.legend(loc="upper left", fontsize=8)
plt.show()

# %% [markdown]
# The verification report written next to the model (`evaluation/`) has the same
# diagram per lead bin, computed inside `train_stage`; here is its first one, when
# the report is there.

# %%
report_pngs = sorted((model.path / "evaluation").glob("reliability_*.png"))
if report_pngs:
    print(f"{len(report_pngs)} reliability diagrams in {report_pngs[0].parent}")
    display(Image(filename=str(report_pngs[0])))
else:
    print(f"no verification report in {model.path}: the diagram above is the one to read")

# %% [markdown]
# ## One warning, explained by its drivers
#
# `forecast_stage` predicts every candidate cell for lead hours 1–48, turns the
# probabilities into levels (yellow / orange / red) and groups the cells at or above
# yellow into **warning areas** by place. Each warning carries its **drivers**: the
# share of the model's evidence (LightGBM's per-feature contributions, summed by
# group) that came from rain, the sea, groundwater, wet soil and terrain.
#
# We issue the forecast half a day before the last storm of the hold-out period.

# %%
events = [pd.Timestamp(t) for t in inputs.world.events["overtopping_storms"]]
if inputs.world.events.get("cloudburst"):
    events.append(pd.Timestamp(inputs.world.events["cloudburst"]))
in_holdout = sorted(t for t in events if holdout[0] + pd.Timedelta(hours=12) <= t <= holdout[1])
issue_time = ((in_holdout[-1] - pd.Timedelta(hours=12)).floor("3h") if in_holdout
              else latest_issue_time(inputs))
forecast = forecast_stage(ctx, inputs, static, model, issue_time=issue_time)
print(f"issued {issue_time:%Y-%m-%d %H:%M} UTC: {len(forecast.warnings)} warning areas, "
      f"written to {forecast.folder}")
pd.DataFrame([{"place": w.place, "level": w.level_name, "max probability": w.probability,
               "onset": w.onset, "peak": w.peak_time, "cells": w.cells,
               "main drivers": ", ".join(w.main_drivers)} for w in forecast.warnings])

# %%
grid = inputs.grid
extent = (grid.x_min / 1000, grid.x_max / 1000, grid.y_min / 1000, grid.y_max / 1000)
highest = forecast.dataset["probability"].max("lead")
fig, ax = plt.subplots(figsize=(7.5, 6.5))
ax.imshow(static["elevation"].values, cmap="gray", extent=extent)
im = ax.imshow(np.ma.masked_less(highest.values, 0.02), cmap="YlOrRd", vmin=0, vmax=1,
               extent=extent, alpha=0.9)
fig.colorbar(im, ax=ax, shrink=0.8, label="highest probability of water, leads 1–48 h [1]")
ax.plot([], [], color="#555555", lw=6, label="terrain (grey: low dark, high light)")
ax.legend(loc="lower right", fontsize=8)
ax.set(title=f"Forecast issued {issue_time:%Y-%m-%d %H:%M} UTC: highest probability",
       xlabel="easting [km, EPSG:25832]", ylabel="northing [km, EPSG:25832]")
plt.show()

# %%
if forecast.warnings:
    warning = max(forecast.warnings, key=lambda w: (w.level, w.probability))
    shares = pd.Series(warning.drivers).sort_values()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.barh(shares.index, shares.values * 100, color="#d95f0e", label="share of the evidence")
    ax.set(title=f"Why {warning.place} is {warning.level_name} "
                 f"(p = {warning.probability:.0%}, peak {warning.peak_time:%d %b %H:%M} UTC)",
           xlabel="share of the model's evidence [%]", ylabel="driver group")
    ax.legend(loc="lower right")
    plt.show()
    print(f"{warning.place}: {warning.level_name} from {warning.onset:%d %b %H:%M} to "
          f"{warning.expires:%d %b %H:%M} UTC; mainly {' and '.join(warning.main_drivers)}.")
else:
    print("no warning in this forecast: pick an issue time closer to a storm")

# %% [markdown]
# **How to read the drivers.** Terrain always carries a large share: it says *where*
# water can stand. The dynamic groups say *why now*: a warning led by `rain` is a
# cloudburst on depressions; by `sea`, a storm surge against the dike; by
# `groundwater` or `wet_soil`, a wet season in which even moderate rain floods low
# ground. The citizen site and the CAP messages name the same drivers.
