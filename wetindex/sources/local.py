"""Local files as an area's inputs (``source: local`` in the area config).

Each input family comes from a file the operator gives (``--input KIND=PATH``):

- ``terrain``: a GeoTIFF in any CRS, reprojected (bilinear) onto the area grid.
  The sea comes from the data, not the boundary (:mod:`wetindex.sources.sea_mask`):
  terrain at or below ``sea_below_m`` (or nodata) connected to the grid's edge, or the
  ``sea`` polygons when given.
- ``rain`` [mm/h], ``evaporation`` [mm/d], ``sea_level`` [m]: a CSV with a ``time``
  column in UTC and a value column, or a NetCDF series (spatial dims are averaged).
  Values are put on whole hours (rain summed, the others averaged).
- ``groundwater``: a GeoTIFF of the depth to the water table [m below terrain] or a
  constant depth; its change in time is then the product's one documented proxy
  (:func:`wetindex.recharge.recharge_anomaly`). A NetCDF of grids or a CSV of wells in
  time is used as observed (:mod:`wetindex.sources.input_resolution`). A daily
  evaporation series holds each value over its day.
- ``dikes``: lines with the crest in an attribute (:mod:`wetindex.sources.dikes`).
- ``water`` / ``streams``: permanent water polygons and stream lines
  (:mod:`wetindex.sources.water_layers`); labels inside permanent water are unknown.
- ``labels``: observed surface water with times: a NetCDF ``(time, y, x)`` whose codes
  are declared (:mod:`wetindex.sources.label_encoding`), or polygons of water with a
  ``time`` attribute (each time is one complete observation: cells outside the
  polygons are dry at that time).
- ``boundary``: the area polygon (see :mod:`wetindex.sources.local_boundary`).

Proxies, each reported in :attr:`LocalInputs.proxies` and the forecast status:
no archived forecasts → the observations continued as a persistence forecast;
no evaporation → a Danish climatology; no groundwater → a constant depth.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from rasterio.enums import Resampling
from rasterio.features import geometry_mask

from wetindex.absent_inputs import RAIN_ABSENT, absent_attributions
from wetindex.climatology import evaporation_climatology
from wetindex.config import AreaConfig, LocalInput
from wetindex.grid import AreaGrid
from wetindex.model.label_vectors import water_polygon_maps
from wetindex.places import default_places, read_places
from wetindex.plausibility import (
    check_duplicates,
    check_grid_size,
    check_series,
    check_terrain_raster,
    check_terrain_values,
    parse_times,
)
from wetindex.recharge import recharge_anomaly
from wetindex.sources.base import (
    AreaInputs,
    Attribution,
    InputMissingError,
    Place,
    drivers_dataset,
    issue_slots,
)
from wetindex.sources.dikes import DikeLayer, read_dikes
from wetindex.sources.forecast_file import read_forecast_file, with_archived
from wetindex.sources.input_resolution import (
    read_groundwater_series,
    reproject_to_grid,
    spread_to_hours,
)
from wetindex.sources.label_encoding import decode_labels, to_label_codes
from wetindex.sources.local_boundary import read_boundary
from wetindex.sources.sea_mask import derived_sea, polygon_sea
from wetindex.sources.water_layers import read_layer

#: Depth to the water table [m] used when no groundwater input is given.
DEFAULT_GROUNDWATER_DEPTH_M = 2.0
UNIT_FACTORS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "mm/h": 1.0, "mm/d": 1.0}
#: the history-length rule, said in every error it causes
HISTORY_RULE = ("rule: a forecast needs 30 days (720 h) of observed drivers before its issue "
                "time, so the first issue time is 30 days after the series start")


def file_digest(path: Path) -> str:
    """SHA-256 of a file's content (what outputs are keyed by)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def read_series(spec: LocalInput, name: str, path: Path) -> pd.Series:
    """An hourly series [canonical units] from a CSV or NetCDF file (see module docstring)."""
    if not path.exists():
        raise InputMissingError(name, f"{path} not found; fix inputs.{name} in the area config")
    if path.suffix.lower() in (".nc", ".nc4", ".netcdf"):
        ds = xr.open_dataset(path)
        var = spec.variable or next(
            (v for v in ds.data_vars if "time" in ds[v].dims), next(iter(ds.data_vars)))
        if var not in ds or "time" not in ds[var].dims:
            raise InputMissingError(name, f"{path}: no variable {var!r} on a 'time' dimension")
        da = ds[var]
        da = da.mean([d for d in da.dims if d != "time"]) if da.ndim > 1 else da
        series = da.to_series()
        if name == "rain":  # summed per hour: a repeated time doubles the rain
            check_duplicates(pd.DatetimeIndex(series.index), name, path)
        units = spec.units or ds[var].attrs.get("units")
    else:
        try:
            frame = pd.read_csv(path)
        except Exception as err:
            raise InputMissingError(name, f"{path}: not a readable CSV ({err})") from None
        if "time" not in frame.columns:
            raise InputMissingError(name, f"{path}: no 'time' column (UTC times, e.g. "
                                          "2025-01-01T00:00Z) — rename the time column to 'time'")
        values = [c for c in frame.columns if c != "time"]
        col = spec.variable or (values[0] if len(values) == 1 else name)
        if col not in frame.columns:
            raise InputMissingError(name, f"{path}: no column {col!r} (columns: {values}); set "
                                          f"inputs.{name}.variable")
        times = parse_times(frame["time"], name, path, spec.timezone)
        if name == "rain":  # summed per hour (the others are averaged: harmless)
            check_duplicates(times, name, path)
        series = pd.Series(pd.to_numeric(frame[col], errors="coerce").values, index=times)
        units = spec.units
    if units is not None and units not in UNIT_FACTORS:
        raise InputMissingError(name, f"{path}: units {units!r} not understood; use one of "
                                      f"{sorted(UNIT_FACTORS)}")
    series = series.sort_index().astype("float64") * UNIT_FACTORS.get(units or "m", 1.0)
    series.index = pd.DatetimeIndex(series.index)
    if series.dropna().empty:
        raise InputMissingError(name, f"{path}: no values")
    if name == "evaporation":  # a daily value holds for its day (input_resolution)

        series = spread_to_hours(series)
    hourly = series.resample("1h")
    hourly = hourly.sum(min_count=1) if name == "rain" else hourly.mean()
    check_series(hourly, name, path, units)
    return hourly.astype("float32")


class LocalInputs(AreaInputs):
    """Inputs of an area from local files (see module docstring).

    Parameters
    ----------
    config : AreaConfig
        An area with ``source: local`` (a ``grid`` and an ``inputs`` section).
    root : Path
        Folder that relative input paths are resolved against.
    """

    def __init__(self, config: AreaConfig, root: Path):
        if config.source != "local" or config.inputs is None or config.grid is None:
            raise ValueError(f"area {config.name!r} is not a local-files area")
        self.config = config
        self.spec = config.inputs
        self.root = Path(root)
        self.grid = AreaGrid(**config.grid.model_dump())
        check_grid_size(self.grid.nx, self.grid.ny, self.grid.cell_size)  # before any array
        self.max_lead_h = config.forecast.max_lead_h
        self.proxies: dict[str, str] = {"forecast": (
            "no archived forecasts: the observed drivers continued as a persistence forecast")}
        if self.spec.forecast is not None:
            self.proxies["forecast"] = (
                "archived forecasts from the forecast file where it has the issue time; "
                "otherwise the observed drivers continued as a persistence forecast")
        if self.spec.evaporation is None:
            self.proxies["evaporation"] = "no evaporation input: a Danish climatology"
        #: rain absent: a sea-only area (wetindex.absent_inputs), never read as 0 mm
        self.absent_inputs = frozenset({"rain"}) if self.spec.rain is None else frozenset()
        if self.absent_inputs:  # said by check, status.json and the model card
            self.proxies["rain"] = RAIN_ABSENT
        gw = self.spec.groundwater
        if gw is not None and gw.path and Path(gw.path).suffix.lower() in (".nc", ".nc4",
                                                                          ".netcdf", ".csv"):
            pass  # a groundwater series: the observed depth in time, no proxy
        else:
            self.proxies["groundwater"] = (
                ("groundwater change in time: leaky-bucket recharge proxy from rain − "
                 "evaporation" if self.spec.rain is not None else
                 "groundwater held at its depth: no rain input for a recharge proxy")
                + ("" if gw else f"; no groundwater input: constant depth "
                                 f"{DEFAULT_GROUNDWATER_DEPTH_M} m"))

    # ---- files ----------------------------------------------------------------------
    def path(self, kind: str) -> Path:
        spec = getattr(self.spec, kind)
        if spec is None or spec.path is None:
            raise InputMissingError(kind, f"no {kind} file in the area config; add one with "
                                          f"'--input {kind}=PATH' or inputs.{kind}")
        p = Path(spec.path)
        p = p if p.is_absolute() else self.root / p
        if not p.exists():
            raise InputMissingError(kind, f"{p} not found; fix inputs.{kind} in the area config")
        return p

    def digests(self) -> dict[str, str]:
        """Content hash of every configured file (outputs are keyed by these)."""
        out = {}
        for kind in ("terrain", "rain", "evaporation", "sea_level", "groundwater", "labels",
                     "dikes", "boundary", "forecast", "water", "streams", "sea"):
            spec = getattr(self.spec, kind)
            if spec is not None:
                try:  # a missing labels file blocks training only (it says so), not the key
                    out[kind] = (file_digest(self.path(kind)) if spec.path
                                 else f"value={spec.value}")
                except InputMissingError:
                    out[kind] = "missing"
        return out

    # ---- static ---------------------------------------------------------------------
    @cached_property
    def _boundary(self):
        return read_boundary(self.path("boundary"), self.grid.crs).geometry

    @cached_property
    def _inside(self) -> np.ndarray:
        return geometry_mask([self._boundary], out_shape=self.grid.shape,
                             transform=self.grid.transform, invert=True)

    def static_inputs(self) -> xr.Dataset:
        path = self.path("terrain")
        try:
            raw = xr.open_dataarray(path, engine="rasterio", mask_and_scale=True).squeeze(
                "band", drop=True)
        except Exception as err:
            raise InputMissingError("terrain", f"{path}: not a readable GeoTIFF ({err})") from None
        check_terrain_raster(raw, self.grid, path)
        z = reproject_to_grid(raw, self.grid, "terrain", Resampling.bilinear)
        z = z * UNIT_FACTORS.get(self.spec.terrain.units or "m", 1.0)
        check_terrain_values(z, self._inside, self.grid.cell_size, path)
        # nodata inside the raster's footprint is sea (terrain models leave the sea
        # empty); outside the footprint it is just not covered
        footprint = np.isfinite(reproject_to_grid(raw.fillna(0.0) * 0 + 1, self.grid, "terrain",
                                                  Resampling.nearest))
        crest = self._dike_crest(z)
        sea = self._sea(z, footprint, np.isfinite(crest))
        z = np.where(sea & np.isnan(z), self.spec.sea_below_m - 1.0, z).astype("float32")
        water = self._water_layer("water")
        g = self.grid
        return xr.Dataset({
            "elevation": g.data_array(z, "elevation", "m"),
            "sea": g.data_array(sea, "sea"),
            "stream": g.data_array(self._water_layer("streams") & ~sea, "stream"),
            "dike_crest": g.data_array(crest, "dike_crest", "m"),
            "land_cover": g.data_array(np.zeros(g.shape, "int8"), "land_cover",
                                       flag_values=[0], flag_meanings="unknown"),
            "permanent_water": g.data_array(water & ~sea, "permanent_water"),
        })

    def _sea(self, z: np.ndarray, footprint: np.ndarray, dikes: np.ndarray) -> np.ndarray:
        """The sea from the data, whatever the boundary includes (:mod:`.sea_mask`)."""
        if self.spec.sea is not None:
            self.sea_how = f"from {Path(self.spec.sea.path).name}"
            return polygon_sea(self.path("sea"), self.grid) & ~dikes
        self.sea_how = (f"derived: terrain ≤ {self.spec.sea_below_m:g} m or nodata, connected "
                        "to the grid's edge")
        return derived_sea(z, footprint, self.spec.sea_below_m, dikes)

    def _water_layer(self, kind: str) -> np.ndarray:
        if getattr(self.spec, kind) is None:
            return np.zeros(self.grid.shape, bool)

        return read_layer(kind, self.path(kind), self.grid)

    def _dike_crest(self, z: np.ndarray) -> np.ndarray:
        if self.spec.dikes is None:
            self.dike_layer = DikeLayer(np.full(self.grid.shape, np.nan, "float32"))
        else:
            self.dike_layer = read_dikes(self.path("dikes"), self.spec.dikes, self.grid, z)
        return self.dike_layer.crest

    # ---- series ---------------------------------------------------------------------
    @cached_property
    def _drivers(self) -> pd.DataFrame:
        sea = read_series(self.spec.sea_level, "sea_level", self.path("sea_level"))
        start, end = sea.index[0], sea.index[-1]
        rain = None  # absent (a sea-only area): NaN in the drivers, never 0 mm
        if self.spec.rain is not None:
            rain = read_series(self.spec.rain, "rain", self.path("rain"))
            start, end = max(rain.index[0], start), min(rain.index[-1], end)
        if self.spec.evaporation is not None:
            evap = read_series(self.spec.evaporation, "evaporation", self.path("evaporation"))
            start, end = max(start, evap.index[0]), min(end, evap.index[-1])
        if end <= start:
            raise InputMissingError("observations", "rain, sea level (and evaporation) do not "
                                                    "overlap in time")
        hours = pd.date_range(start, end, freq="1h")
        frame = pd.DataFrame({"rain": rain.reindex(hours) if rain is not None else np.nan,
                              "sea_level": sea.reindex(hours)}, index=hours)
        frame["evaporation"] = (evap.reindex(hours).interpolate(limit=48).values
                                if self.spec.evaporation is not None
                                else evaporation_climatology(hours))
        frame["groundwater_anomaly"] = (recharge_anomaly(frame["rain"].values,
                                                         frame["evaporation"].values)
                                        if rain is not None else 0.0)
        return frame.astype("float32")

    def observed(self, start: np.datetime64, end: np.datetime64) -> xr.Dataset:
        frame = self._drivers
        first, last = frame.index[0], frame.index[-1]
        if pd.Timestamp(end) > last:
            raise InputMissingError("observations", f"the local series end at {last}, requested "
                                                    f"up to {pd.Timestamp(end)}", last)
        if pd.Timestamp(start) < first:
            raise InputMissingError("observations", f"the local series start at {first}, "
                                                    f"requested from {pd.Timestamp(start)}; "
                                                    f"{HISTORY_RULE}")
        return drivers_dataset(frame.loc[pd.Timestamp(start):pd.Timestamp(end)])

    def observed_end(self) -> np.datetime64:
        return self._drivers.index[-1].to_datetime64()

    def issue_times(self) -> pd.DatetimeIndex:
        return issue_slots(self._drivers.index, self.config.forecast.issue_every_h)

    def forecast(self, issue_time: np.datetime64) -> xr.Dataset:
        return self.forecasts_many(np.array([issue_time], "datetime64[ns]")).isel(issue_time=0)

    def forecasts_many(self, issue_times: np.ndarray) -> xr.Dataset:
        """Persistence: each driver's value at the issue hour held for every lead."""
        issue_times = np.asarray(issue_times, "datetime64[ns]")
        frame = self._drivers[["rain", "sea_level", "groundwater_anomaly"]].ffill()
        try:
            at_issue = frame.loc[pd.DatetimeIndex(issue_times)]
        except KeyError:
            raise InputMissingError("forecast", "an issue time lies outside the local "
                                                "series") from None
        leads = np.arange(1, self.max_lead_h + 1)
        valid = issue_times[:, None] + leads[None, :].astype("timedelta64[h]")
        ds = xr.Dataset(
            {name: (("issue_time", "lead"), np.repeat(at_issue[name].values[:, None],
                                                      len(leads), axis=1))
             for name in at_issue.columns},
            coords={"issue_time": issue_times, "lead": leads,
                    "valid_time": (("issue_time", "lead"), valid)})
        ds.attrs["forecast_kind"] = "persistence"
        if self.spec.forecast is not None:  # archived forecasts replace persistence

            ds = with_archived(ds, read_forecast_file(self.path("forecast")))
        return ds

    # ---- groundwater ----------------------------------------------------------------
    @cached_property
    def _base_depth(self) -> np.ndarray:
        spec = self.spec.groundwater
        if spec is None or spec.value is not None:
            value = DEFAULT_GROUNDWATER_DEPTH_M if spec is None else spec.value
            return np.full(self.grid.shape, value, "float32")

        path = self.path("groundwater")
        series = self._groundwater_series
        if series is not None:  # depth in time: the latest map is the base
            return series.at(series.times[-1:].values, np.arange(
                self.grid.nx * self.grid.ny))[0].reshape(self.grid.shape)
        try:
            raw = xr.open_dataarray(path, engine="rasterio", mask_and_scale=True).squeeze(
                "band", drop=True)
        except Exception as err:
            raise InputMissingError("groundwater", f"{path}: not a readable GeoTIFF ({err}); "
                                                   "give a number, a GeoTIFF, a NetCDF of grids "
                                                   "in time or a CSV of wells") from None
        depth = reproject_to_grid(raw, self.grid, "groundwater", Resampling.bilinear)
        fill = np.nanmedian(depth) if np.isfinite(depth).any() else DEFAULT_GROUNDWATER_DEPTH_M
        return np.where(np.isfinite(depth), depth, fill).astype("float32")

    @cached_property
    def _groundwater_series(self):
        """Groundwater depth in time (NetCDF grids / CSV wells), else None."""
        spec = self.spec.groundwater
        if spec is None or spec.path is None:
            return None

        return read_groundwater_series(self.path("groundwater"), self.grid, spec.variable)

    def _anomaly_at(self, times: np.ndarray) -> np.ndarray:
        series = self._drivers["groundwater_anomaly"]
        pos = series.index.get_indexer(pd.DatetimeIndex(times), method="ffill")
        return np.where(pos >= 0, series.values[np.maximum(pos, 0)], 0.0).astype("float32")

    def groundwater_depth(self, time: np.datetime64) -> xr.DataArray:
        if self._groundwater_series is not None:  # observed depth: no proxy anomaly
            depth = self._groundwater_series.at(np.array([time]), np.arange(
                self.grid.nx * self.grid.ny))[0].reshape(self.grid.shape)
            return self.grid.data_array(depth, "groundwater_depth", "m")
        depth = np.maximum(self._base_depth - self._anomaly_at(np.array([time]))[0], 0.0)
        return self.grid.data_array(depth.astype("float32"), "groundwater_depth", "m")

    def groundwater_depth_cells(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        if self._groundwater_series is not None:
            return self._groundwater_series.at(np.asarray(times), np.asarray(cells))
        base = self._base_depth.ravel()[cells]
        return np.maximum(base[None, :] - self._anomaly_at(times)[:, None], 0.0).astype(
            "float32")

    # ---- labels ---------------------------------------------------------------------
    @cached_property
    def _labels(self) -> tuple[pd.DatetimeIndex, np.ndarray]:
        if self.spec.labels is None:
            raise InputMissingError(
                "labels", "training needs observed surface water (a NetCDF of water maps with "
                "times, or water polygons with a 'time' attribute); add one with "
                "'--input labels=FILE' or inputs.labels in the area config")
        path = self.path("labels")
        times, maps = (self._raster_labels(path) if path.suffix.lower() in (".nc", ".nc4")
                       else self._vector_labels(path))
        order = np.argsort(times.values, kind="stable")
        maps = maps[order]
        # a lake is wet on every pass: not an observation of flooding (water_layers)
        maps[:, self._water_layer("water").ravel()] = -1
        return times[order], maps

    def _raster_labels(self, path: Path) -> tuple[pd.DatetimeIndex, np.ndarray]:
        ds = xr.open_dataset(path, decode_coords="all")
        var = self.spec.labels.variable or next(
            (v for v in ds.data_vars if "time" in ds[v].dims), next(iter(ds.data_vars)))
        da = ds[var]
        if "time" not in da.dims:
            raise InputMissingError("labels", f"{path}: {var!r} has no 'time' dimension")
        if da.rio.crs is None:
            da = da.rio.write_crs(self.grid.crs)  # documented: the area CRS when unset

        # the declared codes are checked and decoded on the file's own values (255 stays
        # 255 until it is matched), then moved onto the grid
        decoded = da.copy(data=decode_labels(da.values, self.spec.labels, path))
        maps = []
        for t in range(da.sizes["time"]):
            m = reproject_to_grid(decoded.isel(time=t), self.grid, "labels",
                                  Resampling.nearest)
            maps.append(to_label_codes(m).ravel())
        times = pd.DatetimeIndex(da["time"].values)
        return times, np.stack(maps)

    def _vector_labels(self, path: Path) -> tuple[pd.DatetimeIndex, np.ndarray]:
        import geopandas as gpd  # noqa: PLC0415 - geopandas takes ~1 s to import; only this path needs it


        frame = gpd.read_file(path)
        if "time" not in frame.columns or frame.crs is None:
            raise InputMissingError("labels", f"{path}: water polygons need a 'time' attribute "
                                              "(UTC) and a CRS")
        frame = frame.to_crs(self.grid.crs)
        frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
        # outside the polygons is dry only inside an observed footprint (water = 0);
        # the 'water' attribute's codes are the declared ones (label_encoding)
        if "water" in frame:

            decoded = decode_labels(pd.to_numeric(frame["water"], errors="coerce")
                                    .fillna(1).values, self.spec.labels, path)
            frame = frame[np.isfinite(decoded)]  # polygons of unknown say nothing
            water = list(decoded[np.isfinite(decoded)] == 1)
        else:
            water = [True] * len(frame)
        return water_polygon_maps(list(frame.geometry), water, list(frame["time"]),
                                  self.grid)

    def labels(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        label_times, maps = self._labels
        out = np.full((len(times), len(cells)), -1, dtype="int8")
        tol = pd.Timedelta(hours=self.spec.label_tolerance_h)
        pos = label_times.get_indexer(pd.DatetimeIndex(times), method="nearest", tolerance=tol)
        for i in np.flatnonzero(pos >= 0):
            out[i] = maps[pos[i]][cells]
        return out

    def label_times(self, start: np.datetime64, end: np.datetime64) -> pd.DatetimeIndex:
        """The hours of the label file's maps in ``[start, end]`` (each map's time rounded
        to the hour, which :meth:`labels` matches within ``label_tolerance_h``)."""
        if self.spec.labels is None:
            return pd.DatetimeIndex([])
        hours = self._labels[0].round("h").unique()
        return hours[(hours >= pd.Timestamp(start)) & (hours <= pd.Timestamp(end))]

    def observed_water(self, time: np.datetime64) -> xr.DataArray | None:
        if self.spec.labels is None:
            return None
        try:  # the map's water layer is optional: broken labels block training only
            label_times, maps = self._labels
        except Exception as err:  # any unreadable file: no water layer, logged

            logging.getLogger(__name__).warning("labels not shown on the map: %s", err)
            return None
        earlier = np.flatnonzero(label_times <= pd.Timestamp(time))
        if earlier.size == 0:
            return None
        i = int(earlier[-1])
        water = self.grid.data_array(maps[i].reshape(self.grid.shape), "observed_water",
                                     flag_values=[-1, 0, 1], flag_meanings="unknown dry water")
        water.attrs.update(time=label_times[i].isoformat(), sensor="local label file")
        return water

    # ---- description ----------------------------------------------------------------
    def places(self) -> list[Place]:
        spec = self.spec.places
        if spec is None:  # never the whole municipality as one place
            return default_places(self._boundary)
        return read_places(self.path("places"), self.grid.crs, spec.variable, self._boundary)

    def outline(self) -> Any:
        return self._boundary

    def attributions(self) -> list[Attribution]:
        out = []
        for kind in ("terrain", "rain", "evaporation", "sea_level", "groundwater", "labels",
                     "dikes", "boundary", "water", "streams", "sea"):
            spec = getattr(self.spec, kind)
            if spec is None:
                continue
            what = Path(spec.path).name if spec.path else f"constant {spec.value}"
            out.append(Attribution(
                name=f"{kind}: {what}", licence=spec.licence or "as stated by the data owner",
                attribution=spec.attribution or "local file supplied by the operator"))
        return out + absent_attributions(self.absent_inputs)
