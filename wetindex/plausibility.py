"""Is an input what it says it is? Plausibility checks for every input family.

A file can be readable and still wrong: sea level in centimetres labelled metres
(266.8 "m"), a metre series labelled ``units: cm`` (a surge becomes 3 cm), terrain in
centimetres, a terrain of 3 × 3 pixels for a 10 m grid, every row twice (rain
doubled), 500 mm/h of rain, local clock times without an offset (a 1–2 h shift).
Each check here raises :class:`ImplausibleInput` naming the input, the value seen
and the fix; ``wetindex check`` and every run call them before any work is done
(:mod:`wetindex.sources.local` reads through them).

The bounds are physical, not statistical, so they hold for any area: hourly rain
above :data:`RAIN_MAX_MM_H` has never been measured; a coastal water level beyond
:data:`SEA_LEVEL_MAX_ABS_M` is not a Danish tide gauge in metres; a terrain whose
median slope is above :data:`TERRAIN_MAX_MEDIAN_SLOPE_DEG` is not a terrain model in
metres.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from wetindex.sources.base import InputMissingError

#: The largest hourly rain ever measured is ~305 mm in 42 min; 200 mm/h in Denmark is not rain.
RAIN_MAX_MM_H = 200.0
#: Reference evaporation is 0–10 mm/d; above this the file is not mm/d.
EVAPORATION_MAX_MM_D = 20.0
#: Sea level [m above datum]: the Danish record surge is ~4.3 m; beyond this it is not metres.
SEA_LEVEL_MAX_ABS_M = 10.0
#: A sea-level series labelled cm whose whole range is below this [m] was metres.
SEA_LEVEL_MIN_RANGE_M = 0.10
#: Terrain [m]: nothing on Earth is higher; a steeper median slope means it is not metres.
TERRAIN_MAX_M = 9000.0
TERRAIN_MAX_MEDIAN_SLOPE_DEG = 40.0
#: A terrain pixel more than this many grid cells wide is far coarser than the grid.
TERRAIN_MAX_PIXEL_CELLS = 10.0
#: Share of the area (inside the boundary) the terrain must cover.
TERRAIN_MIN_COVERAGE = 0.95
#: Cells one machine handles (a 900 km² municipality at 10 m is ~10 million).
MAX_CELLS = 25_000_000


class ImplausibleInput(InputMissingError):
    """An input that is readable but cannot be what it says; names the value and the fix."""

    def __init__(self, name: str, detail: str):
        super().__init__(name, detail)
        self.args = (f"input '{name}' is implausible: {detail}",)

    def __str__(self) -> str:
        return self.args[0]


# --------------------------------------------------------------------------- size

def check_grid_size(nx: int, ny: int, cell_size: float, max_cells: int = MAX_CELLS) -> None:
    """Refuse a grid too large for one machine before any array is allocated."""
    cells = int(nx) * int(ny)
    if cells <= max_cells:
        return
    factor = math.ceil(math.sqrt(cells / max_cells) * cell_size)
    raise ImplausibleInput(
        "grid", f"{nx} × {ny} = {cells:,} cells of {cell_size:g} m, more than the "
        f"{max_cells:,} one machine handles (~{cells * 4 * 20 / 1e9:.0f} GB for the static "
        f"features); rerun 'wetindex init' with --cell-size {factor} or larger, or split the "
        "area into municipalities")


# --------------------------------------------------------------------------- times

_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def parse_times(raw: pd.Series, name: str, path: Path, timezone: str | None = None
                ) -> pd.DatetimeIndex:
    """UTC times (tz-naive) from a CSV ``time`` column.

    A time without an offset (``2025-03-01 00:00``) is an error unless ``timezone``
    (``inputs.<name>.timezone``) names the zone the clock times are in.
    """
    text = raw.astype(str).str.strip()
    naive = ~text.str.contains(_OFFSET, regex=True)
    if naive.any() and timezone is None:
        first = text[naive].iloc[0]
        raise ImplausibleInput(name, (
            f"{path}: {int(naive.sum())} time(s) without a UTC offset, e.g. {first!r}; a "
            "local clock time is off by 1–2 h. Write times in UTC with 'Z' "
            "(2025-03-01T00:00Z) or name their zone: inputs." + name +
            ".timezone: Europe/Copenhagen"))
    try:
        if naive.all():
            local = pd.to_datetime(text, utc=False)
            times = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
            if times.isna().any():
                bad = text[times.isna()].iloc[0]
                raise ImplausibleInput(name, (
                    f"{path}: time {bad!r} is ambiguous or does not exist in {timezone} "
                    "(a daylight-saving change); give the times in UTC"))
            times = times.dt.tz_convert("UTC")
        else:
            times = pd.to_datetime(text, utc=True, format="mixed")
    except (ValueError, TypeError) as err:
        raise ImplausibleInput(name, f"{path}: times not understood ({err}); write ISO "
                                     "times in UTC, e.g. 2025-03-01T00:00Z") from None
    return pd.DatetimeIndex(times.dt.tz_localize(None))


def check_duplicates(index: pd.DatetimeIndex, name: str, path: Path) -> None:
    """Refuse a series with a time given more than once (summing it would double it)."""
    dup = index.duplicated()
    if dup.any():
        raise ImplausibleInput(name, (
            f"{path}: {int(dup.sum())} time(s) appear more than once, first "
            f"{index[dup][0].isoformat()}; remove the repeated rows (each time once)"))


# --------------------------------------------------------------------------- values

def check_series(series: pd.Series, name: str, path: Path, units: str | None) -> None:
    """Bounds of an hourly series in canonical units (rain mm/h, sea level m, evaporation mm/d)."""
    values = series.dropna().to_numpy(dtype="float64")
    if values.size == 0:
        return
    where = f"inputs.{name}"
    if name == "rain":
        low, high = values.min(), values.max()
        if low < 0:
            t = series.idxmin()
            raise ImplausibleInput(name, f"{path}: {low:g} mm/h at {t} (negative); rain is "
                                         f"never negative: fix the file or its trace codes")
        if high > RAIN_MAX_MM_H:
            t = series.idxmax()
            raise ImplausibleInput(name, (
                f"{path}: {high:g} mm/h at {t}, above the {RAIN_MAX_MM_H:g} mm/h no rain gauge "
                f"has recorded; the file is not hourly rain in mm/h (accumulated totals? "
                f"0.1 mm units?): convert it, or set {where}.units"))
    elif name == "sea_level":
        extreme = float(np.nanmax(np.abs(values)))
        if extreme > SEA_LEVEL_MAX_ABS_M:
            t = series.abs().idxmax()
            raise ImplausibleInput(name, (
                f"{path}: {series[t]:g} m at {t}; no tide gauge reads that in metres: the "
                f"values look like centimetres; set {where}.units: cm"))
        spread = float(np.nanmax(values) - np.nanmin(values))
        if units in ("cm", "mm") and values.size >= 24 * 7 and spread < SEA_LEVEL_MIN_RANGE_M:
            raise ImplausibleInput(name, (
                f"{path}: with units {units} the whole series spans only {spread * 100:.1f} cm "
                f"over {values.size} hours; the values look like metres: remove "
                f"{where}.units (or set it to m)"))
    elif name == "evaporation":
        low, high = values.min(), values.max()
        if low < -1.0 or high > EVAPORATION_MAX_MM_D:
            bad = low if low < -1.0 else high
            raise ImplausibleInput(name, (
                f"{path}: {bad:g} mm/d; reference evaporation lies between 0 and "
                f"{EVAPORATION_MAX_MM_D:g} mm/d: convert the file to mm/d or set {where}.units"))


def check_terrain_raster(raw, grid, path: Path) -> None:
    """Resolution of the terrain file against the grid (before it is resampled)."""
    res_x, res_y = (abs(float(r)) for r in raw.rio.resolution())
    crs = raw.rio.crs
    if crs is not None and crs.is_geographic:  # degrees → metres, roughly
        res_x, res_y = res_x * 111_000 * 0.6, res_y * 111_000
    pixel = max(res_x, res_y)
    if pixel > TERRAIN_MAX_PIXEL_CELLS * grid.cell_size:
        raise ImplausibleInput("terrain", (
            f"{path}: pixels of {pixel:,.0f} m ({raw.sizes.get('x', '?')} × "
            f"{raw.sizes.get('y', '?')} pixels) for a {grid.cell_size:g} m grid; depressions, "
            "dikes and streams vanish at that resolution: give a terrain model at "
            f"{grid.cell_size * TERRAIN_MAX_PIXEL_CELLS:g} m or finer (e.g. DHM/Terræn 0.4 m "
            "or 10 m), or a coarser --cell-size"))


def check_terrain_values(z: np.ndarray, inside: np.ndarray, cell_size: float,
                         path: Path) -> None:
    """Coverage and units of the terrain resampled onto the grid (``z`` [m], NaN = no data)."""
    covered = float(np.isfinite(z[inside]).mean()) if inside.any() else 0.0
    if covered < TERRAIN_MIN_COVERAGE:
        raise ImplausibleInput("terrain", (
            f"{path}: covers {covered:.0%} of the area inside the boundary, so the file does "
            f"not cover the boundary (a forecast needs at least {TERRAIN_MIN_COVERAGE:.0%}): "
            "give a terrain file that covers the whole boundary"))
    values = z[inside & np.isfinite(z)]
    if values.size == 0:
        return
    top = float(values.max())
    gy, gx = np.gradient(np.where(np.isfinite(z), z, np.nanmedian(values)), cell_size)
    slope = np.degrees(np.arctan(np.hypot(gx, gy)))[inside & np.isfinite(z)]
    median_slope = float(np.median(slope))
    if top > TERRAIN_MAX_M or median_slope > TERRAIN_MAX_MEDIAN_SLOPE_DEG:
        raise ImplausibleInput("terrain", (
            f"{path}: heights up to {top:,.1f} and a median slope of {median_slope:.0f}° "
            "between cells; terrain in metres is not that steep: the values look like "
            "centimetres (or millimetres): set inputs.terrain.units: cm"))
