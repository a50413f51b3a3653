"""The demo's own base map and addresses, and the area config keys that carry real ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from wetindex.config import SiteConfig
from wetindex.demo.basemap import demo_basemap, write_demo_basemap
from wetindex.demo.terrain import synthesize_landscape
from wetindex.grid import AreaGrid
from wetindex.site.basemap import BasemapError, write_basemap
from wetindex.site.search import load_addresses


@pytest.fixture(scope="module")
def landscape():
    # 3 × 3 km at 10 m: every feature of the full world, squeezed
    return synthesize_landscape(AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_335_000.0, 300, 300),
                                seed=7)


def test_streets_and_houses_follow_the_land_cover(landscape):
    bm = demo_basemap(landscape)
    assert len(bm.roads) > 5 and len(bm.buildings) > 50
    assert {"Kystvejen", "Nørholmvej"} <= set(bm.roads["name"])
    lc = np.asarray(landscape.static["land_cover"].values)
    grid = landscape.grid
    centres = bm.buildings.geometry.centroid
    cols = ((centres.x - grid.x_min) // grid.cell_size).astype(int)
    rows = ((grid.y_max - centres.y) // grid.cell_size).astype(int)
    codes = lc[rows.to_numpy(), cols.to_numpy()]
    assert set(np.unique(codes)) <= {3, 7}, "houses stand only in town and summer-house areas"
    assert (bm.buildings["kind"] == "summer_house").sum() > 0
    # one address per house, unique, Danish style
    assert len(bm.addresses) == len(bm.buildings)
    assert bm.addresses["label"].is_unique
    assert bm.addresses["label"].str.match(r"^\S.* \d+, 9990 Vesterby$").all()


def test_the_polder_has_addresses(landscape):
    bm = demo_basemap(landscape)
    polder = next(p for p in landscape.places if p.kind == "polder").geometry
    inside = shapely.contains_xy(polder, bm.addresses["x"], bm.addresses["y"])
    assert inside.sum() >= 10


def test_same_world_same_base_map(landscape):
    a, b = demo_basemap(landscape), demo_basemap(landscape)
    pd.testing.assert_frame_equal(a.addresses, b.addresses)
    assert a.roads.geometry.geom_equals(b.roads.geometry).all()


def test_written_files_are_read_back_as_an_operator_would_give_them(landscape, tmp_path: Path):
    files = write_demo_basemap(landscape, tmp_path / "base")
    grid = landscape.grid
    written = write_basemap(tmp_path / "site", {k: v for k, v in files.items()
                                                if k != "addresses"},
                            crs=grid.crs, outline=shapely.box(*grid.bounds))
    assert set(written) == {"water", "roads", "buildings"}
    addresses = load_addresses(Path(files["addresses"]), grid.crs)
    assert len(addresses) == len(demo_basemap(landscape).addresses)
    assert addresses["lat"].between(57, 57.3).all() and addresses["lon"].between(9, 10).all()


def test_bad_base_data_gets_one_clear_error(tmp_path: Path):
    outline = shapely.box(540_000, 6_330_000, 541_000, 6_331_000)
    with pytest.raises(BasemapError, match="unknown layer"):
        write_basemap(tmp_path, {"railways": "x.gpkg"}, crs="EPSG:25832", outline=outline)
    with pytest.raises(BasemapError, match=r"site\.basemap\.roads: .* not found"):
        write_basemap(tmp_path, {"roads": tmp_path / "nope.gpkg"}, crs="EPSG:25832",
                      outline=outline)
    bad = tmp_path / "a.csv"
    bad.write_text("navn,lon,lat\nx,9.7,57.1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no address column"):
        load_addresses(bad, "EPSG:25832")


def test_site_config_takes_contact_basemap_and_addresses():
    cfg = SiteConfig(contact={"name": "K"}, basemap={"roads": "r.gpkg"}, addresses="a.csv")
    assert cfg.basemap == {"roads": "r.gpkg"} and cfg.addresses == "a.csv"
    with pytest.raises(ValueError):
        SiteConfig(adresses="a.csv")


def test_site_extras_from_config_and_inputs(landscape, tmp_path: Path):
    """What the publish stage hands the site: config paths resolved against the project
    root, the lowest dike crest from the inputs, the demo's own base map and contact."""
    from types import SimpleNamespace

    import xarray as xr

    from wetindex.site.extras import DEMO_CONTACT, site_extras

    leads = np.arange(1, 49)
    drivers = xr.Dataset({"rain": ("lead", np.zeros(48))}, coords={"lead": leads})
    inputs = SimpleNamespace(
        places=lambda: landscape.places, forecast=lambda issue: drivers,
        static_inputs=lambda: landscape.static, world=landscape)
    forecast = SimpleNamespace(dataset=xr.Dataset(coords={"issue_time": np.datetime64(
        "2026-11-24T12:00")}))
    site = SiteConfig()
    ctx = SimpleNamespace(config=SimpleNamespace(site=site), root=tmp_path)
    extras = site_extras(ctx, inputs, forecast, None, tmp_path / "feed")
    assert extras["contact"] == DEMO_CONTACT and extras["feed_dir"] == tmp_path / "feed"
    assert extras["drivers"] is drivers and extras["places_in"] == landscape.places
    crest = np.asarray(landscape.static["dike_crest"].values)
    assert extras["dike_crest"] == pytest.approx(float(np.nanmin(crest)))
    assert set(extras["basemap"]) == {"water", "roads", "buildings"}
    assert {"label", "lon", "lat"} <= set(extras["addresses"].columns)
    # a real area: the operator's files, relative to the project root
    real = SiteConfig(contact={"name": "K"}, basemap={"roads": "base/roads.gpkg"},
                      addresses="base/adresser.csv")
    ctx = SimpleNamespace(config=SimpleNamespace(site=real), root=tmp_path)
    no_world = SimpleNamespace(places=inputs.places, forecast=inputs.forecast,
                               static_inputs=inputs.static_inputs)
    extras = site_extras(ctx, no_world, forecast, None, None)
    assert extras["basemap"] == {"roads": tmp_path / "base/roads.gpkg"}
    assert extras["addresses"] == tmp_path / "base/adresser.csv"
    assert extras["contact"] == {"name": "K"}
