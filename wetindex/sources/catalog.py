"""The data catalog: one YAML file per source in ``data_sources/``.

Base URLs live here, never in code, so an operator can point a source at a mirror
when a provider moves host (DMI did in 2025). Unknown keys are errors naming the
file and the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wetindex.config import format_validation_error
from wetindex.sources.base import Attribution

#: The catalog folder in a source checkout (``<repo>/data_sources``).
DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[2] / "data_sources"


Family = Literal["rain", "rain_forecast", "evaporation", "sea_level", "sea_level_forecast",
                 "terrain", "groundwater", "satellite", "boundary", "demo"]


class CatalogError(ValueError):
    """A catalog file that cannot be used, with what to change."""


class SourceEntry(BaseModel):
    """One source: where it is, who made it, what it gives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    provider: str
    families: list[Family] = Field(min_length=1)
    base_url: str
    licence: str
    licence_url: str = ""
    attribution: str
    crs: str
    units: dict[str, str] = {}
    update_cadence: str
    region: Literal["denmark", "global"] = "global"
    credentials: list[str] = []
    #: extra endpoints of the same provider (e.g. an OAuth token URL)
    endpoints: dict[str, str] = {}
    coarse: bool = False
    notes: str = ""
    verified: str = ""

    def attribution_record(self) -> Attribution:
        """The attribution for the site's footer."""
        return Attribution(name=self.title, licence=self.licence,
                           attribution=self.attribution, url=self.licence_url)

    def url(self, path: str = "") -> str:
        """``base_url`` joined with ``path``."""
        if not path:
            return self.base_url
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


def _load_entry(path: Path) -> SourceEntry:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise CatalogError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping of keys at the top level")
    try:
        entry = SourceEntry.model_validate(data)
    except ValidationError as err:
        raise CatalogError(format_validation_error(err, str(path), "data source entry")) from None
    if entry.id != path.stem:
        raise CatalogError(f"{path}: id '{entry.id}' differs from the file name; rename one")
    return entry


def load_catalog(folder: Path | None = None) -> dict[str, SourceEntry]:
    """Every entry of the catalog folder, by id."""
    # WETINDEX_CATALOG_DIR points every connector at another catalog (a mirror, a test server)
    folder = Path(folder or os.environ.get("WETINDEX_CATALOG_DIR") or DEFAULT_CATALOG_DIR)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise CatalogError(f"{folder}: no data source entries (*.yaml); is this the "
                           "project folder?")
    return {entry.id: entry for entry in map(_load_entry, files)}


def attributions(source_ids: list[str], folder: Path | None = None) -> list[Attribution]:
    """Attributions of the given sources, for the site's footer."""
    catalog = load_catalog(folder)
    return [catalog[s].attribution_record() for s in source_ids if s in catalog]
