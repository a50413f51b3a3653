"""Bluespots filling and spilling from rain, along the flow network.

Each bluespot (closed depression, :func:`wetindex.features.terrain.bluespots`) is a
bucket. Every hour it receives the rain excess of its own catchment (the cells whose
flow path reaches it first: ``bluespot_catchment``) and the overflow of the full
bluespots upstream of it, and loses water through its wet bottom (infiltration and
open-water evaporation). When it is full (its water reaches the spill level) the rest
runs on to the bluespot its overflow path reaches first, or leaves the area. Upstream
bluespots are handled before downstream ones within each hour.

Rain excess [mm/h] on the catchment (defaults documented here, the same for every
area until it is calibrated)::

    capacity = INFILTRATION_DRY_MM_H · (1 − min(API / API_SATURATED_MM, 0.9))
    excess   = max(rain − capacity, 0) + RUNOFF_MIN · min(rain, capacity)

with the antecedent precipitation index API (decay 0.9 per day, as the features). The
state at the issue time comes from a spin-up over the observed rain of the previous
30 days; the forecast hours then run once per ensemble member.

Land behind a dike that lies below the sea drains only through its pumping station:
a bluespot mostly on ``dike_protected`` cells is also pumped at
:data:`POLDER_PUMP_MM_D` over its catchment (the order of a Danish pumping district's
design capacity, 1–2 l/s per hectare), or it would be a lake.

The water level in a bluespot follows from its volume and its cells' elevations
(``V = A · Σ (level − z_i)`` over the cells below the level). A cell is wet where the
water over it is at least :data:`MIN_DEPTH_M` deep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from numba import njit

from wetindex.features.dynamic import FlowNetwork

INFILTRATION_DRY_MM_H = 5.0  # mm/h: infiltration capacity of dry soil
API_SATURATED_MM = 50.0  # mm: antecedent rain at which the soil takes 10 % of its capacity
RUNOFF_MIN = 0.1  # share of rain that runs off anyway (paved and saturated patches)
BOTTOM_LOSS_MM_H = 1.5  # mm/h: infiltration through a bluespot's wet bottom
API_DECAY_PER_DAY = 0.9
MIN_DEPTH_M = 0.02  # m: shallower water is not counted as wet
POLDER_PUMP_MM_D = 15.0  # mm/day over the catchment of a bluespot behind a dike


def rain_excess(rain: np.ndarray, api_start: float = 0.0) -> tuple[np.ndarray, float]:
    """Rain excess [mm/h] of hourly ``rain`` (last axis), and the API after the last hour.

    ``rain`` may be ``(hours,)`` or ``(member, hours)``; ``api_start`` is the API [mm]
    before the first hour (a scalar, e.g. from a spin-up).
    """
    rain = np.nan_to_num(np.asarray(rain, dtype="float64"))
    k = API_DECAY_PER_DAY ** (1.0 / 24.0)
    api = np.empty_like(rain)
    prev = np.full(rain.shape[:-1], float(api_start))
    for t in range(rain.shape[-1]):
        prev = k * prev + rain[..., t]
        api[..., t] = prev
    capacity = INFILTRATION_DRY_MM_H * (1.0 - np.minimum(api / API_SATURATED_MM, 0.9))
    excess = np.maximum(rain - capacity, 0.0) + RUNOFF_MIN * np.minimum(rain, capacity)
    last = prev if np.ndim(prev) == 0 else prev.mean()
    return excess, float(last)


@dataclass
class BluespotNetwork:
    """The bluespots of an area as buckets on the flow network (see module docstring).

    Arrays are indexed by bluespot ``b - 1`` for ``bluespot_id == b``. Cells of every
    bluespot are stored together (``offsets``), sorted by elevation.
    """

    n: int
    cell_area: float
    catchment_area: np.ndarray  # m2 of the cells that reach the bluespot first
    spill_to: np.ndarray  # bluespot (1-based) the overflow reaches first, 0 = leaves
    order: np.ndarray  # bluespot indices (0-based), upstream first
    capacity: np.ndarray  # m3 held at the spill level (its cells only)
    offsets: np.ndarray  # (n + 1,) start of each bluespot's cells in ``cells``
    cells: np.ndarray  # flat cell indices, by bluespot, by elevation
    z: np.ndarray  # their elevations [m], ascending within a bluespot
    z_prefix: np.ndarray  # cumulative sum of z within each bluespot (exclusive)
    pumped_m3_h: np.ndarray  # m3/h pumped out (bluespots behind a dike), else 0

    @classmethod
    def from_static(cls, static: xr.Dataset, network: FlowNetwork) -> BluespotNetwork:
        """From the static cube (``bluespot_id``, ``bluespot_catchment``,
        ``bluespot_level``, ``elevation``) and the D8 network of the same terrain."""
        ids = np.asarray(static["bluespot_id"].values).ravel().astype("int64")
        n = int(ids.max()) if ids.size else 0
        x = static["x"].values
        cell_area = float(abs(x[1] - x[0])) ** 2
        catch = np.asarray(static["bluespot_catchment"].values).ravel().astype("int64")
        catchment_area = np.bincount(catch, minlength=n + 1)[1:].astype("float64") * cell_area
        target = _spill_targets(catch[network.cells], network.down.astype("int64"))
        inside = ids[network.cells] > 0
        spill_to = _majority_target(ids[network.cells][inside] - 1, target[inside], n)
        z = np.asarray(static["elevation"].values, dtype="float64").ravel()
        level = np.asarray(static["bluespot_level"].values, dtype="float64").ravel()
        flat = np.flatnonzero(ids > 0)
        order_cells = flat[np.lexsort((z[flat], ids[flat]))]
        counts = np.bincount(ids[order_cells], minlength=n + 1)[1:]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype("int64")
        zs = z[order_cells]
        spill_level = np.zeros(n)
        if n:
            spill_level[ids[order_cells] - 1] = level[order_cells]
        prefix = np.zeros_like(zs)
        sums = np.zeros(n)
        for b in range(n):  # per-bluespot prefix sums (exclusive)
            s, e = offsets[b], offsets[b + 1]
            prefix[s:e] = np.concatenate([[0.0], np.cumsum(zs[s:e])[:-1]])
            sums[b] = zs[s:e].sum()
        capacity = cell_area * (counts * spill_level - sums)
        pumped = np.zeros(n)
        if "dike_protected" in static and n:
            behind = np.asarray(static["dike_protected"].values).ravel()[order_cells]
            share = np.bincount(ids[order_cells] - 1, weights=behind, minlength=n) / np.maximum(
                counts, 1)
            pumped = np.where(share > 0.5, POLDER_PUMP_MM_D / 24e3 * catchment_area, 0.0)
        return cls(n, cell_area, catchment_area, spill_to, _upstream_first(spill_to), capacity,
                   offsets, order_cells.astype("int64"), zs, prefix, pumped)


@njit(cache=True)
def _spill_targets(label, down):
    """Per position in flow order: the first different catchment label downstream."""
    out = np.zeros(label.size, dtype=np.int64)
    for j in range(label.size):  # downstream-first: down[j] is done before j
        d = down[j]
        if d == j:
            out[j] = 0
        elif label[d] != label[j]:
            out[j] = label[d]
        else:
            out[j] = out[d]
    return out


def _majority_target(bluespot: np.ndarray, target: np.ndarray, n: int) -> np.ndarray:
    """Where most of each bluespot's cells spill to (a flat rim can have several exits)."""
    out = np.zeros(n, dtype="int64")
    if bluespot.size == 0:
        return out
    pairs, counts = np.unique(np.stack([bluespot, target]), axis=1, return_counts=True)
    order = np.lexsort((-counts, pairs[0]))  # per bluespot, the most cells first
    first = np.unique(pairs[0][order], return_index=True)[1]
    out[pairs[0][order][first]] = pairs[1][order][first]
    return out


def _upstream_first(spill_to: np.ndarray) -> np.ndarray:
    """Bluespot indices ordered so that each comes before the one it spills into.

    Two bluespots on one flat can each spill mostly towards the other; such a cycle is
    cut (in place: the last link's water leaves the area) so the order exists.
    """
    n = spill_to.size
    depth = np.full(n, -1, dtype="int64")
    for b in range(n):
        path: list[int] = []
        on_path: set[int] = set()
        c = b
        while c >= 0 and depth[c] < 0:
            if c in on_path:  # a cycle: cut the link that closed it
                spill_to[path[-1]] = 0
                c = -1
                break
            path.append(c)
            on_path.add(c)
            c = spill_to[c] - 1
        d = depth[c] if c >= 0 else -1
        for p in reversed(path):
            d += 1
            depth[p] = d
    return np.argsort(-depth, kind="stable")


@njit(cache=True)
def _level_of(volume, b, offsets, z, z_prefix, cell_area):
    """Water level and wet-cell count of bluespot ``b`` holding ``volume`` m3.

    With its cells sorted by elevation, the volume when the water reaches cell ``j``
    is ``W(j) = A·(j·z_j − Σ_{i<j} z_i)`` (increasing in ``j``); ``k`` cells are under
    water where ``W(k−1) <= V < W(k)``, and the level is ``(V/A + Σ_{i<k} z_i) / k``.
    """
    s, e = offsets[b], offsets[b + 1]
    if volume <= 0.0 or e == s:
        return -np.inf, 0
    lo, hi = 0, e - s - 1  # largest j in [0, n-1] with j == 0 or W(j) <= V
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cell_area * (mid * z[s + mid] - z_prefix[s + mid]) <= volume:
            lo = mid
        else:
            hi = mid - 1
    k = lo + 1
    total_z = z_prefix[s + k - 1] + z[s + k - 1]
    return (volume / cell_area + total_z) / k, k


@njit(cache=True)
def _step(volume, inflow_mm, loss_mm, net):
    """One hour for one member: volumes [m3] in place."""
    (catchment_area, spill_to, order, capacity, offsets, z, z_prefix, cell_area, pumped) = net
    extra = np.zeros(volume.size)
    for i in range(order.size):
        b = order[i]
        v = max(volume[b] + inflow_mm * 1e-3 * catchment_area[b] + extra[b] - pumped[b], 0.0)
        if v > 0.0:
            _, k = _level_of(v, b, offsets, z, z_prefix, cell_area)
            v = max(v - loss_mm * 1e-3 * k * cell_area, 0.0)
        if v > capacity[b]:
            t = spill_to[b]
            if t > 0:
                extra[t - 1] += v - capacity[b]
            v = capacity[b]
        volume[b] = v


@njit(cache=True)
def _run(volume0, excess, loss, net, min_depth):
    """Volumes after each hour and wet-member counts per bluespot cell.

    ``excess`` and ``loss`` are ``(member, hour)`` [mm/h]. Returns the volumes
    ``(member, hour, bluespot)`` and the count of members in which each cell is wet
    ``(hour, cell)`` (cells in the network's order).
    """
    n_members, n_hours = excess.shape
    nb = volume0.size
    offsets, z, z_prefix, cell_area = net[4], net[5], net[6], net[7]
    volumes = np.zeros((n_members, n_hours, nb))
    wet = np.zeros((n_hours, z.size), dtype=np.int32)
    for m in range(n_members):
        v = volume0.copy()
        for t in range(n_hours):
            _step(v, excess[m, t], loss[m, t], net)
            volumes[m, t] = v
            for b in range(nb):
                level, _ = _level_of(v[b], b, offsets, z, z_prefix, cell_area)
                for c in range(offsets[b], offsets[b + 1]):
                    if level - z[c] >= min_depth:
                        wet[t, c] += 1
                    else:
                        break  # cells are sorted by elevation
    return volumes, wet


def _packed(net: BluespotNetwork) -> tuple:
    return (net.catchment_area, net.spill_to, net.order, net.capacity, net.offsets, net.z,
            net.z_prefix, net.cell_area, net.pumped_m3_h)


def simulate(net: BluespotNetwork, excess: np.ndarray, loss: np.ndarray,
             volume0: np.ndarray | None = None, min_depth: float = MIN_DEPTH_M
             ) -> tuple[np.ndarray, np.ndarray]:
    """Run the buckets over hours.

    Parameters
    ----------
    net : BluespotNetwork
    excess, loss : numpy.ndarray
        Rain excess on the catchments and loss through the wet bottom [mm/h],
        ``(member, hour)`` or ``(hour,)``.
    volume0 : numpy.ndarray, optional
        Volumes [m3] at the start (default empty).

    Returns
    -------
    volumes : numpy.ndarray
        ``(member, hour, bluespot)`` [m3] after each hour.
    wet_share : numpy.ndarray
        float32 ``(hour, n_cells_in_bluespots)``: share of members in which each cell
        (``net.cells``) is wet.
    """
    excess = np.atleast_2d(np.asarray(excess, dtype="float64"))
    loss = np.broadcast_to(np.atleast_2d(np.asarray(loss, dtype="float64")), excess.shape)
    v0 = np.zeros(net.n) if volume0 is None else np.asarray(volume0, dtype="float64")
    if net.n == 0:
        return np.zeros((*excess.shape, 0)), np.zeros((excess.shape[1], 0), "float32")
    volumes, wet = _run(v0, excess, np.ascontiguousarray(loss), _packed(net), float(min_depth))
    return volumes, (wet / excess.shape[0]).astype("float32")


def bluespot_probability(net: BluespotNetwork, rain_observed: np.ndarray,
                         evaporation_observed_mm_d: np.ndarray, rain_members: np.ndarray,
                         evaporation_mm_d: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """Bluespot cells (flat), the probability ``(lead, cells)`` that each is wet, a summary.

    The observed hours before the issue time spin the buckets up (one member); the
    forecast hours run once per member of ``rain_members`` ``(member, lead)`` [mm/h].
    """
    obs_excess, api = rain_excess(rain_observed)
    obs_loss = BOTTOM_LOSS_MM_H + np.nan_to_num(evaporation_observed_mm_d) / 24.0
    spin, _ = simulate(net, obs_excess, obs_loss)
    v0 = spin[0, -1] if spin.shape[1] else np.zeros(net.n)
    fc_excess, _ = rain_excess(rain_members, api_start=api)
    loss = np.full(fc_excess.shape, BOTTOM_LOSS_MM_H + evaporation_mm_d / 24.0)
    volumes, wet = simulate(net, fc_excess, loss, v0)
    full = (volumes >= net.capacity[None, None, :] * 0.999) & (net.capacity > 0)
    summary = {"bluespots": net.n,
               "full_at_issue": int((v0 >= net.capacity * 0.999).sum()) if net.n else 0,
               "filled_m3_at_issue": round(float(v0.sum()), 1),
               "max_full_median_member": int(np.median(full.sum(axis=2).max(axis=1)))
               if net.n else 0}
    return net.cells, wet, summary
