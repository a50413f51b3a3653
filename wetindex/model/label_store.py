"""The label store: every observation of surface water with its source and confidence.

Training asks for labels at (valid hour, cell). The store answers from the
observations whose time window covers that hour (widened by ``tolerance``); where
several cover the same cell, the most confident wins. Everything else is -1
unknown, and unknown rows are never used as dry.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wetindex.grid import AreaGrid
from wetindex.model.labels import PERMANENT, UNKNOWN, LabelMap
from wetindex.sources.base import InputMissingError


class LabelStore:
    """Label maps of one area grid, queried by time and cell.

    Parameters
    ----------
    grid : AreaGrid
        The area grid every map is on.
    tolerance : pandas.Timedelta
        How far from its window an observation still labels an hour (a satellite
        pass at 05:18 labels the 05:00 and 06:00 hours with the default 1 h).
    """

    def __init__(self, grid: AreaGrid, tolerance: pd.Timedelta | None = None):
        self.grid = grid
        self.tolerance = pd.Timedelta(hours=1) if tolerance is None else tolerance
        self.maps: list[LabelMap] = []

    def add(self, maps: LabelMap | list[LabelMap]) -> LabelStore:
        """Add maps; one with the same source, start and detail as a held one replaces it
        (a rebuild over an overlapping window does not count a scene twice)."""
        for m in [maps] if isinstance(maps, LabelMap) else maps:
            if m.values.shape != self.grid.shape:
                raise ValueError(f"label {m.detail or m.source}: shape {m.values.shape} is not "
                                 f"the grid's {self.grid.shape}")
            self.maps = [k for k in self.maps
                         if (k.source, k.start, k.detail) != (m.source, m.start, m.detail)]
            self.maps.append(m)
        self.maps.sort(key=lambda m: m.start)
        return self

    def __len__(self) -> int:
        return len(self.maps)

    def _covering(self, t: pd.Timestamp) -> list[int]:
        return [i for i, m in enumerate(self.maps)
                if m.start - self.tolerance <= t <= m.end + self.tolerance]

    def query(self, times: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
        """Labels, confidence and source index at ``times`` × flat ``cells``.

        Returns int8 labels (1/0/-1), float32 confidence (0 where unknown) and
        int16 index into :attr:`maps` (-1 where unknown).
        """
        cells = np.asarray(cells)
        label = np.full((len(times), len(cells)), UNKNOWN, dtype="int8")
        conf = np.zeros(label.shape, dtype="float32")
        which = np.full(label.shape, -1, dtype="int16")
        for i, t in enumerate(pd.DatetimeIndex(times)):
            for j in self._covering(t):
                m = self.maps[j]
                v = m.values.ravel()[cells]
                better = (v != UNKNOWN) & (m.confidence > conf[i])
                label[i, better] = v[better]
                conf[i, better] = m.confidence
                which[i, better] = j
        return label, conf, which

    def labels(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """int8 labels at ``times`` × ``cells`` (the :class:`AreaInputs` contract).

        Permanent water is unknown here: the model learns flood water, not the lake.
        """
        label = self.query(times, cells)[0]
        label[label == PERMANENT] = UNKNOWN
        return label

    def summary(self) -> list[dict[str, Any]]:
        """One row per map: source, window, confidence and counts, for metadata."""
        return [{"source": m.source, "start": m.start.isoformat(), "end": m.end.isoformat(),
                 "confidence": m.confidence, "detail": m.detail,
                 "wet_cells": int((m.values == 1).sum()), "dry_cells": int((m.values == 0).sum()),
                 "permanent_cells": int((m.values == PERMANENT).sum()),
                 "unknown_cells": int((m.values == UNKNOWN).sum())}
                for m in self.maps]

    def save(self, folder: Path) -> Path:
        """``labels.npz`` (the maps) and ``labels.json`` (their provenance)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "labels.npz",
                            values=np.stack([m.values for m in self.maps])
                            if self.maps else np.zeros((0, *self.grid.shape), "int8"))
        meta = {"grid": self.grid.to_dict(), "tolerance_h": self.tolerance / pd.Timedelta(hours=1),
                "maps": self.summary()}
        (folder / "labels.json").write_text(json.dumps(meta, indent=2))
        return folder

    @classmethod
    def load(cls, folder: Path) -> LabelStore:
        folder = Path(folder)
        meta = json.loads((folder / "labels.json").read_text())
        store = cls(AreaGrid(**meta["grid"]), pd.Timedelta(hours=meta["tolerance_h"]))
        values = np.load(folder / "labels.npz")["values"]
        store.add([LabelMap(v, pd.Timestamp(m["start"]), pd.Timestamp(m["end"]), m["source"],
                            m["confidence"], m["detail"]) for v, m in zip(values, meta["maps"],
                                                                          strict=True)])
        return store


class LabelledInputs:
    """An area's inputs whose ``labels`` come from a :class:`LabelStore`.

    Everything else is the wrapped inputs' own, so training a real area on
    satellite and report labels goes through the same code as the demo. Where
    the store knows nothing (unknown) and the area has its own label file, that
    file's label is used; the store wins where both know.
    """

    def __init__(self, inputs: Any, store: LabelStore):
        if store.grid != inputs.grid:
            raise ValueError(f"label store grid {store.grid} is not the area's {inputs.grid}: "
                             "rebuild it with 'wetindex labels build'")
        self._inputs = inputs
        self.store = store

    def labels(self, times: np.ndarray, cells: np.ndarray) -> np.ndarray:
        label = self.store.labels(times, cells)
        try:
            own = self._inputs.labels(times, cells)
        except InputMissingError:
            return label
        return np.where(label == UNKNOWN, own, label).astype("int8")

    def digests(self) -> dict[str, str]:
        """The wrapped inputs' digests plus the store's, so new labels retrain the model."""
        out = dict(self._inputs.digests()) if hasattr(self._inputs, "digests") else {}
        h = hashlib.sha256(json.dumps(self.store.summary(), sort_keys=True).encode())
        for m in self.store.maps:
            h.update(m.values.tobytes())
        out["label_store"] = h.hexdigest()
        return out

    def label_times(self, start: Any, end: Any) -> pd.DatetimeIndex:
        """The store's maps' hours (each window widened by the tolerance) and the wrapped
        inputs' own label hours, in ``[start, end]``."""
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        hours = [pd.date_range((m.start - self.store.tolerance).ceil("h"),
                               (m.end + self.store.tolerance).floor("h"), freq="h")
                 for m in self.store.maps]
        own = getattr(self._inputs, "label_times", None)
        if own is not None:
            hours.append(own(start, end))
        out = pd.DatetimeIndex(np.concatenate([h.values for h in hours])
                               if hours else []).unique().sort_values()
        return out[(out >= start) & (out <= end)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inputs, name)


def with_label_store(inputs: Any, area_dir: Path) -> Any:
    """``inputs`` with the area's label store (``<area_dir>/labels``) when one was built.

    This is how training reads the store for every area kind; without one, the
    inputs are returned unchanged.
    """
    folder = Path(area_dir) / "labels"
    if not (folder / "labels.json").exists():
        return inputs
    return LabelledInputs(inputs, LabelStore.load(folder))
