"""The demo world facade: build, query, save and load a synthetic coastal area.

>>> world = build_demo_world(DemoWorldConfig(size_m=2000, years=1))   # doctest: +SKIP
>>> world.water(world.forcing.time[:24])                               # doctest: +SKIP

How it is made: :mod:`~wetindex.demo.terrain` (landscape),
:mod:`~wetindex.demo.climate` (forcing), :mod:`~wetindex.demo.forecasts` (archived
forecasts), :mod:`~wetindex.demo.hydrology` (the true water),
:mod:`~wetindex.demo.national` (groundwater as a national model offers it) and
:mod:`~wetindex.demo.observations` (satellite passes and incident reports). Same
config, identical arrays; a different ``start`` only moves them in time (every world is
made in the calendar of :data:`ANCHOR_START`).

Memory: no (hours × cells) array is ever held. The hourly truth is kept in
:attr:`DemoWorld.truth_state` (per-hour scalars and per-bluespot levels) and the
per-cell fields in :attr:`DemoWorld.truth_cells`; water masks are made on demand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import xarray as xr
from rasterio import features
from shapely.geometry import LineString, Polygon

from wetindex.demo import climate, forecasts, hydrology, national, observations
from wetindex.demo.terrain import Place, synthesize_landscape
from wetindex.grid import AreaGrid

COMPONENTS = ("pluvial", "fluvial", "coastal", "groundwater")
FORMAT_VERSION = 2
#: The calendar every demo world is made in. A world for another ``start`` is this one
#: moved in time (:meth:`DemoWorld.shifted`): the same weather, storms and hold-out on
#: every day the demo is run, so its scores reproduce. Its seasons follow the anchor.
ANCHOR_START = "2023-01-01T00:00"
_CHUNK_CELLS = 8_000_000  # time × cells per block when building full-grid masks


@dataclass(frozen=True)
class DemoWorldConfig:
    """Size, period and seed of a demo world. The defaults are the full demo."""

    size_m: float = 10_000.0
    cell_size: float = 10.0
    years: float = 3.0
    start: str = "2023-01-01T00:00"
    seed: int = 42
    crs: str = "EPSG:25832"
    x_min: float = 540_000.0
    y_max: float = 6_335_000.0
    forecast_every_h: int = 3
    max_lead_h: int = 48
    #: an overtopping storm this many hours after the history's end (the live demo's)
    storm_ahead_h: int | None = None

    def grid(self) -> AreaGrid:
        n = round(self.size_m / self.cell_size)
        return AreaGrid(self.crs, float(self.cell_size), float(self.x_min), float(self.y_max),
                        n, n)

    def history_hours(self) -> int:
        """Hours in the history: ``years`` of 8766 h, in whole forecast steps.

        Not calendar years: the length must not depend on where the history is put in
        time (see :data:`ANCHOR_START`).
        """
        return history_hours(self.years, self.forecast_every_h)


def history_hours(years: float, every_h: int = 3) -> int:
    """Hours of a demo history of ``years`` (8766 h a year), a whole number of ``every_h``."""
    return max(1, round(years * 8766 / every_h)) * every_h


class DemoWorld:
    """A built demo world (see :func:`build_demo_world`).

    Attributes
    ----------
    config, grid
        What it was built from, and its grid.
    static : xr.Dataset
        ``elevation`` [m DVR90], ``land_cover`` (flag attrs), ``sea``, ``stream``, ``lake``,
        ``permanent_water`` (bool), ``dike_crest`` [m] (NaN off the dike),
        ``groundwater_model_depth`` [m] (the national model's mean depth of the water
        table, coarse and with its errors; the truth is in ``truth_cells``).
    forcing : xr.Dataset
        Hourly ``rain`` [mm/h] (uniform over the area), ``evaporation`` [mm/d],
        ``sea_level`` [m], ``groundwater_anomaly`` [m] (the truth) and
        ``groundwater_model_anomaly`` [m] (what the national model publishes, see
        :mod:`wetindex.demo.national`) on ``time`` (UTC, tz-naive).
    forecasts : xr.Dataset
        ``rain``, ``sea_level``, ``groundwater_anomaly`` on (``issue_time``, ``lead``) with
        ``valid_time``; error model in :mod:`wetindex.demo.forecasts`.
    places : list[Place]
        Named areas (Polygons in the grid CRS) that together cover the whole area.
    dike_line : LineString
        Centre line of the dike "Nordre Dige"; crest heights in ``static.dike_crest``,
        lowest crest in ``dike_crest_min`` [m].
    truth_state : xr.Dataset
        The hourly state the water is made from: ``sea_level``, ``groundwater_anomaly``,
        ``soil_wetness``, ``stream_discharge`` [mm/h], ``polder_sea_level`` [m] (NaN when
        no sea water is behind the dike), ``polder_inflow`` [m3/h] and
        ``bluespot_level`` [m] on (``time``, ``bluespot``) (NaN when empty). It covers the
        history and the ``max_lead_h`` + 1 hours after it (the truth the last forecasts
        are verified against); :meth:`water` answers for all of these hours.
    truth_cells : xr.Dataset
        Per-cell fields: ``bluespot`` (owning bluespot, 0 none), ``sea_flood_level`` [m],
        ``polder``, ``groundwater_base_depth`` [m], ``stream_hand`` [m], ``stage_scale``,
        ``filled_elevation`` [m], ``stream_catchment``, ``place`` (index into places).
    satellite_passes, incidents : pandas.DataFrame
        See :mod:`wetindex.demo.observations`.
    events : dict
        ``overtopping_storms`` (peak times), ``cloudburst`` (start time or None),
        ``heavy_rain`` (start times of the rain floods put in on purpose).
    """

    def __init__(self, config: DemoWorldConfig, static: xr.Dataset, forcing: xr.Dataset,
                 forecasts_ds: xr.Dataset, places: list[Place], dike_line: LineString,
                 truth_state: xr.Dataset, truth_cells: xr.Dataset,
                 satellite_passes: pd.DataFrame, incidents: pd.DataFrame,
                 events: dict[str, Any]) -> None:
        self.config = config
        self.grid = config.grid()
        self.static = static
        self.forcing = forcing
        self.forecasts = forecasts_ds
        self.places = places
        self.dike_line = dike_line
        self.truth_state = truth_state
        self.truth_cells = truth_cells
        self.satellite_passes = satellite_passes
        self.incidents = incidents
        self.events = events
        # hours with a true state: the history and the last forecast's horizon after it
        self._time_index = pd.DatetimeIndex(truth_state["time"].values)
        self._history_end = pd.Timestamp(forcing["time"].values[-1])
        self._flat: dict[str, np.ndarray] = {
            "elevation": static["elevation"].values.ravel(),
            "permanent_water": static["permanent_water"].values.ravel(),
            "bluespot": truth_cells["bluespot"].values.ravel(),
            "sea_flood_level": truth_cells["sea_flood_level"].values.ravel(),
            "polder": truth_cells["polder"].values.ravel(),
            "groundwater_base_depth": truth_cells["groundwater_base_depth"].values.ravel(),
            "stream_hand": truth_cells["stream_hand"].values.ravel(),
            "stage_scale": truth_cells["stage_scale"].values.ravel(),
        }

    # ---- time ------------------------------------------------------------------------
    @property
    def history_end(self) -> pd.Timestamp:
        """The last hourly time of the history (the truth runs on for one forecast horizon)."""
        return self._history_end

    def shifted(self, start: str) -> DemoWorld:
        """This world moved in time so that its history starts at ``start`` (UTC).

        Only the time coordinates change: every value, storm and satellite pass stays
        the same, ``start − current start`` later. The shift must be whole hours.
        """
        offset = _utc_naive(start) - self._time_index[0]
        if offset % pd.Timedelta(hours=1) != pd.Timedelta(0):
            raise ValueError(f"DemoWorldConfig.start={start!r}: the demo world moves in whole "
                             f"hours from {self._time_index[0]}; give a whole UTC hour")
        if offset == pd.Timedelta(0):
            return self
        delta = offset.to_timedelta64()

        def move(ds: xr.Dataset, *names: str) -> xr.Dataset:
            return ds.assign_coords({n: ds[n] + delta for n in names})

        def move_frame(df: pd.DataFrame) -> pd.DataFrame:
            df = df.copy()
            df["time"] = df["time"] + offset
            return df

        events = {
            "overtopping_storms": [str(pd.Timestamp(t) + offset)
                                   for t in self.events["overtopping_storms"]],
            "cloudburst": (str(pd.Timestamp(self.events["cloudburst"]) + offset)
                           if self.events.get("cloudburst") else None),
            "heavy_rain": [str(pd.Timestamp(t) + offset)
                           for t in self.events.get("heavy_rain", [])],
        }
        config = replace(self.config, start=(self._time_index[0] + offset).strftime(
            "%Y-%m-%dT%H:%M"))
        return DemoWorld(config, self.static, move(self.forcing, "time"),
                         move(self.forecasts, "issue_time", "valid_time"), self.places,
                         self.dike_line, move(self.truth_state, "time"), self.truth_cells,
                         move_frame(self.satellite_passes), move_frame(self.incidents), events)

    @property
    def dike_crest_min(self) -> float:
        return float(self.static["dike_crest"].attrs["lowest_crest"])

    def _hour_positions(self, times: Any) -> np.ndarray:
        idx = pd.DatetimeIndex(np.atleast_1d(np.asarray(times, dtype="datetime64[ns]")))
        pos = self._time_index.get_indexer(idx)
        if (pos < 0).any():
            bad = idx[pos < 0][0]
            raise ValueError(
                f"time {bad} is not an hour of the demo history "
                f"({self._time_index[0]} … {self.history_end}, with its truth to "
                f"{self._time_index[-1]}); pass whole UTC hours in it"
            )
        return pos

    # ---- truth -----------------------------------------------------------------------
    def groundwater_depth(self, times: Any) -> xr.DataArray:
        """Depth of the water table below terrain [m], >= 0, on (time, y, x)."""
        pos = self._hour_positions(times)
        d0 = self.truth_cells["groundwater_base_depth"].values
        anom = self.truth_state["groundwater_anomaly"].values[pos]
        depth = np.maximum(d0[None] - anom[:, None, None], 0).astype(np.float32)
        return self._cube(depth, pos, "groundwater_depth", units="m",
                          long_name="depth of the water table below terrain")

    def _components(self, pos: np.ndarray, cells: np.ndarray | None) -> dict[str, np.ndarray]:
        return hydrology.water_components(self._flat, self.truth_state, pos, cells)

    def water(self, times: Any, cells: np.ndarray | None = None) -> xr.DataArray:
        """True flood water (bool) at hourly ``times``.

        Returns (time, y, x), or (time, cell) for flat indices ``cells`` into the
        ``ny·nx`` raster (row-major); the per-cell path costs O(times × cells).
        Permanent water is never flood water.
        """
        pos = self._hour_positions(times)
        if cells is not None:
            cells = np.asarray(cells, dtype=np.int64)
            if cells.size and (cells.min() < 0 or cells.max() >= self.grid.nx * self.grid.ny):
                raise ValueError("cells: flat indices must lie in 0 … ny·nx − 1")
            comp = self._components(pos, cells)
            wet = np.logical_or.reduce([comp[k] for k in COMPONENTS])
            return xr.DataArray(
                wet, dims=("time", "cell"),
                coords={"time": self._time_index[pos].values, "cell": cells}, name="water",
            )
        n = self.grid.nx * self.grid.ny
        out = np.empty((pos.size, n), dtype=bool)
        step = max(1, _CHUNK_CELLS // n)
        for s in range(0, pos.size, step):
            comp = self._components(pos[s : s + step], None)
            out[s : s + step] = np.logical_or.reduce([comp[k] for k in COMPONENTS])
        return self._cube(out.reshape(pos.size, *self.grid.shape), pos, "water")

    def water_components(self, time: Any) -> xr.Dataset:
        """Bool masks per process (pluvial, fluvial, coastal, groundwater) at one hour."""
        pos = self._hour_positions(time)[:1]
        comp = self._components(pos, None)
        return xr.Dataset({
            k: self.grid.data_array(comp[k][0].reshape(self.grid.shape), k) for k in COMPONENTS
        }).assign_coords(time=self._time_index[pos[0]])

    def _cube(self, values: np.ndarray, pos: np.ndarray, name: str, **attrs) -> xr.DataArray:
        da = xr.DataArray(values, dims=("time", "y", "x"),
                          coords={"time": self._time_index[pos].values, **self.grid.coords()},
                          name=name, attrs=attrs)
        return da.rio.write_crs(self.grid.crs).rio.write_transform(self.grid.transform)

    # ---- observations ----------------------------------------------------------------
    def observed_water(self, time: Any) -> xr.DataArray:
        """A satellite water map at a pass time: int8 (y, x), 1 water, 0 dry, -1 unknown.

        Unknown is cloud (Sentinel-2) and permanent water (always -1: not flood water).
        """
        t = pd.Timestamp(np.datetime64(pd.Timestamp(time).tz_localize(None), "ns"))
        match = np.flatnonzero(self.satellite_passes["time"].values == t.to_datetime64())
        if match.size == 0:
            raise ValueError(f"no satellite pass at {t}; see DemoWorld.satellite_passes")
        row = self.satellite_passes.iloc[int(match[0])]
        truth = self.water([t]).values[0]
        obs = observations.observed_water(
            self.config.seed, int(match[0]), row["sensor"], float(row["cloud_fraction"]),
            truth, self.static["land_cover"].values, self.static["permanent_water"].values,
            self.grid.cell_size,
        )
        da = self.grid.data_array(obs, "observed_water", sensor=row["sensor"],
                                  flag_values=np.array([-1, 0, 1], dtype=np.int8),
                                  flag_meanings="unknown dry water")
        return da.assign_coords(time=t.to_datetime64())

    def demo_subscribers(self) -> list[dict]:
        """Two subscribers: the dike association (the polder) and a summer-house owner."""
        polder = _mask_polygon(self.truth_cells["polder"].values, self.grid)
        lc = self.static["land_cover"].values
        houses = np.argwhere((lc == 3) & self.truth_cells["polder"].values)
        if houses.size == 0:
            houses = np.argwhere(lc == 3)
        centre = houses.mean(axis=0)
        r, c = houses[np.argmin(((houses - centre) ** 2).sum(axis=1))]
        point = (float(self.grid.x[c]), float(self.grid.y[r]))
        return [
            {"name": "Nordre Digelag", "kind": "dike_association",
             "email": "formand@nordre-digelag.example", "language": "da",
             "geometry": polder, "min_level": 1, "max_lead_h": 48},
            {"name": "Summer-house owner, Klitrosen", "kind": "citizen",
             "email": "owner@klitrosen.example", "language": "en",
             "geometry": shapely.Point(point).buffer(300.0), "point": point,
             "radius_m": 300.0, "min_level": 1, "max_lead_h": 48},
        ]

    # ---- persistence -----------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the world to folder ``path`` (NetCDF per dataset + ``world.json``)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for name, ds in self._datasets().items():
            enc = {v: {"zlib": True, "complevel": 1} for v in ds.data_vars
                   if ds[v].dtype != bool}
            ds.to_netcdf(path / f"{name}.nc", engine="netcdf4", encoding=enc)
        self.satellite_passes.to_csv(path / "satellite_passes.csv", index=False)
        self.incidents.to_csv(path / "incidents.csv", index=False)
        meta = {
            "format_version": FORMAT_VERSION,
            "config": asdict(self.config),
            "places": [{"name": p.name, "kind": p.kind, "wkt": p.geometry.wkt}
                       for p in self.places],
            "dike_line": self.dike_line.wkt,
            "events": {k: v for k, v in self.events.items()},
        }
        (path / "world.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False),
                                         encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DemoWorld:
        """Read a world written by :meth:`save`."""
        path = Path(path)
        meta_file = path / "world.json"
        if not meta_file.exists():
            raise FileNotFoundError(
                f"{meta_file} not found: point DemoWorld.load at a folder made by DemoWorld.save"
            )
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{meta_file}: unsupported demo world format; rebuild and save it")
        ds = {n: xr.load_dataset(path / f"{n}.nc", engine="netcdf4")
              for n in ("static", "forcing", "forecasts", "truth_state", "truth_cells")}
        for n in ("static", "truth_cells"):
            for v in ds[n].data_vars:
                if ds[n][v].attrs.get("dtype") == "bool" or ds[n][v].dtype == bool:
                    ds[n][v] = ds[n][v].astype(bool)
            # NetCDF does not keep the grid's CRS here: without it terrain features refuse
            ds[n] = ds[n].rio.write_crs(meta["config"]["crs"])
        passes = pd.read_csv(path / "satellite_passes.csv", parse_dates=["time"])
        incidents = pd.read_csv(path / "incidents.csv", parse_dates=["time"])
        for df in (passes, incidents):
            df["time"] = df["time"].astype("datetime64[ns]")
        places = [Place(p["name"], p["kind"], shapely.from_wkt(p["wkt"])) for p in meta["places"]]
        return cls(DemoWorldConfig(**meta["config"]), ds["static"], ds["forcing"],
                   ds["forecasts"], places, shapely.from_wkt(meta["dike_line"]),
                   ds["truth_state"], ds["truth_cells"], passes, incidents, meta["events"])

    def _datasets(self) -> dict[str, xr.Dataset]:
        return {"static": self.static, "forcing": self.forcing, "forecasts": self.forecasts,
                "truth_state": self.truth_state, "truth_cells": self.truth_cells}

    def __repr__(self) -> str:
        c = self.config
        return (f"DemoWorld({self.grid.ny}×{self.grid.nx} cells at {c.cell_size} m, "
                f"{self._time_index[0]} … {self.history_end}, seed {c.seed})")


def _utc_naive(text: str) -> pd.Timestamp:
    try:
        t = pd.Timestamp(text)
    except ValueError as err:
        raise ValueError(f"DemoWorldConfig.start={text!r} is not a time: use e.g. "
                         "'2023-01-01T00:00'") from err
    return t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t


def _mask_polygon(mask: np.ndarray, grid: AreaGrid) -> Polygon:
    """The largest polygon of a boolean mask, holes dropped, simplified to the cell size."""
    shapes = [shapely.geometry.shape(g) for g, v in
              features.shapes(mask.astype(np.uint8), mask=mask, transform=grid.transform)
              if v == 1]
    if not shapes:
        raise ValueError("mask is empty: no polygon to make")
    big = max(shapes, key=lambda s: s.area)
    return Polygon(big.exterior).simplify(grid.cell_size, preserve_topology=True)


def build_demo_world(config: DemoWorldConfig = DemoWorldConfig()) -> DemoWorld:
    """Build the demo world described by ``config`` (seeded: same config, identical arrays).

    The world is made in the calendar of :data:`ANCHOR_START` and then moved so that its
    history starts at ``config.start``: two builds that differ only in ``start`` hold
    the same data, shifted in time.
    """
    if config.years <= 0:
        raise ValueError(f"DemoWorldConfig.years must be > 0, got {config.years}")
    _utc_naive(config.start)  # a bad start fails before minutes of work
    anchored = replace(config, start=ANCHOR_START)
    return _build(anchored).shifted(config.start)


def _build(config: DemoWorldConfig) -> DemoWorld:
    grid = config.grid()
    land = synthesize_landscape(grid, config.seed)
    hist = config.history_hours()
    start = _utc_naive(config.start)
    times = pd.date_range(start, periods=hist + config.max_lead_h + 1, freq="h")
    toe = 1.3  # the foreshore in front of the dike
    forcing_ext, ev = climate.forcing_dataset(config.seed, times, hist, land.dike_crest_min, toe,
                                              storm_ahead_h=config.storm_ahead_h)
    truth = hydrology.analyse_terrain(land.static, grid, land.polder_design, config.seed)
    gw_model = national.model_anomaly_series(forcing_ext["groundwater_anomaly"].values,
                                             config.seed)
    forcing_ext["groundwater_model_anomaly"] = ("time", gw_model, {
        "units": "m", "long_name": "groundwater anomaly as the national model publishes it"})
    wetness = climate.soil_wetness(forcing_ext["rain"].values.astype(np.float64),
                                   forcing_ext["evaporation"].values.astype(np.float64))
    forcing = forcing_ext.isel(time=slice(0, hist))
    coming = ev["overtopping_storms"][-1:] if config.storm_ahead_h is not None else []
    fc = forecasts.make_forecasts(config.seed, forcing_ext, ev["surge"], hist,
                                  config.forecast_every_h, config.max_lead_h,
                                  gw_model.astype(np.float64), wetness, coming_storms=coming)
    land.static["groundwater_model_depth"] = grid.data_array(
        national.model_depth_field(land.static["elevation"].values,
                                   truth.cells["groundwater_base_depth"].values,
                                   land.static["permanent_water"].values, grid.cell_size,
                                   config.seed),
        "groundwater_model_depth", "m",
        long_name="mean depth of the water table below terrain by the national model")
    # the truth runs on past the history's end through the last forecast's horizon, so
    # the live demo's forecast can be checked against what the water then does
    state = hydrology.simulate(truth, land.static, forcing_ext, grid)
    cells = truth.cells.assign(place=grid.data_array(land.place_index, "place"))
    history = pd.DatetimeIndex(forcing["time"].values)
    passes = observations.satellite_passes(config.seed, history, forcing["rain"].values)
    events = {
        "overtopping_storms": [str(times[i]) for i in ev["overtopping_storms"]],
        "cloudburst": str(times[ev["cloudburst"]]) if ev["cloudburst"] >= 0 else None,
        "heavy_rain": [str(times[i]) for i in ev["heavy_rain"]],
    }
    world = DemoWorld(config, land.static, forcing, fc, land.places, land.dike_line, state,
                      cells, passes, pd.DataFrame(), events)
    world.incidents = _incidents(world, ev)
    return world


def _incidents(world: DemoWorld, ev: dict) -> pd.DataFrame:
    """Pick a handful of reporting moments: the overtoppings, the stream's and the
    bluespots' biggest floods, and the highest groundwater."""
    st = world.truth_state
    picks: list[tuple[int, str]] = []
    for peak in ev["overtopping_storms"]:
        psl = st["polder_sea_level"].values[peak:peak + 12]
        if np.isfinite(psl).any():
            picks.append((peak + int(np.nanargmax(psl)), "coastal"))
    q = st["stream_discharge"].values
    picks.append((int(np.argmax(q)), "fluvial"))
    vol = np.nansum(np.isfinite(st["bluespot_level"].values), axis=1)
    picks.append((int(np.argmax(vol)), "pluvial"))
    picks.append((int(np.argmax(st["groundwater_anomaly"].values)), "groundwater"))
    events = []
    for t_idx, process in picks:
        comp = world._components(np.array([t_idx]), None)[process][0]
        events.append((t_idx, process, np.flatnonzero(comp)))
    return observations.incident_reports(
        world.config.seed, events, world._time_index, world.grid.x, world.grid.y,
        world.truth_cells["place"].values, [p.name for p in world.places])
