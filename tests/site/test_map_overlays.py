"""Map overlays: placed correctly on Web Mercator, transparent where nothing is, small."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer
from site_inputs import synthetic_inputs

from wetindex.grid import AreaGrid
from wetindex.site import build_site
from wetindex.site.layers import (
    display_grid,
    hillshade,
    risk_classes,
    write_layer_images,
    write_palette_png,
)


def test_a_hot_cell_lands_where_it_is_on_the_web_mercator_image(tmp_path: Path) -> None:
    grid = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_330_000.0, 200, 150)
    row, col = 40, 130
    prob = np.zeros((1, 150, 200), dtype="float32")
    prob[0, row - 1:row + 2, col - 1:col + 2] = 0.9  # a 3×3 red patch
    level = (prob >= 0.7).astype("uint8") * 3
    import xarray as xr

    forecast = xr.Dataset(
        {"probability": (("lead", "y", "x"), prob), "level": (("lead", "y", "x"), level)},
        coords={"lead": [1], **grid.coords()}).rio.write_crs(grid.crs)
    elevation = grid.data_array(np.zeros((150, 200), "float32"), "elevation")
    images = write_layer_images(tmp_path, elevation=elevation, forecast=forecast,
                                observed_water=None)
    img = np.asarray(Image.open(tmp_path / images.hourly[1]))
    ys, xs = np.nonzero(img == 4)  # class 4 = red
    assert len(ys) > 0
    (south, west), (north, east) = images.display.bounds
    # Leaflet places the image linearly in Web Mercator between the corners.
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (mx0, my0), (mx1, my1) = to_merc.transform(west, north), to_merc.transform(east, south)
    h, w = img.shape
    mx = mx0 + (xs.mean() + 0.5) / w * (mx1 - mx0)
    my = my0 + (ys.mean() + 0.5) / h * (my1 - my0)
    lon, lat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True).transform(mx, my)
    ex, ey = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(lon, lat)
    assert abs(ex - grid.x[col]) < 15 and abs(ey - grid.y[row]) < 15  # within 1.5 cells


def test_display_grid_downsamples_a_1000_cell_area_to_20_m() -> None:
    d = display_grid(AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_330_000.0, 1000, 1000))
    assert d.ground_cell == 20.0
    assert 480 < d.width < 530 and 480 < d.height < 530
    (south, west), (north, east) = d.bounds
    assert south < north and west < east and 56 < south < 58


def test_risk_classes_and_transparency(tmp_path: Path) -> None:
    prob = np.array([[0.0, 0.04, 0.06, 0.3], [0.5, 0.8, 0.1, 0.0]], dtype="float32")
    level = np.array([[0, 0, 0, 1], [2, 3, 0, 0]], dtype="uint8")
    classes = risk_classes(prob, level)
    assert classes.tolist() == [[0, 0, 1, 2], [3, 4, 1, 0]]
    write_palette_png(classes, {1: ("#9ecae1", 0.5), 2: ("#ffd92f", 0.8)}, tmp_path / "r.png")
    img = Image.open(tmp_path / "r.png")
    assert img.mode == "P"
    alpha = img.info["transparency"]
    assert alpha[0] == 0 and alpha[1] == 128 and alpha[2] == 204
    rgba = np.asarray(img.convert("RGBA"))
    assert rgba[0, 0, 3] == 0 and rgba[0, 3, 3] == 204


def test_hillshade_lights_north_west_slopes() -> None:
    yy, xx = np.mgrid[0:20, 0:20].astype(float)
    flat = hillshade(np.zeros((20, 20)), 10.0)
    assert np.allclose(flat, math.sin(math.radians(45)))
    rising_east = hillshade(xx * 2.0, 10.0)  # faces west: toward the light
    rising_west = hillshade(-xx * 2.0, 10.0)
    assert rising_west.mean() < flat.mean() < rising_east.mean()
    assert hillshade(yy * 2.0, 10.0).mean() > flat.mean()  # rises southwards: faces north


def test_map_page_of_a_1000_by_1000_area_stays_under_2_mb(tmp_path: Path, web_dir) -> None:
    """Worst case for PNG size: noisy terrain and a noisy first hour."""
    kw = synthetic_inputs(1000, 1000)
    rng = np.random.default_rng(1)
    kw["elevation"] = kw["elevation"] + rng.normal(0, 0.5, (1000, 1000)).astype("float32")
    first = kw["forecast"]["probability"].values[0]
    first[:] = rng.uniform(0, 1, first.shape)
    kw["forecast"]["level"].values[0] = np.digitize(first, [0.2, 0.4, 0.7]).astype("uint8")
    out = build_site(tmp_path, **kw)
    html = (out / "index.html").read_text(encoding="utf-8")
    head = html.split("</head>")[0]
    loaded = {"index.html", "static/site.js", "static/vendor/leaflet/images/layers.png",
              *re.findall(r'(?:src|href)="(static/[^"]+\.(?:js|css))"', head)}
    script = html[html.index("L.imageOverlay"):]
    # Overlays added to the map at load (the 48-h maximum and the water are toggled on).
    shown = re.findall(r'L\.imageOverlay\(\s*"([^"]+)".*?\)\s*;\s*(\w+)?', script, re.S)
    assert any("risk_lead_01.png" in url for url, _ in shown)
    loaded |= {"static/layers/hillshade.png", "static/layers/risk_lead_01.png"}
    total = sum((out / rel).stat().st_size for rel in loaded)
    print(f"map page of a 1000x1000 area: {total} bytes in {len(loaded)} files")
    assert total < 2_000_000
    assert (out / "static/layers/risk_lead_01.png").stat().st_size > 10_000  # really noisy


@pytest.mark.parametrize("bad", ["no_crs", "all_nan"])
def test_bad_elevation_is_named(tmp_path: Path, bad: str, web_dir) -> None:
    kw = synthetic_inputs(20, 20)
    if bad == "no_crs":
        kw["elevation"] = kw["elevation"].drop_vars("spatial_ref")
        kw["elevation"].attrs.pop("grid_mapping", None)
        kw["elevation"].encoding.pop("grid_mapping", None)
    else:
        kw["elevation"] = kw["elevation"] * np.nan
        kw["elevation"] = kw["elevation"].rio.write_crs("EPSG:25832")
    with pytest.raises(ValueError, match="elevation"):
        build_site(tmp_path, **kw)
