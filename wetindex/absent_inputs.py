"""Inputs an area does not have, known as absent (never a missing value read as zero).

An area that wants sea warnings only may have no rain input. Rain is then *absent*:
not 0 mm ("no rain"), which would look like a dry forecast. Each stage that uses rain
asks :func:`is_absent` and leaves its rain part out, saying so: the physical forecast
forecasts no rain, hollow or stream flooding (:mod:`wetindex.physics.forecast`), the
freshness check does not wait for a rain feed (:mod:`wetindex.freshness`), and the
site and the model card list "rain: not an input of this area" among the inputs
(:func:`absent_attributions`).
"""

from __future__ import annotations

from typing import Any

from wetindex.sources.base import Attribution

#: Driver families an area may go without (the sea level is the one driver it must have).
OPTIONAL_DRIVERS: tuple[str, ...] = ("rain",)

#: What an area without rain forecasts, in words for the site, the card and the logs.
RAIN_ABSENT = ("rain is not an input of this area: no flooding from rain, hollows or "
               "streams is forecast (sea warnings only)")


def absent_inputs(inputs: Any) -> frozenset[str]:
    """The driver families ``inputs`` does not have (empty for the demo and live areas)."""
    return frozenset(getattr(inputs, "absent_inputs", frozenset()))


def is_absent(inputs: Any, family: str) -> bool:
    """True when ``family`` (``"rain"``) is not an input of the area."""
    return family in absent_inputs(inputs)


def absent_attributions(absent: frozenset[str]) -> list[Attribution]:
    """One line per absent input for the inputs list of the site and the model card."""
    return [Attribution(name=f"{name}: not an input of this area", licence="—",
                        attribution=RAIN_ABSENT if name == "rain" else
                        f"{name} is not an input of this area")
            for name in sorted(absent)]
