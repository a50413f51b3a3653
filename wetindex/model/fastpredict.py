"""Compiled LightGBM inference specialised to the forecast's structure.

A forecast row is ``static cell features × drivers of one lead``
(:func:`wetindex.features.stack.feature_rows`). The drivers are constant over a
driver zone (the whole area, a rain grid cell, a coast stretch), so every split on a
driver goes the same way for all cells of a zone at a lead. The kernel evaluates
the static splits once per cell, the driver splits once per zone and lead
(:func:`zone_drivers`), and per cell and lead only the splits on the five features
combining cell and driver (sea margin, groundwater depth at the valid time, rain
over the bluespot's fill), which it builds on the fly in float32 exactly as
``feature_rows`` does, so no ``(cells × features)`` matrix is ever made. The splits
are bit vectors over each tree's leaves (QuickScorer); a lead whose drivers and
combined-feature intervals equal the lead before's reuses its probability.
:mod:`wetindex.model.gridded` is the interface (a chunk of cells, or an area cube);
it runs the same evaluation compiled to C (:mod:`wetindex.model.chunkcode`, equal to
``booster.predict`` in float32 and several times faster) wherever a C compiler works,
and the numba kernel here as the fallback.

The trees come from LightGBM's own text model (:mod:`wetindex.model.forest`:
thresholds as doubles, decision types with their missing-value rules, categorical
bitsets), and the result equals ``booster.predict`` on the same rows (a test checks
``<= 1e-6``; in practice the raw scores agree to the last bits of a double sum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from wetindex.features.stack import DRIVER_FEATURES, FEATURES, STATIC_FEATURES
from wetindex.model.forest import (
    CATEGORICAL,
    DEFAULT_LEFT,
    MISSING_NAN,
    MISSING_ZERO,
    ZERO_THRESHOLD,
    Forest,
    ModelFormatError,
    leaf_order,
)

__all__ = [
    "CHUNK_CELLS",
    "LeafMasks",
    "ZoneDrivers",
    "leaf_masks",
    "predict_zone_chunk",
    "zone_drivers",
]


_N_STATIC = len(STATIC_FEATURES)
_N_DRIVER = len(DRIVER_FEATURES)
_N_FEATURES = len(FEATURES)
# positions the kernel uses to build the cell-and-driver features
_S_FILL = STATIC_FEATURES.index("bluespot_fill_rain")
_S_SEA_FLOOD = STATIC_FEATURES.index("sea_flood_level")
_D_RAIN24 = DRIVER_FEATURES.index("rain_24h")
_D_RAIN72 = DRIVER_FEATURES.index("rain_72h")
_D_SEA = DRIVER_FEATURES.index("sea_level")
_D_SEA24 = DRIVER_FEATURES.index("sea_level_max_24h")
_D_GW_RISE = DRIVER_FEATURES.index("groundwater_rise")

# the kernel looks up one prefix row per combined feature, written out for these five
assert _N_FEATURES - _N_STATIC - _N_DRIVER == 5, "the kernel expects five combined features"
#: Cells predicted per kernel call (their leads are buffered, 48 × 4 bytes each).
CHUNK_CELLS = 131_072


@numba.njit(cache=True, inline="always")
def _go_left(fval: float, node: int, threshold, decision, cat_start, cat_end, cat_bits) -> bool:
    """LightGBM's NumericalDecision / CategoricalDecision for one node."""
    dec = decision[node]
    if dec & CATEGORICAL:
        # LightGBM: NaN goes right, else static_cast<int> (toward zero); < 0 goes right
        if not fval > -1.0:
            return False
        iv = int(fval)
        word = iv // 32
        if word >= cat_end[node] - cat_start[node]:
            return False
        return ((cat_bits[cat_start[node] + word] >> np.uint32(iv % 32)) & np.uint32(1)) == 1
    missing = (dec >> 2) & 3
    if np.isnan(fval) and missing != MISSING_NAN:
        fval = 0.0
    if (missing == MISSING_ZERO and abs(fval) <= ZERO_THRESHOLD) or (
            missing == MISSING_NAN and np.isnan(fval)):
        return (dec & DEFAULT_LEFT) != 0
    return fval <= threshold[node]


@dataclass(frozen=True)
class LeafMasks:
    """The forest for bit-vector evaluation (QuickScorer: Lucchese et al., SIGIR 2015).

    Leaves of a tree are numbered left to right; a node whose test fails (the
    row goes right) clears the bits of the leaves under its left child. After
    all failing nodes are applied, the lowest bit left is the exit leaf. This
    lets the static nodes be evaluated once per cell and the driver nodes once
    per lead; only the cell-and-driver nodes are evaluated per cell and lead.
    """

    node_mask: np.ndarray  # uint64 (nodes,)
    leaf_value: np.ndarray  # float64 (leaves,) in left-to-right order per tree
    static_nodes: np.ndarray  # int32 node ids, grouped per tree by static_start
    static_start: np.ndarray
    driver_nodes: np.ndarray
    driver_start: np.ndarray
    cell_driver_nodes: np.ndarray
    cell_driver_start: np.ndarray
    # the cell-and-driver nodes sorted by (feature, threshold): a value fails exactly the
    # nodes of its feature with a threshold below it, a prefix of its run
    scan_threshold: np.ndarray  # float64
    scan_tree: np.ndarray  # int32
    scan_mask: np.ndarray  # uint64
    scan_start: np.ndarray  # int32 (n_cell_driver + 1,)
    nan_mask: np.ndarray  # uint64 (n_cell_driver, trees): where a NaN value goes
    # row scan_start[c] + c + p: the AND, per tree, of the masks of the first p nodes of
    # feature c's run (what a value failing exactly those nodes leaves), so a lead costs
    # one contiguous row per feature instead of a scatter over the failed nodes; then
    # nan_mask's rows (the last n_cell_driver rows)
    scan_prefix: np.ndarray  # uint64 (n_scan + 2 * n_cell_driver, trees)


def leaf_masks(forest: Forest) -> LeafMasks:
    """Bit masks of :class:`LeafMasks` for a forest of trees with at most 64 leaves."""
    masks = np.zeros(len(forest.feature), "uint64")
    values = np.zeros(len(forest.leaf_value), "float64")
    groups: dict[str, tuple[list[int], list[int]]] = {
        g: ([], [0]) for g in ("static", "driver", "cell_driver")}
    for t in range(forest.n_trees):
        n0, n1 = forest.node_start[t], forest.node_start[t + 1]
        l0, l1 = forest.leaf_start[t], forest.leaf_start[t + 1]
        if l1 - l0 > 64:
            raise ModelFormatError("fast prediction supports trees of at most 64 leaves")
        position, under_left = leaf_order(forest.left[n0:n1], forest.right[n0:n1], l1 - l0)
        values[l0 + position] = forest.leaf_value[l0:l1]
        every = np.uint64(2**64 - 1)
        for k in range(n1 - n0):
            clear = np.uint64(sum(1 << p for p in under_left[k]))
            masks[n0 + k] = every & ~clear
            f = forest.feature[n0 + k]
            group = ("static" if f < _N_STATIC else
                     "driver" if f < _N_STATIC + _N_DRIVER else "cell_driver")
            groups[group][0].append(n0 + k)
        for nodes, starts in groups.values():
            starts.append(len(nodes))
    as_int = {g: (np.array(n, "int32"), np.array(s, "int32")) for g, (n, s) in groups.items()}
    scan = _scan_tables(forest, masks)
    prefix = np.concatenate([_scan_prefix(forest.n_trees, *scan[1:4]), scan[4]])
    return LeafMasks(masks, values, *as_int["static"], *as_int["driver"],
                     *as_int["cell_driver"], *scan, np.ascontiguousarray(prefix))


def _scan_prefix(n_trees: int, scan_tree: np.ndarray, scan_mask: np.ndarray,
                 scan_start: np.ndarray) -> np.ndarray:
    """Prefix ANDs of each feature's threshold run (see :class:`LeafMasks`)."""
    rows = []
    for c in range(len(scan_start) - 1):
        acc = np.full(n_trees, np.uint64(2**64 - 1), "uint64")
        rows.append(acc.copy())
        for j in range(scan_start[c], scan_start[c + 1]):
            acc[scan_tree[j]] &= scan_mask[j]
            rows.append(acc.copy())
    return np.ascontiguousarray(np.stack(rows)) if rows else np.zeros((0, n_trees), "uint64")


def _scan_tables(forest: Forest, masks: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sorted threshold runs of the cell-and-driver features (see :class:`LeafMasks`)."""
    n_cd = _N_FEATURES - _N_STATIC - _N_DRIVER
    tree_of = np.repeat(np.arange(forest.n_trees), np.diff(forest.node_start))
    nodes = np.flatnonzero(forest.feature >= _N_STATIC + _N_DRIVER)
    if np.any(forest.decision[nodes] & CATEGORICAL) or np.any(
            ((forest.decision[nodes] >> 2) & 3) == MISSING_ZERO):
        raise ModelFormatError("categorical or zero-as-missing splits on cell-and-driver "
                               "features are not supported by fast prediction")
    order = np.lexsort((forest.threshold[nodes], forest.feature[nodes]))
    nodes = nodes[order]
    start = np.searchsorted(forest.feature[nodes], np.arange(n_cd + 1) + _N_STATIC + _N_DRIVER)
    nan_mask = np.full((n_cd, forest.n_trees), np.uint64(2**64 - 1), "uint64")
    for k in nodes:
        missing = (forest.decision[k] >> 2) & 3
        # NaN takes the default side on NaN-missing nodes and is read as 0.0 on the others
        nan_left = bool(forest.decision[k] & DEFAULT_LEFT) if missing == MISSING_NAN \
            else 0.0 <= forest.threshold[k]
        if not nan_left:
            c = forest.feature[k] - _N_STATIC - _N_DRIVER
            nan_mask[c, tree_of[k]] &= masks[k]
    return (forest.threshold[nodes].astype("float64"), tree_of[nodes].astype("int32"),
            masks[nodes], start.astype("int32"), nan_mask)


@numba.njit(cache=True)
def _driver_masks(drivers, feature, threshold, decision, cat_start, cat_end, cat_bits,
                  node_mask, driver_nodes, driver_start):
    """Per lead and tree, the leaves the area drivers leave possible."""
    n_leads, n_trees = drivers.shape[0], len(driver_start) - 1
    out = np.full((n_leads, n_trees), np.uint64(2**64 - 1), np.uint64)
    for li in range(n_leads):
        for t in range(n_trees):
            for j in range(driver_start[t], driver_start[t + 1]):
                k = driver_nodes[j]
                fval = np.float64(drivers[li, feature[k] - _N_STATIC])
                if not _go_left(fval, k, threshold, decision, cat_start, cat_end, cat_bits):
                    out[li, t] &= node_mask[k]
    return out


@numba.njit(cache=True, inline="always")
def _exit_value(t, cell_mask, masks, mid, prefix, a0, a1, a2, a3, a4, leaf_value, leaf_start):
    """Tree ``t``'s exit leaf value: the lowest leaf no failed node has cleared."""
    m = (cell_mask[t] & masks[mid, t] & prefix[a0, t] & prefix[a1, t] & prefix[a2, t]
         & prefix[a3, t] & prefix[a4, t])
    return leaf_value[leaf_start[t] + trailing_zeros(m)]


@numba.njit(parallel=True, cache=True)
def _predict_kernel(static_rows, groundwater_depth, zone, drivers, mask_id, masks, feature,
                    threshold, decision, cat_start, cat_end, cat_bits, node_mask, leaf_value,
                    leaf_start, static_nodes, static_start, scan_threshold, scan_prefix,
                    scan_start, nan_mask, out, first):
    """Rows ``first:first + len(out)`` of the cells into ``out[cell - first, lead]``.

    Cell ``i`` takes the drivers ``drivers[zone[i], lead]`` and the driver-split
    leaf masks ``masks[mask_id[zone[i], lead]]`` (equal ids: the drivers send every
    tree the same way).
    """
    n_cells = min(static_rows.shape[0], first + out.shape[0])
    n_leads = drivers.shape[1]
    n_trees = len(leaf_start) - 1
    n_cell_driver = len(scan_start) - 1
    nan32 = np.float32(np.nan)
    zero32 = np.float32(0.0)
    for i in numba.prange(first, n_cells):
        x = np.empty(_N_FEATURES, np.float32)
        for j in range(_N_STATIC):
            x[j] = static_rows[i, j]
        # the static nodes go the same way at every lead: evaluate them once
        cell_mask = np.empty(n_trees, np.uint64)
        pos = np.full(n_cell_driver, -2, np.int64)
        nan0 = scan_prefix.shape[0] - n_cell_driver
        prob = np.float32(0.0)
        for t in range(n_trees):
            keep = np.uint64(2**64 - 1)
            for j in range(static_start[t], static_start[t + 1]):
                k = static_nodes[j]
                if not _go_left(np.float64(x[feature[k]]), k, threshold, decision, cat_start,
                                cat_end, cat_bits):
                    keep &= node_mask[k]
            cell_mask[t] = keep
        fill = x[_S_FILL]
        if not fill > 0:
            fill = nan32
        gw = groundwater_depth[i]
        z = zone[i]
        previous_id = -1
        for li in range(n_leads):
            d = drivers[z, li]
            g = gw - d[_D_GW_RISE]  # float32 arithmetic, as in feature_rows
            x[_N_STATIC + _N_DRIVER] = g if (g > zero32 or np.isnan(g)) else zero32
            x[_N_STATIC + _N_DRIVER + 1] = d[_D_SEA] - x[_S_SEA_FLOOD]
            x[_N_STATIC + _N_DRIVER + 2] = d[_D_SEA24] - x[_S_SEA_FLOOD]
            x[_N_STATIC + _N_DRIVER + 3] = d[_D_RAIN24] / fill
            x[_N_STATIC + _N_DRIVER + 4] = d[_D_RAIN72] / fill
            # where each cell-and-driver value falls among its thresholds (-1: NaN);
            # if nothing moved since the previous lead, neither did the probability
            mid = mask_id[z, li]
            same = mid == previous_id
            previous_id = mid
            for c in range(n_cell_driver):
                v = np.float64(x[_N_STATIC + _N_DRIVER + c])
                lo, hi = scan_start[c], scan_start[c + 1]
                if np.isnan(v):
                    p = -1
                elif pos[c] < 0:
                    p = np.searchsorted(scan_threshold[lo:hi], v)
                else:
                    # from the previous lead's interval: a value moves a few thresholds
                    # an hour, so a short walk beats a binary search's mispredictions
                    p = pos[c]
                    while lo + p < hi and scan_threshold[lo + p] < v:
                        p += 1
                    while p > 0 and scan_threshold[lo + p - 1] >= v:
                        p -= 1
                same = same and p == pos[c]
                pos[c] = p
            if same:
                out[i - first, li] = prob
                continue
            # the nodes each value fails ("v <= thr" false) are a prefix of its run: one
            # row of prefix ANDs per feature (the NaN rows are the table's last ones)
            a0 = nan0 if pos[0] < 0 else scan_start[0] + pos[0]
            a1 = nan0 + 1 if pos[1] < 0 else scan_start[1] + 1 + pos[1]
            a2 = nan0 + 2 if pos[2] < 0 else scan_start[2] + 2 + pos[2]
            a3 = nan0 + 3 if pos[3] < 0 else scan_start[3] + 3 + pos[3]
            a4 = nan0 + 4 if pos[4] < 0 else scan_start[4] + 4 + pos[4]
            # four running sums, not one: one chain of 100 dependent additions took
            # longer than the lookups; the order differs from LightGBM's by ~1e-16 in
            # the raw score, far below the float32 rounding of the result
            r0 = r1 = r2 = r3 = 0.0
            t = 0
            while t + 4 <= n_trees:
                r0 += _exit_value(t, cell_mask, masks, mid, scan_prefix, a0, a1, a2, a3, a4,
                                  leaf_value, leaf_start)
                r1 += _exit_value(t + 1, cell_mask, masks, mid, scan_prefix, a0, a1, a2, a3,
                                  a4, leaf_value, leaf_start)
                r2 += _exit_value(t + 2, cell_mask, masks, mid, scan_prefix, a0, a1, a2, a3,
                                  a4, leaf_value, leaf_start)
                r3 += _exit_value(t + 3, cell_mask, masks, mid, scan_prefix, a0, a1, a2, a3,
                                  a4, leaf_value, leaf_start)
                t += 4
            while t < n_trees:
                r0 += _exit_value(t, cell_mask, masks, mid, scan_prefix, a0, a1, a2, a3, a4,
                                  leaf_value, leaf_start)
                t += 1
            raw = (r0 + r1) + (r2 + r3)
            prob = np.float32(1.0 / (1.0 + np.exp(-raw)))
            out[i - first, li] = prob


@dataclass(frozen=True)
class ZoneDrivers:
    """Drivers per zone and lead, with the leaf masks their driver splits leave.

    ``drivers`` is ``(zones, leads, n_driver)`` float32; ``mask_id[z, lead]`` picks the
    row of ``masks`` ``(n_masks, trees)``: zone-leads whose drivers send every tree
    the same way share one row, so a lead like the one before it is recognised by
    an equal id.
    """

    drivers: np.ndarray
    mask_id: np.ndarray
    masks: np.ndarray


def zone_drivers(forest: Forest, lm: LeafMasks, drivers: np.ndarray) -> ZoneDrivers:
    """Evaluate the driver splits once per zone and lead (``drivers`` ``(Z, L, D)``)."""
    drivers = np.ascontiguousarray(drivers, dtype="float32")
    n_zones, n_leads = drivers.shape[:2]
    flat = drivers.reshape(n_zones * n_leads, _N_DRIVER)
    dmask = _driver_masks(flat, forest.feature, forest.threshold, forest.decision,
                          forest.cat_start, forest.cat_end, forest.cat_bits, lm.node_mask,
                          lm.driver_nodes, lm.driver_start)
    masks, mask_id = np.unique(dmask, axis=0, return_inverse=True)
    return ZoneDrivers(drivers, mask_id.reshape(n_zones, n_leads).astype("int32"),
                       np.ascontiguousarray(masks))


def predict_zone_chunk(forest: Forest, lm: LeafMasks, zd: ZoneDrivers, static_rows: np.ndarray,
                       groundwater_depth: np.ndarray, zone: np.ndarray, first: int,
                       buf: np.ndarray) -> np.ndarray:
    """Cells ``first:first + len(buf)`` into ``buf[cell, lead]`` (one kernel call)."""
    _predict_kernel(
        static_rows, groundwater_depth, zone, zd.drivers, zd.mask_id, zd.masks,
        forest.feature, forest.threshold, forest.decision, forest.cat_start, forest.cat_end,
        forest.cat_bits, lm.node_mask, lm.leaf_value, forest.leaf_start, lm.static_nodes,
        lm.static_start, lm.scan_threshold, lm.scan_prefix, lm.scan_start, lm.nan_mask, buf,
        first)
    return buf
