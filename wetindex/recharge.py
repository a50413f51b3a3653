"""The one groundwater proxy: the water table's rise and fall from net recharge.

An area without a groundwater series in time (a local area with a depth map or a
constant depth, a live area without HIP's time series) gets the change of its water
table from this leaky bucket of rain minus evaporation; the source says so in its
``proxies`` and the forecast status. :class:`wetindex.sources.local.LocalInputs` and
:class:`wetindex.sources.live.LiveInputs` both use :func:`recharge_anomaly`; no other
product code models groundwater.

Not to be confused with the demo world's groundwater
(:func:`wetindex.demo.climate.simulated_groundwater_truth`): that is the simulator's
hidden truth (a soil bucket feeding a linear reservoir), from which the demo's water is
made and which the product never sees. The demo area reads the anomaly the demo's
national model publishes from it (:mod:`wetindex.demo.national`), as a real area reads
HIP's.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

#: Recession time [h] of the leaky bucket.
RECHARGE_TAU_H = 30 * 24
#: Specific yield [-]: metres of water table per metre of net recharge.
SPECIFIC_YIELD = 0.1


def recharge_anomaly(rain_mm_h: np.ndarray, evaporation_mm_d: np.ndarray) -> np.ndarray:
    """Water-table anomaly [m] from net recharge: a leaky bucket, zero on average.

    ``a[t] = a[t-1]·exp(-1/τ) + (rain − evaporation/24) / 1000 / S_y`` with τ =
    :data:`RECHARGE_TAU_H` and S_y = :data:`SPECIFIC_YIELD`: wet months raise the water
    table, dry ones lower it. A proxy for the HIP model's anomaly, not a measurement.
    A missing hour (NaN) counts as no rain or no evaporation.
    """
    net = (np.nan_to_num(rain_mm_h) - np.nan_to_num(evaporation_mm_d) / 24.0) / 1000.0
    level = lfilter([1.0 / SPECIFIC_YIELD], [1.0, -np.exp(-1.0 / RECHARGE_TAU_H)], net)
    return (level - level.mean()).astype("float32")
