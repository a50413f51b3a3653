"""The one evaporation climatology: reference evaporation of a Danish year by day of year.

Used where an area has no evaporation input (local files, live areas without DMI
climate data, a continued series) and by the demo world, whose daily evaporation is this
seasonal curve times a day-to-day factor (:func:`wetindex.demo.climate.evaporation_series`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def evaporation_climatology(time: pd.DatetimeIndex, dtype: str = "float32") -> np.ndarray:
    """Reference evaporation [mm/d] on the days of ``time``: ~0.2 in January, ~3.5 in July.

    ``1.85 − 1.65·cos(2π·(day of year − 15) / 365.25)``.
    """
    doy = pd.DatetimeIndex(time).day_of_year.values
    return (1.85 - 1.65 * np.cos(2 * np.pi * (doy - 15) / 365.25)).astype(dtype)
