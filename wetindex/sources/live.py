"""Live open data as an area's inputs (``source: live`` in the area config).

Per family, in Denmark (the catalog gives every base URL; ``WETINDEX_CATALOG_DIR``
points at another catalog):

- observed rain: DMI metObs ``precip_past1h`` of the configured stations, averaged;
- forecast rain 0–48 h: HARMONIE ``harmonie_dini_sf`` through the forecast EDR API,
  the latest run at or before the issue time (``/instances``), ``total-precipitation``
  of the grid points around the area de-accumulated to mm/h and averaged over the area;
  Open-Meteo's forecast is the named fallback;
- evaporation: climateData ``pot_evaporation_makkink`` (10 km grid, daily);
- observed sea level: oceanObs ``sealev_dvr``/``sea_reg`` [cm → m above DVR90];
- forecast sea level: DKSS ``sea-mean-deviation`` [m above the model's mean sea level]
  at the configured sea point, corrected to DVR90 by the mean offset against the
  observations in the hours the run and the observations share;
- terrain: DHM WCS, fetched once and kept as ``live/terrain.tif`` in the area folder;
- groundwater: a local file (HIP NetCDF/GeoTIFF) or a constant depth, with the
  leaky-bucket recharge anomaly of :mod:`wetindex.sources.local`;
- boundary, labels, dikes: files (the boundary written by ``wetindex init``).

Outside Denmark (``live.region: global``) rain and evaporation come from Open-Meteo.
Any family can be replaced by a local file (``live.overrides``, read with
:mod:`wetindex.sources.local`'s readers). A non-coastal area (no tide gauge) needs
no sea level. Requests are time-addressed (:mod:`wetindex.sources.live_fetch`).

Every forecast is archived (:mod:`wetindex.sources.forecast_archive`); training
reads the archive, and before it starts a documented substitute.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wetindex.config import AreaConfig, LocalInput, LocalInputsConfig
from wetindex.grid import AreaGrid
from wetindex.sources import forecast_archive
from wetindex.sources.base import AreaInputs, Attribution, InputMissingError, Place
from wetindex.sources.errors import SourceError
from wetindex.sources.live_fetch import POLICY, as_of, fill_gaps, pick_run, windowed
from wetindex.sources.local import (
    LocalInputs,
    climatological_evaporation,
    file_digest,
    read_series,
    recharge_anomaly,
)

log = logging.getLogger(__name__)

#: sea level of a non-coastal area [m DVR90]: far below any terrain, so never a driver
NO_SEA_LEVEL_M = -10.0
#: HARMONIE grid points this far around the area are averaged (degrees; grid ≈ 2.5 km)
HARMONIE_PAD_DEG = 0.03


def cache_folder(area_dir: Path) -> Path:
    """The one download cache of a project: ``<data_dir>/cache`` beside the area folders."""
    return Path(area_dir).parent / "cache"


class LiveInputs(AreaInputs):
    """Inputs of an area from live sources (see module docstring).

    Parameters
    ----------
    config : AreaConfig
        An area with ``source: live``.
    root : Path
        Folder that relative paths are resolved against.
    area_dir : Path
        The area's output folder (kept terrain, forecast archive).
    now : Timestamp, optional
        The as-of time (UTC): observations are fetched up to it. Default: the issue
        time of the run, else the current hour.
    http : HttpClient, optional
        Shared client (tests inject one).
    """

    def __init__(self, config: AreaConfig, root: Path, area_dir: Path, *,
                 now: Any = None, http: Any = None):
        if config.source != "live" or config.live is None or config.grid is None:
            raise ValueError(f"area {config.name!r} is not a live area")
        self.config = config
        self.spec = config.live
        self.root = Path(root)
        self.area_dir = Path(area_dir)
        self.grid = AreaGrid(**config.grid.model_dump())
        self.max_lead_h = config.forecast.max_lead_h
        now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
        now = now.tz_convert("UTC").tz_localize(None) if now.tzinfo else now
        self.now = now.floor("1h")
        self._http = http
        self._sessions: dict[str, Any] = {}
        #: named substitutes and fallbacks (written to status.json as ``proxies``)
        self.proxies: dict[str, str] = {}
        self.used_sources: list[str] = []
        self.coastal = bool(self.spec.sea_stations) or self.spec.overrides.sea_level is not None
        if not self.coastal:
            self.proxies["sea_level"] = (f"non-coastal area: no sea level (held at "
                                         f"{NO_SEA_LEVEL_M:g} m DVR90)")

    # ---- sessions -------------------------------------------------------------------
    def session(self, source_id: str):
        if source_id not in self._sessions:
            from wetindex.sources.registry import make_http, open_session

            if self._http is None:
                self._http = make_http()
            self._sessions[source_id] = open_session(source_id, cache_folder(self.area_dir),
                                                     http=self._http)
            self.used_sources.append(source_id)
        return self._sessions[source_id]

    def request_counts(self) -> dict[str, dict[str, int]]:
        """Answers per source this run: from the network and from the cache."""
        return {s: {"net": sum(not a.from_cache for a in ses.answers),
                    "cache": sum(a.from_cache for a in ses.answers)}
                for s, ses in self._sessions.items()}

    def _override(self, kind: str) -> LocalInput | None:
        return getattr(self.spec.overrides, kind)

    def _path(self, spec: LocalInput) -> Path:
        p = Path(spec.path)
        return p if p.is_absolute() else self.root / p

    @cached_property
    def bbox(self) -> tuple[float, float, float, float]:
        from wetindex.sources.harmonise import grid_bbox_lonlat

        return grid_bbox_lonlat(self.grid)

    @property
    def history_start(self) -> pd.Timestamp:
        return self.now - pd.Timedelta(days=self.spec.history_days)

    # ---- the files part: terrain, boundary, groundwater grid, labels, dikes ----------
    @property
    def terrain_path(self) -> Path:
        spec = self._override("terrain")
        return self._path(spec) if spec else self.area_dir / "live" / "terrain.tif"

    @cached_property
    def files(self) -> LocalInputs:
        """A local-files view for what is a file: the readers of :mod:`local` reused."""
        ov = self.spec.overrides
        boundary = ov.boundary or LocalInput(path=self.spec.boundary)
        gw = ov.groundwater or LocalInput(value=self.spec.groundwater_depth_m)
        inputs = LocalInputsConfig(
            terrain=LocalInput(path=str(self.terrain_path)), rain=boundary, sea_level=boundary,
            boundary=boundary, groundwater=gw, labels=ov.labels, dikes=ov.dikes,
            water=ov.water, streams=ov.streams, sea=ov.sea,
            sea_below_m=self.spec.sea_below_m, label_tolerance_h=self.spec.label_tolerance_h)
        view = self.config.model_copy(update={"source": "local", "inputs": inputs,
                                              "live": None})
        return LocalInputs(view, self.root)

    def _ensure_terrain(self) -> None:
        path = self.terrain_path
        if path.exists():
            return
        source = "dhm_terrain" if self.spec.region == "denmark" else "copernicus_dem"
        try:
            if source == "dhm_terrain":
                from wetindex.sources.dhm_terrain import fetch_terrain
            else:
                from wetindex.sources.copernicus_dem import fetch_dem as fetch_terrain
            elevation = fetch_terrain(self.session(source), self.grid)
        except SourceError as err:
            raise InputMissingError("terrain", str(err)) from None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        elevation.rio.write_nodata(np.nan).rio.to_raster(tmp, driver="GTiff")
        tmp.replace(path)

    def static_inputs(self) -> xr.Dataset:
        self._ensure_terrain()
        return self.files.static_inputs()

    def digests(self) -> dict[str, str]:
        """What a model is keyed by: the override files and the kept terrain, not the
        live series (a new observation must not retrain the model)."""
        out = {"live": "v1"}
        for kind in ("terrain", "rain", "evaporation", "sea_level", "groundwater", "labels",
                     "dikes", "boundary"):
            spec = self._override(kind)
            if spec is not None:
                out[kind] = file_digest(self._path(spec)) if spec.path else f"={spec.value}"
        return out

    # ---- observed series --------------------------------------------------------------
    def _hours(self) -> pd.DatetimeIndex:
        return pd.date_range(self.history_start, self.now, freq="1h")

    def _observed_rain(self) -> pd.Series:
        spec = self._override("rain")
        if spec is not None:
            return read_series(spec, "rain", self._path(spec))
        if self.spec.region == "global":
            return self._openmeteo_archive("rain")
        from wetindex.sources import dmi_metobs

        session = self.session("dmi_metobs")

        def block(s, e):
            rain = dmi_metobs.fetch_rain(session, s, e, station_ids=self.spec.rain_stations
                                         or None, bbox=None if self.spec.rain_stations
                                         else self._padded(0.3))
            return rain.to_pandas()

        try:
            frame = windowed(session, self.history_start, self.now, block,
                             lambda parts: pd.concat(parts).groupby(level=0).last())
        except SourceError as err:
            raise InputMissingError("rain", str(err)) from None
        return frame.mean(axis=1, skipna=True).rename("rain")

    def _observed_sea(self) -> pd.Series:
        spec = self._override("sea_level")
        if spec is not None:
            return read_series(spec, "sea_level", self._path(spec))
        if not self.coastal:
            return pd.Series(NO_SEA_LEVEL_M, index=self._hours(), dtype="float64")
        from wetindex.sources import dmi_oceanobs

        session = self.session("dmi_oceanobs")

        def block(s, e):
            return dmi_oceanobs.fetch_sea_level(session, self.spec.sea_stations, s, e,
                                                parameter=self.spec.sea_parameter).to_pandas()

        try:
            frame = windowed(session, self.history_start, self.now, block,
                             lambda parts: pd.concat(parts).groupby(level=0).last())
        except SourceError as err:
            raise InputMissingError("sea_level", str(err)) from None
        # 10-minute values to the hour ending at each label, like the rain hours
        hourly = frame.resample("1h", closed="right", label="right").mean()
        return hourly.mean(axis=1, skipna=True).rename("sea_level")

    def _observed_evaporation(self, hours: pd.DatetimeIndex) -> np.ndarray:
        spec = self._override("evaporation")
        if spec is not None:
            return read_series(spec, "evaporation", self._path(spec)).reindex(hours) \
                .interpolate(limit=48).to_numpy()
        if self.spec.region == "global":
            return self._openmeteo_archive("evaporation").reindex(hours).to_numpy()
        from wetindex.sources import dmi_climate

        session = self.session("dmi_climate")

        def block(s, e):
            da = dmi_climate.fetch_grid_values(session, "pot_evaporation_makkink", s, e,
                                               self._padded(0.1))
            return da.mean("cell").to_pandas()

        try:
            daily = windowed(session, self.history_start.floor("1D"), self.now, block,
                             lambda parts: pd.concat(parts).groupby(level=0).last())
        except SourceError as err:
            self.proxies["evaporation"] = f"climateData unavailable ({err.problem}): " \
                                          "a Danish climatology"
            return climatological_evaporation(hours)
        # a day's value applies to each hour of that day; the last published day is held
        # up to the policy's limit (climateData publishes with a delay)
        limit = POLICY["evaporation"]["fill_max_h"]
        hourly = daily.reindex(daily.index.union(hours)).ffill(limit=limit + 24).reindex(hours)
        held = hours[hourly.isna().to_numpy()]
        if len(held):
            clim = climatological_evaporation(hours)
            self.proxies["evaporation"] = (f"climateData ends before {held[0]}: "
                                           f"{len(held)} h from a Danish climatology")
            hourly = hourly.where(hourly.notna(), pd.Series(clim, index=hours))
        return hourly.to_numpy()

    def _openmeteo_archive(self, name: str) -> pd.Series:
        from wetindex.sources import openmeteo

        ds = openmeteo.fetch_hourly(self.session("openmeteo_archive"), "archive",
                                    [self._centre()], start=self.history_start, end=self.now)
        return ds[name].isel(point=0).to_pandas()

    def _padded(self, pad: float) -> tuple[float, float, float, float]:
        w, s, e, n = self.bbox
        return (w - pad, s - pad, e + pad, n + pad)

    def _centre(self) -> tuple[float, float]:
        w, s, e, n = self.bbox
        return ((w + e) / 2, (s + n) / 2)

    @cached_property
    def _drivers(self) -> pd.DataFrame:
        hours = self._hours()
        frame = pd.DataFrame(index=hours)
        for name, series in (("rain", self._observed_rain()), ("sea_level", self._observed_sea())):
            series = series.reindex(hours)
            filled, n = fill_gaps(series, POLICY[name]["fill_max_h"])
            if n:
                self.proxies[f"gap:{name}"] = (f"{n} missing hour(s) filled by linear "
                                               f"interpolation (gaps ≤ "
                                               f"{POLICY[name]['fill_max_h']} h)")
            left = int(filled.isna().sum())
            if left:
                self.proxies[f"missing:{name}"] = f"{left} hour(s) missing, left as missing"
            frame[name] = filled
        frame["evaporation"] = self._observed_evaporation(hours)
        frame["groundwater_anomaly"] = recharge_anomaly(frame["rain"].to_numpy(),
                                                        frame["evaporation"].to_numpy())
        self.proxies["groundwater"] = (
            "groundwater change in time: leaky-bucket recharge proxy from rain − evaporation"
            + ("" if self._override("groundwater") else
               f"; no HIP file: constant depth {self.spec.groundwater_depth_m:g} m"))
        frame.index.name = "time"
        return frame.astype("float32")

    def observed(self, start: np.datetime64, end: np.datetime64) -> xr.Dataset:
        frame = self._drivers
        first, last = frame.index[0], frame.index[-1]
        if pd.Timestamp(end) > last or pd.Timestamp(start) < first:
            raise InputMissingError("observations", f"the live series cover {first} – {last}, "
                                    f"requested {pd.Timestamp(start)} – {pd.Timestamp(end)}",
                                    last)
        ds = xr.Dataset.from_dataframe(frame.loc[pd.Timestamp(start):pd.Timestamp(end)])
        for name, units in (("rain", "mm/h"), ("evaporation", "mm/d"), ("sea_level", "m"),
                            ("groundwater_anomaly", "m")):
            ds[name].attrs["units"] = units
        return ds[["rain", "evaporation", "sea_level", "groundwater_anomaly"]]

    def observed_end(self) -> np.datetime64:
        return self._drivers.index[-1].to_datetime64()

    def issue_times(self) -> pd.DatetimeIndex:
        step = f"{self.config.forecast.issue_every_h}h"
        index = self._drivers.index
        return pd.date_range(index[0].ceil(step), index[-1].floor(step), freq=step)

    # ---- forecasts ----------------------------------------------------------------------
    def forecast(self, issue_time: np.datetime64) -> xr.Dataset:
        """The drivers' forecast from the model runs current at ``issue_time``; archived."""
        issue = pd.Timestamp(issue_time)
        leads = np.arange(1, self.max_lead_h + 1)
        valid = issue + pd.to_timedelta(leads, "h")
        rain, rain_run = self._rain_forecast(issue, valid)
        sea, sea_run, offset = self._sea_forecast(issue, valid)
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
        forecast_archive.store(self.area_dir, issue, ds)
        return ds

    def _rain_forecast(self, issue: pd.Timestamp, valid: pd.DatetimeIndex
                       ) -> tuple[np.ndarray, str]:
        if self.spec.region == "denmark":
            try:
                return self._harmonie(issue, valid)
            except SourceError as err:
                log.warning("HARMONIE rain unavailable, falling back: %s", err)
                self.proxies["fallback:rain_forecast"] = (
                    f"HARMONIE unavailable ({err.problem}); Open-Meteo forecast instead")
        try:
            from wetindex.sources import openmeteo

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
        from wetindex.sources.http import describe_request
        from wetindex.sources.live_fetch import model_runs

        session = self.session("dmi_forecast_edr")
        url = session.entry.url(f"collections/{collection}/instances")
        with as_of(session, issue):
            doc = session.fetch_json(url, {"f": "json"})
        request = describe_request("GET", url, {"f": "json"})
        runs = model_runs(doc, source=session.source, request=request)
        run_id, run_time = pick_run(runs, issue, source=session.source, request=request)
        return session, run_id, run_time

    def _harmonie(self, issue: pd.Timestamp, valid: pd.DatetimeIndex) -> tuple[np.ndarray, str]:
        from wetindex.sources.dmi_forecast_edr import deaccumulate, edr_dataset, edr_query
        from wetindex.sources.http import describe_request

        collection = self.spec.harmonie_collection
        session, run_id, run_time = self._edr_run(collection, issue)
        _, params = edr_query(["total-precipitation"], bbox=self._padded(HARMONIE_PAD_DEG))
        url = session.entry.url(f"collections/{collection}/instances/{run_id}/cube")
        request = describe_request("GET", url, params)
        ds = edr_dataset(session.fetch_json(url, params), ["total-precipitation"],
                         source=session.source, request=request)
        rain = deaccumulate(ds["precipitation_accumulated"], source=session.source,
                            request=request, run_start=run_time)
        series = rain.mean("point").to_pandas().reindex(valid)
        if series.isna().any():
            raise SourceError(session.source, request,
                              f"run {run_id} does not cover {valid[0]} – {valid[-1]} "
                              f"({int(series.isna().sum())} h missing)",
                              "a later run, or the fallback")
        return series.to_numpy(), f"{collection} run {run_time.isoformat()}"

    def _sea_forecast(self, issue: pd.Timestamp, valid: pd.DatetimeIndex
                      ) -> tuple[np.ndarray, str, float]:
        if not self.coastal:
            return np.full(len(valid), NO_SEA_LEVEL_M), "none (non-coastal)", 0.0
        if self.spec.sea_point is None:
            raise InputMissingError("sea_level_forecast", "live.sea_point is not set; give "
                                    "the [lon, lat] of a sea point of the DKSS domain")
        from wetindex.sources.dmi_forecast_edr import edr_dataset, edr_query
        from wetindex.sources.http import describe_request

        collection = self.spec.dkss_collection
        try:
            session, run_id, run_time = self._edr_run(collection, issue)
            _, params = edr_query(["sea-mean-deviation"], point=tuple(self.spec.sea_point))
            url = session.entry.url(f"collections/{collection}/instances/{run_id}/position")
            request = describe_request("GET", url, params)
            ds = edr_dataset(session.fetch_json(url, params), ["sea-mean-deviation"],
                             source=session.source, request=request)
        except SourceError as err:
            raise InputMissingError("sea_level_forecast", str(err)) from None
        level = ds["sea_level"].mean("point").to_pandas()
        if (level.abs() > 5).any():
            raise InputMissingError("sea_level_forecast", f"{request}: impossible sea level "
                                    f"deviation {level.abs().max():.1f} m (units changed?)")
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
        self.proxies["training_forecast"] = forecast_archive.SUBSTITUTE
        return forecast_archive.forecasts_for_training(
            self.area_dir, np.asarray(issue_times, "datetime64[ns]"), self._drivers,
            self.max_lead_h)

    # ---- groundwater, labels, description ----------------------------------------------
    def _anomaly_at(self, times: np.ndarray) -> np.ndarray:
        series = self._drivers["groundwater_anomaly"]
        pos = series.index.get_indexer(pd.DatetimeIndex(times), method="ffill")
        return np.where(pos >= 0, series.to_numpy()[np.maximum(pos, 0)], 0.0).astype("float32")

    def groundwater_depth(self, time: np.datetime64) -> xr.DataArray:
        base = self.files._base_depth
        depth = np.maximum(base - self._anomaly_at(np.array([time]))[0], 0.0)
        return self.grid.data_array(depth.astype("float32"), "groundwater_depth", "m")

    def groundwater_depth_cells(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        base = self.files._base_depth.ravel()[cells]
        return np.maximum(base[None, :] - self._anomaly_at(times)[:, None], 0.0).astype(
            "float32")

    def labels(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        return self.files.labels(times, cells)

    def observed_water(self, time: np.datetime64) -> xr.DataArray | None:
        return self.files.observed_water(time)

    def places(self) -> list[Place]:
        return self.files.places()

    def outline(self) -> Any:
        return self.files.outline()

    def attributions(self) -> list[Attribution]:
        from wetindex.sources.catalog import load_catalog

        catalog = load_catalog()
        out = [catalog[s].attribution_record() for s in self.used_sources if s in catalog]
        out += [a for a in self.files.attributions() if not a.name.startswith(("rain:",
                                                                                "sea_level:"))]
        if "training_forecast" in self.proxies:
            out.append(Attribution(name="training forecasts: " + self.proxies[
                "training_forecast"], licence="-", attribution="wetindex"))
        return out
