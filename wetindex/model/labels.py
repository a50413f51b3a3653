"""Observed surface water as labels: the label map, and satellite water masks.

Every reader returns :class:`LabelMap` objects on an :class:`~wetindex.grid.AreaGrid`:
an int8 ``(y, x)`` array (1 water, 0 dry, -1 unknown, 2 permanent water), the time
window it covers, its source and how sure it is. A cell that no observation saw is
-1, never 0: a missing observation is not evidence of a dry cell. Nor is a doubtful
one: a cell near the threshold, on the water's edge, or in a scene whose histogram
could not be split (fixed fallback threshold) is -1 unless it is clearly dry.
Permanent water (WorldCover class 80 or the operator's water layer) is its own
class, 2: training never uses it, because the model predicts flood water, not the
lake, but the map keeps what was seen. Labels drawn as shapes (EMS polygons,
incident reports) are read by :mod:`wetindex.model.label_vectors`.

Radar (Sentinel-1): water is smooth and dark. The VV (and VH) backscatter in dB
is speckle-filtered, thresholded per scene with Otsu's method, and masked where
radar cannot see water: steep slopes, radar shadow and layover, permanent water.
Optical (Sentinel-2): MNDWI (or NDWI) above a threshold, with the scene
classification (SCL) turning clouds, cloud shadow, cirrus, snow and no-data
into unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio.features
import rasterio.warp
from scipy import ndimage

from wetindex.grid import AreaGrid

UNKNOWN, DRY, WET, PERMANENT = -1, 0, 1, 2

#: Default confidence of a label by source (probability that a cell's label is right).
SOURCE_CONFIDENCE: dict[str, float] = {
    "sentinel1": 0.85, "sentinel2": 0.9, "ems": 0.9, "report": 0.75, "demo": 1.0,
}
#: Sentinel-2 scene classes that hide the ground: no data, defective, cloud shadow,
#: cloud medium/high probability, thin cirrus, snow.
SCL_UNKNOWN: tuple[int, ...] = (0, 1, 3, 8, 9, 10, 11)
#: ESA WorldCover class of permanent water bodies.
WORLDCOVER_WATER = 80


class LabelInputError(ValueError):
    """A label input that cannot be used, with what to do."""


@dataclass
class LabelMap:
    """One observation of surface water on the area grid.

    Attributes
    ----------
    values : numpy.ndarray
        int8 ``(ny, nx)``: 1 water, 0 dry, -1 unknown.
    start, end : pandas.Timestamp
        The time window (UTC, naive) the observation covers; equal for an instant.
    source : str
        Where it came from (``"sentinel1"``, ``"sentinel2"``, ``"ems"``, ``"report"``…).
    confidence : float
        How sure the label is, 0–1.
    detail : str
        Scene id, file name or reporter, for provenance.
    """

    values: np.ndarray
    start: pd.Timestamp
    end: pd.Timestamp
    source: str
    confidence: float
    detail: str = ""

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype="int8")
        if self.end < self.start:
            raise LabelInputError(f"{self.detail or self.source}: label ends before it starts")


# --------------------------------------------------------------------------- radar

def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the value that maximises the between-class variance.

    NaNs are ignored. Raises :class:`LabelInputError` when fewer than two distinct
    values remain.
    """
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if v.size == 0 or v.min() == v.max():
        raise LabelInputError("Otsu threshold: the scene has no contrast (constant or empty)")
    hist, edges = np.histogram(v, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    mean0 = m0 / np.maximum(w0, 1)
    mean1 = (m0[-1] - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mean0 - mean1) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def lee_filter(intensity: np.ndarray, size: int = 5, looks: float = 4.4) -> np.ndarray:
    """Lee speckle filter on linear backscatter intensity (not dB).

    Flat areas become their local mean; edges (local variation above that of
    speckle, ``1 / looks``) keep their values. NaNs stay NaN and do not spread.
    """
    x = np.asarray(intensity, dtype="float64")
    valid = np.isfinite(x)
    filled = np.where(valid, x, 0.0)
    count = ndimage.uniform_filter(valid.astype("float64"), size, mode="reflect")
    count = np.maximum(count, 1e-9)
    mean = ndimage.uniform_filter(filled, size, mode="reflect") / count
    mean_sq = ndimage.uniform_filter(filled**2, size, mode="reflect") / count
    var = np.maximum(mean_sq - mean**2, 0.0)
    ci2 = var / np.maximum(mean**2, 1e-12)  # squared coefficient of variation
    weight = np.clip(1.0 - (1.0 / looks) / np.maximum(ci2, 1e-12), 0.0, 1.0)
    out = mean + weight * (filled - mean)
    return np.where(valid, out, np.nan)


def db_to_linear(db: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(db, dtype="float64") / 10.0)


def linear_to_db(linear: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10.0 * np.log10(linear)


def radar_shadow_layover(elevation: np.ndarray, cell_size: float, *, incidence_deg: float,
                         look_azimuth_deg: float) -> np.ndarray:
    """Cells in radar shadow or layover, from the local terrain slope.

    A slope facing away from the radar steeper than ``90° - incidence`` is in
    shadow; one facing it steeper than the incidence angle is in layover. This
    is the local (per-cell) test; long shadows behind high ridges are not traced.

    Parameters
    ----------
    look_azimuth_deg : float
        Direction the radar looks, clockwise from north (e.g. ~ 80° for a
        right-looking ascending Sentinel-1 pass, ~ 280° descending: heading + 90°).
    """
    dz_dy, dz_dx = np.gradient(np.asarray(elevation, dtype="float64"), cell_size)
    az = np.deg2rad(look_azimuth_deg)
    # rows go south: north component of the gradient is -dz/drow
    rise_along_look = dz_dx * np.sin(az) + (-dz_dy) * np.cos(az)
    with np.errstate(invalid="ignore"):
        angle = np.rad2deg(np.arctan(rise_along_look))
        shadow = -angle > 90.0 - incidence_deg
        layover = angle > incidence_deg
    return shadow | layover


def check_db(values: np.ndarray, name: str = "backscatter") -> None:
    """Refuse backscatter that is not in dB (linear σ⁰ or raw DN give an all-dry map).

    σ⁰ in dB over land and water is almost all negative (−30 … 0 dB); linear σ⁰
    and digital numbers are never negative.
    """
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise LabelInputError(f"{name}: no valid value (all NaN): the scene does not cover "
                              "the area")
    if (v < 0).mean() < 0.5:
        med = float(np.median(v))
        what = "raw digital numbers (DN)" if med > 20 else "linear σ⁰"
        raise LabelInputError(
            f"{name}: the values look like {what}, not dB (median {med:.4g}, "
            f"{(v < 0).mean():.0%} negative): calibrate DN to σ⁰ "
            "(wetindex.sources.sentinel1_safe.read_sigma0) and convert with 10·log10(σ⁰)")


def sentinel1_water(
    vv_db: np.ndarray, vh_db: np.ndarray | None = None, *, slope_deg: np.ndarray | None = None,
    shadow: np.ndarray | None = None, permanent_water: np.ndarray | None = None,
    max_slope_deg: float = 5.0, filter_size: int = 5,
    threshold_range_db: tuple[float, float] = (-26.0, -12.0), fallback_threshold_db: float = -18.0,
    margin_db: float = 1.0, edge_cells: int = 1,
) -> tuple[np.ndarray, dict[str, float]]:
    """Water mask of one Sentinel-1 scene: int8 1 water, 0 dry, -1 unknown, 2 permanent.

    The VV band (and VH when given) is Lee-filtered in linear units and
    thresholded per scene with Otsu's method on the dB values. Cells within
    ``margin_db`` of the threshold, and cells within ``edge_cells`` of a
    water/dry boundary, are unknown: that is where speckle and mixed cells decide.

    When a scene has too little water for a bimodal histogram, Otsu's threshold
    falls outside ``threshold_range_db``; then ``fallback_threshold_db`` marks
    water, but only cells above the range's upper end (clearly land) are dry, the
    rest unknown: a fixed threshold misses flooded cells, which must not become
    confident "dry" (``fallback`` is 1 in the facts). Unknown also: no data,
    slopes above ``max_slope_deg``, ``shadow`` (shadow or layover). Permanent
    water is 2.

    Raises
    ------
    LabelInputError
        When the input is not in dB (see :func:`check_db`).

    Returns
    -------
    mask, facts
        The mask and facts: ``vv_threshold_db``, ``vh_threshold_db``, ``fallback``
        0/1, ``unknown_doubt`` (share of valid cells left unknown for doubt).
    """
    check_db(vv_db, "vv_db")
    vv = linear_to_db(lee_filter(db_to_linear(vv_db), filter_size))
    facts: dict[str, float] = {"fallback": 0.0}

    def threshold(band: np.ndarray, offset: float = 0.0) -> tuple[float, bool]:
        try:
            t = otsu_threshold(band)
        except LabelInputError:
            t = np.nan
        lo, hi = threshold_range_db[0] + offset, threshold_range_db[1] + offset
        if not lo <= t <= hi:
            facts["fallback"] = 1.0
            return fallback_threshold_db + offset, True
        return t, False

    def split(band: np.ndarray, offset: float) -> tuple[np.ndarray, np.ndarray, float]:
        t, fell_back = threshold(band, offset)
        water = band < (t if fell_back else t - margin_db)
        dry = band > (threshold_range_db[1] + offset if fell_back else t + margin_db)
        return water, dry, t

    water, dry, t_vv = split(vv, 0.0)
    facts["vv_threshold_db"] = t_vv
    valid = np.isfinite(vv)
    if vh_db is not None:
        check_db(vh_db, "vh_db")
        vh = linear_to_db(lee_filter(db_to_linear(vh_db), filter_size))
        w_vh, d_vh, t_vh = split(vh, -7.0)  # VH is ~7 dB below VV over both water and land
        facts["vh_threshold_db"] = t_vh
        water, dry = water & w_vh, dry | d_vh
        valid &= np.isfinite(vh)
    out = np.full(vv.shape, UNKNOWN, dtype="int8")
    out[dry & ~water] = DRY
    out[water] = WET
    if edge_cells > 0:
        size = 2 * edge_cells + 1
        near_water = ndimage.maximum_filter(water.astype("uint8"), size) > 0
        near_dry = ndimage.maximum_filter((dry & ~water).astype("uint8"), size) > 0
        out[near_water & near_dry] = UNKNOWN
    unknown = ~valid
    if slope_deg is not None:
        unknown |= np.asarray(slope_deg) > max_slope_deg
    if shadow is not None:
        unknown |= np.asarray(shadow, dtype=bool)
    facts["unknown_doubt"] = float(((out == UNKNOWN) & ~unknown).sum() / max(valid.sum(), 1))
    out[unknown] = UNKNOWN
    if permanent_water is not None:
        out[np.asarray(permanent_water, dtype=bool) & valid] = PERMANENT
    return out, facts


# --------------------------------------------------------------------------- optical

def sentinel2_water(
    green: np.ndarray, *, swir1: np.ndarray | None = None, nir: np.ndarray | None = None,
    scl: np.ndarray | None = None, cloud_mask: np.ndarray | None = None,
    permanent_water: np.ndarray | None = None, threshold: float = 0.0, margin: float = 0.05,
) -> np.ndarray:
    """Water mask of one Sentinel-2 scene: MNDWI (with SWIR1) or else NDWI (with NIR).

    Bands are surface reflectances on the same grid (the ratio does not care
    about a common scale factor, but the L2A offset must be removed first).
    Cells whose scene class is in :data:`SCL_UNKNOWN` (cloud, shadow, cirrus,
    snow, no data) or in ``cloud_mask`` are -1, and so are cells whose index is
    within ``margin`` of ``threshold``; permanent water is 2.

    Raises
    ------
    LabelInputError
        Neither ``scl`` nor ``cloud_mask`` given: without a cloud mask, cloud
        shadow reads as water and cloud as dry land.
    """
    other = swir1 if swir1 is not None else nir
    if other is None:
        raise LabelInputError("Sentinel-2 water: give swir1 (MNDWI) or nir (NDWI)")
    if scl is None and cloud_mask is None:
        raise LabelInputError("Sentinel-2 water: no cloud mask: give the L2A scene "
                              "classification (scl) or another cloud_mask (True = cloud or "
                              "shadow)")
    g, o = np.asarray(green, "float64"), np.asarray(other, "float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        index = (g - o) / (g + o)
    out = np.full(index.shape, UNKNOWN, dtype="int8")
    out[index > threshold + margin] = WET
    out[index < threshold - margin] = DRY
    unknown = ~np.isfinite(index)
    if scl is not None:
        unknown |= np.isin(np.asarray(scl), SCL_UNKNOWN)
    if cloud_mask is not None:
        unknown |= np.asarray(cloud_mask, dtype=bool)
    out[unknown] = UNKNOWN
    if permanent_water is not None:
        out[np.asarray(permanent_water, dtype=bool) & ~unknown] = PERMANENT
    return out


# --------------------------------------------------------------------------- rasters

def permanent_water_from_worldcover(path: Path, grid: AreaGrid) -> np.ndarray:
    """Boolean ``(ny, nx)``: cells whose WorldCover class is permanent water (80).

    The classes are resampled to the grid by majority (mode), so a cell is water
    when most of it is.
    """
    path = Path(path)
    if not path.exists():
        raise LabelInputError(f"{path}: WorldCover raster not found")
    with rasterio.open(path) as src:
        out = np.zeros(grid.shape, dtype="uint8")
        rasterio.warp.reproject(
            rasterio.band(src, 1), out, dst_transform=grid.transform, dst_crs=grid.crs,
            resampling=rasterio.warp.Resampling.mode, src_nodata=0, dst_nodata=0)
    return out == WORLDCOVER_WATER

