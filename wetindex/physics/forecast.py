"""The physically based forecast of one issue time, as the same dataset the model makes.

``probability`` [0–1] and ``level`` on ``(lead, y, x)`` with ``issue_time`` and
``valid_time`` coordinates and the area's CRS, so it flows through the same warnings,
site, feed and alerts as the learned model's forecast. Four processes each give a
probability from the driver ensemble (:mod:`wetindex.physics.uncertainty`):

- sea (:mod:`~wetindex.physics.sea`): the ensemble of the sea-level forecast;
- bluespots (:mod:`~wetindex.physics.pluvial`) and streams
  (:mod:`~wetindex.physics.streams`): the ensemble of the rain forecast;
- groundwater: the ensemble of the groundwater forecast.

They are combined as independent causes, ``P = 1 − Π (1 − P_k)`` (the sea, rain and
groundwater forecasts' errors are nearly independent; rain drives both bluespots and
streams, which rarely share a cell). Sea and permanent water get 0: they are never
warned. Each process is computed only on the cells where it can be non-zero (below
the highest member's sea level, in bluespots, on floodplains, where the water table is
within reach), so memory stays that of the output cube; the ``components`` are kept
(uint8, steps of 0.4 %) to name the drivers of each warning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.absent_inputs import RAIN_ABSENT, is_absent
from wetindex.features.dynamic import FlowNetwork, flow_network
from wetindex.features.hydromet import HISTORY_NEEDED_H
from wetindex.grid import AreaGrid
from wetindex.model.predict import levels
from wetindex.physics import PHYSICAL_NOTE
from wetindex.physics.pluvial import BluespotNetwork, bluespot_probability
from wetindex.physics.sea import dike_margins, sea_flood_probability
from wetindex.physics.streams import groundwater_probability, stream_probability
from wetindex.physics.uncertainty import (
    N_MEMBERS,
    RAIN_RATE_WINDOW_H,
    DriverSpread,
    estimate_spread,
    groundwater_members,
    is_persistence,
    mean_rain_rate,
    rain_members,
    sea_level_members,
)
from wetindex.sources.base import AreaInputs, InputMissingError

#: Version of the physical method (in ``model_version`` of its forecasts).
PHYSICAL_VERSION = "physical-1"
#: Driver group of each component (see :data:`wetindex.warnings.DRIVER_GROUPS`).
COMPONENT_GROUPS = {"sea": "sea", "bluespots": "rain", "streams": "rain",
                    "groundwater": "groundwater"}


@dataclass
class Component:
    """One process's probability on the cells where it can be non-zero."""

    cells: np.ndarray  # flat indices, ascending
    probability: np.ndarray  # uint8 (lead, cells): probability / 0.004

    def at(self, lead_index: int, cells: np.ndarray) -> np.ndarray:
        """Probability [0–1] of flat ``cells`` at one lead (0 where not modelled)."""
        pos = np.searchsorted(self.cells, cells)
        pos = np.minimum(pos, max(self.cells.size - 1, 0))
        hit = (self.cells.size > 0) & (self.cells[pos] == cells) if self.cells.size else \
            np.zeros(cells.shape, bool)
        out = np.zeros(cells.shape, "float64")
        out[hit] = self.probability[lead_index, pos[hit]] / 250.0
        return out


@dataclass
class PhysicalForecast:
    """The forecast dataset, each process's probability and a summary of the drivers."""

    dataset: xr.Dataset
    components: dict[str, Component]
    summary: dict[str, Any] = field(default_factory=dict)

    def component(self, name: str) -> np.ndarray:
        """One process's probability as a dense ``(lead, y, x)`` cube [0–1]."""
        n, ny, nx = self.dataset["probability"].shape
        out = np.zeros((n, ny * nx), "float32")
        c = self.components[name]
        out[:, c.cells] = c.probability / 250.0
        return out.reshape(n, ny, nx)

    def explain(self, lead_index: int, cells: np.ndarray) -> dict[str, float]:
        """Driver shares of ``cells`` at one lead: each process's mean probability."""
        shares = {g: 0.0 for g in ("rain", "sea", "groundwater", "wet_soil", "terrain")}
        cells = np.asarray(cells, dtype="int64")
        for name, comp in self.components.items():
            shares[COMPONENT_GROUPS[name]] += float(comp.at(lead_index, cells).mean())
        total = sum(shares.values())
        if total <= 0:
            return {g: (1.0 if g == "terrain" else 0.0) for g in shares}
        return {g: round(v / total, 3) for g, v in shares.items()}


@dataclass
class PhysicalSetup:
    """What the physical forecast needs from the terrain, computed once per area."""

    network: FlowNetwork
    bluespots: BluespotNetwork

    @classmethod
    def from_static(cls, static: xr.Dataset) -> PhysicalSetup:
        sea = sea_mask(static)
        network = flow_network(static["elevation"], static["elevation"].copy(data=sea))
        return cls(network, BluespotNetwork.from_static(static, network))


def sea_mask(static: xr.Dataset) -> np.ndarray:
    """Sea cells of the static cube: distance to the coast 0."""
    to_coast = static["distance_to_coast"].values
    return np.isfinite(to_coast) & (to_coast == 0)


def _series(ds: xr.Dataset, name: str, n: int) -> np.ndarray:
    if name not in ds:
        raise InputMissingError(name, f"the driver forecast has no {name!r}")
    values = np.asarray(ds[name].values, dtype="float64")[:n]
    if values.size < n:
        raise InputMissingError(name, f"the driver forecast has {values.size} leads, "
                                      f"{n} are needed")
    return values


def physical_forecast(inputs: AreaInputs, static: xr.Dataset, issue_time: pd.Timestamp, *,
                      thresholds: list[float], max_lead_h: int = 48,
                      setup: PhysicalSetup | None = None, spread: DriverSpread | None = None,
                      n_members: int = N_MEMBERS) -> PhysicalForecast:
    """The physically based forecast issued at ``issue_time`` (see module docstring).

    Parameters
    ----------
    inputs : AreaInputs
        Observed drivers up to the issue time, the driver forecast at it, groundwater.
    static : xr.Dataset
        The static terrain cube (:func:`wetindex.features.terrain.static_features`).
    thresholds : list of float
        Probability at which yellow, orange, red start.
    setup : PhysicalSetup, optional
        Flow and bluespot network (built from ``static`` when not given).
    spread : DriverSpread, optional
        Driver errors by lead (estimated from the area's history when not given).
    """
    issue_time = pd.Timestamp(issue_time)
    t0 = issue_time.to_datetime64()
    setup = setup or PhysicalSetup.from_static(static)
    spread = spread or estimate_spread(inputs, issue_time, max_lead_h)
    observed = inputs.observed(t0 - np.timedelta64(HISTORY_NEEDED_H, "h"), t0)
    fc = inputs.forecast(t0)
    n = max_lead_h
    grid = AreaGrid.from_dataarray(static["elevation"])
    shape = grid.shape
    leads = np.arange(1, n + 1)
    valid = pd.DatetimeIndex(issue_time + pd.to_timedelta(leads, unit="h"))

    sea_fc = _series(fc, "sea_level", n)
    sea_m = sea_level_members(sea_fc, spread.sea_level[:n], n_members)
    obs_rain = np.nan_to_num(observed["rain"].values.astype("float64"))
    rain_fc = _series(fc, "rain", n)
    if is_persistence(fc):  # no rain forecast: the recent mean rate, not the issue hour's
        rain_fc = np.full(n, mean_rain_rate(observed["rain"].values[-RAIN_RATE_WINDOW_H:]))
    rain_m = rain_members(rain_fc, spread.rain_accumulated[:n], n_members)
    no_rain = is_absent(inputs, "rain")  # a sea-only area: no rain part, said so
    if no_rain:
        rain_m = np.zeros_like(rain_m)
    evap = np.nan_to_num(observed["evaporation"].values.astype("float64"))
    gw_now = float(np.nan_to_num(observed["groundwater_anomaly"].values[-1]))
    gw_rise = groundwater_members(_series(fc, "groundwater_anomaly", n) - gw_now,
                                  spread.groundwater[:n], n_members)

    summary: dict[str, Any] = {"members": n_members, "spread": spread.to_dict(),
                               "rain_forecast": (
                                   f"no rain forecast (persistence proxy): the mean hourly rain "
                                   f"of the last {RAIN_RATE_WINDOW_H // 24} days"
                                   if is_persistence(fc) else "the driver forecast")}
    if no_rain:
        summary["rain_forecast"] = RAIN_ABSENT
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    parts["sea"] = sea_flood_probability(static["sea_flood_level"].values,
                                         static["sea_connected"].values.astype(bool), sea_m)
    summary["dikes"] = dike_margins(static, sea_fc, sea_m, valid)
    summary["sea_level_max_m"] = round(float(sea_fc.max()), 3)
    if not no_rain:  # hollows and streams rise from rain only
        *parts["bluespots"], summary["bluespots"] = bluespot_probability(
            setup.bluespots, obs_rain, evap, rain_m,
            float(evap[-24:].mean()) if evap.size else 0.0)
        *parts["streams"], summary["streams"] = stream_probability(static, obs_rain, rain_m)
    exclude = sea_mask(static)
    if "permanent_water" in static:
        exclude |= static["permanent_water"].values.astype(bool)
    depth = inputs.groundwater_depth(t0).values
    parts["groundwater"] = groundwater_probability(depth, gw_rise, exclude)
    summary["rain_forecast_mm"] = None if no_rain else round(float(rain_m.sum(axis=1).mean()),
                                                                2)

    # one cube: first the probability of staying dry, multiplied on each process's cells
    prob = np.ones((n, shape[0] * shape[1]), dtype="float32")
    components: dict[str, Component] = {}
    for name, (cells, p) in parts.items():
        order = np.argsort(cells, kind="stable")
        cells, p = cells[order], p[:, order]
        prob[:, cells] *= 1.0 - p
        components[name] = Component(cells.astype("int64"), np.rint(p * 250).astype("uint8"))
    np.subtract(1.0, prob, out=prob)
    prob[:, exclude.ravel()] = 0.0
    np.clip(prob, 0.0, 1.0, out=prob)
    prob = prob.reshape(n, *shape)
    ds = forecast_dataset(prob, grid, issue_time, thresholds)
    ds.attrs.update({
        "forecast_method": "physical", "model_version": PHYSICAL_VERSION,
        "method_note": PHYSICAL_NOTE + (f" Here {RAIN_ABSENT}." if no_rain else ""),
        "dike_margins": json.dumps(summary["dikes"]),
        "driver_spread": json.dumps(spread.to_dict()),
    })
    return PhysicalForecast(ds, components, summary)


def forecast_dataset(prob: np.ndarray, grid: AreaGrid, issue_time: pd.Timestamp,
                     thresholds: list[float]) -> xr.Dataset:
    """``probability`` and ``level`` with the coordinates the learned model's cube has."""
    n = prob.shape[0]
    leads = np.arange(1, n + 1)
    valid = pd.Timestamp(issue_time) + pd.to_timedelta(leads, unit="h")
    da = xr.DataArray(
        prob.astype("float32"), dims=("lead", "y", "x"),
        coords={"lead": leads, **grid.coords(),
                "issue_time": np.datetime64(pd.Timestamp(issue_time).to_datetime64(), "ns"),
                "valid_time": ("lead", valid.values)},
        name="probability", attrs={"units": "1", "long_name": "probability of surface water"})
    da["lead"].attrs["units"] = "h"
    da.rio.write_crs(grid.crs, inplace=True)
    da.rio.write_transform(grid.transform, inplace=True)
    return xr.Dataset({"probability": da, "level": levels(da, thresholds)})
