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
  leaky-bucket recharge anomaly of :mod:`wetindex.recharge` (the one proxy);
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

from wetindex.atomicdir import new_file
from wetindex.climatology import evaporation_climatology
from wetindex.config import AreaConfig, LocalInput, LocalInputsConfig
from wetindex.grid import AreaGrid
from wetindex.recharge import recharge_anomaly
from wetindex.sources import dmi_climate, dmi_metobs, dmi_oceanobs, forecast_archive, openmeteo
from wetindex.sources.base import (
    AreaInputs,
    Attribution,
    InputMissingError,
    Place,
    drivers_dataset,
    issue_slots,
)
from wetindex.sources.catalog import load_catalog
from wetindex.sources.errors import SourceError
from wetindex.sources.harmonise import grid_bbox_lonlat, lonlat_to_grid_xy, reproject_to_grid
from wetindex.sources.hip_groundwater import open_groundwater_depth
from wetindex.sources.live_fetch import POLICY, fill_gaps, windowed
from wetindex.sources.live_forecast import NO_SEA_LEVEL_M, LiveForecasts
from wetindex.sources.local import LocalInputs, file_digest, read_series
from wetindex.sources.registry import make_http, open_session

log = logging.getLogger(__name__)



def cache_folder(area_dir: Path) -> Path:
    """The one download cache of a project: ``<data_dir>/cache`` beside the area folders."""
    return Path(area_dir).parent / "cache"


class LiveInputs(LiveForecasts, AreaInputs):
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
        self._forecasts: dict[pd.Timestamp, xr.Dataset] = {}
        self._zone_of_cell: dict[pd.Timestamp, np.ndarray] = {}
        #: named substitutes and fallbacks (written to status.json as ``proxies``)
        self.proxies: dict[str, str] = {}
        self.used_sources: list[str] = []
        archived = forecast_archive.archived_issues(self.area_dir)
        self.proxies["training_forecast"] = forecast_archive.SUBSTITUTE + (
            f"; archive: {len(archived)} run(s) {archived[0]:%Y-%m-%d %H:%M} – "
            f"{archived[-1]:%Y-%m-%d %H:%M}" if len(archived) else "; archive: empty so far")
        self.coastal = bool(self.spec.sea_stations) or self.spec.overrides.sea_level is not None
        if not self.coastal:
            self.proxies["sea_level"] = (f"non-coastal area: no sea level (held at "
                                         f"{NO_SEA_LEVEL_M:g} m DVR90)")

    # ---- sessions -------------------------------------------------------------------
    def session(self, source_id: str):
        if source_id not in self._sessions:

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
                from wetindex.sources.dhm_terrain import fetch_terrain  # noqa: PLC0415 - one of two providers, both bound to one name
            else:
                from wetindex.sources.copernicus_dem import fetch_dem as fetch_terrain  # noqa: PLC0415 - one of two providers, both bound to one name
            elevation = fetch_terrain(self.session(source), self.grid)
        except SourceError as err:
            raise InputMissingError("terrain", str(err)) from None
        with new_file(path) as tmp:
            elevation.rio.write_nodata(np.nan).rio.to_raster(tmp, driver="GTiff")

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

        session = self.session("dmi_metobs")

        where: dict[str, tuple[float, float]] = {}

        def block(s, e):
            rain = dmi_metobs.fetch_rain(session, s, e, station_ids=self.spec.rain_stations
                                         or None, bbox=None if self.spec.rain_stations
                                         else self._padded(0.3))
            where.update({str(k): (float(lo), float(la)) for k, lo, la in zip(
                rain["station"].values, rain["lon"].values, rain["lat"].values, strict=True)})
            return rain.to_pandas()

        try:
            frame = windowed(session, self.history_start, self.now, block,
                             lambda parts: pd.concat(parts).groupby(level=0).last())
        except SourceError as err:
            raise InputMissingError("rain", str(err)) from None
        return self._station_mean(frame, where).rename("rain")

    def _station_mean(self, frame: pd.DataFrame, where: dict[str, tuple[float, float]]
                      ) -> pd.Series:
        """Stations weighted by inverse squared distance to the area's centre; at each
        hour only the stations with a value count (the weights renormalised)."""
        lon = np.array([where[str(c)][0] for c in frame.columns])
        lat = np.array([where[str(c)][1] for c in frame.columns])
        x, y = lonlat_to_grid_xy(lon, lat, self.grid.crs)
        cx, cy = self.grid.x.mean(), self.grid.y.mean()
        weight = 1.0 / np.maximum(np.hypot(x - cx, y - cy), 1_000.0) ** 2
        values = frame.to_numpy(float)
        w = np.where(np.isfinite(values), weight[None, :], 0.0)
        total = w.sum(axis=1)
        with np.errstate(invalid="ignore"):
            mean = np.nansum(values * w, axis=1) / total
        return pd.Series(np.where(total > 0, mean, np.nan), index=frame.index)

    def _observed_sea(self) -> pd.Series:
        spec = self._override("sea_level")
        if spec is not None:
            return read_series(spec, "sea_level", self._path(spec))
        if not self.coastal:
            return pd.Series(NO_SEA_LEVEL_M, index=self._hours(), dtype="float64")

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
            return evaporation_climatology(hours)
        # a day's value applies to each hour of that day; the last published day is held
        # up to the policy's limit (climateData publishes with a delay)
        limit = POLICY["evaporation"]["fill_max_h"]
        hourly = daily.reindex(daily.index.union(hours)).ffill(limit=limit + 24).reindex(hours)
        held = hours[hourly.isna().to_numpy()]
        if len(held):
            clim = evaporation_climatology(hours)
            self.proxies["evaporation"] = (f"climateData ends before {held[0]}: "
                                           f"{len(held)} h from a Danish climatology")
            hourly = hourly.where(hourly.notna(), pd.Series(clim, index=hours))
        return hourly.to_numpy()

    def _openmeteo_archive(self, name: str) -> pd.Series:
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
        return drivers_dataset(frame.loc[pd.Timestamp(start):pd.Timestamp(end)])

    def observed_end(self) -> np.datetime64:
        return self._drivers.index[-1].to_datetime64()

    def issue_times(self) -> pd.DatetimeIndex:
        return issue_slots(self._drivers.index, self.config.forecast.issue_every_h)

    # ---- groundwater, labels, description ----------------------------------------------
    def _anomaly_at(self, times: np.ndarray) -> np.ndarray:
        series = self._drivers["groundwater_anomaly"]
        pos = series.index.get_indexer(pd.DatetimeIndex(times), method="ffill")
        return np.where(pos >= 0, series.to_numpy()[np.maximum(pos, 0)], 0.0).astype("float32")

    @cached_property
    def _base_depth(self) -> np.ndarray:
        """Depth to the water table [m] on the grid: a HIP NetCDF (no CRS, year-0001
        times: read by :mod:`hip_groundwater`, the slice at or before ``now``), another
        raster or a constant (the local reader)."""
        spec = self._override("groundwater")
        if spec is None or spec.path is None or not spec.path.endswith((".nc", ".nc4")):
            return self.files._base_depth

        try:
            da = open_groundwater_depth(self._path(spec), variable=spec.variable)
        except SourceError as err:
            raise InputMissingError("groundwater", str(err)) from None
        times = pd.DatetimeIndex(da["time"].values)
        earlier = np.flatnonzero(~times.isna() & (times <= self.now))
        layer = da.isel(time=int(earlier[-1]) if earlier.size else 0)
        depth = reproject_to_grid(layer.rio.write_crs(da.rio.crs), self.grid).values
        fill = np.nanmedian(depth) if np.isfinite(depth).any() else \
            self.spec.groundwater_depth_m
        return np.where(np.isfinite(depth), depth, fill).astype("float32")

    def groundwater_depth(self, time: np.datetime64) -> xr.DataArray:
        base = self._base_depth
        depth = np.maximum(base - self._anomaly_at(np.array([time]))[0], 0.0)
        return self.grid.data_array(depth.astype("float32"), "groundwater_depth", "m")

    def groundwater_depth_cells(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        base = self._base_depth.ravel()[cells]
        return np.maximum(base[None, :] - self._anomaly_at(times)[:, None], 0.0).astype(
            "float32")

    def labels(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        return self.files.labels(times, cells)

    def label_times(self, start: np.datetime64, end: np.datetime64) -> pd.DatetimeIndex:
        return self.files.label_times(start, end)

    def observed_water(self, time: np.datetime64) -> xr.DataArray | None:
        return self.files.observed_water(time)

    def places(self) -> list[Place]:
        return self.files.places()

    def outline(self) -> Any:
        return self.files.outline()

    def attributions(self) -> list[Attribution]:
        catalog = load_catalog()
        out = [catalog[s].attribution_record() for s in self.used_sources if s in catalog]
        out += [a for a in self.files.attributions() if not a.name.startswith(("rain:",
                                                                                "sea_level:"))]
        if "training_forecast" in self.proxies:
            out.append(Attribution(name="training forecasts: " + self.proxies[
                "training_forecast"], licence="-", attribution="wetindex"))
        return out
