"""Numba kernels for terrain routing: priority-flood, D8 with resolved flats, traversal.

All kernels work on flattened row-major rasters (``idx = row * ncol + col``) and use
NaN for nodata. They are private to :mod:`wetindex.features.terrain`, which wraps them
in xarray. D8 codes follow pyflwdir (1 E, 2 SE, 4 S, 8 SW, 16 W, 32 NW, 64 N, 128 NE,
0 pit/outlet, 247 nodata) so the result can be handed to :class:`pyflwdir.FlwdirRaster`.

Why our own priority-flood instead of :func:`pyflwdir.dem.fill_depressions`: pyflwdir
breaks elevation ties by row/column, so a flat coastal plain drains through a single
edge cell along long artificial paths. Here flats are drained towards the *nearest*
lower cell or outlet (multi-source breadth-first search over the flat), which keeps
flow paths and accumulation plausible on low, flat terrain.
"""

from __future__ import annotations

import numpy as np
from numba import njit

D8_NODATA = np.uint8(247)
D8_PIT = np.uint8(0)
_UNRESOLVED = np.uint8(255)

# neighbour offsets and their D8 codes (pointing from the centre to the neighbour)
_DR = np.array([-1, -1, -1, 0, 0, 1, 1, 1], dtype=np.int64)
_DC = np.array([-1, 0, 1, -1, 1, -1, 0, 1], dtype=np.int64)
_CODE = np.array([32, 64, 128, 16, 1, 8, 4, 2], dtype=np.uint8)
_INV_DIST = np.array([np.sqrt(0.5), 1, np.sqrt(0.5), 1, 1, np.sqrt(0.5), 1, np.sqrt(0.5)],
                     dtype=np.float32)


@njit(cache=True, inline="always")
def _sortable(z):
    """float32 -> uint64 whose integer order is the float order (NaN never used)."""
    bits = np.uint64(np.float32(z).view(np.uint32))
    if bits & np.uint64(0x80000000):
        return ~bits & np.uint64(0xFFFFFFFF)
    return bits | np.uint64(0x80000000)


@njit(cache=True, inline="always")
def _pheap_push(heap, size, item):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] <= item:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = item
    return size + 1


@njit(cache=True, inline="always")
def _pheap_pop(heap, size):
    top = heap[0]
    size -= 1
    item = heap[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if heap[child] >= item:
            break
        heap[i] = heap[child]
        i = child
    if size > 0:
        heap[i] = item
    return top, size


def priority_flood(elev, ncol, seeds, seed_unreached):
    """Fill depressions by priority-flood from ``seeds`` (Barnes et al. 2014, with pit queue).

    Returns the filled surface: the lowest level at which water from each cell can
    reach a seed over the terrain (minimax path height, 8-connected). Nodata stays NaN.
    Cells not connected to any seed are NaN unless ``seed_unreached``, in which case the
    lowest cell of each such region becomes an extra seed (an internal outlet).
    Returns ``(filled, seeds_used)``: the seeds plus any such extra seeds.
    """
    if elev.dtype != np.float32 or elev.size >= 2**32:
        raise ValueError("priority_flood needs float32 elevation on fewer than 2**32 cells")
    return _priority_flood(elev, ncol, seeds, seed_unreached)


@njit(cache=True, inline="always")
def _item(z, i):
    return (_sortable(z) << np.uint64(32)) | np.uint64(i)


# The routing kernels work on a copy padded with one ring of nodata: a neighbour is then
# ``p + offset`` with no bounds checks and no division by the row length.


@njit(cache=True, inline="always")
def _offsets(width):
    out = np.empty(8, dtype=np.int64)
    for k in range(8):
        out[k] = _DR[k] * width + _DC[k]
    return out


@njit(cache=True)
def _pad(values, ncol, fill):
    nrow = values.size // ncol
    width = ncol + 2
    out = np.full((nrow + 2) * width, fill, dtype=values.dtype)
    for r in range(nrow):
        out[(r + 1) * width + 1: (r + 1) * width + 1 + ncol] = values[r * ncol: (r + 1) * ncol]
    return out


@njit(cache=True)
def _unpad(values, ncol):
    width = ncol + 2
    nrow = values.size // width - 2
    out = np.empty(nrow * ncol, dtype=values.dtype)
    for r in range(nrow):
        out[r * ncol: (r + 1) * ncol] = values[(r + 1) * width + 1: (r + 1) * width + 1 + ncol]
    return out


@njit(cache=True, nogil=True)
def _priority_flood(elev_in, ncol, seeds_in, seed_unreached):
    width = ncol + 2
    off = _offsets(width)
    elev = _pad(elev_in, ncol, np.float32(np.nan))
    seeds = _pad(seeds_in, ncol, False)
    n = elev.size
    filled = np.full(n, np.nan, dtype=elev.dtype)
    closed = np.isnan(elev)
    used = seeds & ~closed
    # one uint64 heap of (sortable float32 key << 32 | index): one array, integer compares
    heap = np.empty(n, dtype=np.uint64)
    pitq = np.empty(n, dtype=np.int64)
    traceq = np.empty(n, dtype=np.int64)
    size = 0
    for i in range(n):
        if seeds[i] and not closed[i]:
            closed[i] = True
            filled[i] = elev[i]
            size = _pheap_push(heap, size, _item(elev[i], i))
    extra = np.empty(0, dtype=np.int64)
    extra_pos = 0
    while True:
        head = tail = 0
        thead = ttail = 0
        while True:
            # Cells taken in priority order (pit queue, heap) may raise lower neighbours to
            # their level. Cells on a rising slope (trace queue, Zhou et al. 2016) are
            # taken out of order: they only close higher neighbours, whose level is their
            # own elevation whatever the order; a lower open neighbour sends the cell back
            # to the heap to be handled in order. Most cells skip the heap this way.
            if head < tail:
                c = pitq[head]
                head += 1
                in_order = True
            elif thead < ttail:
                c = traceq[thead]
                thead += 1
                in_order = False
            elif size > 0:
                item, size = _pheap_pop(heap, size)
                c = np.int64(item & np.uint64(0xFFFFFFFF))
                head = tail = 0
                thead = ttail = 0
                in_order = True
            else:
                break
            zc = filled[c]
            lower = False
            for k in range(8):
                nb = c + off[k]
                if closed[nb]:
                    continue
                if elev[nb] > zc:
                    closed[nb] = True
                    filled[nb] = elev[nb]
                    traceq[ttail] = nb
                    ttail += 1
                elif in_order:
                    closed[nb] = True
                    filled[nb] = zc
                    pitq[tail] = nb
                    tail += 1
                else:
                    lower = True
            if lower:
                size = _pheap_push(heap, size, _item(zc, c))
        if not seed_unreached:
            break
        if extra.size == 0:
            # valid cells the flood never reached, lowest first
            cand = np.flatnonzero(~closed)
            if cand.size == 0:
                break
            extra = cand[np.argsort(elev[cand], kind="mergesort")]
        while extra_pos < extra.size and closed[extra[extra_pos]]:
            extra_pos += 1
        if extra_pos >= extra.size:
            break
        c = extra[extra_pos]
        closed[c] = True
        used[c] = True
        filled[c] = elev[c]
        size = _pheap_push(heap, size, _item(elev[c], c))
    return _unpad(filled, ncol), _unpad(used, ncol)


@njit(cache=True, nogil=True)
def d8_resolved(filled_in, ncol, outlets_in):
    """D8 steepest descent on the filled surface, with flats drained to the nearest exit.

    Outlet cells (and cells whose filled value is NaN) are pits/nodata. A cell with a
    strictly lower neighbour points to the steepest one (drop / distance). Cells on a
    flat (no lower neighbour) point along a multi-source breadth-first search that
    starts at every already-draining cell or outlet of the same height, so each flat
    cell drains to its nearest exit. On a depression-filled surface every valid cell
    then drains to an outlet, and the paths contain no cycles (height strictly falls or
    the breadth-first distance strictly falls at every step).
    """
    width = ncol + 2
    off = _offsets(width)
    filled = _pad(filled_in, ncol, np.float32(np.nan))
    outlets = _pad(outlets_in, ncol, False)
    n = filled.size
    d8 = np.full(n, D8_NODATA, dtype=np.uint8)
    nrow = n // width - 2
    for r in range(1, nrow + 1):
        for i in range(r * width + 1, r * width + 1 + ncol):
            z = filled[i]
            if np.isnan(z):
                continue
            if outlets[i]:
                d8[i] = D8_PIT
                continue
            # branch-free selects: on rough terrain the comparisons are unpredictable
            code = _UNRESOLVED
            best = np.float32(0.0)
            for k in range(8):
                s = (z - filled[i + off[k]]) * _INV_DIST[k]  # NaN neighbour: NaN > x is False
                better = s > best
                best = s if better else best
                code = _CODE[k] if better else code
            d8[i] = code
    # breadth-first search over flats, seeded by draining cells next to a flat cell
    queue = np.empty(n, dtype=np.int64)
    tail = 0
    for i in range(n):
        if d8[i] == _UNRESOLVED or d8[i] == D8_NODATA:
            continue
        for k in range(8):
            nb = i + off[k]
            if d8[nb] == _UNRESOLVED and filled[nb] == filled[i]:
                queue[tail] = i
                tail += 1
                break
    head = 0
    while head < tail:
        i = queue[head]
        head += 1
        for k in range(8):
            nb = i + off[k]
            if d8[nb] == _UNRESOLVED and filled[nb] == filled[i]:
                d8[nb] = _CODE[7 - k]  # opposite direction: from nb back to i
                queue[tail] = nb
                tail += 1
    # a surface that was not depression-filled can leave cells unresolved: make them pits
    n_unresolved = 0
    for i in range(n):
        if d8[i] == _UNRESOLVED:
            d8[i] = D8_PIT
            n_unresolved += 1
    return _unpad(d8, ncol), n_unresolved


@njit(cache=True, nogil=True)
def downstream_and_sequence(d8, ncol):
    """Downstream index of every cell, a downstream-first ordering and the pits.

    ``idxs_ds[i] == i`` at pits, ``-1`` at nodata. In ``seq`` every cell comes after the
    cell it drains into. The order is built upstream-first by a row-major sweep that
    follows each flow path down while all of a cell's upstream cells are done (in-degree
    counting), then reversed: consecutive cells are mostly neighbours, so the passes over
    ``seq`` (accumulation, HAND) stay in cache, unlike a breadth-first order.
    """
    n = d8.size
    nrow = n // ncol
    step = np.zeros(256, dtype=np.int64)
    for k in range(8):
        step[_CODE[k]] = _DR[k] * ncol + _DC[k]
    idxs_ds = np.full(n, -1, dtype=np.int64)
    indeg = np.zeros(n, dtype=np.uint8)
    npits = 0
    for r in range(nrow):
        for c in range(ncol):
            i = r * ncol + c
            code = d8[i]
            if code == D8_NODATA:
                continue
            if code == D8_PIT:
                idxs_ds[i] = i
                npits += 1
            else:
                d = i + step[code]
                idxs_ds[i] = d
                indeg[d] += 1
    done = np.uint8(255)
    order = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        if idxs_ds[i] < 0 or indeg[i] != 0:
            continue
        j = i
        while True:
            order[k] = j
            k += 1
            indeg[j] = done
            d = idxs_ds[j]
            if d == j:
                break
            indeg[d] -= 1
            if indeg[d] != 0:
                break
            j = d
    seq = order[:k][::-1].copy()
    pits = np.empty(npits, dtype=np.int64)
    m = 0
    for j in range(k):
        if idxs_ds[seq[j]] == seq[j]:
            pits[m] = seq[j]
            m += 1
    return idxs_ds, seq, pits


@njit(cache=True, nogil=True)
def accumulate_cells(idxs_ds, seq):
    """Number of cells draining through each cell, itself included (0 at nodata)."""
    acc = np.zeros(idxs_ds.size, dtype=np.float64)
    for j in range(seq.size):
        acc[seq[j]] = 1.0
    for j in range(seq.size - 1, -1, -1):
        i = seq[j]
        d = idxs_ds[i]
        if d != i:
            acc[d] += acc[i]
    return acc


@njit(cache=True, nogil=True)
def height_above_drainage(idxs_ds, seq, elev, drainage):
    """HAND: height of each cell above the first drainage cell on its flow path.

    Cells whose path reaches no drainage are measured against their outlet (pit) cell.
    Negative heights (a depression lower than the drainage it spills to) are set to 0.
    """
    ref = np.full(idxs_ds.size, np.nan, dtype=elev.dtype)
    out = np.full(idxs_ds.size, np.nan, dtype=elev.dtype)
    for j in range(seq.size):
        i = seq[j]
        d = idxs_ds[i]
        if drainage[i] or d == i:
            ref[i] = elev[i]
        else:
            ref[i] = ref[d]
        h = elev[i] - ref[i]
        out[i] = h if h > 0 else 0.0
    return out


@njit(cache=True, nogil=True)
def first_label_downstream(idxs_ds, seq, labels):
    """Label of the first labelled cell on each cell's flow path (0 if none)."""
    out = np.zeros(idxs_ds.size, dtype=labels.dtype)
    for j in range(seq.size):
        i = seq[j]
        d = idxs_ds[i]
        if labels[i] > 0:
            out[i] = labels[i]
        elif d != i:
            out[i] = out[d]
    return out
