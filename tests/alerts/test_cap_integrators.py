"""CAP for integrators: world-readable files, merged and simplified polygons that still
cover every warned cell, the municipality code as geocode, no all-clear from stale data."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import timedelta

import numpy as np
import shapely
from alert_fixtures import ISSUE, make_warning
from lxml import etree
from shapely.geometry import box, mapping, shape

from wetindex.alerts.cap import CAP_NS, validate_cap
from wetindex.alerts.capgeometry import simplify_for_cap, vertex_count
from wetindex.alerts.feed import write_feed
from wetindex.alerts.subscriptions import reproject
from wetindex.warnings import InputHealth, RunStatus

NS = {"cap": CAP_NS}


def grid_cells(n_clusters: int = 3, per_cluster: int = 400, seed: int = 1):
    """Hundreds of 10 m squares in clusters, as a warning made from the grid looks."""
    rng = np.random.default_rng(seed)
    cells = []
    for k in range(n_clusters):
        cx, cy = 540000 + 900 * k, 6330000 + 400 * k
        for _ in range(per_cluster):
            i, j = rng.normal(0, 8, 2).round()
            cells.append(box(cx + i * 10, cy + j * 10, cx + i * 10 + 10, cy + j * 10 + 10))
    return shapely.union_all(cells)


def status(hours: int, healthy: bool = True) -> RunStatus:
    t = ISSUE + timedelta(hours=hours)
    return RunStatus(area_name="Testkommune", issue_time=t, generated_at=t, next_update=t,
                     inputs=[InputHealth("sea_level", "fresh" if healthy else "stale")])


def blobs(seed: int = 2):
    """Low ground flooding: a few ragged blobs of 10 m cells (thousands of cells)."""
    rng = np.random.default_rng(seed)
    cells = []
    for k, radius in enumerate((300, 180, 120)):
        cx, cy = 540000 + 900 * k, 6330000 + 500 * k
        for i in range(-radius // 10, radius // 10):
            for j in range(-radius // 10, radius // 10):
                if np.hypot(i, j) * 10 < radius * rng.uniform(0.85, 1.05):
                    cells.append(box(cx + i * 10, cy + j * 10, cx + i * 10 + 10,
                                     cy + j * 10 + 10))
    return shapely.union_all(cells)


def test_simplified_polygons_are_small_and_cover_every_cell():
    for cells_m, max_growth in ((blobs(), 1.3), (grid_cells(), None)):
        cells = reproject(cells_m, "EPSG:25832", "EPSG:4326")
        before = mapping(cells)
        assert vertex_count(before) > 900
        after = simplify_for_cap(before)
        assert vertex_count(after) <= 300
        assert cells.difference(shape(after)).area == 0  # never smaller than the warning
        if max_growth:  # and, for a contiguous warning, not much larger
            assert shape(after).area < max_growth * cells.area, shape(after).area / cells.area


def test_feed_files_are_world_readable_and_carry_the_municipality_code(tmp_path):
    old = os.umask(0o077)  # a strict umask must not make the feed private
    try:
        geometry = mapping(reproject(grid_cells(), "EPSG:25832", "EPSG:4326"))
        warning = replace(make_warning(), geometry=geometry)
        result = write_feed(tmp_path / "feed", [warning], status(0), sender="wetindex@example.dk",
                            site_url="https://varsler.example.dk/", area_name="Testkommune",
                            geocode={"kommunekode": "0849"})
    finally:
        os.umask(old)
    for path in [*result.written, result.atom]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    (cap_file,) = (tmp_path / "feed" / "cap").glob("*.xml")
    validate_cap(cap_file.read_bytes())
    root = etree.parse(str(cap_file)).getroot()
    polygons = root.findall("cap:info/cap:area/cap:polygon", NS)
    assert sum(len(p.text.split()) for p in polygons) <= 2 * 300  # two languages
    names = [e.text for e in root.findall("cap:info/cap:area/cap:geocode/cap:valueName", NS)]
    values = [e.text for e in root.findall("cap:info/cap:area/cap:geocode/cap:value", NS)]
    assert dict(zip(names, values, strict=True))["kommunekode"] == "0849"


def test_stale_run_issues_no_all_clear(tmp_path):
    feed = tmp_path / "feed"
    kw = dict(sender="wetindex@example.dk", site_url="https://varsler.example.dk/",
              area_name="Testkommune")
    write_feed(feed, [make_warning()], status(0), **kw)
    assert write_feed(feed, [], status(3, healthy=False), **kw).all_clears == []
    assert len(write_feed(feed, [], status(6), **kw).all_clears) == 1
