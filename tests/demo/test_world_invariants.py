"""Invariants of the synthetic demo world, on small worlds (2 × 2 km at 10 m, 1 year)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from wetindex.demo import COMPONENTS, DemoWorld, DemoWorldConfig, build_demo_world
from wetindex.demo.climate import HOLDOUT_DAYS, forcing_dataset

SMALL = DemoWorldConfig(size_m=2000.0, years=1.0, seed=7)


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return build_demo_world(SMALL)


@pytest.fixture(scope="module")
def land_cells(world: DemoWorld) -> np.ndarray:
    return np.flatnonzero(~world.static["permanent_water"].values.ravel())


@pytest.fixture(scope="module")
def hourly(world: DemoWorld) -> dict[str, np.ndarray]:
    """Every component at every hour on all cells, reduced chunk by chunk to what the
    invariants need (the full time × cell arrays would take gigabytes)."""
    n = world.forcing.sizes["time"]
    ncell = world.grid.nx * world.grid.ny
    sea = world.truth_state["sea_level"].values
    sfl = world.truth_cells["sea_flood_level"].values.ravel()
    elev = world.static["elevation"].values.ravel()
    polder = world.truth_cells["polder"].values.ravel()
    perm = world.static["permanent_water"].values.ravel()
    out = {f"{k}_share": np.zeros(n) for k in COMPONENTS}
    out.update(
        polder_sea=np.zeros(n, bool), fluvial_cells=np.zeros(ncell, bool),
        coastal_outside=0, coastal_outside_unreached=0, on_permanent=0,
    )
    for s in range(0, n, 500):
        pos = np.arange(s, min(s + 500, n))
        comp = world._components(pos, None)
        for k in COMPONENTS:
            out[f"{k}_share"][pos] = comp[k][:, ~perm].mean(axis=1)
            out["on_permanent"] += int(comp[k][:, perm].sum())
        outside = comp["coastal"] & ~polder
        reached = (sfl[None, :] < sea[pos, None]) & (elev[None, :] < sea[pos, None])
        out["coastal_outside"] += int(outside.sum())
        out["coastal_outside_unreached"] += int((outside & ~reached).sum())
        out["polder_sea"][pos] = comp["coastal"][:, polder].any(axis=1)
        out["fluvial_cells"] |= comp["fluvial"].any(axis=0)
    return out


def test_static_layers_are_consistent(world: DemoWorld) -> None:
    s = world.static
    assert s["elevation"].rio.crs.to_epsg() == 25832
    assert set(np.unique(s["land_cover"].values)) >= {1, 2, 3, 4, 5, 7, 9}
    assert "flag_meanings" in s["land_cover"].attrs
    assert bool(s["sea"].values[0].all()), "the sea lies along the north edge"
    crest = s["dike_crest"].values
    assert 2.4 < np.nanmin(crest) <= np.nanmax(crest) < 3.1
    polder = world.truth_cells["polder"].values
    h = s["elevation"].values[polder]
    assert h.min() < 0.4 and np.median(h) < 1.6, "the polder lies low, partly below high tide"
    assert world.dike_line.length > 0.2 * world.config.size_m


def test_places_cover_every_cell_and_are_polygons(world: DemoWorld) -> None:
    names = [p.name for p in world.places]
    assert "Polderen bag Nordre Dige" in names and "Byen Vesterby" in names
    assert all(p.geometry.geom_type == "Polygon" for p in world.places)
    assert (world.truth_cells["place"].values >= 0).all()
    union = world.places[0].geometry
    for p in world.places[1:]:
        union = union.union(p.geometry)
    assert union.area == pytest.approx(world.config.size_m**2, rel=1e-9)


def test_same_seed_same_world_other_seed_other_world(world: DemoWorld) -> None:
    again = build_demo_world(SMALL)
    for name in ("static", "forcing", "forecasts", "truth_state", "truth_cells"):
        xr.testing.assert_identical(getattr(world, name), getattr(again, name))
    pd.testing.assert_frame_equal(world.incidents, again.incidents)
    other = build_demo_world(DemoWorldConfig(size_m=2000.0, years=1.0, seed=8))
    assert not np.array_equal(world.static["elevation"].values, other.static["elevation"].values)
    assert not np.array_equal(world.forcing["rain"].values, other.forcing["rain"].values)


def test_coastal_water_only_where_the_sea_reaches(hourly) -> None:
    assert hourly["coastal_outside"] > 0, "storms flood some land outside the dike"
    assert hourly["coastal_outside_unreached"] == 0


def test_dike_holds_until_overtopped_then_polder_floods(world: DemoWorld, hourly) -> None:
    sea = world.truth_state["sea_level"].values
    crest = world.dike_crest_min
    over = np.flatnonzero(sea > crest)
    assert over.size, "the history has an overtopping"
    polder_sea = hourly["polder_sea"]
    assert not polder_sea[: over[0]].any(), "no sea water behind the dike before it is overtopped"
    assert polder_sea[over[0] : over[0] + 12].any(), "an overtopping floods the polder"
    # the water stays for hours after the sea has fallen below the crest again
    after = over[np.searchsorted(over, over[0] + 1) - 1] + 1
    below = np.flatnonzero(sea[after:] < crest)[:1] + after
    assert polder_sea[below[0] : below[0] + 6].all()
    # and it drains away (pumping) within weeks
    assert not polder_sea[-1]


def test_stream_floods_only_after_heavy_rain_and_on_its_floodplain(world, hourly) -> None:
    hours = np.flatnonzero(hourly["fluvial_share"] > 0)
    assert hours.size, "the cloudburst floods the stream's floodplain"
    rain = world.forcing["rain"].values
    # the heaviest 24 hours of rain within the 3 days before each flooded hour
    day_sums = np.convolve(rain, np.ones(24), mode="full")[: rain.size]
    heaviest = np.array([day_sums[max(h - 72, 0) : h + 1].max() for h in hours])
    assert heaviest.min() >= 12.0
    assert np.median(heaviest) >= 20.0
    assert hours.size < 0.05 * rain.size, "floods are rare"
    hand = world.truth_cells["stream_hand"].values.ravel()
    wet = hourly["fluvial_cells"]
    assert np.isfinite(hand[wet]).all() and (hand[wet] < 3.0).all()
    assert world.truth_cells["stream_catchment"].values.ravel()[wet].all()


def test_groundwater_and_permanent_water(world: DemoWorld, hourly) -> None:
    assert hourly["on_permanent"] == 0, "flood water on permanent water"
    depth = world.groundwater_depth(world.forcing["time"].values[::500])
    assert float(depth.min()) >= 0.0
    gw = hourly["groundwater_share"]
    assert gw.max() > 0, "the water table reaches the surface in the lowest spots"
    assert gw.max() < 0.2
    assert 0.001 < hourly["pluvial_share"].mean() < 0.2


def test_per_cell_path_matches_full_grid(world: DemoWorld, land_cells) -> None:
    times = world.forcing["time"].values[[100, 2000, 5000, 8000]]
    cells = land_cells[::37]
    grid_water = world.water(times)
    cell_water = world.water(times, cells=cells)
    assert grid_water.dims == ("time", "y", "x") and cell_water.dims == ("time", "cell")
    np.testing.assert_array_equal(
        grid_water.values.reshape(len(times), -1)[:, cells], cell_water.values
    )
    with pytest.raises(ValueError, match="not an hour of the demo history"):
        world.water([np.datetime64("1999-01-01T00")])


def test_climatology_on_a_full_length_series() -> None:
    hours = 3 * 8766
    times = pd.date_range("2023-01-01", periods=hours + 49, freq="h")
    crest, toe = 2.55, 1.3
    for seed in (1, 42):
        f, _ = forcing_dataset(seed, times, hours, crest, toe)
        f = f.isel(time=slice(0, hours))
        annual = float(f["rain"].sum()) / 3
        assert 600 <= annual <= 900
        assert (f["rain"] >= 0).all() and float((f["rain"] == 0).mean()) > 0.8
        assert float(f["rain"].rolling(time=3).sum().max()) >= 20, "summer cloudbursts"
        monthly = f["evaporation"].groupby("time.month").mean()
        assert float(monthly.sel(month=1)) < 0.6 and 2.5 < float(monthly.sel(month=7)) < 4.5
        sea = f["sea_level"].values
        assert (sea > crest).any()
        assert (sea[-HOLDOUT_DAYS * 24 :] > crest).any(), "an overtopping in the hold-out"
        peaks = pd.Series(sea > toe).astype(int).diff().eq(1).sum()
        assert peaks >= 3, "several storms reach the dike toe"
        gw = f["groundwater_anomaly"].groupby("time.month").mean()
        assert float(gw.sel(month=[1, 2, 3]).mean()) > float(gw.sel(month=[7, 8, 9]).mean())


def test_forecast_errors_grow_with_lead(world: DemoWorld) -> None:
    fc = world.forecasts
    assert list(fc["lead"].values) == list(range(1, 49))
    np.testing.assert_array_equal(
        fc["valid_time"].values[:, 0], fc["issue_time"].values + np.timedelta64(1, "h")
    )
    assert float(fc["rain"].min()) >= 0
    inside = fc["valid_time"].values[:, -1] <= world.history_end.to_datetime64()
    fc = fc.isel(issue_time=np.flatnonzero(inside))
    rmse = {}
    for var in ("sea_level", "rain", "groundwater_anomaly"):
        truth = world.forcing[var].sel(time=fc["valid_time"].values.ravel()).values
        err = fc[var].values - truth.reshape(fc[var].shape)
        rmse[var] = np.sqrt((err**2).mean(axis=0))
    for var in ("sea_level", "rain"):
        assert rmse[var][47] > 1.2 * rmse[var][0], var
    # groundwater comes from the national model: its error is there from the first hour
    assert 0.02 < rmse["groundwater_anomaly"][0] <= rmse["groundwater_anomaly"][47] < 0.3
    sea_err = fc["sea_level"].values - world.forcing["sea_level"].sel(
        time=fc["valid_time"].values.ravel()).values.reshape(fc["sea_level"].shape)
    assert 0.03 < sea_err[:, 0].std() < 0.08 and 0.2 < sea_err[:, 47].std() < 0.45


def test_satellite_observations_are_realistic(world: DemoWorld) -> None:
    passes = world.satellite_passes
    assert set(passes["sensor"]) == {"sentinel-1", "sentinel-2"}
    gaps = passes["time"].diff().dt.total_seconds().dropna() / 86400
    assert gaps.max() <= 6.5
    perm = world.static["permanent_water"].values
    rows = pd.concat([passes[passes.sensor == "sentinel-1"].iloc[::12],
                      passes[passes.sensor == "sentinel-2"].iloc[::8]])
    for _, row in rows.iterrows():
        obs = world.observed_water(row["time"])
        assert obs.dtype == np.int8
        truth = world.water([row["time"]]).values[0]
        assert (obs.values[perm] == -1).all()
        known = (obs.values >= 0) & ~perm
        unknown_land = float(((obs.values == -1) & ~perm).sum() / (~perm).sum())
        if row["sensor"] == "sentinel-1":
            assert unknown_land == 0.0
        else:
            assert abs(unknown_land - row["cloud_fraction"]) < 0.15
        if known.sum() > 1000:
            acc = float(((obs.values == 1) == truth)[known].mean())
            assert 0.85 <= acc <= 0.995, (row["time"], acc)
    with pytest.raises(ValueError, match="no satellite pass"):
        world.observed_water(passes["time"].iloc[0] + pd.Timedelta(hours=1))


def test_incidents_are_at_truly_flooded_places(world: DemoWorld) -> None:
    inc = world.incidents
    assert 3 <= len(inc) <= 20
    assert set(inc.columns) >= {"time", "x", "y", "place", "description", "source"}
    g = world.grid
    cols = ((inc["x"] - g.x_min) // g.cell_size).astype(int).to_numpy()
    rows = ((g.y_max - inc["y"]) // g.cell_size).astype(int).to_numpy()
    for t, r, c in zip(inc["time"], rows, cols, strict=True):
        assert bool(world.water([t], cells=np.array([r * g.nx + c])).values[0, 0])
    assert "coastal" in set(inc["process"])


def test_subscribers(world: DemoWorld) -> None:
    dike, owner = world.demo_subscribers()
    assert dike["kind"] == "dike_association" and dike["language"] == "da"
    assert dike["geometry"].geom_type == "Polygon"
    polder_area = world.truth_cells["polder"].values.sum() * world.grid.cell_area
    assert dike["geometry"].area == pytest.approx(polder_area, rel=0.2)
    assert owner["language"] == "en" and owner["radius_m"] == 300
    assert owner["geometry"].area == pytest.approx(np.pi * 300**2, rel=0.02)


def test_save_load_round_trip(world: DemoWorld, tmp_path) -> None:
    world.save(tmp_path / "w")
    back = DemoWorld.load(tmp_path / "w")
    assert back.config == world.config
    for name in ("static", "forcing", "forecasts", "truth_state", "truth_cells"):
        a, b = getattr(world, name), getattr(back, name)
        for var in a.data_vars:
            assert b[var].dtype == a[var].dtype, (name, var)
            np.testing.assert_array_equal(a[var].values, b[var].values)
        for coord in a.coords:
            np.testing.assert_array_equal(a[coord].values, b[coord].values)
    pd.testing.assert_frame_equal(world.satellite_passes, back.satellite_passes)
    pd.testing.assert_frame_equal(world.incidents, back.incidents)
    assert back.dike_line.equals(world.dike_line)
    assert [p.geometry.wkt for p in back.places] == [p.geometry.wkt for p in world.places]
    t = world.forcing["time"].values[::997]
    np.testing.assert_array_equal(world.water(t).values, back.water(t).values)
    with pytest.raises(FileNotFoundError, match=r"DemoWorld\.save"):
        DemoWorld.load(tmp_path / "nothing")
