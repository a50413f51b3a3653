"""Labels as providers write them: declared codes for water, dry, unknown and no-data.

A label raster's cell values are codes. The area config declares them
(``inputs.labels``, see :class:`wetindex.config.LabelsInput`)::

    labels: {path: water.nc, water: 1, dry: 0, unknown: [255, -1], nodata: NaN}

The defaults (water 1, dry 0, unknown −1 or 255, no-data NaN) read the common files as
they are. Every value of the file is checked against the declared codes before
anything else happens: a value outside them is one error naming the values and the
file. The codes are matched as numbers on the file's own values (a ``uint8`` 255 is
255, never pushed through an ``int8`` cast), then written as wetindex's own codes
(:data:`WET` 1, :data:`DRY` 0, :data:`UNKNOWN` −1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wetindex.sources.base import InputMissingError

UNKNOWN, DRY, WET = -1, 0, 1


def _codes(values: list) -> tuple[np.ndarray, bool]:
    """Finite codes and whether NaN is one of them."""
    floats = [float("nan") if isinstance(v, str) else float(v) for v in values]
    finite = np.array([v for v in floats if np.isfinite(v)], "float64")
    return finite, any(not np.isfinite(v) for v in floats)


def decode_labels(raw: np.ndarray, spec, path: Path) -> np.ndarray:
    """Declared codes → float32 of 1 water, 0 dry, NaN unknown/no-data; checked.

    Parameters
    ----------
    raw : numpy.ndarray
        The file's values (any dtype; masked fill values already NaN).
    spec : wetindex.config.LabelsInput or LocalInput
        Declared ``water``, ``dry``, ``unknown``, ``nodata`` codes (defaults when absent).
    path : Path
        The file (named in the error).
    """
    water, water_nan = _codes(getattr(spec, "water", [1]))
    dry, dry_nan = _codes(getattr(spec, "dry", [0]))
    unknown, unknown_nan = _codes(getattr(spec, "unknown", [-1, 255])
                                  + getattr(spec, "nodata", ["NaN"]))
    values = np.asarray(raw).astype("float64")  # exact for every integer code
    finite = np.isfinite(values)
    known = np.concatenate([water, dry, unknown])
    seen = np.unique(values[finite])
    stray = seen[~np.isin(seen, known)]
    if stray.size or (np.isnan(values).any() and not (unknown_nan or water_nan or dry_nan)):
        shown = [f"{v:g}" for v in stray[:10]] + (["NaN"] if stray.size == 0 else [])
        raise InputMissingError(
            "labels", f"{path}: values {', '.join(shown)} are not among the declared codes "
                      f"(water {_show(water, water_nan)}, dry {_show(dry, dry_nan)}, unknown/"
                      f"no-data {_show(unknown, unknown_nan)}); declare them in inputs.labels "
                      "(e.g. unknown: [255, -1], nodata: NaN)")
    out = np.full(values.shape, np.nan, "float32")
    out[np.isin(values, water) & finite] = WET
    out[np.isin(values, dry) & finite] = DRY
    if water_nan:
        out[~finite] = WET
    elif dry_nan:
        out[~finite] = DRY
    return out


def _show(codes: np.ndarray, nan: bool) -> str:
    return "[" + ", ".join([f"{v:g}" for v in codes] + (["NaN"] if nan else [])) + "]"


def to_label_codes(decoded: np.ndarray) -> np.ndarray:
    """Float labels (NaN unknown) → int8 wetindex codes (−1 unknown, 0 dry, 1 water)."""
    return np.where(np.isfinite(decoded), decoded, UNKNOWN).astype("int8")
