"""Calibration of the model's probabilities, fitted on the validation period.

Isotonic regression (monotone, so warning order is kept) maps the booster's raw
probability to the observed frequency. One map is fitted per lead-time bin when
the bin has enough wet validation rows, else the map fitted on all leads is used
for that bin. The maps are stored as breakpoints in ``metadata.json`` under
``"calibration"`` and applied with :func:`apply_calibration` by interpolation, so
applying needs only NumPy. A raw probability of exactly 0 (a cell the screen
left out) stays 0.

A map fitted on one period also carries that period's base rate (a wet winter
validation period makes every spring forecast too wet). :func:`guard_calibration`
therefore keeps a bin's map only where it lowers the Brier score on predictions
*outside* the validation period (the blocked cross-validation's out-of-fold
predictions); elsewhere the bin keeps the booster's own probabilities, which
the inverse-inclusion weights already make those of the population.

Reliability is checked per bin with the expected calibration error (ECE):
the row-weighted mean gap between forecast probability and observed frequency
over ten probability bins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

#: A lead bin needs this many wet rows (and as many dry) for its own map.
MIN_WET_PER_BIN = 200
#: Breakpoints kept per map (thinned evenly; isotonic maps are step functions).
MAX_POINTS = 200


def _fit_map(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[list[float], list[float]]:
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(p, y, sample_weight=w)
    x, f = iso.X_thresholds_, iso.y_thresholds_
    if len(x) > MAX_POINTS:
        keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
        x, f = x[keep], f[keep]
    return [float(v) for v in x], [float(v) for v in f]


def fit_calibration(probability: np.ndarray, label: np.ndarray, lead_hours: np.ndarray,
                    lead_bins: list[tuple[int, int]], weight: np.ndarray | None = None
                    ) -> dict[str, Any]:
    """Isotonic maps per lead bin (see module docstring), as a JSON-able dict."""
    p = np.asarray(probability, "float64")
    y = np.asarray(label, "float64")
    w = np.ones_like(p) if weight is None else np.asarray(weight, "float64")
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("calibration: the validation rows have only one class; "
                         "use a longer validation period")
    x_all, f_all = _fit_map(p, y, w)
    maps = []
    for lo, hi in lead_bins:
        sel = (lead_hours > lo) & (lead_hours <= hi)
        n_wet = int(y[sel].sum())
        if n_wet >= MIN_WET_PER_BIN and sel.sum() - n_wet >= MIN_WET_PER_BIN:
            x, f = _fit_map(p[sel], y[sel], w[sel])
            maps.append({"lead_bin": [lo, hi], "x": x, "y": f, "own": True, "n_wet": n_wet})
        else:
            maps.append({"lead_bin": [lo, hi], "x": x_all, "y": f_all, "own": False,
                         "n_wet": n_wet})
    return {"method": "isotonic", "fitted_on": "validation", "maps": maps}


IDENTITY = {"x": [0.0, 1.0], "y": [0.0, 1.0]}


def guard_calibration(calibration: dict[str, Any], probability: np.ndarray, label: np.ndarray,
                      lead_hours: np.ndarray, weight: np.ndarray) -> dict[str, Any]:
    """Keep a bin's map only if it lowers the weighted Brier score on independent rows.

    ``probability`` etc. are rows not used to fit the maps (see module docstring).
    The decision and both scores are recorded per bin under ``"guard"``.
    """
    guarded = {**calibration, "maps": [], "guard": []}
    for m in calibration["maps"]:
        lo, hi = m["lead_bin"]
        sel = (lead_hours > lo) & (lead_hours <= hi)
        p, y, w = probability[sel], label[sel], weight[sel]
        if sel.sum() == 0 or y.sum() == 0:
            guarded["maps"].append(m)
            guarded["guard"].append({"lead_bin": [lo, hi], "kept": True, "rows": 0})
            continue
        cal = np.interp(p, m["x"], m["y"])
        before = float(np.sum(w * (p - y) ** 2) / w.sum())
        after = float(np.sum(w * (cal - y) ** 2) / w.sum())
        keep = after < before
        guarded["maps"].append(m if keep else {**m, **IDENTITY, "own": False,
                                               "identity": True})
        guarded["guard"].append({"lead_bin": [lo, hi], "kept": keep, "rows": int(sel.sum()),
                                 "brier_raw": before, "brier_calibrated": after})
    return guarded


def apply_calibration(probability: np.ndarray, lead_hours: np.ndarray,
                      calibration: dict[str, Any]) -> np.ndarray:
    """Calibrated probabilities; ``lead_hours`` broadcasts against ``probability``.

    Parameters
    ----------
    probability : numpy.ndarray
        Raw model probabilities, any shape.
    lead_hours : numpy.ndarray
        Lead of each value, broadcastable to ``probability`` (e.g. ``(n_lead, 1, 1)``
        for a ``(lead, y, x)`` cube).
    calibration : dict
        ``metadata["calibration"]`` as written by :func:`fit_calibration`; ``None``
        or ``{}`` returns the input unchanged.
    """
    p = np.asarray(probability)
    if not calibration:
        return p
    lead = np.broadcast_to(np.asarray(lead_hours), p.shape)
    out = np.array(p, dtype="float32", copy=True)
    maps = calibration["maps"]
    for i, m in enumerate(maps):
        lo, hi = m["lead_bin"]
        sel = (lead > lo) & (lead <= hi)
        if i == len(maps) - 1:
            sel |= lead > hi  # leads beyond the last bin use the last map
        if i == 0:
            sel |= lead <= lo
        out[sel] = np.interp(p[sel], m["x"], m["y"])
    out[p == 0] = 0.0  # screened-out cells are dry by construction
    return out


def reliability_curve(p: np.ndarray, y: np.ndarray, n_bins: int = 10
                      ) -> dict[str, list[float]]:
    """Mean forecast, observed frequency and count per probability bin (empty bins dropped)."""
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    keep = count > 0
    return {"forecast": (sum_p[keep] / count[keep]).tolist(),
            "observed": (sum_y[keep] / count[keep]).tolist(),
            "count": count[keep].astype(int).tolist()}


def expected_calibration_error(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """Row-weighted mean |forecast − observed frequency| over probability bins."""
    if len(p) == 0:
        return float("nan")
    c = reliability_curve(np.asarray(p, "float64"), np.asarray(y, "float64"), n_bins)
    gaps = np.abs(np.array(c["forecast"]) - np.array(c["observed"]))
    return float(np.sum(gaps * np.array(c["count"])) / np.sum(c["count"]))
