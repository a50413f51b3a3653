"""An alert names the drivers of the warning that covers the subscriber's own area."""

from __future__ import annotations

from datetime import UTC, datetime

from pyproj import Transformer
from shapely.geometry import box, mapping
from shapely.ops import transform

from wetindex.alerts.engine import _warning_drivers
from wetindex.alerts.subscriptions import Subscription
from wetindex.warnings import WarningArea

CRS = "EPSG:25832"
TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform


def _warning(place: str, level: int, geometry, drivers: dict[str, float]) -> WarningArea:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return WarningArea(f"x-{place}", "Test", place, level, 0.5 + 0.1 * level, t, t, t, drivers,
                       mapping(transform(TO_LONLAT, geometry)), 100)


def test_the_warning_covering_the_area_explains_it_not_a_higher_one_at_its_edge():
    polder = box(540_000, 6_330_000, 541_000, 6_331_000)
    sub = Subscription("s1", "Digelaget", "a@example.org", "da", polder, crs=CRS)
    sea = _warning("Polderen", 2, polder.buffer(-50), {"sea": 0.8, "terrain": 0.2})
    rain_next_door = _warning("Markerne", 3, box(540_990, 6_330_000, 542_000, 6_331_000),
                              {"rain": 0.7, "terrain": 0.3})
    assert _warning_drivers([rain_next_door, sea], sub, CRS) == {"sea": 0.8, "terrain": 0.2}


def test_no_overlap_gives_no_drivers():
    sub = Subscription("s1", "Digelaget", "a@example.org", "da",
                       box(540_000, 6_330_000, 540_100, 6_330_100), crs=CRS)
    far = _warning("Langt væk", 3, box(545_000, 6_335_000, 546_000, 6_336_000), {"rain": 1.0})
    assert _warning_drivers([far], sub, CRS) == {}
