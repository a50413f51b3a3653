"""Numba kernels for the local and per-region terrain features.

Distance, slope and wetness index, bluespot bookkeeping, and the dike scenario
(lowering dikes and updating sea-flood levels behind them). Private to
:mod:`wetindex.features.terrain`; routing kernels are in :mod:`._flow`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from wetindex.features._flow import (
    _DC,
    _DR,
    _item,
    _offsets,
    _pad,
    _pheap_pop,
    _pheap_push,
    _sortable,
    _unpad,
)


@njit(cache=True, nogil=True)
def lower_barrier(elev, ncol, barrier):
    """Elevation with barrier cells lowered to their lowest non-barrier neighbour.

    Barrier cells with no non-barrier neighbour (inside a wide dike) take the lowest
    value of already-lowered neighbours, working inwards breadth-first. A cell is never
    raised: the result is ``min(own elevation, lowest neighbour found)``.
    """
    n = elev.size
    nrow = n // ncol
    out = elev.copy()
    done = ~barrier
    pending = np.flatnonzero(barrier)
    while pending.size > 0:
        # one round: cells next to cells settled in earlier rounds
        vals = np.empty(pending.size, dtype=elev.dtype)
        found = np.zeros(pending.size, dtype=np.bool_)
        for j in range(pending.size):
            i = pending[j]
            r0 = i // ncol
            c0 = i - r0 * ncol
            low = np.inf
            for k in range(8):
                r = r0 + _DR[k]
                cc = c0 + _DC[k]
                if r < 0 or r >= nrow or cc < 0 or cc >= ncol:
                    continue
                nb = r * ncol + cc
                if done[nb] and out[nb] < low:
                    low = out[nb]
            if low < np.inf:
                found[j] = True
                vals[j] = low if np.isnan(elev[i]) else min(elev[i], low)
        if not found.any():
            break  # barrier cells with no valid neighbour at all keep their elevation
        for j in range(pending.size):
            if found[j]:
                out[pending[j]] = vals[j]
                done[pending[j]] = True
        pending = pending[~found]
    return out


@njit(cache=True, nogil=True)
def euclidean_distance(mask, cell_size):
    """Exact Euclidean distance [m] to the nearest True cell (Felzenszwalb & Huttenlocher).

    Two separable passes: cell distance to the nearest True cell within each column, then
    the lower envelope of parabolas along each row. ``mask`` must have a True cell.
    """
    nrow, ncol = mask.shape
    big = np.float64(nrow + ncol) ** 2
    inf = np.inf
    # column pass as row sweeps (row-major friendly): cells to the nearest True cell
    # above, then below, in the same column
    g = np.empty((nrow, ncol), dtype=np.float64)
    for c in range(ncol):
        g[0, c] = 0.0 if mask[0, c] else inf
    for r in range(1, nrow):
        for c in range(ncol):
            g[r, c] = 0.0 if mask[r, c] else g[r - 1, c] + 1.0
    for r in range(nrow - 2, -1, -1):
        for c in range(ncol):
            below = g[r + 1, c] + 1.0
            if below < g[r, c]:
                g[r, c] = below
    out = np.empty((nrow, ncol), dtype=np.float32)
    for r in range(nrow):
        f = np.empty(ncol, dtype=np.float64)
        for c in range(ncol):
            f[c] = g[r, c] * g[r, c] if np.isfinite(g[r, c]) else big
        v = np.empty(ncol, dtype=np.int64)
        zb = np.empty(ncol + 1, dtype=np.float64)
        k = 0
        v[0] = 0
        zb[0] = -np.inf
        zb[1] = np.inf
        for q in range(1, ncol):
            s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2.0 * q - 2.0 * v[k])
            while s <= zb[k]:
                k -= 1
                s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2.0 * q - 2.0 * v[k])
            k += 1
            v[k] = q
            zb[k] = s
            zb[k + 1] = np.inf
        k = 0
        for q in range(ncol):
            while zb[k + 1] < q:
                k += 1
            d = (q - v[k]) * (q - v[k]) + f[v[k]]
            out[r, q] = np.sqrt(d) * cell_size
    return out


@njit(cache=True, nogil=True)
def bluespot_tables(deep_labels, n_deep, region, n_region, depth, min_cells):
    """Bluespot ids, depression owner and volume per bluespot, in one pass each.

    ``deep_labels``: components of ``depth >= min_depth``; ``region``: components of
    ``depth > 0``. Components with fewer than ``min_cells`` cells are dropped; the rest
    are numbered 1..n in label order. Every cell of a depression region is *owned* by
    the largest bluespot id in that region (the deep cells by their own bluespot).
    Returns ``(ids, owned, volume_cells, n)``; volume in m x cells.
    """
    sizes = np.zeros(n_deep + 1, dtype=np.int64)
    for i in range(deep_labels.size):
        sizes[deep_labels[i]] += 1
    new_id = np.zeros(n_deep + 1, dtype=np.int32)
    n = 0
    for lab in range(1, n_deep + 1):
        if sizes[lab] >= min_cells:
            n += 1
            new_id[lab] = n
    ids = np.empty(deep_labels.size, dtype=np.int32)
    owner = np.zeros(n_region + 1, dtype=np.int32)
    for i in range(deep_labels.size):
        b = new_id[deep_labels[i]]
        ids[i] = b
        if b > owner[region[i]]:
            owner[region[i]] = b
    owned = np.empty(deep_labels.size, dtype=np.int32)
    volume = np.zeros(n + 1, dtype=np.float64)
    for i in range(deep_labels.size):
        b = ids[i] if ids[i] > 0 else (owner[region[i]] if region[i] > 0 else 0)
        owned[i] = b
        if b > 0:
            volume[b] += depth[i]
    return ids, owned, volume, n


@njit(cache=True, nogil=True)
def count_labels(labels, n):
    """Cells per label 0..n."""
    out = np.zeros(n + 1, dtype=np.int64)
    for i in range(labels.size):
        out[labels[i]] += 1
    return out


@njit(cache=True, nogil=True)
def gather_where(table, labels, fill):
    """``table[labels]`` as float32, ``fill`` where the label is 0."""
    out = np.empty(labels.size, dtype=np.float32)
    for i in range(labels.size):
        out[i] = table[labels[i]] if labels[i] > 0 else fill
    return out


@njit(cache=True, nogil=True)
def lower_levels(level, elev, ncol, changed):
    """Minimax levels after lowering the terrain at ``changed`` cells, from the old levels.

    ``level`` is the priority-flood result on the old terrain; ``elev`` is the new terrain,
    lower at ``changed`` cells only. Lowering can only lower levels, and only along paths
    through a changed cell, so a Dijkstra-like bottleneck search seeded at the changed cells
    updates just the cells whose level drops (the land behind a removed dike) instead of
    flooding the whole grid again. NaN levels (unreachable) stay NaN.
    """
    width = ncol + 2
    off = _offsets(width)
    lev = _pad(level, ncol, np.float32(np.nan))
    z = _pad(elev, ncol, np.float32(np.nan))
    chg = _pad(changed, ncol, False)
    n = lev.size
    heap = np.empty(16, dtype=np.uint64)
    size = 0
    for i in range(n):
        if not chg[i] or np.isnan(z[i]):
            continue
        best = np.float32(np.inf)
        for k in range(8):
            v = lev[i + off[k]]
            if v < best:
                best = v
        cand = max(z[i], best)
        if cand < lev[i] or (np.isnan(lev[i]) and cand < np.inf):
            lev[i] = cand
            if size == heap.size:
                heap = np.concatenate((heap, np.empty(heap.size, dtype=np.uint64)))
            size = _pheap_push(heap, size, _item(cand, i))
    while size > 0:
        item, size = _pheap_pop(heap, size)
        c = np.int64(item & np.uint64(0xFFFFFFFF))
        if (item >> np.uint64(32)) != _sortable(lev[c]):
            continue  # stale entry: the cell was lowered again after this push
        lc = lev[c]
        for k in range(8):
            nb = c + off[k]
            if np.isnan(z[nb]):
                continue
            cand = max(z[nb], lc)
            if cand < lev[nb]:
                lev[nb] = cand
                if size == heap.size:
                    heap = np.concatenate((heap, np.empty(heap.size, dtype=np.uint64)))
                size = _pheap_push(heap, size, _item(cand, nb))
    return _unpad(lev, ncol)


@njit(cache=True, nogil=True)
def horn_slope(padded, cell_size):
    """Horn (1981) slope [degree] of the interior of a block padded by one cell.

    A nodata neighbour takes the centre value, so slope is NaN only at nodata. Every
    cell is computed from its 3 x 3 window alone, so any tiling gives the same numbers.
    """
    nrow = padded.shape[0] - 2
    ncol = padded.shape[1] - 2
    out = np.empty((nrow, ncol), dtype=np.float32)
    scale = np.float32(1.0 / (8.0 * cell_size))
    to_deg = np.float32(180.0 / np.pi)
    for r in range(nrow):
        for c in range(ncol):
            e = padded[r + 1, c + 1]
            if np.isnan(e):
                out[r, c] = np.nan
                continue
            a = padded[r, c]
            b = padded[r, c + 1]
            cc = padded[r, c + 2]
            d = padded[r + 1, c]
            f = padded[r + 1, c + 2]
            g = padded[r + 2, c]
            h = padded[r + 2, c + 1]
            i = padded[r + 2, c + 2]
            a = e if np.isnan(a) else a
            b = e if np.isnan(b) else b
            cc = e if np.isnan(cc) else cc
            d = e if np.isnan(d) else d
            f = e if np.isnan(f) else f
            g = e if np.isnan(g) else g
            h = e if np.isnan(h) else h
            i = e if np.isnan(i) else i
            dzdx = ((cc + 2 * f + i) - (a + 2 * d + g)) * scale
            dzdy = ((g + 2 * h + i) - (a + 2 * b + cc)) * scale
            out[r, c] = np.arctan(np.sqrt(dzdx * dzdx + dzdy * dzdy)) * to_deg
    return out


@njit(cache=True, nogil=True)
def wetness_index(acc, slope_deg, cell_size, tan_floor):
    """ln(acc * cell_size / max(tan(slope), tan_floor)), elementwise, float32."""
    out = np.empty(acc.shape, dtype=np.float32)
    a = acc.ravel()
    s = slope_deg.ravel()
    o = out.ravel()
    to_rad = np.float32(np.pi / 180.0)
    for j in range(a.size):
        tan_b = max(np.tan(np.float32(s[j]) * to_rad), np.float32(tan_floor))
        o[j] = np.log(np.float32(a[j]) * np.float32(cell_size) / tan_b)
    return out
