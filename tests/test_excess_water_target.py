"""What a warning predicts: excess water on normally dry, exposed land (wetindex.normal)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from shapely.geometry import box

from wetindex.grid import AreaGrid
from wetindex.model.predict import levels
from wetindex.normal import excess_fields, exposure_weight, impact_weight, seasonal_normal
from wetindex.risk import warning_areas
from wetindex.sources.base import Place

GRID = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_330_000.0, 20, 20)
ISSUE = np.datetime64("2026-11-01T00:00", "ns")
THRESHOLDS = [0.2, 0.4, 0.7]


class _History:
    """Labels of a tiny world: the left half is wet every November day, the rest never."""

    def labels(self, times, cells):
        times = pd.DatetimeIndex(times)
        wet_col = (np.asarray(cells) % GRID.nx) < GRID.nx // 2
        return np.stack([(wet_col & (t.month == 11)).astype("int8") for t in times])


def _cube(prob: np.ndarray) -> xr.DataArray:
    leads = np.arange(1, prob.shape[0] + 1)
    return xr.DataArray(prob.astype("float32"), dims=("lead", "y", "x"),
                        coords={"lead": leads, **GRID.coords(), "issue_time": ISSUE,
                                "valid_time": ("lead", ISSUE + leads.astype("timedelta64[h]"))})


def _forecast(prob, normal, standing=None, exposure=None, permanent=None) -> xr.Dataset:
    da = _cube(prob)
    exposure = np.ones(GRID.shape, "float32") if exposure is None else exposure
    fields = excess_fields(da, normal, standing, exposure, permanent)
    return xr.Dataset({"probability": da, "level": levels(fields["warning_score"], THRESHOLDS),
                       **fields})


def test_the_seasonal_normal_is_the_share_of_wet_days_of_the_month():
    cells = np.arange(GRID.nx * GRID.ny)
    normal = seasonal_normal(_History(), cells, GRID.shape,
                             (pd.Timestamp("2023-01-01"), pd.Timestamp("2025-12-31")))
    assert float(normal.sel(month=11)[:, 0].min()) == 1.0  # wet every November day
    assert float(normal.sel(month=11)[:, -1].max()) == 0.0
    assert float(normal.sel(month=6).max()) == 0.0  # never wet in June


def test_a_cell_wet_every_day_of_the_month_never_warns_however_sure_the_model_is():
    cells = np.arange(GRID.nx * GRID.ny)
    normal = seasonal_normal(_History(), cells, GRID.shape,
                             (pd.Timestamp("2024-01-01"), pd.Timestamp("2025-12-31")))
    prob = np.zeros((12, 20, 20))
    prob[:, :, :10] = 0.99  # the normally wet half, 2 ha
    ds = _forecast(prob, normal.sel(month=11).values)
    assert int(ds["level"].max()) == 0
    assert float(ds["normal_water"].max()) > 0.98  # shown as normal water instead
    places = [Place("Engen", "meadow", box(*GRID.bounds))]
    assert warning_areas(ds, places, GRID, area_name="T", area_id="t") == []


def test_new_water_on_dry_land_at_20h_warns_with_onset_20h_and_peak_level():
    prob = np.zeros((48, 20, 20))
    # on dry, fully exposed land (impact 1): a 15 % chance is orange, 50 % red
    prob[19:30, 5:17, 5:17] = 0.15  # 1.44 ha orange from +20 h to +30 h
    prob[24:27, 5:17, 5:17] = 0.5  # red for 3 hours from +25 h
    ds = _forecast(prob, np.zeros(GRID.shape))
    [w] = warning_areas(ds, [Place("Polderen", "polder", box(*GRID.bounds))], GRID,
                        area_name="T", area_id="t")
    # "from" is the first hour at the warning's level (red), the orange before it is kept
    assert w.onset == pd.Timestamp("2026-11-02T01:00", tz="UTC")
    assert w.level_from["orange"] == pd.Timestamp("2026-11-01T20:00", tz="UTC")
    assert w.peak_time == pd.Timestamp("2026-11-02T01:00", tz="UTC")
    assert w.expires == pd.Timestamp("2026-11-02T07:00", tz="UTC")
    assert w.level == 3 and w.hourly_levels[19] == 2 and w.hourly_levels[18] == 0


def test_water_already_standing_at_the_issue_time_is_not_excess():
    prob = np.full((6, 20, 20), 0.9)
    standing = np.ones(GRID.shape, bool)
    standing[:, 16:] = False  # 0.8 ha not yet under water: below the 1-ha minimum
    ds = _forecast(prob, np.zeros(GRID.shape), standing=standing)
    assert float(ds["excess_probability"].values[:, :, :16].max()) == 0.0
    assert warning_areas(ds, [Place("By", "town", box(*GRID.bounds))], GRID,
                         area_name="T", area_id="t") == []


def test_exposure_weighs_the_level_and_permanent_water_is_never_warned():
    cover = np.zeros(GRID.shape, "int8")
    cover[:, :10] = 6  # forest
    cover[:, 10:] = 7  # town
    lake = np.zeros(GRID.shape, bool)
    lake[:5] = True
    static = xr.Dataset({
        "elevation": (("y", "x"), np.zeros(GRID.shape)),
        "land_cover": (("y", "x"), cover, {"flag_values": [6, 7],
                                           "flag_meanings": "forest town"}),
        "permanent_water": (("y", "x"), lake)})
    w = exposure_weight(static)
    assert w[10, 2] == 0.3 and w[10, 15] == 1.0 and w[2, 15] == 0.0
    prob = np.full((3, 20, 20), 0.95)
    prob[0] = 0.0  # dry at the first hour: the water is new
    ds = _forecast(prob, np.zeros(GRID.shape), exposure=w, permanent=lake)
    lv = ds["level"].values
    assert lv[:, 10, 2].max() == 1  # flooded forest: yellow at most
    assert lv[:, 10, 15].max() == 3  # flooded town: red
    assert lv[:, 2, 15].max() == 0 and float(ds["excess_probability"][:, :5].max()) == 0.0


def test_water_the_model_sees_standing_at_the_first_hour_is_not_new_but_a_rise_is():
    prob = np.full((12, 20, 20), 0.6)  # a hollow flooded since yesterday, no satellite pass
    prob[6:, :12, :12] = 0.95  # then it rises over 1.44 ha: 35 points of new water
    ds = _forecast(prob, np.zeros(GRID.shape), exposure=np.full(GRID.shape, 0.3, "float32"))
    assert float(ds["excess_probability"][:6].max()) == 0.0
    assert float(ds["normal_water"][:6].min()) > 0.59  # shown as standing water instead
    assert warning_areas(ds, [Place("Hulningen", "forest", box(*GRID.bounds))], GRID,
                         area_name="T", area_id="t") == []  # forest: yellow needs 40 %
    ds = _forecast(prob, np.zeros(GRID.shape))  # a town: orange from the rise on
    [w] = warning_areas(ds, [Place("Hulningen", "town", box(*GRID.bounds))], GRID,
                        area_name="T", area_id="t")
    assert w.onset == pd.Timestamp("2026-11-01T07:00", tz="UTC") and w.level == 2


def test_a_flood_from_the_sea_under_way_at_the_first_hour_stays_warned():
    # the polder is wet from the first hour (a surge already over the crest); a hollow
    # inland is wet from the first hour too: only the hollow's water counts as standing
    from wetindex.normal import excess_arrays, sea_prone_land

    static = xr.Dataset({"sea_flood_level": (("y", "x"), [[2.5, 4.0, np.nan]])})
    # a 2.7 m surge reaches land flooded from 2.5 m, not from 4 m, nor cut-off land
    assert sea_prone_land(static, 2.7).tolist() == [[True, False, False]]
    assert sea_prone_land(static, None) is None

    p = np.full((6, 2), 0.9, dtype="float32")
    sea_prone = np.array([True, False])
    excess, _ = excess_arrays(p, np.zeros(2), None, np.ones(2), sea_prone=sea_prone)
    assert np.allclose(excess[:, 0], 0.9) and np.allclose(excess[:, 1], 0.0)
    same, _ = excess_arrays(p, np.zeros(2), None, np.ones(2))  # unknown: both standing
    assert np.allclose(same, 0.0)


def test_the_impact_of_new_water_is_exposure_on_normally_dry_land_only():
    """The events' severity scale: a field (0.7) dry all month is 0.7, a town wet one day
    in five 0.8, a town wet most days of the month (normal 0.6) nothing: its water is normal."""
    normal = np.array([0.0, 0.2, 0.6], "float32")
    exposure = np.array([0.7, 1.0, 1.0], "float32")
    assert np.allclose(impact_weight(normal, exposure), [0.7, 0.8, 0.0])


CHANCE = [0.4, 0.1, 0.2]


def _matrix_level(excess, impact, thresholds=THRESHOLDS, chance=CHANCE) -> np.ndarray:
    """The risk matrix written out: the highest level whose impact and chance both hold."""
    out = np.zeros(np.shape(excess), int)
    for lv in (1, 2, 3):
        out[(np.asarray(impact) >= thresholds[lv - 1])
            & (np.asarray(excess) >= chance[lv - 1])] = lv
    return out


def test_the_level_is_a_risk_matrix_worse_harm_needs_less_certainty():
    """Hand-worked cells: a dry town or field is orange at a 10 % chance and red at 20 %;
    forest needs 40 % for yellow and never goes higher; normally wet land is never warned."""
    from wetindex.normal import warning_score

    #             town  town  town  field field forest forest wet meadow(normal 0.6)
    impact = np.array([1.0, 1.0, 1.0, 0.7, 0.7, 0.3, 0.3, 0.0], "float32")
    excess = np.array([0.05, 0.1, 0.2, 0.15, 0.9, 0.39, 1.0, 1.0], "float32")
    score = warning_score(excess, impact, THRESHOLDS, CHANCE)
    got = levels(xr.DataArray(score), THRESHOLDS).values
    assert got.tolist() == [0, 2, 3, 2, 3, 0, 1, 0]
    # the old rule (excess × exposure) left a town at 10 % and a field at 15 % without a
    # warning, a town at 20 % yellow and a field at 90 % orange
    old = levels(xr.DataArray(excess * impact), THRESHOLDS).values
    assert old.tolist()[1:5] == [0, 1, 0, 2]


def test_the_score_gives_the_matrix_level_and_survives_8_bit_storage():
    """Over random chances and impacts the score reaches each threshold exactly when the
    matrix says so, also read back from the stored 8-bit codes; it rises with the chance
    for a fixed impact, and no forecast (NaN) stays unknown."""
    from wetindex.forecast_io import decode_fraction, encode_fraction
    from wetindex.normal import warning_score

    rng = np.random.default_rng(3)
    excess = (rng.random(50_000) ** 2).astype("float32")
    excess[:20] = np.array(CHANCE * 6 + [0.0, 1.0], "float32")  # exactly at each chance
    impact = rng.choice([0.0, 0.2, 0.3, 0.4, 0.56, 0.7, 0.9, 1.0], excess.size)
    for chance in (CHANCE, [0.2, 0.3, 0.5]):
        score = warning_score(excess, impact, THRESHOLDS, chance)
        want = _matrix_level(excess, impact, chance=chance)
        assert (levels(xr.DataArray(score), THRESHOLDS).values == want).all()
        stored = decode_fraction(encode_fraction(score))
        assert (levels(xr.DataArray(stored), THRESHOLDS).values == want).all()
    grid = np.linspace(0, 1, 501, dtype="float32")
    for imp in (0.2, 0.4, 0.7, 1.0):
        assert (np.diff(warning_score(grid, imp, THRESHOLDS, CHANCE)) >= 0).all()
    unknown = warning_score(np.array([np.nan], "float32"), 1.0, THRESHOLDS, CHANCE)
    assert np.isnan(unknown).all()


def test_the_area_chances_reach_the_forecast_levels():
    """The configured chances are the ones the cube's levels use: the same forecast is
    orange on a dry field at the default 15 %, yellow when the area asks 30 % for orange."""
    from wetindex.normal import excess_arrays

    prob = np.array([[0.0], [0.15]], "float32")  # (lead, cell): 15 % new water at +2 h
    normal, exposure = np.zeros(1, "float32"), np.full(1, 0.7, "float32")
    _, default = excess_arrays(prob, normal, None, exposure)
    _, strict = excess_arrays(prob, normal, None, exposure, chance=[0.1, 0.3, 0.5])
    assert levels(xr.DataArray(default), THRESHOLDS).values[1].tolist() == [2]
    assert levels(xr.DataArray(strict), THRESHOLDS).values[1].tolist() == [1]


def test_only_land_the_sea_must_overtop_a_dike_to_reach_counts_as_behind_it():
    """A meadow the dike raises a little (flood level 1.3 m) but the tide reaches long
    before the 2.5 m crest keeps a meadow's exposure; the polder behind (flood level at
    the crest) is 0.9 however it is used."""
    from wetindex.normal import DIKE_EXPOSURE

    cover = np.full((1, 3), 5, "int8")  # grassland_meadow
    static = xr.Dataset({
        "elevation": (("y", "x"), np.ones((1, 3))),
        "land_cover": (("y", "x"), cover, {"flag_values": [5],
                                           "flag_meanings": "grassland_meadow"}),
        "dike_protected": (("y", "x"), np.array([[True, True, False]])),
        "sea_flood_level": (("y", "x"), np.array([[1.3, 2.5, 1.2]])),
        "dike_crest": (("y", "x"), np.array([[np.nan, np.nan, 2.5]]))})
    np.testing.assert_allclose(exposure_weight(static), [[0.4, DIKE_EXPOSURE, 0.4]])
    # without flood levels (an area whose static has none) the flag alone decides
    np.testing.assert_allclose(exposure_weight(static.drop_vars("sea_flood_level")),
                               [[DIKE_EXPOSURE, DIKE_EXPOSURE, 0.4]])
