"""The data catalog: every entry valid, base URLs on current hosts, strict keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from wetindex.sources.catalog import CatalogError, attributions, load_catalog
from wetindex.sources.registry import FETCHERS


def test_every_source_has_an_entry_and_a_connector():
    catalog = load_catalog()
    assert set(catalog) == set(FETCHERS)
    for entry in catalog.values():
        assert entry.licence and entry.attribution and entry.crs and entry.update_cadence


def test_base_urls_avoid_retired_hosts():
    catalog = load_catalog()
    for entry in catalog.values():
        assert "dmigw.govcloud.dk" not in entry.base_url
        assert "api.dataforsyningen.dk/kommuner" not in entry.base_url    # DAWA closed 2026-07
    for dmi in ("dmi_metobs", "dmi_oceanobs", "dmi_climate", "dmi_forecast_edr"):
        assert catalog[dmi].base_url.startswith("https://opendataapi.dmi.dk/")
    assert catalog["openmeteo_marine"].coarse and catalog["openmeteo_archive"].coarse


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path):
    (tmp_path / "x.yaml").write_text(
        "id: x\ntitle: X\nprovider: P\nfamilies: [rain]\nbase_url: https://x\n"
        "licence: L\nattribution: A\ncrs: EPSG:4326\nupdate_cadence: daily\nbase_ulr: typo\n")
    with pytest.raises(CatalogError) as err:
        load_catalog(tmp_path)
    assert "x.yaml" in str(err.value) and "unknown key 'base_ulr'" in str(err.value)


def test_attributions_feed_the_footer():
    records = attributions(["dmi_metobs", "copernicus_dem", "nope"])
    assert next(r.name for r in records).startswith("DMI")
    assert "Airbus" in records[1].attribution and len(records) == 2
