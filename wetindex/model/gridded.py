"""Prediction of a chunk of cells with gridded drivers (per cell and lead).

The entry point for streaming the forecast chunk by chunk::

    ev = ChunkEvaluator(booster)            # once per run: trees parsed, leaf masks built
    prob = ev.predict_chunk(static_rows, groundwater_depth, drivers, zone_of_cell)
    # prob: float32 (lead, cells), equal to booster.predict on the chunk's feature rows

``drivers`` may be given three ways, all giving the same result:

- ``(leads, n_driver)``: area-uniform drivers (one series for the whole area);
- ``(zones, leads, n_driver)`` with ``zone_of_cell`` ``(cells,)``: drivers constant
  over a zone (a rain grid cell of 2.5 km, a coast stretch for the sea, or the
  pairs of both, see :func:`merge_zones`); this is the fast form;
- ``(leads, cells, n_driver)``: a driver row per cell and lead; cells with the same
  driver series are found and grouped into zones first (a sort of the chunk's
  driver series, so the form to prefer is the zoned one).

What is constant is evaluated once: the splits on static features once per cell,
the splits on drivers once per zone and lead (only the zones present in the chunk);
only the splits on features combining cell and driver (groundwater depth, sea
margins, rain over the bluespot's fill) are evaluated per cell and lead. The kernel
is the model compiled to C (:mod:`wetindex.model.chunkcode`, cached per model; the
result equals ``booster.predict`` rounded to float32); without a working C compiler
the numba kernel of :mod:`wetindex.model.fastpredict` runs (there a lead whose
drivers and combined-feature intervals equal the lead before's reuses its
probability), and the log says once which one. :func:`predict_rows_naive` is the
reference: ``booster.predict`` on the full feature rows.
"""

from __future__ import annotations

import logging
import weakref

import lightgbm as lgb
import numba
import numpy as np

from wetindex.features.stack import DRIVER_FEATURES, STATIC_FEATURES, feature_rows
from wetindex.model.chunkcode import ChunkKernel, compile_kernel
from wetindex.model.fastpredict import (
    CHUNK_CELLS,
    leaf_masks,
    predict_zone_chunk,
    zone_drivers,
)
from wetindex.model.forest import Forest, forest_from_booster
from wetindex.model.treecode import CompilerError

log = logging.getLogger(__name__)
_N_DRIVER = len(DRIVER_FEATURES)
#: The engines already logged in this process ("c", "numba"): each is logged once.
_LOGGED: set[str] = set()


def as_zones(drivers: np.ndarray, zone_of_cell: np.ndarray | None,
             n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Any accepted driver form as ``(zone drivers (Z, L, D), zone of each cell (n,))``.

    Only the zones used by the cells are kept (renumbered in order).
    """
    drivers = np.asarray(drivers, dtype="float32")
    if drivers.ndim == 2:
        if zone_of_cell is not None:
            raise ValueError("drivers: (leads, n_driver) are area-uniform; give "
                             "(zones, leads, n_driver) with zone_of_cell")
        return drivers[None], np.zeros(n_cells, dtype="int32")
    if drivers.ndim != 3 or drivers.shape[2] != _N_DRIVER:
        raise ValueError(f"drivers: expected (leads, {_N_DRIVER}), (zones, leads, {_N_DRIVER}) "
                         f"or (leads, cells, {_N_DRIVER}), got {drivers.shape}")
    if zone_of_cell is None:  # a row per cell and lead: group cells with equal series
        if drivers.shape[1] != n_cells:
            raise ValueError(f"drivers: (leads, cells, n_driver) needs {n_cells} cells, "
                             f"got {drivers.shape[1]}; or give zone_of_cell")
        series = np.ascontiguousarray(drivers.transpose(1, 0, 2)).reshape(n_cells, -1)
        # compare bit patterns, so NaN equals NaN
        keys = series.view(np.uint32)
        _, first, zone = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        return (np.ascontiguousarray(drivers[:, first].transpose(1, 0, 2)),
                zone.ravel().astype("int32"))
    zone_of_cell = np.asarray(zone_of_cell)
    if zone_of_cell.shape != (n_cells,):
        raise ValueError(f"zone_of_cell: expected ({n_cells},), got {zone_of_cell.shape}")
    if n_cells and (zone_of_cell.min() < 0 or zone_of_cell.max() >= drivers.shape[0]):
        raise ValueError(f"zone_of_cell: zones must lie in 0..{drivers.shape[0] - 1}")
    used, zone = np.unique(zone_of_cell, return_inverse=True)
    return np.ascontiguousarray(drivers[used]), zone.ravel().astype("int32")


def merge_zones(*zone_of_cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One zoning from several (e.g. rain grid cell and coast stretch).

    Returns the merged zone of each cell and, per merged zone, its zone in each input
    ``(n_merged, n_inputs)``: build the merged zone's drivers from those.
    """
    stacked = np.stack([np.asarray(z, dtype="int64") for z in zone_of_cell], axis=1)
    pairs, merged = np.unique(stacked, axis=0, return_inverse=True)
    return merged.ravel().astype("int32"), pairs


class ChunkEvaluator:
    """A booster prepared for :meth:`predict_chunk` (see module docstring).

    Parameters
    ----------
    model : lightgbm.Booster or Forest
        A binary model on :data:`wetindex.features.stack.FEATURES` (its best iteration
        is used, as ``booster.predict`` does), or its trees already read
        (:func:`~wetindex.model.forest.forest_from_booster`).
    engine : {"auto", "c", "numba"}
        ``"c"``: the model compiled to C (:mod:`wetindex.model.chunkcode`, cached per
        model); ``"numba"``: the numba kernel (:mod:`wetindex.model.fastpredict`);
        ``"auto"`` (default): C, or numba when no C compiler works. Which one runs is
        logged once per process and kept in :attr:`engine`.
    """

    def __init__(self, model: lgb.Booster | Forest, *, engine: str = "auto") -> None:
        if engine not in ("auto", "c", "numba"):
            raise ValueError(f"engine: expected 'auto', 'c' or 'numba', got {engine!r}")
        self.forest = model if isinstance(model, Forest) else forest_from_booster(model)
        self.kernel: ChunkKernel | None = None
        self.masks = None
        reason = ""
        if engine != "numba":
            try:
                self.kernel = compile_kernel(self.forest)
            except CompilerError as exc:
                if engine == "c":
                    raise
                reason = str(exc)
        if self.kernel is None:
            self.masks = leaf_masks(self.forest)
        #: ``"c"`` or ``"numba"``: the kernel :meth:`predict_chunk` runs.
        self.engine = "c" if self.kernel is not None else "numba"
        if self.engine not in _LOGGED:
            _LOGGED.add(self.engine)
            if self.kernel is not None:
                log.info("chunk evaluator: generated C kernel %s", self.kernel.path)
            elif engine == "numba":
                log.info("chunk evaluator: numba kernel (asked for)")
            else:
                log.warning("chunk evaluator: numba kernel, the C kernel could not be "
                            "built: %s", reason)

    def predict_chunk(self, static_rows: np.ndarray, groundwater_depth: np.ndarray,
                      drivers: np.ndarray, zone_of_cell: np.ndarray | None = None, *,
                      num_threads: int = 0) -> np.ndarray:
        """Probabilities ``float32 (lead, cells)`` of a chunk of cells.

        Parameters
        ----------
        static_rows : numpy.ndarray
            ``(cells, n_static)`` from :func:`~wetindex.features.stack.static_table`.
        groundwater_depth : numpy.ndarray
            ``(cells,)`` groundwater depth below terrain at the issue time [m].
        drivers : numpy.ndarray
            ``(leads, n_driver)``, ``(zones, leads, n_driver)`` with ``zone_of_cell``,
            or ``(leads, cells, n_driver)`` (see module docstring).
        zone_of_cell : numpy.ndarray, optional
            ``(cells,)`` zone index of each cell into ``drivers``.
        num_threads : int
            Threads (0: all cores; 1 inside a Dask worker thread).
        """
        static_rows = np.ascontiguousarray(static_rows, dtype="float32")
        if static_rows.ndim != 2 or static_rows.shape[1] != len(STATIC_FEATURES):
            raise ValueError(f"static_rows: expected (cells, {len(STATIC_FEATURES)}), "
                             f"got {static_rows.shape}")
        n = len(static_rows)
        depth = np.ascontiguousarray(groundwater_depth, dtype="float32")
        if depth.shape != (n,):
            raise ValueError(f"groundwater_depth: expected ({n},), got {depth.shape}")
        zdrivers, zone = as_zones(drivers, zone_of_cell, n)
        if self.kernel is not None:
            out = np.empty((zdrivers.shape[1], n), dtype="float32")
            return self.kernel.predict(static_rows, depth, zdrivers, zone, out, num_threads)
        zd = zone_drivers(self.forest, self.masks, zdrivers)
        n_leads = zdrivers.shape[1]
        out = np.empty((n_leads, n), dtype="float32")
        buf = np.empty((min(CHUNK_CELLS, n), n_leads), dtype="float32")
        previous = numba.get_num_threads()
        if num_threads > 0:
            numba.set_num_threads(min(num_threads, numba.config.NUMBA_NUM_THREADS))
        try:
            for first in range(0, n, CHUNK_CELLS):
                m = min(CHUNK_CELLS, n - first)
                predict_zone_chunk(self.forest, self.masks, zd, static_rows, depth, zone,
                                   first, buf[:m])
                out[:, first:first + m] = buf[:m].T
        finally:
            numba.set_num_threads(previous)
        return out


#: The evaluator of each Forest object (by id, with a weak reference to tell a reused id).
_EVALUATORS: dict[int, tuple[weakref.ref, ChunkEvaluator]] = {}


def evaluator_for(forest: Forest) -> ChunkEvaluator:
    """The :class:`ChunkEvaluator` of ``forest``, made once per ``Forest`` object (the C
    kernel compiled or loaded once, not per issue time)."""
    hit = _EVALUATORS.get(id(forest))
    if hit is not None and hit[0]() is forest:
        return hit[1]
    evaluator = ChunkEvaluator(forest)
    _EVALUATORS[id(forest)] = (weakref.ref(forest), evaluator)
    return evaluator


def predict_cube(forest: Forest, static_rows: np.ndarray, groundwater_depth: np.ndarray,
                 drivers: np.ndarray, cells: np.ndarray, out: np.ndarray,
                 *, zone_of_cell: np.ndarray | None = None, num_threads: int = 0) -> np.ndarray:
    """Probabilities of ``cells`` at every lead, written into ``out[lead, cell]``.

    Parameters
    ----------
    forest : Forest
        From :func:`~wetindex.model.forest.forest_from_booster`.
    static_rows : numpy.ndarray
        ``(n, n_static)`` float32 from :func:`~wetindex.features.stack.static_table`.
    groundwater_depth : numpy.ndarray
        ``(n,)`` float32 at the issue time [m].
    drivers : numpy.ndarray
        ``(leads, n_driver)`` float32 area drivers, or ``(zones, leads, n_driver)``
        with ``zone_of_cell``.
    cells : numpy.ndarray
        ``(n,)`` flat index in ``out``'s second axis of each row.
    out : numpy.ndarray
        ``(leads, n_flat)`` float32, written in place and returned.
    zone_of_cell : numpy.ndarray, optional
        ``(n,)`` zone of each row in ``drivers`` (zoned drivers only).
    num_threads : int
        Threads (0: all cores).
    """
    evaluator = evaluator_for(forest)
    cells = np.asarray(cells)
    # :data:`CHUNK_CELLS` cells at a time: one chunk's probabilities, not the area's, are
    # held beside ``out``
    for first in range(0, len(cells), CHUNK_CELLS):
        part = slice(first, first + CHUNK_CELLS)
        out[:, cells[part]] = evaluator.predict_chunk(
            static_rows[part], groundwater_depth[part], drivers,
            None if zone_of_cell is None else zone_of_cell[part], num_threads=num_threads)
    return out


def feature_rows_gridded(static_rows: np.ndarray, groundwater_depth: np.ndarray,
                         drivers: np.ndarray, zone_of_cell: np.ndarray | None,
                         lead: int) -> np.ndarray:
    """The full feature rows ``(cells, n_features)`` of one lead, for any driver form."""
    zdrivers, zone = as_zones(drivers, zone_of_cell, len(static_rows))
    return feature_rows(static_rows, zdrivers[zone, lead], groundwater_depth)


def predict_rows_naive(booster: lgb.Booster, static_rows: np.ndarray,
                       groundwater_depth: np.ndarray, drivers: np.ndarray,
                       zone_of_cell: np.ndarray | None = None, *,
                       num_threads: int = 0) -> np.ndarray:
    """The reference for :meth:`ChunkEvaluator.predict_chunk`: ``booster.predict`` per lead."""
    zdrivers, zone = as_zones(drivers, zone_of_cell, len(static_rows))
    return np.stack([
        booster.predict(feature_rows(static_rows, zdrivers[zone, li], groundwater_depth),
                        num_threads=num_threads)
        for li in range(zdrivers.shape[1])]).astype("float32")
