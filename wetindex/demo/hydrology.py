"""The demo world's true surface water, hour by hour, from a simple physical model.

Four processes, each giving a boolean mask; *flood water* is their union outside
permanent water (sea, lake, stream channel), and a cell counts as wet where the water is
at least :data:`MIN_DEPTH` (2 cm) deep.

Pluvial (bluespots)
    Rain excess runs along the D8 flow network into closed depressions (bluespots from
    :func:`wetindex.features.terrain.bluespots`, with sea, lake, stream and grid edge as
    outlets). Excess per cell = impervious share × rain + pervious share ×
    max(rain − infiltration capacity, 0); the capacity depends on land cover, soil
    wetness (a 100 mm bucket) and groundwater depth (zero when the water table is at the
    surface). It is computed per class (land cover × groundwater-depth bin) and summed
    per bluespot catchment, so the hour loop is over bluespots, not cells. Each bluespot
    fills; its level comes from its volume–level curve (its cells' sorted elevations:
    ``V = A·Σ(level − z_i)`` over cells below the level); a full bluespot spills to the
    bluespot (or the stream) its overflow path reaches first. Water leaves by
    infiltration (1.5 mm/h, slower with high groundwater) and open-water evaporation.
    Filling a bluespot puts water in its lowest cells first (one level per bluespot:
    nested sub-basins fill together).
Fluvial (stream "Lilleå")
    The stream's catchment excess (plus spills reaching it) feeds a linear reservoir
    (k = 8 h) giving a specific discharge ``q`` [mm/h]. The channel is cut ``BANK_M`` (1 m)
    below its floodplain. Above bankfull (``q > Q_BANKFULL``) the water stands
    ``overbank = s(acc)·BANK_M·((q / Q_BANKFULL)^0.4 − 1)`` over the banks, with
    ``s = (acc / acc_mouth)^0.3`` (higher downstream, where more of the catchment drains
    through); a floodplain cell (HAND < 3 m, draining to the channel) floods where its
    height above the channel cell it drains to is below ``BANK_M + overbank``. So the
    stream floods only after heavy rain, and most near its mouth.
Coastal
    Bathtub: a cell outside the polder is wet where its ``sea_flood_level`` (the lowest
    sea level that reaches it over the terrain) is below the hour's sea level. The polder
    behind the dike is one big bluespot: while the sea is below the crest it gets no sea
    water; when the sea overtops, a broad-crested weir (1.6·L·h^1.5 per dike column) fills
    it, the water stays and the pumping station drains it (40 mm/day of the polder's
    area, shared with rain water). Its sea water floods the polder's lowest cells.
Groundwater
    A cell is wet where the water table reaches the surface: base depth minus the hourly
    anomaly <= 0. The base depth is shallow in lowlands (0.15 m + 0.7·(height above the
    local 300 m minimum)^0.8 + 0.08 m per metre above 4 m + smooth noise of 0.15 m, at
    least 0.1 m), except in the drained polder (at least 0.9 m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy import ndimage

from wetindex.demo import _kernels
from wetindex.demo.climate import soil_wetness
from wetindex.features import terrain as ft
from wetindex.grid import AreaGrid

MIN_DEPTH = 0.02  # m: shallower water is not counted as wet
Q_BANKFULL = 0.4  # mm/h: specific discharge at which the stream leaves its banks at the mouth
STREAM_K_H = 8.0  # h: linear-reservoir constant of the stream catchment
INFILTRATION_MM_H = 1.5  # mm/h: loss from the wet bottom of a bluespot
PUMP_MM_D = 40.0  # mm/day over the polder's area: pumping-station capacity
FLOODPLAIN_HAND = 3.0  # m: cells higher above the stream are never fluvially flooded
BANK_M = 1.0  # m: depth of the channel below its floodplain (as cut in the terrain)
POLDER_DRAIN_M = 0.9  # m: the polder's drained water table lies at least this deep

#: infiltration capacity [mm/h] and impervious share per land-cover code
SOIL = {2: (25.0, 0.0), 3: (6.0, 0.10), 4: (4.0, 0.0), 5: (5.0, 0.0), 6: (10.0, 0.0),
        7: (2.0, 0.45)}
D0_BINS = np.array([0.0, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, np.inf])


@dataclass
class TruthCells:
    """Per-cell fields the water masks are made from (flat, length ny·nx)."""

    cells: xr.Dataset  # (y, x): see :func:`analyse_terrain`
    curves: dict[str, np.ndarray]  # bluespot volume–level curves and cascade

    def flat(self, name: str) -> np.ndarray:
        return self.cells[name].values.ravel()


def groundwater_base_depth(elevation: np.ndarray, cell_size: float, perm: np.ndarray,
                           rng: np.random.Generator) -> np.ndarray:
    """Mean depth [m] of the water table below terrain: shallow in lowlands, deep in hills."""
    size = max(3, round(300.0 / cell_size) | 1)
    floor = ndimage.uniform_filter(ndimage.minimum_filter(elevation, size=size), size=size // 2)
    relief = np.clip(elevation - floor, 0.0, None)
    noise = ndimage.gaussian_filter(rng.standard_normal(elevation.shape), 2.0) * 0.15
    d0 = 0.15 + 0.7 * relief**0.8 + 0.08 * np.clip(elevation - 4.0, 0, None) + noise
    return np.where(perm, 0.0, np.clip(d0, 0.1, 30.0)).astype(np.float32)


def analyse_terrain(static: xr.Dataset, grid: AreaGrid, polder_design: np.ndarray,
                    seed: int) -> TruthCells:
    """Bluespots, their curves and cascade, stream drainage and the sea's reach."""
    elev = static["elevation"]
    perm = static["permanent_water"].values
    edge = np.zeros(grid.shape, dtype=bool)
    edge[[0, -1], :] = True
    edge[:, [0, -1]] = True
    # water leaves at the sea, the lake, the stream channel and the grid edge
    outlets = grid.data_array(perm | edge, "outlets")
    filled = ft.fill_depressions(elev, outlets).values
    spots = ft.bluespots(elev, outlets, min_depth=0.05, min_cells=4)
    flw = ft.flow_directions(elev, outlets)
    sfl = ft.sea_flood_level(elev, static["sea"]).values
    z = elev.values.astype(np.float64)

    # a bluespot owns its whole depression (rim included), as the feature engine does
    ids = spots["bluespot_id"].values
    region, n_region = ndimage.label(filled - z > 0, structure=np.ones((3, 3), bool))
    owner = np.zeros(n_region + 1, dtype=np.int32)
    if n_region:
        owner[1:] = ndimage.maximum(ids, region, index=np.arange(1, n_region + 1))
    owned = np.where(ids > 0, ids, owner[region]).astype(np.int32)
    nb = int(ids.max())
    flat_owned = owned.ravel()
    in_b = np.flatnonzero(flat_owned > 0)
    order_cells = in_b[np.lexsort((z.ravel()[in_b], flat_owned[in_b]))]
    z_sorted = z.ravel()[order_cells]
    counts_b = np.bincount(flat_owned, minlength=nb + 1)[1:]
    offs = np.concatenate([[0], np.cumsum(counts_b)]).astype(np.int64)
    csum = np.cumsum(z_sorted)
    base = np.concatenate([[0.0], csum])[offs[:-1]]
    z_cumsum = csum - np.repeat(base, counts_b)
    spill = filled.ravel()[order_cells][offs[:-1]]
    vmax = grid.cell_area * (counts_b * spill - z_cumsum[offs[1:] - 1])
    lowest = order_cells[offs[:-1]]

    stream = static["stream"].values.ravel()
    idxs_ds = flw.idxs_ds.astype(np.int64)
    seq = flw.idxs_seq.astype(np.int64)
    catchment = spots["bluespot_catchment"].values.ravel()
    target = _kernels.spill_targets(idxs_ds, flat_owned, lowest, catchment, stream)
    drain, hand_s = _kernels.stream_drainage(idxs_ds, seq, stream, z.ravel())
    acc = np.bincount(drain[drain >= 0], minlength=z.size).astype(np.float64)
    # channel cells are outlets (pits) in the routing; the one channel runs downhill, so
    # the area draining to a channel cell or upstream of it is a running sum by height
    chan = np.flatnonzero(stream)
    chan = chan[np.argsort(-z.ravel()[chan], kind="stable")]
    acc_chan = np.zeros(z.size)
    acc_chan[chan] = np.cumsum(acc[chan])
    acc_cell = np.where(drain >= 0, acc_chan[np.maximum(drain, 0)], 0.0)
    stage_scale = (acc_cell / max(acc_chan.max(), 1.0)) ** 0.3
    hand_fp = np.where((hand_s < FLOODPLAIN_HAND) & ~perm.ravel(), hand_s, np.nan)

    rng = np.random.default_rng([seed, 3])
    d0 = groundwater_base_depth(z, grid.cell_size, perm, rng)
    polder_votes = np.bincount(owned[polder_design], minlength=nb + 1)
    polder_votes[0] = 0
    polder_id = int(np.argmax(polder_votes)) if polder_votes.sum() else 0
    polder = owned == polder_id if polder_id else np.zeros(grid.shape, bool)
    # a pumped polder is drained: its ditches and the pumping station hold the water
    # table at least POLDER_DRAIN_M below the fields
    d0 = np.where(polder, np.maximum(d0, POLDER_DRAIN_M), d0).astype(np.float32)

    cells = xr.Dataset({
        "bluespot": grid.data_array(owned, "bluespot", long_name="bluespot (1..n) owning the "
                                    "cell, its rim included; 0 none"),
        "sea_flood_level": grid.data_array(sfl.astype(np.float32), "sea_flood_level", "m"),
        "polder": grid.data_array(polder, "polder", long_name="cells behind Nordre Dige"),
        "groundwater_base_depth": grid.data_array(d0, "groundwater_base_depth", "m"),
        "stream_hand": grid.data_array(hand_fp.reshape(grid.shape).astype(np.float32),
                                       "stream_hand", "m",
                                       long_name="height above the stream cell drained to "
                                       "(NaN off the floodplain)"),
        "stage_scale": grid.data_array(stage_scale.reshape(grid.shape).astype(np.float32),
                                       "stage_scale", "m"),
        "filled_elevation": grid.data_array(filled.astype(np.float32), "filled_elevation", "m"),
        "stream_catchment": grid.data_array((drain >= 0).reshape(grid.shape),
                                            "stream_catchment"),
    })
    curves = {
        "offs": offs, "z_sorted": z_sorted, "z_cumsum": z_cumsum, "vmax": vmax,
        "spill_level": spill, "target": target, "lowest": lowest,
        "polder_index": np.array([polder_id - 1]),
        "catchment": catchment.astype(np.int32),
        "stream_drain": drain,
    }
    return TruthCells(cells=cells, curves=curves)


def _classes(static: xr.Dataset, d0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                          np.ndarray]:
    """Soil class per cell (-1 permanent water) and the classes' capacity, impervious share
    and mean groundwater base depth."""
    lc = static["land_cover"].values.ravel()
    d0 = d0.ravel()
    codes = sorted(SOIL)
    lc_idx = np.full(lc.shape, -1, dtype=np.int64)
    for i, code in enumerate(codes):
        lc_idx[lc == code] = i
    nbin = D0_BINS.size - 1
    bin_idx = np.clip(np.searchsorted(D0_BINS, d0, side="right") - 1, 0, nbin - 1)
    cls = np.where(lc_idx >= 0, lc_idx * nbin + bin_idx, -1)
    ncls = len(codes) * nbin
    f = np.repeat([SOIL[c][0] for c in codes], nbin).astype(np.float64)
    imperv = np.repeat([SOIL[c][1] for c in codes], nbin).astype(np.float64)
    valid = cls >= 0
    n = np.bincount(cls[valid], minlength=ncls)
    mean_d0 = np.bincount(cls[valid], weights=d0[valid], minlength=ncls) / np.maximum(n, 1)
    return cls, f, imperv, mean_d0


def _cascade_order(target: np.ndarray) -> np.ndarray:
    """Bluespots ordered so every bluespot comes before the one it spills into.

    Two depressions joined by a flat at exactly their common spill level can point at
    each other; such a cycle is broken by letting one of them spill out of the system.
    Modifies ``target`` in place when it breaks a cycle.
    """
    nb = target.size
    while True:
        indeg = np.bincount(target[target >= 0], minlength=nb)
        stack = list(np.flatnonzero(indeg == 0))
        order = []
        while stack:
            b = stack.pop()
            order.append(b)
            t = target[b]
            if t >= 0:
                indeg[t] -= 1
                if indeg[t] == 0:
                    stack.append(t)
        if len(order) == nb:
            return np.asarray(order, dtype=np.int64)
        left = np.setdiff1d(np.arange(nb), order)
        b = int(left[0])
        seen = set()
        while b not in seen:  # walk to a node on the cycle
            seen.add(b)
            b = int(target[b])
        target[b] = -1


def simulate(truth: TruthCells, static: xr.Dataset, forcing: xr.Dataset,
             grid: AreaGrid) -> xr.Dataset:
    """Run the hour loop over ``forcing``'s times; return the hourly truth state.

    Returns
    -------
    xr.Dataset
        On ``time``: ``sea_level`` [m], ``groundwater_anomaly`` [m], ``stream_discharge``
        (specific, mm/h), ``polder_sea_level`` [m] (level of the sea water behind the dike,
        NaN when none), ``polder_inflow`` [m3/h] (overtopping); on (``time``,
        ``bluespot``): ``bluespot_level`` [m] (NaN when empty).
    """
    c = truth.curves
    d0 = truth.cells["groundwater_base_depth"].values
    cls, f, imperv, mean_d0 = _classes(static, d0)
    nb = c["vmax"].size
    catchment = c["catchment"]
    row = np.where(catchment > 0, catchment - 1, np.where(c["stream_drain"] >= 0, nb, -1))
    ok = (row >= 0) & (cls >= 0)
    ncls = f.size
    counts = np.bincount(row[ok] * ncls + cls[ok], minlength=(nb + 1) * ncls)
    counts = counts.reshape(nb + 1, ncls).astype(np.float64) * grid.cell_area / 1000.0
    order = _cascade_order(c["target"])
    bottom_d0 = d0.ravel()[c["lowest"]].astype(np.float64)

    polder = int(c["polder_index"][0])
    crest = static["dike_crest"].values
    polder_cols = truth.cells["polder"].values.any(axis=0)
    crest_cols = np.nanmin(np.where(np.isnan(crest), np.inf, crest), axis=0)
    crest_cols = crest_cols[polder_cols & np.isfinite(crest_cols)].astype(np.float64)
    pump = PUMP_MM_D / 1000.0 / 24.0 * float(truth.cells["polder"].values.sum()) * grid.cell_area
    stream_area = float(truth.cells["stream_catchment"].values.sum()) * grid.cell_area

    rain = forcing["rain"].values.astype(np.float64)
    evap_h = forcing["evaporation"].values.astype(np.float64) / 24.0
    gw = forcing["groundwater_anomaly"].values.astype(np.float64)
    sea = forcing["sea_level"].values.astype(np.float64)
    wet = soil_wetness(rain, forcing["evaporation"].values.astype(np.float64))
    levels, psl, pin, q = _kernels.simulate_water(
        rain, evap_h, gw, wet, sea, f, imperv, mean_d0, counts, order, c["target"],
        c["offs"], c["z_sorted"], c["z_cumsum"], c["vmax"], bottom_d0, polder, crest_cols,
        float(grid.cell_size), pump, stream_area, STREAM_K_H, INFILTRATION_MM_H,
    )
    time = forcing["time"].values
    return xr.Dataset(
        {
            "sea_level": ("time", sea.astype(np.float32), {"units": "m"}),
            "groundwater_anomaly": ("time", gw.astype(np.float32), {"units": "m"}),
            "soil_wetness": ("time", wet.astype(np.float32), {"units": "1"}),
            "stream_discharge": ("time", q, {"units": "mm/h",
                                 "long_name": "specific discharge of the stream"}),
            "polder_sea_level": ("time", psl, {"units": "m"}),
            "polder_inflow": ("time", pin, {"units": "m3/h"}),
            "bluespot_level": (("time", "bluespot"), levels, {"units": "m"}),
        },
        coords={"time": time, "bluespot": np.arange(1, nb + 1, dtype=np.int32)},
        attrs={"min_depth_m": MIN_DEPTH, "q_bankfull_mm_h": Q_BANKFULL},
    )


def water_components(cells: dict[str, np.ndarray], state: xr.Dataset, t_idx: np.ndarray,
                     cell_idx: np.ndarray | None) -> dict[str, np.ndarray]:
    """Boolean masks per process for hour positions ``t_idx``: arrays (time, n) on ``cell_idx``
    (flat indices) or on all cells. ``cells`` maps field names to flat arrays."""
    def pick(name):
        a = cells[name]
        return a if cell_idx is None else a[cell_idx]

    elev, bl, sfl = pick("elevation"), pick("bluespot"), pick("sea_flood_level")
    polder, d0, hand_s = pick("polder"), pick("groundwater_base_depth"), pick("stream_hand")
    scale, perm = pick("stage_scale"), pick("permanent_water")
    t_idx = np.asarray(t_idx, dtype=np.int64)
    sea = state["sea_level"].values[t_idx][:, None]
    psl = state["polder_sea_level"].values[t_idx][:, None]
    gw = state["groundwater_anomaly"].values[t_idx][:, None]
    q = state["stream_discharge"].values[t_idx][:, None]
    levels = state["bluespot_level"].values
    dry = ~perm[None, :]
    in_b = bl > 0
    lvl = np.full((t_idx.size, elev.size), np.nan, dtype=np.float32)
    lvl[:, in_b] = levels[t_idx][:, bl[in_b] - 1]
    with np.errstate(invalid="ignore"):
        coastal = (~polder & (sfl < sea) & (elev < sea - MIN_DEPTH))
        coastal |= polder & (elev < psl - MIN_DEPTH)
        coastal &= dry
        pluvial = (elev < lvl - MIN_DEPTH) & dry & ~coastal
        overbank = scale * BANK_M * (np.power(np.maximum(q, 0) / Q_BANKFULL, 0.4) - 1.0)
        fluvial = (overbank > MIN_DEPTH) & (hand_s < BANK_M + overbank - MIN_DEPTH) & dry
        groundwater = (d0 - gw <= 0) & dry
    return {"pluvial": pluvial, "fluvial": fluvial, "coastal": coastal,
            "groundwater": groundwater}
