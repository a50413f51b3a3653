"""Strict JSON: ``null`` where Python has NaN or infinity.

``json.dumps`` writes ``NaN`` and ``Infinity`` by default, which strict parsers (a
browser's ``JSON.parse``, ``jq``, most monitoring agents) reject. Everything wetindex
writes for others to read (status.json, ``status --json``, warnings) goes through
:func:`dumps`, which turns non-finite floats into ``null`` and then refuses any that
are left (``allow_nan=False``), so a NaN can never slip out again.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np


def strict(value: Any) -> Any:
    """``value`` with every non-finite float (Python or NumPy) replaced by ``None``.

    Mappings, lists and tuples are walked; NumPy scalars and arrays become Python
    values; datetimes and paths become ISO strings / strings.
    """
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [strict(v) for v in value]
    if isinstance(value, np.ndarray):
        return strict(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``value`` (see :func:`strict`); ``kwargs`` go to ``json.dumps``."""
    kwargs.setdefault("default", str)
    return json.dumps(strict(value), allow_nan=False, **kwargs)
