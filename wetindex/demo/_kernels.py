"""Numba kernels of the demo world's hydrology (hour loops and flow-path walks)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def soil_bucket(rain: np.ndarray, pet: np.ndarray, capacity: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Soil bucket: hourly wetness (0–1) and percolation to groundwater [mm/h].

    Rain fills it; evaporation empties it (limited when below half full); above field
    capacity (80 %) 2 %/h of the surplus percolates, and a full bucket passes on the rest.
    """
    n = rain.size
    wet = np.empty(n)
    perc = np.empty(n)
    s = 0.6 * capacity
    for t in range(n):
        s += rain[t] - pet[t] * min(1.0, s / (0.5 * capacity))
        d = 0.0
        if s > 0.8 * capacity:
            d = 0.02 * (s - 0.8 * capacity)
        s -= d
        if s > capacity:
            d += s - capacity
        s = min(max(s, 0.0), capacity)
        wet[t] = s / capacity
        perc[t] = d
    return wet, perc


@numba.njit(cache=True)
def level_from_volume(
    volume: float, start: int, stop: int, z_sorted: np.ndarray, z_cumsum: np.ndarray,
    cell_area: float,
) -> tuple[float, int]:
    """Water level [m] and wet cell count of a bluespot holding ``volume`` [m3].

    The bluespot's cells, sorted by elevation, are ``z_sorted[start:stop]``; ``z_cumsum``
    is their running sum. With the lowest ``k`` cells under water the volume is
    ``A·(k·level − Σz)``; ``k`` is found by bisection.
    """
    if volume <= 0.0:
        return np.nan, 0
    v = volume / cell_area
    n = stop - start
    lo, hi = 1, n  # largest k whose volume at level z_k... is <= v
    while lo < hi:
        mid = (lo + hi + 1) // 2
        # volume when the level reaches the mid-th lowest cell (cells 1..mid-1 wet)
        s_prev = z_cumsum[start + mid - 2] if mid >= 2 else 0.0
        vol = (mid - 1) * z_sorted[start + mid - 1] - s_prev
        if vol <= v:
            lo = mid
        else:
            hi = mid - 1
    k = lo
    level = (v + z_cumsum[start + k - 1]) / k
    return level, k


@numba.njit(cache=True)
def volume_at_level(
    level: float, start: int, stop: int, z_sorted: np.ndarray, z_cumsum: np.ndarray,
    cell_area: float,
) -> float:
    """Volume [m3] a bluespot holds when its water stands at ``level``."""
    k = np.searchsorted(z_sorted[start:stop], level)
    if k == 0:
        return 0.0
    return cell_area * (k * level - z_cumsum[start + k - 1])


@numba.njit(cache=True)
def spill_targets(
    idxs_ds: np.ndarray, owned: np.ndarray, lowest: np.ndarray, catchment: np.ndarray,
    stream: np.ndarray,
) -> np.ndarray:
    """Where each bluespot spills: another bluespot (0-based), -2 the stream, -1 out."""
    nb = lowest.size
    out = np.full(nb, -1, dtype=np.int64)
    for b in range(nb):
        i = lowest[b]
        while owned[i] == b + 1 and idxs_ds[i] != i:
            i = idxs_ds[i]
        if owned[i] == b + 1:
            continue
        c = catchment[i]
        if c > 0 and c != b + 1:
            out[b] = c - 1
            continue
        while not stream[i] and idxs_ds[i] != i:
            i = idxs_ds[i]
        if stream[i]:
            out[b] = -2
    return out


@numba.njit(cache=True)
def stream_drainage(
    idxs_ds: np.ndarray, seq: np.ndarray, stream: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Stream cell each cell drains to (-1 none) and its height above it [m] (NaN none)."""
    n = idxs_ds.size
    drain = np.full(n, -1, dtype=np.int64)
    hand = np.full(n, np.nan, dtype=np.float32)
    for i in seq:  # downstream cells come first
        if stream[i]:
            drain[i] = i
        elif idxs_ds[i] != i:
            drain[i] = drain[idxs_ds[i]]
        if drain[i] >= 0:
            hand[i] = max(z[i] - z[drain[i]], 0.0)
    return drain, hand


@numba.njit(cache=True)
def simulate_water(
    rain: np.ndarray, pet_h: np.ndarray, gw_anom: np.ndarray, wetness: np.ndarray,
    sea: np.ndarray,
    class_f: np.ndarray, class_imperv: np.ndarray, class_d0: np.ndarray, counts: np.ndarray,
    order: np.ndarray, target: np.ndarray, offs: np.ndarray, z_sorted: np.ndarray,
    z_cumsum: np.ndarray, vmax: np.ndarray, bottom_d0: np.ndarray,
    polder: int, crest_cols: np.ndarray, cell_size: float, pump_m3h: float,
    stream_area_m2: float, stream_k_h: float, infil_mm_h: float,
):
    """The hour loop of the true water (see :mod:`wetindex.demo.hydrology`)."""
    nt = rain.size
    nb = order.size
    ncls = class_f.size
    area = cell_size * cell_size
    levels = np.full((nt, nb), np.nan, dtype=np.float32)
    polder_sea_level = np.full(nt, np.nan, dtype=np.float32)
    polder_inflow = np.zeros(nt, dtype=np.float32)
    q_stream = np.zeros(nt, dtype=np.float32)
    vol = np.zeros(nb)
    v_sea = 0.0
    s_stream = 0.0
    excess = np.zeros(ncls)
    incoming = np.zeros(nb)
    cur_level = np.full(nb, np.nan)
    cur_wet = np.zeros(nb, dtype=np.int64)
    for t in range(nt):
        p = rain[t]
        for c in range(ncls):
            if p > 0.0:
                depth = class_d0[c] - gw_anom[t]
                gwf = min(max(depth / 0.8, 0.0), 1.0)
                f = class_f[c] * (1.0 - 0.75 * wetness[t]) * gwf
                excess[c] = class_imperv[c] * p + (1.0 - class_imperv[c]) * max(p - f, 0.0)
            else:
                excess[c] = 0.0
        incoming[:] = 0.0
        to_stream = 0.0
        for j in range(nb):
            b = order[j]
            inflow = incoming[b]
            if p > 0.0:
                for c in range(ncls):
                    inflow += counts[b, c] * excess[c]  # counts are m3 per mm of excess
            v = vol[b] + inflow
            # losses from the wet area: infiltration (slower when groundwater is high)
            # and open-water evaporation
            if cur_wet[b] > 0:
                d = bottom_d0[b] - gw_anom[t]
                inf = infil_mm_h * min(max(d / 0.5, 0.05), 1.0)
                v -= (inf + pet_h[t]) / 1000.0 * cur_wet[b] * area
            if b == polder:
                # overtopping: broad-crested weir over every dike column below the sea
                lvl = cur_level[b] if cur_wet[b] > 0 else -1e9
                q = 0.0
                for k in range(crest_cols.size):
                    head = sea[t] - max(crest_cols[k], lvl)
                    if head > 0.0:
                        q += 1.6 * cell_size * head**1.5 * 3600.0
                # an explicit hourly step must not lift the polder above the sea
                room = volume_at_level(sea[t], offs[b], offs[b + 1], z_sorted, z_cumsum, area)
                q = min(q, max(room - max(v, 0.0) - v_sea, 0.0))
                polder_inflow[t] = q
                v_sea += q
                total = max(v, 0.0) + v_sea
                pumped = min(pump_m3h, total)
                if total > 0.0:
                    share = v_sea / total
                    v_sea -= pumped * share
                    v -= pumped * (1.0 - share)
                v_sea = max(v_sea, 0.0)
            v = max(v, 0.0)
            extra = v_sea if b == polder else 0.0
            if v + extra > vmax[b]:
                spill = v + extra - vmax[b]
                v = max(vmax[b] - extra, 0.0)
                tb = target[b]
                if tb >= 0:
                    incoming[tb] += spill
                elif tb == -2:
                    to_stream += spill
            vol[b] = v
            lvl, k = level_from_volume(v + extra, offs[b], offs[b + 1], z_sorted, z_cumsum, area)
            cur_level[b] = lvl
            cur_wet[b] = k
            levels[t, b] = lvl
            if b == polder and v_sea > 0.0:
                ls, _ = level_from_volume(v_sea, offs[b], offs[b + 1], z_sorted, z_cumsum, area)
                polder_sea_level[t] = ls
        # the stream: a linear reservoir of its catchment's excess and the spills it gets
        if p > 0.0:
            direct = 0.0
            for c in range(ncls):
                direct += counts[nb, c] * excess[c]
            to_stream += direct
        s_stream += to_stream
        out = s_stream / stream_k_h
        s_stream -= out
        q_stream[t] = out / max(stream_area_m2, 1.0) * 1000.0
    return levels, polder_sea_level, polder_inflow, q_stream
