"""Local files as an area's inputs: reprojection, series, proxies, labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from local_area import tiny_project

from wetindex.commands.area import load_area
from wetindex.config import LocalInput
from wetindex.recharge import recharge_anomaly
from wetindex.sources.base import InputMissingError
from wetindex.sources.local import LocalInputs, read_series


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_root):
    return tiny_project(tmp_path_factory.mktemp("tiny"), project_root)


@pytest.fixture(scope="module")
def inputs(project):
    return LocalInputs(load_area(project, "tiny"), project)


def _with(inputs: LocalInputs, **changes) -> LocalInputs:
    spec = inputs.config.inputs.model_copy(update=changes)
    return LocalInputs(inputs.config.model_copy(update={"inputs": spec}), inputs.root)


def test_terrain_in_another_crs_is_reprojected_onto_the_grid(inputs, project, tmp_path):
    native = inputs.static_inputs()
    src = xr.open_dataarray(project / "example-inputs" / "terrain.tif", engine="rasterio")
    lonlat = src.rio.reproject("EPSG:4326")
    path = tmp_path / "terrain_wgs84.tif"
    lonlat.rio.to_raster(path)
    moved = _with(inputs, terrain=LocalInput(path=str(path))).static_inputs()

    assert moved["elevation"].shape == inputs.grid.shape
    land = (~native["sea"].values) & np.isfinite(native["elevation"].values) & \
        np.isfinite(moved["elevation"].values)
    diff = np.abs(moved["elevation"].values - native["elevation"].values)[land]
    assert land.sum() > 4000
    assert np.median(diff) < 0.25, "lon/lat terrain should land on the same cells"
    # sea: low or empty terrain outside the boundary, and the dike crest from the vector file
    assert native["sea"].values.any() and not native["sea"].values.all()
    assert np.isfinite(native["dike_crest"].values).any()


def test_terrain_without_crs_or_outside_the_area_is_a_clear_error(inputs, tmp_path):
    far = inputs.grid.data_array(np.ones(inputs.grid.shape, "float32"), "z")
    far = far.assign_coords(x=far.x + 500_000)
    path = tmp_path / "far.tif"
    far.rio.to_raster(path)
    with pytest.raises(InputMissingError, match="does not cover the boundary"):
        _with(inputs, terrain=LocalInput(path=str(path))).static_inputs()


def test_series_csv_hourly_units_and_errors(tmp_path):
    path = tmp_path / "sea.csv"
    pd.DataFrame({"time": ["2025-01-01T00:00Z", "2025-01-01T00:30Z", "2025-01-01T01:00+01:00",
                           "2025-01-01T02:00Z"], "level": [10.0, 30.0, 50.0, 40.0]}).to_csv(
        path, index=False)
    s = read_series(LocalInput(path=str(path), units="cm"), "sea_level", path)
    # 00:00 and 00:30 averaged; 01:00+01:00 is 00:00 UTC too
    assert s.index[0] == pd.Timestamp("2025-01-01T00:00")
    assert s.iloc[0] == pytest.approx(0.30)
    assert np.isnan(s.iloc[1]) and s.iloc[2] == pytest.approx(0.40)

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"date": ["2025-01-01"], "rain": [1.0]}).to_csv(bad, index=False)
    with pytest.raises(InputMissingError, match="no 'time' column"):
        read_series(LocalInput(path=str(bad)), "rain", bad)
    with pytest.raises(InputMissingError, match="units 'inch'"):
        read_series(LocalInput(path=str(path), units="inch"), "sea_level", path)


def test_persistence_forecast_is_flagged_and_holds_the_issue_values(inputs):
    issue = inputs.issue_times()[-5]
    fc = inputs.forecast(issue.to_datetime64())
    obs = inputs.observed(issue.to_datetime64(), issue.to_datetime64())
    assert fc.attrs["forecast_kind"] == "persistence"
    assert "persistence" in inputs.proxies["forecast"]
    assert fc.sizes["lead"] == 48
    np.testing.assert_allclose(fc["sea_level"].values, float(obs["sea_level"][0]))
    with pytest.raises(InputMissingError, match="series end"):
        inputs.observed(issue.to_datetime64(), (issue + pd.Timedelta(days=30)).to_datetime64())


def test_groundwater_constant_and_proxy(inputs):
    const = _with(inputs, groundwater=LocalInput(value=1.5))
    t = inputs.issue_times()[-1].to_datetime64()
    depth = const.groundwater_depth(t)
    anomaly = float(const.observed(t, t)["groundwater_anomaly"][0])
    assert np.allclose(depth.values, max(1.5 - anomaly, 0.0))
    # rain raises the proxy water table, dry weather lowers it
    wet = recharge_anomaly(np.r_[np.zeros(100), np.full(100, 2.0)], np.zeros(200))
    assert wet[-1] > wet[99]


def test_labels_raster_and_vector_and_missing(inputs, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    times, maps = inputs._labels
    cells = np.arange(inputs.grid.nx * inputs.grid.ny)
    got = inputs.labels(times[:2].values, cells)
    np.testing.assert_array_equal(got, maps[:2])
    assert (inputs.labels(np.array([times[0] + pd.Timedelta(hours=5)]), cells) == -1).all()

    g = inputs.grid
    poly = box(g.x_min, g.y_max - 200, g.x_min + 200, g.y_max)
    path = tmp_path / "water.geojson"
    gpd.GeoDataFrame({"time": ["2025-03-10T10:00Z"]}, geometry=[poly], crs=g.crs).to_file(path)
    vec = _with(inputs, labels=LocalInput(path=str(path)))
    lab = vec.labels(np.array(["2025-03-10T10:00"], "datetime64[ns]"), cells)[0]
    assert (lab.reshape(g.shape)[:20, :20] == 1).all() and (lab == 1).sum() == 400
    # outside the polygons is unknown, not dry (changed for issue #17) ...
    assert (lab == -1).sum() == lab.size - 400
    # ... unless an observed footprint (water = 0) says where someone looked
    seen = box(g.x_min, g.y_max - 400, g.x_min + 400, g.y_max)
    gpd.GeoDataFrame({"time": ["2025-03-10T10:00Z"] * 2, "water": [1, 0]}, geometry=[poly, seen],
                     crs=g.crs).to_file(path)
    lab = _with(inputs, labels=LocalInput(path=str(path))).labels(
        np.array(["2025-03-10T10:00"], "datetime64[ns]"), cells)[0]
    assert (lab == 1).sum() == 400 and (lab == 0).sum() == 1600 - 400

    none = _with(inputs, labels=None)
    with pytest.raises(InputMissingError, match="--input labels=FILE"):
        none.labels(times[:1].values, cells[:1])
    assert none.observed_water(times[0].to_datetime64()) is None


def test_train_without_labels_fails_with_a_clear_message(project, tmp_path):
    from typer.testing import CliRunner

    from wetindex.cli import app

    text = (project / "areas" / "tiny.yaml").read_text()
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("labels:")]
    (project / "areas" / "nolabels.yaml").write_text(
        "\n".join(lines).replace("name: tiny", "name: nolabels") + "\n")
    # asked for the learned model: an error naming the missing input
    result = CliRunner().invoke(app, ["run", "train", "--area", "nolabels",
                                      "--root", str(project), "--method", "learned"])
    assert result.exit_code == 1
    assert "cannot train" in result.output and "labels" in result.output
    # by default (auto) training is skipped with the same reason: the physical forecast runs
    result = CliRunner().invoke(app, ["run", "train", "--area", "nolabels",
                                      "--root", str(project)])
    assert result.exit_code == 0
    assert "skipped: nothing to train on" in result.output and "labels" in result.output
