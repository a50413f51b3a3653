"""The forecast half of a live area: HARMONIE rain by grid point, DKSS sea level, archive.

A mixin of :class:`wetindex.sources.live.LiveInputs` (it uses the area's sessions, grid,
observed drivers and proxies). At an issue time: the latest run of each model at or
before it (``/instances``, cached per as-of time), that run's answer (cached per run),
HARMONIE's rain per grid point as driver zones (each cell takes its nearest point) and
their cell-weighted mean as the area rain, DKSS's surge at the sea point shifted to
DVR90 by its mean offset to the gauge over the hours both cover. Every forecast is
archived (:mod:`wetindex.sources.forecast_archive`); training reads the archive and,
before it, the documented substitute.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.spatial import cKDTree

from wetindex.sources import forecast_archive
from wetindex.sources.base import InputMissingError
from wetindex.sources.dmi_forecast_edr import fetch_harmonie_rain, fetch_surge
from wetindex.sources.errors import SourceError
from wetindex.sources.harmonise import lonlat_to_grid_xy
from wetindex.sources.http import describe_request
from wetindex.sources.live_fetch import as_of, model_runs, pick_run

log = logging.getLogger(__name__)

#: sea level of a non-coastal area [m DVR90]: far below any terrain, so never a driver
NO_SEA_LEVEL_M = -10.0
#: HARMONIE grid points this far around the area are used (degrees; grid ≈ 2.5 km)
HARMONIE_PAD_DEG = 0.03


class LiveForecasts:
    """Driver forecasts of a live area (see module docstring)."""

    def forecast(self, issue_time: np.datetime64) -> xr.Dataset:
        """The drivers' forecast from the model runs current at ``issue_time``; archived.

        With HARMONIE, ``rain_zone`` holds the forecast rain of each driver zone (the
        model's grid points nearest to the area's cells, see :meth:`rain_zones`) and
        ``rain`` their mean weighted by the cells each covers.
        """
        issue = pd.Timestamp(issue_time)
        if issue in self._forecasts:  # one fetch per issue time and run
            return self._forecasts[issue]
        leads = np.arange(1, self.max_lead_h + 1)
        valid = issue + pd.to_timedelta(leads, "h")
        rain, rain_run = self._rain_forecast(issue, valid)
        sea, sea_run, offset = self._sea_forecast(issue, valid)
        zones = None
        if isinstance(rain, pd.DataFrame):  # HARMONIE grid points: driver zones
            zones = self._zones(rain)
            rain = zones["rain"]
        anomaly = float(self._drivers["groundwater_anomaly"].ffill().loc[issue])
        ds = xr.Dataset(
            {"rain": ("lead", rain.astype("float32"), {"units": "mm/h"}),
             "sea_level": ("lead", sea.astype("float32"), {"units": "m", "datum": "DVR90"}),
             "groundwater_anomaly": ("lead", np.full(len(leads), anomaly, "float32"),
                                     {"units": "m", "method": "held at the issue value"})},
            coords={"lead": leads, "valid_time": ("lead", valid.values)})
        ds.attrs.update(forecast_kind="forecast", issue_time=issue.isoformat(),
                        rain_run=rain_run, sea_level_run=sea_run,
                        sea_level_dvr90_offset_m=offset)
        if zones is not None:
            ds["rain_zone"] = (("zone", "lead"), zones["rain_zone"].astype("float32"),
                               {"units": "mm/h", "long_name": "forecast rain per driver zone"})
            ds = ds.assign_coords(zone_lon=("zone", zones["lon"]),
                                  zone_lat=("zone", zones["lat"]))
            self._zone_of_cell[issue] = zones["zone_of_cell"]
        forecast_archive.store(self.area_dir, issue, ds)
        self._forecasts[issue] = ds
        return ds

    def _zones(self, rain: pd.DataFrame) -> dict[str, np.ndarray]:
        """Each cell's nearest HARMONIE point (its driver zone) and the zones' rain."""
        lon = np.array([c[0] for c in rain.columns])
        lat = np.array([c[1] for c in rain.columns])
        px, py = lonlat_to_grid_xy(lon, lat, self.grid.crs)
        gx, gy = np.meshgrid(self.grid.x, self.grid.y)
        _, nearest = cKDTree(np.column_stack([px, py])).query(
            np.column_stack([gx.ravel(), gy.ravel()]))
        used, zone_of_cell, counts = np.unique(nearest, return_inverse=True,
                                               return_counts=True)
        values = rain.to_numpy().T[used]                               # (zone, lead)
        return {"zone_of_cell": zone_of_cell.astype("int32"), "rain_zone": values,
                "rain": (values * counts[:, None]).sum(0) / counts.sum(),
                "lon": lon[used], "lat": lat[used]}

    def rain_zones(self, issue_time: np.datetime64) -> tuple[np.ndarray, np.ndarray] | None:
        """``(zone of each flat cell, rain (zone, lead))`` of the forecast at
        ``issue_time``, or ``None`` when the rain forecast is one series (a fallback)."""
        ds = self.forecast(issue_time)
        issue = pd.Timestamp(issue_time)
        if "rain_zone" not in ds or issue not in self._zone_of_cell:
            return None
        return self._zone_of_cell[issue], ds["rain_zone"].values

    def _rain_forecast(self, issue: pd.Timestamp, valid: pd.DatetimeIndex
                       ) -> tuple[np.ndarray | pd.DataFrame, str]:
        if self.spec.region == "denmark":
            try:
                return self._harmonie(issue, valid)
            except SourceError as err:
                log.warning("HARMONIE rain unavailable, falling back: %s", err)
                self.proxies["fallback:rain_forecast"] = (
                    f"HARMONIE unavailable ({err.problem}); Open-Meteo forecast instead")
        try:
            from wetindex.sources import openmeteo  # noqa: PLC0415 - optional: the ImportError is handled here

            session = self.session("openmeteo_forecast")
            with as_of(session, issue):
                ds = openmeteo.fetch_hourly(session, "forecast", [self._centre()])
            series = ds["rain"].isel(point=0).to_pandas().reindex(valid)
        except SourceError as err:
            raise InputMissingError("rain_forecast", f"no rain forecast: {err}") from None
        if series.isna().any():
            raise InputMissingError("rain_forecast", f"the Open-Meteo forecast does not cover "
                                    f"{issue} + {len(valid)} h")
        return series.to_numpy(), "open-meteo forecast as of " + issue.isoformat()

    def _edr_run(self, collection: str, issue: pd.Timestamp) -> tuple[Any, str, pd.Timestamp]:
        session = self.session("dmi_forecast_edr")
        url = session.entry.url(f"collections/{collection}/instances")
        with as_of(session, issue):
            doc = session.fetch_json(url, {"f": "json"})
        request = describe_request("GET", url, {"f": "json"})
        runs = model_runs(doc, source=session.source, request=request)
        run_id, run_time = pick_run(runs, issue, source=session.source, request=request)
        return session, run_id, run_time

    def _harmonie(self, issue: pd.Timestamp, valid: pd.DatetimeIndex
                  ) -> tuple[pd.DataFrame, str]:
        collection = self.spec.harmonie_collection
        session, run_id, run_time = self._edr_run(collection, issue)
        rain = fetch_harmonie_rain(session, bbox=self._padded(HARMONIE_PAD_DEG),
                                   collection=collection, run_start=run_time, instance=run_id)
        request = rain.attrs["request"]
        frame = rain.to_pandas().reindex(valid)                     # (valid, point)
        frame.columns = list(zip(rain["lon"].values, rain["lat"].values, strict=True))
        if frame.isna().any().any():
            raise SourceError(session.source, request,
                              f"run {run_id} does not cover {valid[0]} – {valid[-1]} "
                              f"({int(frame.isna().any(axis=1).sum())} h missing)",
                              "a later run, or the fallback")
        return frame, f"{collection} run {run_time.isoformat()}"

    def _sea_forecast(self, issue: pd.Timestamp, valid: pd.DatetimeIndex
                      ) -> tuple[np.ndarray, str, float]:
        if not self.coastal:
            return np.full(len(valid), NO_SEA_LEVEL_M), "none (non-coastal)", 0.0
        if self.spec.sea_point is None:
            raise InputMissingError("sea_level_forecast", "live.sea_point is not set; give "
                                    "the [lon, lat] of a sea point of the DKSS domain")

        collection = self.spec.dkss_collection
        try:
            session, run_id, run_time = self._edr_run(collection, issue)
            # the surge model's run, checked for missing and impossible values there
            surge = fetch_surge(session, point=tuple(self.spec.sea_point),
                                collection=collection, instance=run_id)
        except SourceError as err:
            raise InputMissingError("sea_level_forecast", str(err)) from None
        level = surge.mean("point").to_pandas()
        observed = self._drivers["sea_level"]
        shared = level.index[(level.index <= issue) & (level.index >= issue - pd.Timedelta(
            hours=24))]
        diff = (observed.reindex(shared) - level.reindex(shared)).dropna()
        if len(diff):
            offset = float(diff.mean())
        else:
            offset = 0.0
            self.proxies["fallback:sea_level_forecast"] = (
                f"DKSS run {run_id} shares no hour with the observations: no DVR90 correction")
        series = (level + offset).reindex(valid)
        if series.isna().any():
            raise InputMissingError("sea_level_forecast", f"DKSS run {run_id} does not cover "
                                    f"{valid[0]} – {valid[-1]}; the run refuses (policy)")
        return series.to_numpy(), f"{collection} run {run_time.isoformat()}", offset

    def forecasts_many(self, issue_times: np.ndarray) -> xr.Dataset:
        """Archived forecasts where they exist, else the documented substitute."""
        return forecast_archive.forecasts_for_training(
            self.area_dir, np.asarray(issue_times, "datetime64[ns]"), self._drivers,
            self.max_lead_h)

