"""Places of a real area: from a places file, or tiles, never one municipality-wide place."""

from __future__ import annotations

import json

import pytest
from pyproj import Transformer
from shapely.geometry import box, mapping
from shapely.ops import transform

from wetindex.places import PlacesInputError, default_places, read_places

CRS = "EPSG:25832"
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform
OUTLINE = box(540_000, 6_330_000, 545_000, 6_333_000)  # 5 × 3 km


def _geojson(tmp_path, features):
    path = tmp_path / "places.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": mapping(transform(TO_LONLAT, g))}
        for props, g in features]}))
    return path


def test_places_file_gives_named_polygons_in_the_grid_crs(tmp_path):
    path = _geojson(tmp_path, [
        ({"navn": "Digelaget Nordre Dige"}, box(540_500, 6_332_000, 542_000, 6_332_500)),
        ({"navn": "Langt væk"}, box(600_000, 6_400_000, 600_100, 6_400_100)),
    ])
    [dike] = read_places(path, CRS, outline=OUTLINE)  # the one outside the area is dropped
    assert dike.name == "Digelaget Nordre Dige"
    assert abs(dike.geometry.area - 1500 * 500) < 50  # metres, not degrees


def test_a_places_file_without_names_says_which_attribute_to_set(tmp_path):
    path = _geojson(tmp_path, [({"id": 1}, box(540_500, 6_332_000, 542_000, 6_332_500))])
    with pytest.raises(PlacesInputError, match=r"inputs\.places\.variable"):
        read_places(path, CRS)


def test_default_places_are_tiles_never_the_whole_area():
    places = default_places(OUTLINE)
    assert len(places) == 6  # 3 columns × 2 rows of 2 km (the last ones clipped)
    assert places[0].name == "Felt A1" and places[-1].name == "Felt B3"
    assert max(p.geometry.area for p in places) < OUTLINE.area / 2
    assert abs(sum(p.geometry.area for p in places) - OUTLINE.area) < 1
