"""Raster overlays for the citizen map: risk per hour, 48-hour maximum, water, hillshade.

Leaflet's ``ImageOverlay`` stretches a picture linearly between two lon/lat corners
on a Web Mercator map, so each grid is reprojected to EPSG:3857 (``rasterio.warp``)
before it is written as a PNG; drawing the projected grid directly would misplace
cells by tens of metres. Images are downsampled for display so a whole municipality
stays a few hundred kilobytes: risk is downsampled with ``max`` so a small hot spot is
never averaged away (fail safe), terrain with ``average``.

Risk images are palette PNGs with one class per level (see :data:`RISK_CLASSES`) and
are transparent where the probability is negligible. They are made from the forecast's
8-bit cube one lead at a time: the classes (small integers, never floats) are first
reduced by their block maximum to the display's ground resolution
(:func:`block_max`), so the reprojection handles a display-sized grid, not the area's.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from affine import Affine
from PIL import Image
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.warp import Resampling, calculate_default_transform, reproject

from wetindex.forecast_io import decode_fraction, read_codes
from wetindex.grid import AreaGrid

WEB_MERCATOR = CRS.from_epsg(3857)

#: Probability below which a cell is drawn transparent (nothing worth showing).
NEGLIGIBLE_PROBABILITY = 0.05

#: Colour-blind-safe level colours (yellow → orange → dark red get darker at each
#: step, so they stay apart with deuteranopia and protanopia; every use also names
#: the level in text). Index = risk class.
RISK_CLASSES: dict[int, tuple[str, str, float]] = {
    # class: (key in the translations, hex colour, opacity on the map)
    0: ("none", "#000000", 0.0),
    1: ("low", "#9ecae1", 0.55),
    2: ("yellow", "#ffd92f", 0.75),
    3: ("orange", "#e66101", 0.8),
    4: ("red", "#8e0a26", 0.85),
}

#: Colour of observed surface water and of "not seen by the satellite" (cloud, gap).
WATER_COLOURS: dict[int, tuple[str, float]] = {1: ("#08519c", 0.85), 2: ("#969696", 0.45)}


@dataclass(frozen=True)
class DisplayGrid:
    """The Web Mercator grid all overlays of one site are drawn on."""

    transform: Affine
    width: int
    height: int
    #: ``((south, west), (north, east))`` in degrees, as Leaflet wants it.
    bounds: tuple[tuple[float, float], tuple[float, float]]
    #: Ground size of one display pixel, metres.
    ground_cell: float


@dataclass(frozen=True)
class LayerImages:
    """Release-relative paths of the PNG overlays (``None`` when not made)."""

    display: DisplayGrid
    hillshade: str
    hourly: dict[int, str]
    maximum: str | None
    water: str | None


def display_grid(grid: AreaGrid, max_pixels: int = 800) -> DisplayGrid:
    """Choose a Web Mercator display grid covering ``grid``.

    The ground resolution is the grid's cell size times the smallest whole factor
    that keeps the longer side at or under ``max_pixels`` (10 m cells over 10 km →
    20 m display pixels).
    """
    factor = max(1, math.ceil(max(grid.nx, grid.ny) / max_pixels))
    ground_cell = grid.cell_size * factor
    to_lonlat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    _, lat_c = to_lonlat.transform(
        (grid.x_min + grid.x_max) / 2, (grid.y_min + grid.y_max) / 2
    )
    # Web Mercator stretches distances by 1/cos(latitude).
    merc_res = ground_cell / math.cos(math.radians(lat_c))
    transform, width, height = calculate_default_transform(
        CRS.from_user_input(grid.crs), WEB_MERCATOR, grid.nx, grid.ny, *grid.bounds,
        resolution=merc_res,
    )
    west, north = transform @ (0, 0)
    east, south = transform @ (width, height)
    to_deg = Transformer.from_crs(WEB_MERCATOR, "EPSG:4326", always_xy=True)
    lon_w, lat_s = to_deg.transform(west, south)
    lon_e, lat_n = to_deg.transform(east, north)
    return DisplayGrid(
        transform=transform,
        width=int(width),
        height=int(height),
        bounds=((round(lat_s, 7), round(lon_w, 7)), (round(lat_n, 7), round(lon_e, 7))),
        ground_cell=ground_cell,
    )


def warp_to_display(
    values: np.ndarray, grid: AreaGrid, display: DisplayGrid, resampling: Resampling,
    *, src_nodata: float | None = None, dst_nodata: float = 0,
) -> np.ndarray:
    """Reproject a ``(ny, nx)`` or ``(band, ny, nx)`` array from the area grid to ``display``."""
    values = np.ascontiguousarray(values)
    shape = (*values.shape[:-2], display.height, display.width)
    out = np.full(shape, dst_nodata, dtype=values.dtype)
    reproject(
        values, out,
        src_transform=grid.transform, src_crs=CRS.from_user_input(grid.crs), src_nodata=src_nodata,
        dst_transform=display.transform, dst_crs=WEB_MERCATOR, dst_nodata=dst_nodata,
        resampling=resampling,
    )
    return out


def risk_classes(probability: np.ndarray, level: np.ndarray, *,
                 probability_is_flag: bool = False) -> np.ndarray:
    """Risk class per cell: 0 negligible, 1 low (below yellow), 2–4 yellow/orange/red.

    With ``probability_is_flag``, ``probability`` is already the boolean "not negligible".
    """
    classes = np.where(level > 0, level.astype(np.uint8) + 1, 0).astype(np.uint8)
    above = probability if probability_is_flag else probability >= NEGLIGIBLE_PROBABILITY
    low = (level == 0) & above
    classes[low] = 1
    return classes


def block_max(values: np.ndarray, grid: AreaGrid, factor: int) -> tuple[np.ndarray, AreaGrid]:
    """The maximum over ``factor × factor`` blocks of the last two axes, and its grid
    (edges padded with 0)."""
    if factor <= 1:
        return values, grid
    *lead, ny, nx = values.shape
    by, bx = -(-ny // factor), -(-nx // factor)
    padded = np.zeros((*lead, by * factor, bx * factor), dtype=values.dtype)
    padded[..., :ny, :nx] = values
    # element-wise maxima of the strided views, along x then along y (a reduction over
    # short axes of a reshaped view is several times slower)
    across = padded[..., 0::factor].copy()
    for k in range(1, factor):
        np.maximum(across, padded[..., k::factor], out=across)
    out = across[..., 0::factor, :].copy()
    for k in range(1, factor):
        np.maximum(out, across[..., k::factor, :], out=out)
    return out, AreaGrid(grid.crs, grid.cell_size * factor, grid.x_min, grid.y_max, bx, by)


#: Whether each 8-bit code (0–255) is a probability above negligible (255 unknown: no).
_NOT_NEGLIGIBLE = np.nan_to_num(decode_fraction(np.arange(256, dtype=np.uint8)),
                                nan=-1.0) >= NEGLIGIBLE_PROBABILITY
#: Rows of the area the risk images are made from at a time (every lead, full width).
RISK_ROWS = 128


def coarse_risk_classes(forecast: xr.Dataset, grid: AreaGrid,
                        factor: int) -> tuple[np.ndarray, AreaGrid]:
    """Risk classes ``(lead, y, x)`` of the forecast, the maximum over blocks of
    ``factor × factor`` cells, and their grid.

    Read a strip of rows at a time with every lead (how the GeoTIFFs store the
    fractions: a tile holds every hour of its cells), as stored codes straight from the
    files when the forecast was opened from them (:func:`wetindex.forecast_io.read_codes`),
    so each stored tile is decompressed once or twice and memory is one strip of every
    lead, not one lead of the whole area.
    """
    step = factor * max(1, RISK_ROWS // factor)  # strips of whole blocks
    n_leads = forecast.sizes["lead"]
    by, bx = -(-grid.ny // factor), -(-grid.nx // factor)
    out = np.zeros((n_leads, by, bx), np.uint8)
    stored = bool(forecast["probability"].encoding.get("geotiff"))
    for y0 in range(0, grid.ny, step):
        part = forecast[["probability", "level"]].isel(y=slice(y0, y0 + step))
        if stored:  # the codes as written, classed by a table of the 256 codes
            level = read_codes(part, "level")
            classes = risk_classes(_NOT_NEGLIGIBLE[read_codes(part, "probability")], level,
                                   probability_is_flag=True)
        else:
            classes = risk_classes(np.asarray(part["probability"].values),
                                   np.asarray(part["level"].values))
        coarse, _ = block_max(classes, grid, factor)
        out[:, y0 // factor:y0 // factor + coarse.shape[1]] = coarse
    return out, AreaGrid(grid.crs, grid.cell_size * factor, grid.x_min, grid.y_max, bx, by)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def write_palette_png(
    classes: np.ndarray, colours: dict[int, tuple[str, float]], path: Path
) -> None:
    """Write a class array as an indexed PNG; class 0 and unknown classes are transparent."""
    n = max(colours) + 1
    palette: list[int] = []
    alpha = bytearray(n)
    for idx in range(n):
        colour, opacity = colours.get(idx, ("#000000", 0.0))
        palette.extend(_rgb(colour))
        alpha[idx] = round(opacity * 255)
    img = Image.fromarray(np.where(classes < n, classes, 0).astype(np.uint8), mode="P")
    img.putpalette(palette)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", optimize=True, transparency=bytes(alpha))


def hillshade(elevation: np.ndarray, cell_size: float, *, azimuth: float = 315.0,
              altitude: float = 45.0, z_factor: float = 3.0) -> np.ndarray:
    """Shaded relief 0–1 (light from the north-west); NaN where elevation is NaN.

    ``z_factor`` exaggerates the low Danish relief so dikes and hollows show.
    """
    z = np.asarray(elevation, dtype=np.float64) * z_factor
    d_row, d_col = np.gradient(z, cell_size)
    dz_east, dz_north = d_col, -d_row  # rows run southwards
    az, alt = math.radians(azimuth), math.radians(altitude)
    light = np.array([math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt), math.sin(alt)])
    norm = np.sqrt(dz_east**2 + dz_north**2 + 1.0)
    shade = (-dz_east * light[0] - dz_north * light[1] + light[2]) / norm
    return np.clip(shade, 0.0, 1.0)


def _hillshade_in_strips(z: np.ndarray, cell_size: float, rows: int = 512) -> np.ndarray:
    """:func:`hillshade` as float32 (NaN where ``z`` is NaN), made ``rows`` rows at a time.

    Each strip takes one row more on each side where there is one, so its central
    differences are the whole grid's: equal to ``hillshade(z)`` in one piece, with the
    float64 temporaries of a strip instead of the whole area (6 × 8 B a cell).
    """
    ny = z.shape[0]
    out = np.empty(z.shape, np.float32)
    for r0 in range(0, ny, rows):
        r1 = min(ny, r0 + rows)
        a, b = max(0, r0 - 1), min(ny, r1 + 1)
        shade = hillshade(z[a:b], cell_size)[r0 - a:r0 - a + (r1 - r0)]
        out[r0:r1] = shade
        out[r0:r1][~np.isfinite(z[r0:r1])] = np.nan
    return out


def write_hillshade_png(elevation: xr.DataArray, display: DisplayGrid, path: Path,
                        shrink: int = 2) -> None:
    """Hillshade of the terrain, reprojected and written as a grey PNG (the offline base
    map), ``shrink`` times coarser than the display grid."""
    grid = AreaGrid.from_dataarray(elevation)
    z = np.asarray(elevation.values, dtype=np.float64)
    if not np.isfinite(z).any():
        raise ValueError("elevation: every cell is NaN; pass the terrain model on the area grid")
    shade = _hillshade_in_strips(z, grid.cell_size)
    out = warp_to_display(shade, grid, display, Resampling.average,
                          src_nodata=np.nan, dst_nodata=np.nan)
    # Light grey around the shade of flat ground keeps risk colours readable on top;
    # the stretch makes the low Danish relief visible; steps of 4 compress well.
    flat = math.sin(math.radians(45.0))
    grey = np.clip(210 + (np.nan_to_num(out, nan=flat) - flat) * 400, 120, 250)
    grey = np.where(np.isfinite(out), np.round(grey / 4) * 4, 0)
    alpha = np.where(np.isfinite(out), 255, 0)
    img = Image.fromarray(np.stack([grey, alpha], axis=-1).astype(np.uint8), mode="LA")
    if shrink > 1:
        # Under the streets and houses of the base map the relief is only a backdrop:
        # half the resolution is a quarter of the bytes of the page's largest image.
        img = img.resize((max(1, img.width // shrink), max(1, img.height // shrink)),
                         Image.Resampling.BOX)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", optimize=True)


def _write_risk_images(forecast: xr.Dataset, display: DisplayGrid, release_dir: Path,
                       folder: str, risk_colours: dict) -> tuple[dict[int, str], str]:
    """The hourly risk images and the 48-h maximum; returns their paths (relative)."""
    fgrid = AreaGrid.from_dataarray(forecast["probability"])
    running_max = np.zeros((display.height, display.width), dtype=np.uint8)
    # whole cells of the area per display pixel (never more: max must not skip any)
    factor = max(1, int(display.ground_cell // fgrid.cell_size))
    # every lead at the display's scale (small), made strip by strip
    coarse_all, cgrid = coarse_risk_classes(forecast, fgrid, factor)
    hourly: dict[int, str] = {}
    # PNG encoding (zlib, outside the GIL) is most of the maps' time: two at once
    with ThreadPoolExecutor(2) as pngs:
        pending = []
        for i, lead in enumerate(forecast["lead"].values):
            # the blocks are the display's size: each pixel takes the block under it
            shown = warp_to_display(coarse_all[i], cgrid, display,
                                    Resampling.nearest if factor > 1 else Resampling.max)
            np.maximum(running_max, shown, out=running_max)
            rel = f"{folder}/risk_lead_{int(lead):02d}.png"
            pending.append(pngs.submit(write_palette_png, shown, risk_colours,
                                       release_dir / rel))
            hourly[int(lead)] = rel
        maximum = f"{folder}/risk_max_48h.png"
        write_palette_png(running_max, risk_colours, release_dir / maximum)
        for job in pending:
            job.result()  # raises what writing a PNG raised
    return hourly, maximum


def write_layer_images(
    release_dir: Path, *, elevation: xr.DataArray, forecast: xr.Dataset | None,
    observed_water: xr.DataArray | None, folder: str = "static/layers",
) -> LayerImages:
    """Write every map overlay under ``release_dir/folder``.

    Parameters
    ----------
    release_dir : Path
        Root of the site being built.
    elevation : xr.DataArray
        Terrain on the area grid; defines the display grid.
    forecast : xr.Dataset or None
        ``probability`` and ``level`` on ``("lead", "y", "x")``; None when there is no
        forecast (then no risk image is written).
    observed_water : xr.DataArray or None
        int8 1 water, 0 dry, -1 unknown.

    Returns
    -------
    LayerImages
    """
    grid = AreaGrid.from_dataarray(elevation)
    display = display_grid(grid)
    out = release_dir / folder
    write_hillshade_png(elevation, display, out / "hillshade.png")
    risk_colours = {k: (c, a) for k, (_, c, a) in RISK_CLASSES.items()}

    hourly: dict[int, str] = {}
    maximum = None
    if forecast is not None:
        hourly, maximum = _write_risk_images(forecast, display, release_dir, folder,
                                             risk_colours)

    water = None
    if observed_water is not None:
        wgrid = AreaGrid.from_dataarray(observed_water)
        w = np.asarray(observed_water.values)
        # 1 water, 2 unknown (cloud, no pass), 0 dry → transparent.
        wclass = np.select([w == 1, w < 0], [1, 2], 0).astype(np.uint8)
        shown_w = warp_to_display(wclass, wgrid, display, Resampling.mode)
        water = f"{folder}/observed_water.png"
        write_palette_png(shown_w, WATER_COLOURS, release_dir / water)

    return LayerImages(display=display, hillshade=f"{folder}/hillshade.png",
                       hourly=hourly, maximum=maximum, water=water)
