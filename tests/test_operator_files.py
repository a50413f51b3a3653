"""An operator's own files work as they come (issue #22).

The area is made in code (:mod:`operator_world`): the boundary is a bounding box over
sea and land, the dike's crest is in ``DIGE_KOTE`` in centimetres, a lake and a stream
are given as layers, the labels are uint8 at 05 and 17 UTC with 255 for unknown.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import operator_world as ow

from wetindex.cli import app
from wetindex.commands.area import load_area
from wetindex.config import LocalInput
from wetindex.forecast_io import open_forecast
from wetindex.sources.base import InputMissingError
from wetindex.sources.local import LocalInputs, read_series

ISSUE = "2025-02-09T21:00"  # the surge stands at 3.4 m, 0.4 m above the 3.0 m crest


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_root: Path) -> Path:
    root = tmp_path_factory.mktemp("operator")
    (root / "models").mkdir()
    for link, target in (("pipelines", "pipelines"), ("web", "web"),
                         ("models/configs", "models/configs")):
        (root / link).symlink_to(project_root / target)
    files = ow.write_files(root / "files")
    args = ["init", "--aoi", str(files["boundary"]), "--name", "kyst", "--root", str(root),
            "--margin-m", "0", "--input", "groundwater=1.5"]  # a constant depth (README)
    for kind in ("terrain", "rain", "sea_level", "evaporation", "dikes", "labels", "water",
                 "streams"):
        args += ["--input", f"{kind}={files[kind]}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return root


def _check(root: Path) -> str:
    return CliRunner().invoke(app, ["check", "--area", "kyst", "--root", str(root)]).output


def _set_dike_attribute(root: Path) -> None:
    path = root / "areas" / "kyst.yaml"
    cfg = yaml.safe_load(path.read_text())
    dikes = cfg["inputs"]["dikes"]
    cfg["inputs"]["dikes"] = {"path": dikes if isinstance(dikes, str) else dikes["path"],
                              "variable": "DIGE_KOTE", "units": "cm"}
    path.write_text(yaml.safe_dump(cfg))


def test_check_names_the_crest_attribute_then_reports_sea_dikes_and_water(project):
    cfg = yaml.safe_load((project / "areas" / "kyst.yaml").read_text())
    assert cfg["inputs"]["groundwater"] == 1.5  # the constant the CLI accepted
    out = _check(project)
    # the crest is in an attribute of another name: one error listing what the file has
    assert "FAIL" in out and "'navn', 'DIGE_KOTE'" in out and "inputs.dikes.variable" in out
    _set_dike_attribute(project)
    out = _check(project)
    assert "terrain: readable" in out, out
    sea = next(line for line in out.splitlines() if " sea: " in line)
    # the boundary covers the sea: the sea (10 columns × 60 rows at −1 m) is found inside it
    assert "sea: 600 cells (0.06 km²), 600 of them inside the boundary" in sea
    assert "dikes: 2 line(s), 0.58 km, 60 cells, crest 3.00–3.00 m from DIGE_KOTE" in out
    assert "1 opening(s) of ≤ 2 cells joined" in out  # the two sections are one dike
    protected = next(line for line in out.splitlines() if "protected areas:" in line)
    assert "protected areas: 1 behind the dikes" in protected
    lake = int(ow.lake_mask().sum())
    assert f"water: {lake} cells of permanent water" in out and "never warned" in out
    assert "streams: 44 cells of stream" in out
    assert "WARN" not in out


def test_a_surge_above_the_crest_floods_the_polder_and_the_lake_is_never_warned(project):
    _set_dike_attribute(project)
    runner = CliRunner()
    for stage in ("static", "forecast"):
        result = runner.invoke(app, ["run", stage, "--area", "kyst", "--root", str(project),
                                     "--method", "physical", "--issue-time", ISSUE])
        assert result.exit_code == 0, result.output
    area = project / "var" / "kyst"
    latest = area / "forecasts" / (area / "forecasts" / "LATEST").read_text().strip()
    ds = open_forecast(latest)  # levels in forecast.nc, fractions in the GeoTIFFs
    p, level = ds["probability"].values, ds["level"].values
    polder = np.s_[:, :, 16:36]
    assert p[polder].max(axis=0).min() > 0.9, "every polder cell floods over the crest"
    assert level[polder].max() == 3
    margins = json.loads(ds.attrs["dike_margins"])
    assert margins[0]["crest_m"] == pytest.approx(3.0) and margins[0]["margin_m"] < 0
    # the rain fills the hollow next to the lake, but the lake is permanent water
    assert p[:, 25, 58].max() > 0.5
    lake = ow.lake_mask()
    assert level[:, lake].max() == 0 and p[:, lake].max() == 0.0


def test_labels_255_is_unknown_the_lake_is_not_flooding_and_stray_codes_fail(project):
    _set_dike_attribute(project)
    inputs = LocalInputs(load_area(project, "kyst"), project)
    times, maps = inputs._labels
    assert set(times.hour) == {5, 17}
    grid = maps.reshape(len(times), ow.cw.NY, ow.cw.NX)
    assert (grid[::2, :5, :] == -1).all(), "255 (cloud) is unknown"
    assert (grid[:, ow.lake_mask()] == -1).all(), "the lake is not an observation of flooding"
    assert set(np.unique(grid)) == {-1, 0}
    # a value the file does not declare is an error that names it
    bad = project / "files" / "labels_bad.nc"
    ds = xr.open_dataset(project / "files" / "labels.nc").load()
    ds["water"].values[0, 30, 30] = 7
    ds.to_netcdf(bad)
    spec = inputs.spec.labels.model_copy(update={"path": str(bad)})
    other = LocalInputs(inputs.config.model_copy(update={"inputs": inputs.spec.model_copy(
        update={"labels": spec})}), project)
    with pytest.raises(InputMissingError, match=r"values 7 are not among the declared codes"):
        _ = other._labels
    # declared: 7 is water
    spec = spec.model_copy(update={"water": [1.0, 7.0]})
    other = LocalInputs(inputs.config.model_copy(update={"inputs": inputs.spec.model_copy(
        update={"labels": spec})}), project)
    assert (other._labels[1].reshape(-1, ow.cw.NY, ow.cw.NX)[:, 30, 30] == 1).sum() == 1


def test_a_wide_gap_between_dike_sections_is_reported(tmp_path):
    import shapely

    from wetindex.sources.dikes import read_dikes

    g = ow.cw.grid()
    x = g.x_min + 15.5 * g.cell_size
    path = ow._geojson(tmp_path / "d.geojson", [
        (shapely.LineString([(x, g.y_max), (x, g.y_max - 20 * g.cell_size)]), {"k": 300}),
        (shapely.LineString([(x, g.y_max - 26 * g.cell_size), (x, g.y_min)]), {"k": 300})])
    layer = read_dikes(path, LocalInput(path=str(path), variable="k", units="cm"), g,
                       ow.terrain())
    assert len(layer.gaps) == 1 and "a gap of 60 m (6 cells)" in layer.gaps[0]
    with pytest.raises(InputMissingError, match="look like centimetres"):
        read_dikes(path, LocalInput(path=str(path), variable="k"), g, ow.terrain())


def test_daily_evaporation_keeps_the_series_end_and_groundwater_in_time(project, tmp_path):
    evap = read_series(LocalInput(path="x"), "evaporation",
                       project / "files" / "evaporation.csv")
    assert evap.index[-1] == pd.Timestamp("2025-02-09T23:00")  # the day's last hour
    _set_dike_attribute(project)
    inputs = LocalInputs(load_area(project, "kyst"), project)
    assert inputs.observed_end() == np.datetime64("2025-02-09T23:00")
    assert float(inputs.groundwater_depth(np.datetime64(ISSUE)).mean()) > 0
    # wells in time: rows of time, x, y, depth; each hour takes the last reading
    g = inputs.grid
    wells = tmp_path / "wells.csv"
    pd.DataFrame({"time": ["2025-01-01T00:00Z", "2025-01-01T00:00Z", "2025-02-01T00:00Z",
                           "2025-02-01T00:00Z"],
                  "x": [g.x_min + 5, g.x_max - 5] * 2, "y": [g.y_max - 5, g.y_min + 5] * 2,
                  "depth": [2.0, 1.0, 0.5, 0.5]}).to_csv(wells, index=False)
    spec = inputs.spec.model_copy(update={"groundwater": LocalInput(path=str(wells))})
    gw = LocalInputs(inputs.config.model_copy(update={"inputs": spec}), project)
    first = gw.groundwater_depth(np.datetime64("2025-01-10T00:00")).values
    assert first[0, 0] == pytest.approx(2.0, abs=0.01) and first[-1, -1] == pytest.approx(
        1.0, abs=0.01)
    assert np.allclose(gw.groundwater_depth_cells(np.array([np.datetime64(ISSUE)]),
                                                  np.arange(10)), 0.5)
    assert "groundwater" not in gw.proxies  # observed, not the recharge proxy
    bad = tmp_path / "gw.txt"
    bad.write_text("nonsense")
    spec = inputs.spec.model_copy(update={"groundwater": LocalInput(path=str(bad))})
    with pytest.raises(InputMissingError, match="a NetCDF of grids in time or a CSV"):
        LocalInputs(inputs.config.model_copy(update={"inputs": spec}),
                    project).groundwater_depth(np.datetime64(ISSUE))
    with pytest.raises(InputMissingError, match="rule: a forecast needs 30 days"):
        inputs.observed(np.datetime64("2024-12-01T00:00"), np.datetime64(ISSUE))


def test_water_polygons_with_declared_codes(project, tmp_path):
    import shapely

    _set_dike_attribute(project)
    inputs = LocalInputs(load_area(project, "kyst"), project)
    g = inputs.grid
    path = ow._geojson(tmp_path / "water.geojson", [
        (shapely.box(*g.bounds), {"time": "2025-01-05T05:00Z", "water": 0}),  # seen: dry
        (ow._cell_box(g, slice(40, 45), slice(40, 45)), {"time": "2025-01-05T05:00Z",
                                                         "water": 2}),
        (shapely.box(*g.bounds), {"time": "2025-01-05T17:00Z", "water": 255})])  # cloud
    spec = inputs.spec.labels.model_copy(update={"path": str(path), "water": [2.0]})
    other = LocalInputs(inputs.config.model_copy(update={"inputs": inputs.spec.model_copy(
        update={"labels": spec})}), project)
    times, maps = other._labels
    assert list(times.hour) == [5]  # the cloudy pass says nothing
    m = maps[0].reshape(g.shape)
    assert (m[40:45, 40:45] == 1).all() and m[0, 0] == 0
    assert (m[ow.lake_mask()] == -1).all()


def test_groundwater_grids_in_time_and_a_coast_without_sea_is_warned(project, tmp_path):
    from wetindex.sources.operator_check import static_report

    _set_dike_attribute(project)
    inputs = LocalInputs(load_area(project, "kyst"), project)
    g = inputs.grid
    times = pd.to_datetime(["2025-01-01T00:00", "2025-02-01T00:00"])
    depth = np.stack([np.full(g.shape, 2.0, "float32"), np.full(g.shape, 0.3, "float32")])
    depth[1, :, 40:] = 1.0
    da = xr.DataArray(depth, dims=("time", "y", "x"),
                      coords={"time": times, "y": g.y, "x": g.x}, name="depth")
    path = tmp_path / "gw.nc"
    da.rio.write_crs(g.crs).to_dataset().to_netcdf(path)
    spec = inputs.spec.model_copy(update={"groundwater": LocalInput(path=str(path))})
    gw = LocalInputs(inputs.config.model_copy(update={"inputs": spec}), project)
    assert np.allclose(gw.groundwater_depth(np.datetime64("2025-01-20T00:00")).values, 2.0)
    late = gw.groundwater_depth(np.datetime64(ISSUE)).values
    assert np.allclose(late[:, :40], 0.3) and np.allclose(late[:, 41:], 1.0)
    # the same coast raised 5 m: a sea level is given but no sea is in the terrain
    high = tmp_path / "high.tif"
    z = g.data_array(ow.terrain() + 5.0, "elevation", "m")
    z.rio.write_nodata(np.nan, encoded=True).rio.to_raster(high)
    spec = inputs.spec.model_copy(update={"terrain": LocalInput(path=str(high))})
    raised = LocalInputs(inputs.config.model_copy(update={"inputs": spec}), project)
    _, notes = static_report(raised)
    assert any(n.startswith("WARNING: a sea level is given but no sea was found") for n in notes)
    assert any(n.startswith("sea: 0 cells") for n in notes)
