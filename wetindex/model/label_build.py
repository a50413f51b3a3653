"""From Copernicus scenes (and EMS maps, incident reports) to an area's label store.

:func:`build_label_store` is what ``wetindex labels build`` runs: search the CDSE
STAC for Sentinel-1 GRD and Sentinel-2 L2A over the area, choose the scenes
(:func:`choose_scenes`), download only the files a label needs (manifest, the
polarisation's annotation, calibration, noise and measurement; the L2A metadata,
B03, B11 and SCL), turn each scene into a :class:`LabelMap` on the area grid and
save the store where training reads it (``var/<area>/labels/``, see
:func:`store_folder`).
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from wetindex.grid import AreaGrid
from wetindex.model.label_store import LabelStore
from wetindex.model.label_vectors import (
    read_ems_observations,
    read_incident_reports,
)
from wetindex.model.labels import (
    SOURCE_CONFIDENCE,
    LabelInputError,
    LabelMap,
    permanent_water_from_worldcover,
    radar_shadow_layover,
    sentinel1_water,
    sentinel2_water,
)
from wetindex.sources import copernicus_stac
from wetindex.sources.base import InputMissingError
from wetindex.sources.errors import SourceError
from wetindex.sources.registry import open_session
from wetindex.sources.sentinel1_safe import read_sigma0, safe_files
from wetindex.sources.sentinel2_l2a import read_l2a
from wetindex.sources.session import SourceSession
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import area_inputs

log = logging.getLogger(__name__)

#: confidence kept when a scene fell back to the fixed threshold (its dry cells are
#: only the clearly bright ones, but its water is less sure)
FALLBACK_CONFIDENCE_FACTOR = 0.8


def store_folder(area_dir: Path) -> Path:
    """Where an area's label store lives: ``<area_dir>/labels`` (labels.json + .npz)."""
    return Path(area_dir) / "labels"


# --------------------------------------------------------------------------- one scene

def sentinel1_label(safe: Path, grid: AreaGrid, *, elevation: np.ndarray | None = None,
                    permanent_water: np.ndarray | None = None,
                    polarisations: tuple[str, ...] = ("VV", "VH")) -> LabelMap:
    """One GRD scene as a label map: σ⁰ (dB) → speckle filter → water mask.

    VH is used with VV when the product has it. Shadow and layover come from
    ``elevation`` (the area's terrain on ``grid``) with the scene's own look
    direction and incidence angle.
    """
    vv = read_sigma0(safe, grid, polarisations[0])
    vh = None
    if len(polarisations) > 1:
        try:
            safe_files(safe, polarisations[1])
        except LabelInputError:
            vh = None
        else:
            vh = read_sigma0(safe, grid, polarisations[1]).sigma0_db
    shadow = slope = None
    if elevation is not None:
        shadow = radar_shadow_layover(elevation, grid.cell_size, incidence_deg=vv.incidence_deg,
                                      look_azimuth_deg=vv.look_azimuth_deg)
        gy, gx = np.gradient(np.asarray(elevation, "float64"), grid.cell_size)
        slope = np.rad2deg(np.arctan(np.hypot(gx, gy)))
    mask, facts = sentinel1_water(vv.sigma0_db, vh, slope_deg=slope, shadow=shadow,
                                  permanent_water=permanent_water)
    conf = SOURCE_CONFIDENCE["sentinel1"] * (FALLBACK_CONFIDENCE_FACTOR if facts["fallback"]
                                             else 1.0)
    detail = (f"{vv.product} {vv.pass_direction} look {vv.look_azimuth_deg:.0f}° inc "
              f"{vv.incidence_deg:.1f}° VV threshold {facts['vv_threshold_db']:.1f} dB"
              + (" (fallback)" if facts["fallback"] else ""))
    return LabelMap(mask, vv.start, vv.start, "sentinel1", conf, detail)


def sentinel2_label(safe: Path, grid: AreaGrid, *, permanent_water: np.ndarray | None = None,
                    cloud_mask: np.ndarray | None = None) -> LabelMap:
    """One L2A scene as a label map: MNDWI with SCL clouds and shadows unknown."""
    scene = read_l2a(safe, grid)
    if scene.scl is None and cloud_mask is None:
        raise LabelInputError(f"{Path(safe).name}: no SCL band and no other cloud mask: "
                              "download the granule's R20m/*_SCL_20m.jp2 or give a mask")
    mask = sentinel2_water(scene.green, swir1=scene.swir1, scl=scene.scl,
                           cloud_mask=cloud_mask, permanent_water=permanent_water)
    return LabelMap(mask, scene.start, scene.start, "sentinel2",
                    SOURCE_CONFIDENCE["sentinel2"], f"{scene.product} baseline {scene.baseline}")


# --------------------------------------------------------------------------- choosing

@dataclass
class SceneChoice:
    """Which scenes to use (the defaults suit flood mapping over Denmark)."""

    polarisation: str = "VV"
    #: ``ascending``/``descending``, or None: the direction with the most scenes
    orbit_state: str | None = None
    max_cloud_cover: float = 30.0
    kept: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)


def choose_scenes(frame: gpd.GeoDataFrame, choice: SceneChoice) -> gpd.GeoDataFrame:
    """The scenes of a STAC search that labels are made from; the reasons for the rest.

    Sentinel-1: IW mode, the polarisation present, one orbit direction (the same
    geometry makes scenes comparable). Sentinel-2: cloud cover at most
    ``max_cloud_cover`` %.
    """
    if frame.empty:
        return frame
    keep = np.ones(len(frame), bool)
    why = np.array([""] * len(frame), dtype=object)
    s1 = frame["collection"].str.contains("sentinel-1")
    if s1.any():
        pols = frame["polarizations"].fillna("")
        no_pol = s1 & (pols != "") & ~pols.str.contains(choice.polarisation)
        keep &= ~no_pol.to_numpy()
        why[no_pol.to_numpy()] = f"no {choice.polarisation}"
        orbit = choice.orbit_state or frame.loc[s1 & keep, "orbit_state"].mode().iloc[0] \
            if (s1 & keep).any() else choice.orbit_state
        other = s1 & (frame["orbit_state"].str.lower() != str(orbit).lower())
        why[(other & keep).to_numpy()] = f"orbit not {orbit}"
        keep &= ~other.to_numpy()
    s2 = frame["collection"].str.contains("sentinel-2")
    cloudy = s2 & (pd.to_numeric(frame["cloud_cover"], errors="coerce").fillna(100.0)
                   > choice.max_cloud_cover)
    why[(cloudy & keep).to_numpy()] = f"cloud cover > {choice.max_cloud_cover:g} %"
    keep &= ~cloudy.to_numpy()
    choice.kept = list(frame.loc[keep, "id"])
    choice.dropped = {i: w for i, w, k in zip(frame["id"], why, keep, strict=True) if not k}
    return frame[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- download

def _manifest_files(manifest: Path) -> list[str]:
    root = ET.parse(manifest).getroot()
    return [e.get("href", "").removeprefix("./") for e in root.iter()
            if e.tag.rsplit("}", 1)[-1] == "fileLocation"]


def _safe_prefix(assets: dict[str, str]) -> str:
    for href in assets.values():
        if ".SAFE/" in href:
            return href[: href.index(".SAFE/") + len(".SAFE")]
    raise SourceError("copernicus_stac", json.dumps(assets)[:200], "no asset link inside a "
                      ".SAFE folder", "the STAC item's assets changed: compare with the docs")


def fetch_safe(session: SourceSession, item: pd.Series, workdir: Path,
               wanted: tuple[str, ...]) -> Path:
    """The files of one product a label needs, laid out as its SAFE folder under ``workdir``.

    ``wanted`` are substrings of the manifest's file paths (e.g. ``"-vv-"``,
    ``"_SCL_20m"``). Files are streamed into the download cache and linked here.
    """
    assets = json.loads(item["assets"])
    prefix = _safe_prefix(assets)
    product = assets.get("product")
    safe = Path(workdir) / prefix.rsplit("/", 1)[-1]

    def get(rel: str) -> Path:
        path = copernicus_stac.download_asset(session, f"{prefix}/{rel}", product_href=product)
        link = safe / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(path)
        return link

    manifest = get("manifest.safe")
    for rel in _manifest_files(manifest):
        if any(w in rel for w in wanted):
            get(rel)
    return safe


# --------------------------------------------------------------------------- the store

def area_bbox(grid: AreaGrid) -> tuple[float, float, float, float]:
    """The grid's bounds in WGS84 (west, south, east, north)."""
    x0, y0, x1, y1 = grid.bounds
    tr = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    return (min(lon), min(lat), max(lon), max(lat))


def build_label_store(session: SourceSession, grid: AreaGrid, start: Any, end: Any, *,
                      workdir: Path, choice: SceneChoice | None = None,
                      elevation: np.ndarray | None = None,
                      permanent_water: np.ndarray | None = None,
                      sensors: tuple[str, ...] = ("s1_grd", "s2_l2a"),
                      store: LabelStore | None = None) -> tuple[LabelStore, list[dict[str, Any]]]:
    """Search, choose, download and turn scenes into labels; the store and a log.

    A scene that cannot be used (does not cover the area, a file missing) is
    skipped with its reason in the log, never turned into zeros.
    """
    choice = choice or SceneChoice()
    store = store or LabelStore(grid)
    bbox = area_bbox(grid)
    report: list[dict[str, Any]] = []
    for sensor in sensors:
        found = copernicus_stac.search(session, copernicus_stac.COLLECTIONS[sensor], bbox,
                                       start, end, require=False)
        chosen = choose_scenes(found, choice)
        report += [{"scene": i, "used": False, "why": w} for i, w in choice.dropped.items()]
        for _, item in chosen.iterrows():
            if any(item["id"] in m.detail for m in store.maps):
                report.append({"scene": item["id"], "used": True, "why": "already in the store"})
                continue
            if sensor == "s1_grd":
                wanted = tuple(f"-{p.lower()}-" for p in (choice.polarisation, "VH"))
            else:
                wanted = ("MTD_MSIL2A.xml", "_B03_10m", "_B11_20m", "_SCL_20m")
            try:
                safe = fetch_safe(session, item, workdir, wanted)
                label = (sentinel1_label(safe, grid, elevation=elevation,
                                         permanent_water=permanent_water)
                         if sensor == "s1_grd" else
                         sentinel2_label(safe, grid, permanent_water=permanent_water))
            except (LabelInputError, SourceError) as err:
                # one unusable scene (a failed download, no cover) is skipped and named;
                # it never becomes zeros, and the other scenes still count
                report.append({"scene": item["id"], "used": False, "why": str(err)})
                log.warning("scene %s skipped: %s", item["id"], err)
                continue
            store.add(label)
            v = label.values
            report.append({"scene": item["id"], "used": True, "why": label.detail,
                           "water": int((v == 1).sum()), "dry": int((v == 0).sum()),
                           "unknown": int((v == -1).sum()), "permanent": int((v == 2).sum())})
    return store, report


def area_elevation(config: Any, root: Path) -> np.ndarray | None:
    """A local area's terrain on its grid, for radar shadow and layover; else None (logged)."""
    if config.source != "local":
        return None
    try:
        return area_inputs(AreaContext(config, Path(root))).static_inputs()["elevation"].values
    except InputMissingError as err:
        log.warning("no terrain, so no radar shadow/layover mask: %s", err)
        return None


def build_area_labels(config: Any, root: Path, start: Any, end: Any, *,
                      sensors: tuple[str, ...] = ("s1_grd", "s2_l2a"),
                      choice: SceneChoice | None = None, worldcover: Path | None = None,
                      ems: list[Path] | None = None, reports: list[Path] | None = None,
                      cache_dir: Path | None = None, offline: bool | None = None,
                      ) -> tuple[LabelStore, list[dict[str, Any]], Path]:
    """An area's label store, updated with scenes, EMS maps and reports; saved.

    The store in ``var/<area>/labels`` grows: scenes already in it are not
    fetched again, and a map with the same source, time and detail is replaced,
    so a scheduled run over the last weeks and a rebuild over a year agree.

    Returns
    -------
    store, log, folder
        The saved store, one log row per scene (used or skipped, and why), and
        the folder it was saved to.

    Raises
    ------
    LabelInputError
        No labels at all came out (the log's reasons are in the message).
    """
    if config.grid is None:
        raise LabelInputError(f"area {config.name}: no grid: section (the demo area has its "
                              "own labels)")
    bad = [s for s in sensors if s not in copernicus_stac.COLLECTIONS]
    if bad:
        raise LabelInputError(f"sensors: unknown {bad}; use s1_grd, s2_l2a or none")
    grid = AreaGrid(**config.grid.model_dump())
    area_dir = config.area_dir(root)
    folder = store_folder(area_dir)
    store = LabelStore.load(folder) if (folder / "labels.json").exists() else LabelStore(grid)
    if store.grid != grid:
        log.warning("label store on another grid: starting a new one")
        store = LabelStore(grid)
    water = permanent_water_from_worldcover(worldcover, grid) if worldcover else None
    for path in ems or []:
        store.add(read_ems_observations(path, grid, permanent_water=water))
    for path in reports or []:
        store.add(read_incident_reports(path, grid))
    report: list[dict[str, Any]] = []
    if sensors:
        elevation = area_elevation(config, root) if "s1_grd" in sensors else None
        catalog = Path(root) / "data_sources"
        session = open_session("copernicus_stac",
                               Path(cache_dir or Path(root) / "var" / "cache" / "sources"),
                               offline=offline,
                               catalog_dir=catalog if any(catalog.glob("*.yaml")) else None)
        store, report = build_label_store(session, grid, start, end,
                                          workdir=area_dir / "scenes", choice=choice,
                                          elevation=elevation, permanent_water=water,
                                          sensors=sensors, store=store)
    if len(store) == 0:
        raise LabelInputError(f"no labels for {config.name} between {start} and {end}: "
                              + ("; ".join(f"{r['scene']}: {r['why']}" for r in report[:5])
                                 or "no scenes, EMS maps or reports"))
    store.save(folder)
    (folder / "build.json").write_text(json.dumps(report, indent=2))
    return store, report, folder
