"""Cross-validation blocked in space and by storm in time.

Neighbouring cells and the hours of one storm are nearly copies of each other;
a random split would score the model on storms it was trained on. Here:

- **Storms** are found in the observed drivers: hours whose 24-hour rain or sea
  level is extreme for the area (by default the 99th percentile), merged when
  less than ``merge_gap_h`` apart.
- **Time blocks**: the period is cut into ``n_folds × blocks_per_fold`` blocks
  whose boundaries are moved out of any storm, and block ``b`` goes to fold
  ``b mod n_folds``.
- **Space**: the grid is cut into square tiles of ``tile_m``; tiles are dealt to
  the folds at random.
- Fold ``k`` tests on rows in its time blocks *and* its tiles; it trains on
  rows in other blocks and other tiles, at least ``gap_h`` hours from every test
  block. A storm is therefore never in both, which :func:`blocked_folds`
  checks and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import xarray as xr
from sklearn.metrics import average_precision_score, roc_auc_score

from wetindex.features.stack import FEATURES
from wetindex.model.dataset import SampleTable


def storm_events(observed: xr.Dataset, *, quantile: float = 0.99,
                 merge_gap_h: int = 48) -> pd.DataFrame:
    """Storms in hourly observed drivers: ``start``, ``end``, ``kind`` (rain/sea/both), peaks."""
    rain_24 = observed["rain"].rolling(time=24, min_periods=1).sum().values
    sea = observed["sea_level"].values
    with np.errstate(invalid="ignore"):
        wet = rain_24 >= max(np.nanquantile(rain_24, quantile), 1.0)
        high = sea >= np.nanquantile(sea, quantile)
    hot = np.flatnonzero(wet | high)
    times = pd.DatetimeIndex(observed["time"].values)
    if hot.size == 0:
        return pd.DataFrame(columns=["start", "end", "kind", "rain_24h_max", "sea_level_max"])
    cuts = np.flatnonzero(np.diff(hot) > merge_gap_h) + 1
    rows = []
    for run in np.split(hot, cuts):
        a, b = run[0], run[-1]
        kind = ("both" if wet[a:b + 1].any() and high[a:b + 1].any()
                else "rain" if wet[a:b + 1].any() else "sea")
        rows.append({"start": times[a], "end": times[b], "kind": kind,
                     "rain_24h_max": float(np.nanmax(rain_24[a:b + 1])),
                     "sea_level_max": float(np.nanmax(sea[a:b + 1]))})
    return pd.DataFrame(rows)


def _in_storm(t: pd.Timestamp, storms: pd.DataFrame, margin: pd.Timedelta) -> pd.Series | None:
    hit = storms[(storms["start"] - margin <= t) & (t <= storms["end"] + margin)]
    return None if hit.empty else hit.iloc[0]


def time_blocks(start: pd.Timestamp, end: pd.Timestamp, storms: pd.DataFrame, *,
                n_folds: int, blocks_per_fold: int, margin_h: int = 24) -> pd.DataFrame:
    """Blocks ``start``, ``end``, ``fold``; no boundary falls inside a storm (± margin)."""
    n = n_folds * blocks_per_fold
    bounds = list(pd.date_range(start, end, periods=n + 1))
    margin = pd.Timedelta(hours=margin_h)
    for i in range(1, n):
        storm = _in_storm(bounds[i], storms, margin)
        if storm is not None:  # move the boundary past the storm's end
            bounds[i] = min(storm["end"] + margin + pd.Timedelta(hours=1), end)
    for i in range(1, n + 1):  # keep the boundaries ordered after moves
        bounds[i] = max(bounds[i], bounds[i - 1])
    return pd.DataFrame({"start": bounds[:-1], "end": bounds[1:],
                         "fold": [b % n_folds for b in range(n)]})


def tile_folds(cells: np.ndarray, nx: int, cell_size: float, *, tile_m: float, n_folds: int,
               seed: int = 0) -> np.ndarray:
    """Fold of each flat cell's square tile (tiles dealt to folds at random, evenly)."""
    per_tile = max(1, round(tile_m / cell_size))
    row, col = np.divmod(np.asarray(cells), nx)
    n_cols = -(-nx // per_tile)
    tile = (row // per_tile) * n_cols + col // per_tile
    uniq, inverse = np.unique(tile, return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(uniq))
    return (order % n_folds)[inverse]


@dataclass
class Fold:
    train: np.ndarray  # row indices
    test: np.ndarray
    storms_tested: int
    storms_shared: int


def blocked_folds(valid_time: np.ndarray, cell: np.ndarray, storms: pd.DataFrame, *, nx: int,
                  cell_size: float, n_folds: int = 3, blocks_per_fold: int = 2,
                  tile_m: float = 500.0, gap_h: int = 120, seed: int = 0) -> list[Fold]:
    """Row indices of each fold (see module docstring)."""
    t = pd.DatetimeIndex(valid_time)
    blocks = time_blocks(t.min(), t.max() + pd.Timedelta(hours=1), storms,
                         n_folds=n_folds, blocks_per_fold=blocks_per_fold)
    block_of = np.clip(np.searchsorted(blocks["start"].values, t.values, side="right") - 1,
                       0, len(blocks) - 1)
    time_fold = blocks["fold"].values[block_of]
    space_fold = tile_folds(cell, nx, cell_size, tile_m=tile_m, n_folds=n_folds, seed=seed)
    storm_id = np.full(len(t), -1)
    for i, s in storms.iterrows():
        storm_id[(t >= s["start"]) & (t <= s["end"] + pd.Timedelta(hours=48))] = i
    gap = pd.Timedelta(hours=gap_h)
    folds = []
    for k in range(n_folds):
        test_blocks = blocks[blocks["fold"] == k]
        near = np.zeros(len(t), bool)
        for _, b in test_blocks.iterrows():
            near |= (t >= b["start"] - gap) & (t < b["end"] + gap)
        test = np.flatnonzero((time_fold == k) & (space_fold == k))
        train = np.flatnonzero((time_fold != k) & (space_fold != k) & ~near)
        tested = set(storm_id[test]) - {-1}
        shared = tested & (set(storm_id[train]) - {-1})
        folds.append(Fold(train, test, len(tested), len(shared)))
    return folds


def _weighted_brier(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (p - y) ** 2) / np.sum(w))


def cross_validate(rows: SampleTable, storms: pd.DataFrame, params: dict[str, Any], *,
                   num_boost_round: int, nx: int, cell_size: float, n_folds: int = 3,
                   tile_m: float = 500.0, gap_h: int = 120, seed: int = 0) -> dict[str, Any]:
    """Train and score one booster per fold; weighted scores per fold and their mean.

    ``out_of_fold`` holds each test row's prediction by the fold that did not see
    it (NaN for rows in no test fold): a NumPy array, dropped before saving.

    The reference for the Brier skill score is the training fold's (weighted)
    base rate: test tiles are not in training, so no per-cell climatology exists
    for them.
    """
    folds = blocked_folds(rows.valid_time, rows.cell, storms, nx=nx, cell_size=cell_size,
                          n_folds=n_folds, tile_m=tile_m, gap_h=gap_h, seed=seed)
    per_fold = []
    oof = np.full(len(rows), np.nan)
    for k, fold in enumerate(folds):
        tr, te = rows.subset(np.isin(np.arange(len(rows)), fold.train)), rows.subset(
            np.isin(np.arange(len(rows)), fold.test))
        if tr.label.sum() == 0 or te.label.sum() == 0 or te.label.sum() == len(te):
            per_fold.append({"fold": k, "skipped": "one class only", "n_test": len(te)})
            continue
        booster = lgb.train(params, lgb.Dataset(tr.features, tr.label, weight=tr.weight,
                                                feature_name=list(FEATURES),
                                                categorical_feature=["land_cover"]),
                            num_boost_round=num_boost_round)
        p = booster.predict(te.features)
        oof[fold.test] = p
        base = float(np.sum(tr.weight * tr.label) / np.sum(tr.weight))
        b = _weighted_brier(p, te.label, te.weight)
        b_ref = _weighted_brier(np.full(len(te), base), te.label, te.weight)
        per_fold.append({
            "fold": k, "n_train": len(tr), "n_test": len(te), "n_test_wet": int(te.label.sum()),
            "storms_tested": fold.storms_tested, "storms_shared": fold.storms_shared,
            "brier": b, "brier_skill": 1 - b / b_ref,
            "roc_auc": float(roc_auc_score(te.label, p, sample_weight=te.weight)),
            "pr_auc": float(average_precision_score(te.label, p, sample_weight=te.weight)),
        })
    scored = [f for f in per_fold if "brier" in f]
    mean = {m: float(np.mean([f[m] for f in scored])) if scored else float("nan")
            for m in ("brier", "brier_skill", "roc_auc", "pr_auc")}
    return {"scheme": {"n_folds": n_folds, "tile_m": tile_m, "gap_h": gap_h,
                       "storms": len(storms), "time": "blocks with boundaries outside storms"},
            "folds": per_fold, "mean": mean, "out_of_fold": oof}
