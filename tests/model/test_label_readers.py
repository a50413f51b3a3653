"""Label readers: synthetic scenes with known answers, and the real fixtures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from wetindex.grid import AreaGrid
from wetindex.model.label_store import LabelStore
from wetindex.model.label_vectors import (
    read_ems_observations,
    read_incident_reports,
)
from wetindex.model.labels import (
    DRY,
    PERMANENT,
    UNKNOWN,
    WET,
    LabelInputError,
    LabelMap,
    lee_filter,
    otsu_threshold,
    permanent_water_from_worldcover,
    radar_shadow_layover,
    sentinel1_water,
    sentinel2_water,
)

GRID = AreaGrid("EPSG:25832", 10.0, 500_000.0, 6_200_000.0, 60, 50)


def _radar_scene(seed: int = 0):
    """Open water (-22 dB) in the west third, land (-8 dB) elsewhere, gamma speckle."""
    rng = np.random.default_rng(seed)
    water = np.zeros(GRID.shape, bool)
    water[:, :20] = True
    mean_db = np.where(water, -22.0, -8.0)
    speckle = rng.gamma(4.4, 1 / 4.4, GRID.shape)  # 4.4 looks, mean 1
    return 10 * np.log10(10 ** (mean_db / 10) * speckle), water


def test_otsu_separates_a_bimodal_db_histogram():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(-22, 1.5, 3000), rng.normal(-8, 1.5, 7000), [np.nan]])
    t = otsu_threshold(values)
    assert -18 < t < -12
    with pytest.raises(LabelInputError, match="no contrast"):
        otsu_threshold(np.full(10, -5.0))


def test_lee_filter_reduces_speckle_variance_and_keeps_the_mean():
    db, water = _radar_scene()
    linear = 10 ** (db / 10)
    filtered = lee_filter(linear, 5)
    land = ~water
    land[:, :25] = False  # away from the edge
    assert filtered[land].var() < 0.3 * linear[land].var()
    assert abs(filtered[land].mean() / linear[land].mean() - 1) < 0.05


def test_sentinel1_mask_finds_the_water_and_masks_slopes_shadow_and_lakes():
    db, water = _radar_scene()
    slope = np.zeros(GRID.shape)
    slope[:5] = 20.0
    shadow = np.zeros(GRID.shape, bool)
    shadow[10, 40] = True
    lake = np.zeros(GRID.shape, bool)
    lake[30:35, 5:10] = True
    mask, facts = sentinel1_water(db, db - 7, slope_deg=slope, shadow=shadow,
                                  permanent_water=lake)
    assert facts["fallback"] == 0 and -20 < facts["vv_threshold_db"] < -10
    seen = (mask != UNKNOWN) & (mask != PERMANENT)
    assert (mask[seen] == np.where(water, WET, DRY)[seen]).mean() > 0.98
    assert (mask[:5] == UNKNOWN).all() and mask[10, 40] == UNKNOWN
    # permanent water is its own class (was -1 before issue #17), never flood water
    assert (mask[30:35, 5:10] == PERMANENT).all()


def test_sentinel1_without_water_falls_back_instead_of_inventing_a_lake():
    rng = np.random.default_rng(3)
    land = rng.normal(-8, 1.0, GRID.shape)
    mask, facts = sentinel1_water(land)
    assert facts["fallback"] == 1
    assert (mask == WET).mean() < 0.01


def test_little_water_scenes_leave_flooded_cells_unknown_not_dry():
    """5 % shallow flood water (−18.5 dB) among bright (−6 dB) and wet dark (−13 dB)
    fields: Otsu splits the fields, not the water, so the fixed fallback is used."""
    rng = np.random.default_rng(5)
    water = np.zeros(GRID.shape, bool)
    water[10:20, 10:25] = True                       # 150 of 3000 cells
    dark_field = np.zeros(GRID.shape, bool)
    dark_field[:, 35:] = True
    mean_db = np.where(water, -18.5, np.where(dark_field, -13.0, -6.0))
    db = 10 * np.log10(10 ** (mean_db / 10) * rng.gamma(4.4, 1 / 4.4, GRID.shape))
    mask, facts = sentinel1_water(db)
    assert facts["fallback"] == 1
    assert (mask[water] == DRY).mean() < 0.05        # a bare fallback made ~half of it dry
    assert (mask[water] == WET).mean() > 0.3
    bright = ~ndimage.binary_dilation(water, iterations=2) & ~dark_field
    assert (mask[bright] == DRY).mean() > 0.85       # clear land stays dry
    assert (mask[dark_field] == DRY).mean() < 0.5    # doubtful land is not a confident dry


def test_radar_shadow_on_a_slope_facing_away():
    rows = np.arange(GRID.ny)[:, None] * np.ones((1, GRID.nx))
    # terrain falls steeply to the east; the radar looks east → the slope faces away
    elevation = -rows * 0 - np.arange(GRID.nx)[None, :] * 30.0
    masked = radar_shadow_layover(elevation, GRID.cell_size, incidence_deg=35,
                                  look_azimuth_deg=90)
    assert masked.all()
    flat = radar_shadow_layover(np.zeros(GRID.shape), 10.0, incidence_deg=35, look_azimuth_deg=90)
    assert not flat.any()


def test_sentinel2_cloud_mask_yields_unknown_not_dry():
    green = np.full(GRID.shape, 0.05)
    swir = np.full(GRID.shape, 0.20)
    swir[:, :10] = 0.01  # water: MNDWI > 0
    scl = np.full(GRID.shape, 4)  # vegetation
    scl[20:30] = 9  # high-probability cloud
    mask = sentinel2_water(green, swir1=swir, scl=scl)
    assert (mask[20:30] == UNKNOWN).all()
    assert (mask[:20, :10] == WET).all() and (mask[:20, 10:] == DRY).all()
    ndwi = sentinel2_water(green, nir=swir, cloud_mask=np.zeros(GRID.shape, bool))
    assert (ndwi[:, :10] == WET).all()
    with pytest.raises(LabelInputError, match="swir1"):
        sentinel2_water(green)
    # no SCL and no other mask: refused (it used to run unmasked), see issue #17
    with pytest.raises(LabelInputError, match="no cloud mask"):
        sentinel2_water(green, nir=swir)


def test_incident_reports_from_csv_and_geojson(tmp_path):
    x0, y0 = GRID.x[12], GRID.y[7]
    csv = tmp_path / "reports.csv"
    pd.DataFrame({"time": ["2024-01-05T10:00Z", "2024-01-05T11:00Z", "2024-01-05T12:00Z"],
                  "x": [x0, 1.0, x0 + 100], "y": [y0, 1.0, y0], "radius_m": [15, 5, 5],
                  "wet": [1, 1, 0]}).to_csv(csv, index=False)
    maps = read_incident_reports(csv, GRID)
    assert len(maps) == 2  # the one far outside the area says nothing
    assert maps[0].values[7, 12] == WET and (maps[0].values == WET).sum() >= 9
    assert (maps[0].values == UNKNOWN).sum() > 0.9 * maps[0].values.size
    assert maps[1].values[7, 22] == DRY and maps[0].start == pd.Timestamp("2024-01-05T10:00")
    poly = [[GRID.x[0], GRID.y[0]], [GRID.x[5], GRID.y[0]], [GRID.x[5], GRID.y[5]],
            [GRID.x[0], GRID.y[0]]]
    gj = tmp_path / "reports.geojson"
    gj.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:25832"}},
        "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [poly]},
                      "properties": {"time": "2024-01-06T00:00", "end_time": "2024-01-06T06:00",
                                     "source": "digelag", "confidence": 0.95}}]}))
    (m,) = read_incident_reports(gj, GRID)
    assert m.source == "digelag" and m.confidence == 0.95 and (m.values == WET).sum() > 5
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(LabelInputError, match="'time' column"):
        read_incident_reports(bad, GRID)


def test_water_polygons_outside_the_footprint_are_unknown_not_dry():
    from shapely.geometry import box

    from wetindex.model.label_vectors import water_polygon_maps

    t = pd.Timestamp("2024-01-05T05:00")
    x0, y1 = GRID.x_min, GRID.y_max
    pond = box(x0 + 100, y1 - 200, x0 + 200, y1 - 100)
    footprint = box(x0, y1 - 300, x0 + 300, y1)
    _, only_water = water_polygon_maps([pond], [True], [t], GRID)
    assert set(np.unique(only_water)) == {UNKNOWN, WET}       # nothing is claimed dry
    times, maps = water_polygon_maps([pond, footprint], [True, False], [t, t], GRID)
    m = maps[0].reshape(GRID.shape)
    assert m[15, 15] == WET and m[5, 5] == DRY and m[40, 40] == UNKNOWN
    assert times[0] == t


def test_label_store_unknown_is_never_dry_and_confidence_wins(tmp_path):
    store = LabelStore(GRID)
    t = pd.Timestamp("2024-01-05T05:18")
    radar = np.full(GRID.shape, DRY, "int8")
    radar[:, :10] = UNKNOWN
    report = np.full(GRID.shape, UNKNOWN, "int8")
    report[0, 10] = WET
    store.add([LabelMap(radar, t, t, "sentinel1", 0.8, "S1A"),
               LabelMap(report, t - pd.Timedelta(hours=1), t + pd.Timedelta(hours=2),
                        "report", 0.9, "citizen")])
    times = pd.DatetimeIndex(["2024-01-05T05:00", "2024-01-05T07:00", "2024-02-01"]).values
    label, conf, which = store.query(times, np.array([0, 10, 11]))
    assert label[0].tolist() == [UNKNOWN, WET, DRY]
    # maps are sorted by start: the report is map 0
    assert which[0].tolist() == [-1, 0, 1] and conf[0, 2] == pytest.approx(0.8)
    assert label[1].tolist() == [UNKNOWN, WET, UNKNOWN]  # only the report lasts till 07:00
    assert (label[2] == UNKNOWN).all()
    again = LabelStore.load(store.save(tmp_path / "store"))
    np.testing.assert_array_equal(again.labels(times, np.array([0, 10, 11])), label)
    assert [m["source"] for m in again.summary()] == ["report", "sentinel1"]
    # permanent water is kept in the map but never a training label
    lake = np.full(GRID.shape, PERMANENT, "int8")
    store.add(LabelMap(lake, t, t, "ems", 0.99, "lake"))
    assert store.query(times[:1], np.array([11]))[0][0, 0] == PERMANENT
    assert store.labels(times[:1], np.array([11]))[0, 0] == UNKNOWN


# ----------------------------------------------------------------------- real fixtures

def test_ems_padova_polygons_on_a_utm_grid(real_fixtures):
    # the Padova area of interest (11.50–12.19 E, 45.19–45.58 N) at 100 m in UTM 32N
    grid = AreaGrid("EPSG:32632", 100.0, 700_000.0, 5_052_000.0, 600, 500)
    maps = read_ems_observations(real_fixtures / "ems_padova_EMSR332", grid,
                                 product="EMSR332_02PADOVA_DEL_MONIT01_v1")
    assert [m.start for m in maps] == [pd.Timestamp("2018-11-02T05:18:16"),
                                       pd.Timestamp("2018-11-03T17:05:00")]
    first = maps[0].values
    wet, dry, unknown = ((first == v).sum() for v in (WET, DRY, UNKNOWN))
    assert wet > 50 and dry > 20 * wet and unknown > 0
    assert maps[0].source == "ems" and "Sentinel-1" in maps[0].detail
    with pytest.raises(LabelInputError, match="does not intersect"):
        read_ems_observations(real_fixtures / "ems_padova_EMSR332", GRID)


def test_ems_update_adds_water_and_all_products_are_read(real_fixtures):
    """MONIT01 carries the 2 Nov water again plus 4 new polygons for 3 Nov: the 2 Nov
    water it did not redraw is unknown on 3 Nov, not dry (issue #17)."""
    grid = AreaGrid("EPSG:32632", 100.0, 700_000.0, 5_052_000.0, 600, 500)
    folder = real_fixtures / "ems_padova_EMSR332"
    maps = read_ems_observations(folder, grid)       # both products, each acquisition once
    assert [m.start.day for m in maps] == [2, 3]
    assert "DEL_v1" in maps[0].detail and "MONIT01" in maps[1].detail
    first, update = maps[0].values, maps[1].values
    was_wet = first == WET
    seen_again = update != UNKNOWN
    assert was_wet.sum() > 500
    # earlier water inside the update's footprint: never dry unless redrawn
    assert (update[was_wet] == DRY).sum() == 0
    assert (update[was_wet] == UNKNOWN).mean() > 0.9
    assert (update == WET).sum() >= 20 and seen_again.mean() > 0.5
    lake = np.zeros(grid.shape, bool)
    lake[100:110, 100:110] = True
    with_lake = read_ems_observations(folder, grid, permanent_water=lake)
    assert (with_lake[0].values[100:110, 100:110] == PERMANENT).all()


def test_worldcover_permanent_water_matches_the_source_fraction(real_fixtures):
    import rasterio

    path = real_fixtures / "worldcover_baltic.tif"
    with rasterio.open(path) as src:
        classes = src.read(1)
    source_fraction = (classes == 80).sum() / (classes > 0).sum()
    # the middle of the tile (12.5–12.9 E, 54.35–54.55 N) in UTM 33N at 100 m
    grid = AreaGrid("EPSG:32633", 100.0, 338_000.0, 6_047_000.0, 250, 220)
    water = permanent_water_from_worldcover(path, grid)
    assert 0.05 < water.mean() < 0.95
    assert abs(water.mean() - source_fraction) < 0.25
