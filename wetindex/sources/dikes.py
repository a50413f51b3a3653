"""Dike lines as agencies publish them: a crest attribute of any name, snapped, checked.

The crest height [m] is read from the attribute named by ``inputs.dikes.variable``
(e.g. ``KOTE`` or ``kronekote``); without one, a few usual names are tried
(:data:`CREST_NAMES`). A named attribute that is missing, or none of the usual ones
present, is an error that lists the attributes the file has. ``variable: terrain``
takes each line's crest from the terrain (its highest cell under the line), said in
``check``. ``units: cm`` converts a crest in centimetres.

The lines are burnt into the grid (every cell a line touches). Pieces whose ends lie
at most :data:`SNAP_CELLS` cells apart are joined (the lower crest of the two on the
joining cells): a line digitised in sections must not leave a hole a cell wide. Wider
openings up to :data:`GAP_SEARCH_CELLS` cells are reported as gaps, with where they are
and how low the ground in them is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from rasterio.features import rasterize
from scipy import ndimage
from scipy.spatial import cKDTree

from wetindex.config import LocalInput
from wetindex.grid import AreaGrid
from wetindex.sources.base import InputMissingError
from wetindex.sources.water_layers import read_vector

#: Crest attribute names tried when the config names none (case-insensitive).
CREST_NAMES = ("crest_m", "crest", "crest_height", "kronekote", "kote", "kote_m", "z_crest",
               "height", "hoejde", "højde")
#: ``variable`` value that takes the crest from the terrain under the line.
FROM_TERRAIN = "terrain"
#: pieces this many cells apart or closer are joined; wider openings are gaps
SNAP_CELLS = 2
#: openings wider than this are separate dikes, not gaps
GAP_SEARCH_CELLS = 20
UNIT_FACTORS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
#: a crest above this [m above the datum] is a unit mistake (the highest Danish dikes ~ 9 m)
CREST_MAX_M = 30.0


@dataclass
class DikeLayer:
    """Dikes on the grid: crest [m] on dike cells (NaN elsewhere) and what was found."""

    crest: np.ndarray
    length_km: float = 0.0
    n_lines: int = 0
    attribute: str = ""
    joined: int = 0
    gaps: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        if self.n_lines == 0:
            return ["dikes: none given"]
        cells = int(np.isfinite(self.crest).sum())
        crest = self.crest[np.isfinite(self.crest)]
        head = (f"dikes: {self.n_lines} line(s), {self.length_km:.2f} km, {cells} cells, crest "
                f"{crest.min():.2f}–{crest.max():.2f} m from {self.attribute}"
                if cells else f"dikes: {self.n_lines} line(s) but none on the grid")
        if self.joined:
            head += f"; {self.joined} opening(s) of ≤ {SNAP_CELLS} cells joined"
        return [head]


def crest_attribute(columns: list[str], spec: LocalInput, path: Path) -> str:
    """The attribute holding the crest height, or :data:`FROM_TERRAIN`."""
    found = [c for c in columns if c != "geometry"]
    if spec.variable is not None:
        if spec.variable == FROM_TERRAIN or spec.variable in found:
            return spec.variable
        raise InputMissingError("dikes", f"{path}: no attribute {spec.variable!r} for the crest "
                                         f"height; the file has {found or 'no attributes'}; set "
                                         "inputs.dikes.variable to the crest attribute")
    lower = {c.lower(): c for c in found}
    for name in CREST_NAMES:
        if name in lower:
            return lower[name]
    raise InputMissingError("dikes", f"{path}: which attribute is the crest height [m]? The file "
                                     f"has {found or 'no attributes'}; set "
                                     "inputs.dikes.variable: NAME (or 'terrain' to take the "
                                     "crest from the terrain under the line)")


def read_dikes(path: Path, spec: LocalInput, grid: AreaGrid, z: np.ndarray) -> DikeLayer:
    """Dike lines → crest grid, joined where pieces nearly touch, gaps found."""
    frame = read_vector("dikes", path, grid)
    attribute = crest_attribute(list(frame.columns), spec, path)
    if (spec.units or "m") not in UNIT_FACTORS:
        raise InputMissingError("dikes", f"{path}: units {spec.units!r} not understood; use one "
                                         f"of {sorted(UNIT_FACTORS)}")
    factor = UNIT_FACTORS[spec.units or "m"]
    crest = np.full(grid.shape, np.nan, "float32")
    box = shapely.box(*grid.bounds)
    length = 0.0
    for i, geom in enumerate(frame.geometry):
        if geom is None or geom.is_empty:
            continue
        cells = rasterize([(geom, 1)], out_shape=grid.shape, transform=grid.transform,
                          all_touched=True).astype(bool)
        if not cells.any():
            continue
        length += geom.intersection(box).length
        if attribute == FROM_TERRAIN:
            height = float(np.nanmax(np.where(cells, z, np.nan)))
        else:
            value = frame[attribute].iloc[i]
            try:
                height = float(value) * factor
            except (TypeError, ValueError):
                height = np.nan
            if not np.isfinite(height):
                raise InputMissingError("dikes", f"{path}: line {i} has no crest height in "
                                                 f"{attribute!r} ({value!r}); fill it in")
        if height > CREST_MAX_M:
            raise InputMissingError("dikes", f"{path}: line {i} has a crest of {height:g} m in "
                                             f"{attribute!r}; no dike is that high: the values "
                                             "look like centimetres — set inputs.dikes.units: cm")
        crest[cells] = np.fmax(crest[cells], height)
    layer = DikeLayer(crest, length / 1000.0, len(frame), attribute)
    _join_and_find_gaps(layer, z, grid.cell_size)
    return layer


def _join_and_find_gaps(layer: DikeLayer, z: np.ndarray, cell_size: float) -> None:
    """Join pieces ≤ SNAP_CELLS apart; report openings up to GAP_SEARCH_CELLS as gaps."""
    dike = np.isfinite(layer.crest)
    labels, n = ndimage.label(dike, structure=np.ones((3, 3)))
    if n < 2:
        return

    pieces = [np.argwhere(labels == k) for k in range(1, n + 1)]
    trees = [cKDTree(p) for p in pieces]
    for a in range(n):
        for b in range(a + 1, n):
            pa, pb = pieces[a], pieces[b]
            dist, idx = trees[b].query(pa, distance_upper_bound=GAP_SEARCH_CELLS + 2)
            i = int(np.argmin(dist))
            if not np.isfinite(dist[i]):
                continue  # separate dikes
            j = int(idx[i])
            # cells strictly between the two nearest cells (the opening)
            steps = int(np.ceil(dist[i])) + 1
            rows = np.rint(np.linspace(pa[i, 0], pb[j, 0], steps)).astype(int)
            cols = np.rint(np.linspace(pa[i, 1], pb[j, 1], steps)).astype(int)
            between = ~dike[rows, cols]
            width = int(between.sum())
            if width == 0:
                continue
            if width <= SNAP_CELLS:
                low = min(layer.crest[tuple(pa[i])], layer.crest[tuple(pb[j])])
                layer.crest[rows[between], cols[between]] = np.fmax(
                    layer.crest[rows[between], cols[between]], low)
                layer.joined += 1
            elif width <= GAP_SEARCH_CELLS:
                ground = np.nanmin(z[rows[between], cols[between]])
                low = min(layer.crest[tuple(pa[i])], layer.crest[tuple(pb[j])])
                if ground >= low:
                    continue  # high ground between two dikes holds the sea: not a gap
                layer.gaps.append(
                    f"dikes: a gap of {width * cell_size:.0f} m ({width} cells) between two "
                    f"dike pieces at row {rows[between][0]}, col {cols[between][0]}, ground down "
                    f"to {ground:.2f} m; the sea passes there unless the terrain holds it — "
                    "close the line in the dike file if the dike is continuous")
