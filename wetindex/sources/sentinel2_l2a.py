"""Sentinel-2 L2A: surface reflectance and scene classification on an area grid.

An L2A product (``S2?_MSIL2A_….SAFE``) has ``MTD_MSIL2A.xml`` (processing
baseline, ``BOA_QUANTIFICATION_VALUE``, from baseline 04.00 ``BOA_ADD_OFFSET`` per
band, −1000) and one granule with JPEG 2000 bands by resolution:
``IMG_DATA/R10m/*_B03_10m.jp2`` (green), ``R20m/*_B11_20m.jp2`` (SWIR 1.6 µm),
``R20m/*_SCL_20m.jp2`` (scene classification). Reflectance is
``(DN + offset) / quantification``; DN 0 is no data. Only the window that covers
the area is read; reflectances are resampled bilinearly to the grid, the scene
classes by nearest neighbour.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.warp
import rasterio.windows
from rasterio.enums import Resampling

from wetindex.grid import AreaGrid
from wetindex.model.labels import LabelInputError

#: band index of ``BOA_ADD_OFFSET band_id`` (B01 … B12 in the product's order)
BAND_IDS = {"B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 4, "B06": 5, "B07": 6, "B08": 7,
            "B8A": 8, "B09": 9, "B10": 10, "B11": 11, "B12": 12}
#: the offset of baseline ≥ 04.00 when the metadata does not list it
DEFAULT_OFFSET = -1000


@dataclass
class Sentinel2Scene:
    """Bands of one L2A scene on an area grid (float32 reflectance, NaN no data)."""

    green: np.ndarray
    swir1: np.ndarray
    scl: np.ndarray | None
    start: pd.Timestamp
    baseline: str
    product: str


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def product_metadata(folder: Path) -> tuple[pd.Timestamp, str, float, dict[str, int]]:
    """Start time, processing baseline, quantification value and offsets by band."""
    mtd = Path(folder) / "MTD_MSIL2A.xml"
    if not mtd.exists():
        raise LabelInputError(f"{folder}: no MTD_MSIL2A.xml: not a Sentinel-2 L2A product "
                              "(L1C has no surface reflectance or scene classification)")
    root = ET.parse(mtd).getroot()
    text = {_local(e.tag): (e.text or "").strip() for e in root.iter()}
    if "PRODUCT_START_TIME" not in text or "PROCESSING_BASELINE" not in text:
        raise LabelInputError(f"{mtd}: no PRODUCT_START_TIME or PROCESSING_BASELINE")
    start = pd.Timestamp(text["PRODUCT_START_TIME"])
    start = start.tz_convert("UTC").tz_localize(None) if start.tzinfo else start
    baseline = text["PROCESSING_BASELINE"]
    quant = float(text.get("BOA_QUANTIFICATION_VALUE") or 10000.0)
    offsets = {int(e.get("band_id", -1)): int(float(e.text or 0)) for e in root.iter()
               if _local(e.tag) == "BOA_ADD_OFFSET"}
    new = tuple(int(p) for p in baseline.split(".")) >= (4, 0)
    by_band = {b: offsets.get(i, DEFAULT_OFFSET if new else 0) for b, i in BAND_IDS.items()}
    return start, baseline, quant, by_band


def _band_file(folder: Path, band: str, res: int) -> Path | None:
    hits = sorted(Path(folder).glob(f"GRANULE/*/IMG_DATA/R{res}m/*_{band}_{res}m.*"))
    return hits[0] if hits else None


def read_to_grid(path: Path, grid: AreaGrid, resampling: Resampling, *,
                 nodata: float = 0) -> np.ndarray:
    """One band on ``grid`` (float32, NaN where no data), reading only the area's window."""
    with rasterio.open(path) as src:
        bounds = rasterio.warp.transform_bounds(grid.crs, src.crs, *grid.bounds)
        win = rasterio.windows.from_bounds(*bounds, transform=src.transform)
        pad = 2
        c0, r0 = int(np.floor(win.col_off)) - pad, int(np.floor(win.row_off)) - pad
        win = rasterio.windows.Window(c0, r0, int(np.ceil(win.width)) + 2 * pad + 1,
                                      int(np.ceil(win.height)) + 2 * pad + 1)
        full = rasterio.windows.Window(0, 0, src.width, src.height)
        try:
            win = win.intersection(full)
        except rasterio.errors.WindowError:
            raise LabelInputError(f"{path}: the scene does not cover the area") from None
        data = src.read(1, window=win).astype("float32")
        data[data == nodata] = np.nan
        out = np.full(grid.shape, np.nan, dtype="float32")
        rasterio.warp.reproject(data, out, src_transform=src.window_transform(win),
                                src_crs=src.crs, dst_transform=grid.transform,
                                dst_crs=grid.crs, resampling=resampling, src_nodata=np.nan,
                                dst_nodata=np.nan)
    return out


def read_l2a(folder: Path, grid: AreaGrid) -> Sentinel2Scene:
    """Green (B03, 10 m), SWIR1 (B11, 20 m) reflectance and SCL (20 m) on ``grid``.

    Raises
    ------
    LabelInputError
        Not an L2A product, a band missing, or the scene does not cover the area.
    """
    folder = Path(folder)
    start, baseline, quant, offsets = product_metadata(folder)
    green_f, swir_f = _band_file(folder, "B03", 10), _band_file(folder, "B11", 20)
    if green_f is None or swir_f is None:
        raise LabelInputError(f"{folder}: no GRANULE/*/IMG_DATA/R10m/*_B03_10m or "
                              "R20m/*_B11_20m band: download the whole granule")
    green = (read_to_grid(green_f, grid, Resampling.bilinear) + offsets["B03"]) / quant
    swir = (read_to_grid(swir_f, grid, Resampling.bilinear) + offsets["B11"]) / quant
    if not np.isfinite(green).any():
        raise LabelInputError(f"{folder.name}: the scene does not cover the area (no valid "
                              "pixel on the area grid)")
    # reflectance of water in green is 0.02–0.1, rarely above 0.3 on land; a band
    # read with the wrong offset or in the wrong order gives values far outside 0…1.5
    for name, band in (("B03", green), ("B11", swir)):
        med = float(np.nanmedian(band))
        if not -0.05 <= med <= 1.5:
            raise LabelInputError(f"{folder.name}: {name} reflectance median {med:.3f} is not "
                                  "a reflectance (wrong BOA offset or quantification, or "
                                  "the wrong band file)")
    scl_f = _band_file(folder, "SCL", 20)
    scl = None
    if scl_f is not None:
        scl_grid = read_to_grid(scl_f, grid, Resampling.nearest, nodata=-1)
        scl = np.where(np.isfinite(scl_grid), scl_grid, 0).astype("uint8")
    return Sentinel2Scene(green.astype("float32"), swir.astype("float32"), scl, start, baseline,
                          folder.name)
