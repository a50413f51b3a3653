"""The demo world's landscape: a coast near Jammerbugt, built from a seed.

Everything is laid out in fractions of the area's side so a small test world has the
same features as the full 10 × 10 km one, only squeezed. From north to south:

* **sea** (code 1), seabed falling from -0.6 m to about -6.5 m;
* a **beach** (2) from 0.45 m (above the normal high tide) to ~1.65 m;
* **dunes** (2), 5–12 m high, except in the dike section (``u`` 0.40–0.68 of the width);
* in the dike section a salt-meadow foreshore at ~1.3 m (the **dike toe**), the
  **dike** "Nordre Dige" (crest 2.55–2.9 m, lowest in a weak section) and behind it the
  **polder** at 0.3–1.6 m, partly below the normal high sea level (~0.3 m), with
  summer houses (3) in its west and farmland (4) in its east; higher ground (≥ crest
  + 0.4 m) closes it on the other three sides, so the dike alone holds back the sea;
* a **stream** "Lilleå" (9) in a valley with a flat floodplain meadow (5), flowing
  north to the sea east of the polder through a gap in the dunes;
* a **lake** "Søndersø" (8), a **town** "Vesterby" (7), summer houses "Klitrosen" (3)
  behind the western dunes, **hills** "Bakkerne" to the south with forest (6);
* closed depressions (bluespots) from carved pits of 0.2–1.5 m and from the
  small-scale roughness of the terrain.

Heights are metres above DVR90; ``x`` grows eastwards and row 0 is the north edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
import xarray as xr
from scipy.ndimage import gaussian_filter1d
from shapely.geometry import LineString, Polygon

from wetindex.grid import AreaGrid

#: Land-cover codes and their meanings (the ``flag_values``/``flag_meanings`` attrs).
LAND_COVER: dict[int, str] = {
    1: "sea",
    2: "beach_dune",
    3: "summer_houses",
    4: "farmland",
    5: "grassland_meadow",
    6: "forest",
    7: "town",
    8: "lake",
    9: "stream",
}

#: Named places: (name, kind, u0, u1, v0, v1) boxes in fractions of the area (u east,
#: v south from the north edge). They partition the whole area, sea included.
PLACE_BOXES: tuple[tuple[str, str, float, float, float, float], ...] = (
    ("Sommerhusområdet Klitrosen", "summer_houses", 0.0, 0.38, 0.0, 0.30),
    ("Polderen bag Nordre Dige", "polder", 0.38, 0.70, 0.0, 0.40),
    ("Engene ved Lilleå", "floodplain", 0.70, 0.90, 0.0, 1.0),
    ("Klitplantagen Øst", "forest", 0.90, 1.0, 0.0, 1.0),
    ("Byen Vesterby", "town", 0.0, 0.38, 0.30, 0.60),
    ("Markerne ved Nørholm", "farmland", 0.38, 0.70, 0.40, 0.60),
    ("Søndersø", "lake", 0.0, 0.40, 0.60, 1.0),
    ("Bakkerne", "hills", 0.40, 0.70, 0.60, 1.0),
)

POLDER_U = (0.40, 0.68)  # west/east ends of the dike section (fractions of the width)
DIKE_WEAK_U = 0.55  # centre of the dike's lowest section


@dataclass(frozen=True)
class Place:
    """A named area used in warnings. ``geometry`` is a Polygon in the grid CRS."""

    name: str
    kind: str
    geometry: Polygon


@dataclass
class Landscape:
    """What :func:`synthesize_landscape` builds (before any hydrology)."""

    grid: AreaGrid
    static: xr.Dataset
    places: list[Place]
    place_index: np.ndarray  # (ny, nx) int8 index into ``places``
    dike_line: LineString
    dike_crest_min: float
    polder_design: np.ndarray  # (ny, nx) bool: the low land the dike was built to protect


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def fractal_noise(
    rng: np.random.Generator, shape: tuple[int, int], cell: float, min_wl: float, max_wl: float
) -> np.ndarray:
    """Unit-variance Gaussian noise with wavelengths between ``min_wl`` and ``max_wl`` metres.

    A red (k⁻¹·⁵ amplitude) spectrum filtered in the Fourier domain: cheap on 1000² cells.
    """
    white = rng.standard_normal(shape).astype(np.float32)
    ky = np.fft.fftfreq(shape[0], d=cell)[:, None]
    kx = np.fft.rfftfreq(shape[1], d=cell)[None, :]
    k = np.sqrt(kx * kx + ky * ky)
    band = (k >= 1.0 / max_wl) & (k <= 1.0 / min_wl)
    amp = np.where(band, np.power(np.maximum(k, 1e-12), -1.5), 0.0)
    field = np.fft.irfft2(np.fft.rfft2(white) * amp, s=shape).astype(np.float32)
    std = float(field.std())
    return field / std if std > 0 else field


def _noise_1d(rng: np.random.Generator, n: int, smooth_cells: float) -> np.ndarray:
    """Smooth unit-variance 1-D noise (for wavy lines such as the coastline)."""
    z = gaussian_filter1d(rng.standard_normal(n + 64), max(smooth_cells, 1.0), mode="wrap")[32:-32]
    return z / max(float(z.std()), 1e-9)


def synthesize_landscape(grid: AreaGrid, seed: int) -> Landscape:
    """Build the elevation, land cover, water masks, dike and places of the demo area.

    Parameters
    ----------
    grid : AreaGrid
        The area grid (square areas look best; any size ≥ 60 × 60 cells works).
    seed : int
        Seed of all random choices: same seed, identical arrays.
    """
    if min(grid.nx, grid.ny) < 60:
        raise ValueError(
            f"demo world grid {grid.ny}×{grid.nx} is too small: use at least 60 × 60 cells "
            "(size_m / cell_size >= 60)"
        )
    rng = np.random.default_rng([seed, 1])
    ny, nx, cs = grid.ny, grid.nx, grid.cell_size
    lx, ly = nx * cs, ny * cs
    u = ((np.arange(nx) + 0.5) / nx)[None, :]
    v = ((np.arange(ny) + 0.5) / ny)[:, None]
    big = fractal_noise(rng, (ny, nx), cs, min(600.0, lx / 4), max(3000.0, lx / 2))
    mid = fractal_noise(rng, (ny, nx), cs, 60.0, 600.0)
    small = fractal_noise(rng, (ny, nx), cs, 2.5 * cs, 60.0)

    # --- coastline and the coastal band --------------------------------------------------
    coast_v = 0.10 + 0.012 * np.sin(2 * np.pi * (1.3 * u + rng.uniform())) + 0.004 * _noise_1d(
        rng, nx, nx / 30
    )[None, :]
    d_in = (v - coast_v) * ly  # metres inland of the coastline (negative: sea)
    beach_w = max(40.0, 3 * cs)
    dune_w = max(250.0, 8 * cs)
    fore_w = max(60.0, 4 * cs)
    dike_half_crest = max(1.25 * cs, 4.0)
    dike_c = beach_w + fore_w + dike_half_crest + 8 * max(cs, 3.0) / 3  # crest centre, m inland

    pw = _smoothstep((u - (POLDER_U[0] - 0.03)) / 0.03) * _smoothstep(
        ((POLDER_U[1] + 0.03) - u) / 0.03
    )  # 1 in the dike section, 0 in the dune sections
    crest = (
        2.82
        + 0.05 * _noise_1d(rng, nx, nx / 40)[None, :]
        - 0.27 * np.exp(-(((u - DIKE_WEAK_U) / 0.035) ** 2))
    )
    in_section = (u >= POLDER_U[0] + 0.01) & (u <= POLDER_U[1] - 0.01)
    dike_crest_min = float(np.min(np.where(in_section, crest, np.inf)))

    # regional land surface: low behind the coast, rising into hills in the south
    h_reg = (
        3.6
        + 24.0 * _smoothstep((v - 0.35) / 0.6)
        + big * (0.5 + 5.0 * _smoothstep((v - 0.3) / 0.5))
        + 0.45 * mid
        + 0.06 * small
    )
    h_reg = np.maximum(h_reg, 3.2 + 0.3 * mid)

    # dunes: a noisy ridge behind the beach
    dune_h = np.clip(7.5 + 2.5 * big + 1.2 * mid + 0.3 * small, 4.5, 13.0)
    t = np.clip((d_in - beach_w) / dune_w, 0.0, 1.0)
    dune = 1.65 + dune_h * np.sin(np.pi * t) ** 0.7
    h_dunes = np.maximum(h_reg * _smoothstep(t * 1.5), dune)

    # dike section: foreshore, dike, polder
    fore = 1.3 + 0.08 * mid
    dist_c = np.abs(d_in - dike_c)
    dike = np.where(dist_c <= dike_half_crest, crest, crest - (dist_c - dike_half_crest) * 0.35)
    v_polder_s = 0.37 + 0.025 * _noise_1d(rng, nx, nx / 12)[None, :]
    pv = _smoothstep((v_polder_s + 0.03 - v) / 0.04)
    polder_h = np.clip(0.55 + 0.35 * big + 0.12 * mid + 0.03 * small, 0.3, 1.5)
    polder_h = polder_h + 2.0 * _smoothstep((v - (v_polder_s - 0.04)) / 0.06)
    w_in = pw * pv
    inland = w_in * polder_h + (1 - w_in) * h_reg
    h_dike = np.where(d_in < dike_c, fore, inland)
    h_dike = np.maximum(h_dike, dike)
    h = np.where(d_in < beach_w, 0.0, pw * h_dike + (1 - pw) * h_dunes)
    beach = 0.45 + 1.2 * np.clip(d_in / beach_w, 0, 1) + 0.05 * small
    h = np.where(d_in < beach_w, beach, h)
    polder_design = (w_in > 0.5) & (d_in > dike_c + dike_half_crest) & (h < 2.0)
    # close the polder to the west, south and east: only the dike may hold back the sea
    ring = (u > POLDER_U[0] - 0.05) & (u < POLDER_U[1] + 0.05) & (v < v_polder_s + 0.07)
    ring &= (w_in < 0.05) & (d_in > dike_c)
    h = np.where(ring, np.maximum(h, dike_crest_min + 0.45), h)
    sea = d_in < 0
    h = np.where(sea, -0.6 - 6.0 * (1 - np.exp(d_in / 400.0)), h)

    # --- stream valley, floodplain and channel ---------------------------------------------
    phase = rng.uniform(0, 2 * np.pi, 2)
    u_s = 0.80 + 0.022 * np.sin(2 * np.pi * 2.1 * v + phase[0]) + 0.008 * np.sin(
        2 * np.pi * 5.3 * v + phase[1]
    )
    dist_s = np.abs(u - u_s) * lx
    fp_w = (0.012 + 0.018 * (1 - v)) * lx  # floodplain half-width, widest at the mouth
    fp_w = np.maximum(fp_w, 4 * cs)
    h_fp = 0.95 + 9.0 * np.clip(v - coast_v, 0, None) ** 1.2
    valley = h_fp + 0.35 * (dist_s / fp_w) ** 2 + 0.06 * small
    valley = np.where(dist_s > fp_w, h_fp + 0.35 + 0.06 * (dist_s - fp_w), valley)
    land = ~sea
    h = np.where(land & (d_in > beach_w * 0.5), np.minimum(h, valley), h)
    floodplain = land & (dist_s <= fp_w) & (d_in > 0)
    chan_half = max(0.75 * cs, 5.0)
    stream = land & (dist_s <= chan_half) & (v < 0.97)
    h = np.where(stream, h_fp - 1.0, h)

    # --- lake ------------------------------------------------------------------------------
    lake_u, lake_v = 0.21, 0.78
    r_lake = 0.035 * lx
    ang = np.arctan2((v - lake_v) * ly, (u - lake_u) * lx)
    dist_l = np.hypot((u - lake_u) * lx, (v - lake_v) * ly) / (
        1 + 0.15 * np.sin(3 * ang + phase[0]) + 0.08 * np.cos(5 * ang)
    )
    near = dist_l < 1.5 * r_lake
    lake_level = float(np.percentile(h[near], 10)) - 0.4
    h = np.where(dist_l < 2.5 * r_lake, np.minimum(h, lake_level + 0.02 * (dist_l - r_lake)), h)
    lake = dist_l < r_lake
    h = np.where(lake, lake_level, h)

    # --- town ------------------------------------------------------------------------------
    town_d = np.hypot((u - 0.19) / 0.13, (v - 0.44) / 0.085) * (1 + 0.12 * mid)
    town = land & (town_d < 1.0) & ~lake & ~stream

    # --- carved depressions (bluespots) ---------------------------------------------------
    h = np.asarray(h, dtype=np.float64)
    free = land & ~stream & ~lake & (d_in > dike_c + 3 * dike_half_crest) & ~floodplain
    n_pits = round(4.0 * lx * ly / 1e6) + 12
    cand = np.flatnonzero(free.ravel())
    picks = rng.choice(cand, size=min(n_pits, cand.size), replace=False)
    depths = np.clip(rng.lognormal(np.log(0.45), 0.6, picks.size), 0.15, 1.6)
    radii = np.clip(rng.lognormal(np.log(35.0), 0.55, picks.size), 1.6 * cs, 150.0)
    for idx, dep, rad in zip(picks, depths, radii, strict=True):
        r0, c0 = divmod(int(idx), nx)
        w = int(np.ceil(2.5 * rad / cs))
        rs, re = max(r0 - w, 0), min(r0 + w + 1, ny)
        cs_, ce = max(c0 - w, 0), min(c0 + w + 1, nx)
        rr = (np.arange(rs, re)[:, None] - r0) * cs
        cc = (np.arange(cs_, ce)[None, :] - c0) * cs
        bowl = dep * np.exp(-(rr * rr + cc * cc) / (rad * rad))
        window = free[rs:re, cs_:ce]
        h[rs:re, cs_:ce] -= np.where(window, bowl, 0.0)

    # --- land cover --------------------------------------------------------------------------
    lc = np.full((ny, nx), 4, dtype=np.int8)  # farmland by default
    hills = (v > 0.58) & (big > 0.25)
    lc[hills] = 6
    lc[(u > 0.88) & (d_in > beach_w) & (v < 0.45)] = 6  # dune plantation east of the stream
    lc[(u < POLDER_U[0] - 0.02) & (v < 0.30) & (d_in > beach_w + 0.6 * dune_w)] = 3
    lc[polder_design & (u < 0.50)] = 3
    lc[(pw > 0.5) & (d_in >= beach_w) & ~polder_design & (d_in < dike_c + 3 * dike_half_crest)] = 5
    lc[floodplain] = 5
    lc[(d_in >= 0) & (d_in < beach_w)] = 2
    dunes = (d_in >= beach_w) & (d_in < beach_w + dune_w) & (pw < 0.5)
    lc[dunes & (lc != 6)] = 2
    lc[town] = 7
    lc[lake] = 8
    lc[stream] = 9
    lc[sea] = 1

    # --- dike crest, line and places -------------------------------------------------------
    crest_cells = (dist_c <= dike_half_crest) & (pw > 0.5) & (np.abs(h - crest) < 1e-6)
    dike_crest = np.where(crest_cells, np.broadcast_to(crest, (ny, nx)), np.nan)
    cols = np.flatnonzero(in_section[0] | (pw[0] > 0.5))
    xs = grid.x[cols]
    ys = grid.y_max - (coast_v[0, cols] * ly + dike_c)
    dike_line = LineString(np.column_stack([xs, ys]))

    places, place_index = _places(grid)
    static = _static_dataset(grid, h, lc, sea, stream, lake, dike_crest, dike_crest_min)
    return Landscape(
        grid=grid,
        static=static,
        places=places,
        place_index=place_index,
        dike_line=dike_line,
        dike_crest_min=dike_crest_min,
        polder_design=np.asarray(polder_design),
    )


def _places(grid: AreaGrid) -> tuple[list[Place], np.ndarray]:
    lx, ly = grid.nx * grid.cell_size, grid.ny * grid.cell_size
    u = (np.arange(grid.nx) + 0.5) / grid.nx
    v = (np.arange(grid.ny) + 0.5) / grid.ny
    index = np.full(grid.shape, -1, dtype=np.int8)
    places = []
    for i, (name, kind, u0, u1, v0, v1) in enumerate(PLACE_BOXES):
        box = shapely.box(
            grid.x_min + u0 * lx, grid.y_max - v1 * ly, grid.x_min + u1 * lx, grid.y_max - v0 * ly
        )
        places.append(Place(name=name, kind=kind, geometry=box))
        rows = (v >= v0) & (v < v1)
        cols = (u >= u0) & (u < u1)
        index[np.ix_(rows, cols)] = i
    return places, index


def _static_dataset(
    grid: AreaGrid,
    h: np.ndarray,
    lc: np.ndarray,
    sea: np.ndarray,
    stream: np.ndarray,
    lake: np.ndarray,
    dike_crest: np.ndarray,
    dike_crest_min: float,
) -> xr.Dataset:
    sea = np.broadcast_to(sea, grid.shape)
    codes = sorted(LAND_COVER)
    ds = xr.Dataset(
        {
            "elevation": grid.data_array(
                h.astype(np.float32), "elevation", "m", long_name="terrain height above DVR90"
            ),
            "land_cover": grid.data_array(
                lc,
                "land_cover",
                flag_values=np.array(codes, dtype=np.int8),
                flag_meanings=" ".join(LAND_COVER[c] for c in codes),
            ),
            "sea": grid.data_array(np.array(sea), "sea"),
            "stream": grid.data_array(np.array(stream), "stream"),
            "lake": grid.data_array(np.array(lake), "lake"),
            "permanent_water": grid.data_array(np.array(sea | stream | lake), "permanent_water"),
            "dike_crest": grid.data_array(
                dike_crest.astype(np.float32),
                "dike_crest",
                "m",
                long_name="dike crest height above DVR90 (NaN off the dike)",
                dike_name="Nordre Dige",
                lowest_crest=dike_crest_min,
            ),
        }
    )
    return ds
