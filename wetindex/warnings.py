"""What a forecast tells people: warning areas and the health of the run.

These plain dataclasses are the contract between the risk step, the citizen site
and the alerts. They hold only public information (no subscriber data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

#: Level codes used in every forecast (``level`` variable) and warning.
LEVEL_NAMES: dict[int, str] = {0: "none", 1: "yellow", 2: "orange", 3: "red"}

#: Driver groups a warning can be explained by.
DRIVER_GROUPS: tuple[str, ...] = ("rain", "sea", "groundwater", "wet_soil", "terrain")


@dataclass(frozen=True)
class WarningArea:
    """One warning: a connected area at or above a level for a time window.

    Attributes
    ----------
    warning_id : str
        Stable identifier of the place's warning across revisions,
        e.g. ``"demo-sommerhusomradet"``.
    area_name : str
        The forecast area (municipality) name.
    place : str
        Plain-language place name, e.g. ``"Sommerhusområdet ved Klitten"``.
    level : int
        Highest level reached, 1 yellow, 2 orange, 3 red.
    probability : float
        Highest probability of surface water in the area over the window, 0–1.
    onset, expires : datetime
        First valid time at or above yellow and the end of the last such hour (UTC).
    peak_time : datetime
        Valid time of the highest probability (UTC).
    drivers : dict[str, float]
        Share of the model's evidence per driver group (keys from
        :data:`DRIVER_GROUPS`), summing to 1.
    geometry : dict
        GeoJSON ``Polygon`` or ``MultiPolygon`` in lon/lat (WGS84).
    cells : int
        Number of grid cells in the area.
    """

    warning_id: str
    area_name: str
    place: str
    level: int
    probability: float
    onset: datetime
    expires: datetime
    peak_time: datetime
    drivers: dict[str, float]
    geometry: dict[str, Any]
    cells: int

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def main_drivers(self) -> list[str]:
        """Driver groups carrying at least 20 % of the evidence, largest first."""
        ranked = sorted(self.drivers.items(), key=lambda kv: kv[1], reverse=True)
        main = [name for name, share in ranked if share >= 0.2]
        return main or [ranked[0][0]]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("onset", "expires", "peak_time"):
            d[key] = d[key].isoformat()
        d["level_name"] = self.level_name
        return d


@dataclass(frozen=True)
class InputHealth:
    """Freshness of one input of a forecast run."""

    name: str
    status: Literal["fresh", "stale", "missing"]
    last_time: datetime | None = None
    detail: str = ""


@dataclass
class RunStatus:
    """What the site and the feed say about the run that made the forecast."""

    area_name: str
    issue_time: datetime | None
    generated_at: datetime
    next_update: datetime | None
    inputs: list[InputHealth] = field(default_factory=list)
    forecast_ok: bool = True
    message: str = ""

    @property
    def healthy(self) -> bool:
        return self.forecast_ok and all(i.status == "fresh" for i in self.inputs)
