"""What a forecast tells people: warning areas and the health of the run.

These plain dataclasses are the contract between the risk step, the citizen site
and the alerts. They hold only public information (no subscriber data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from wetindex.alerts.messages import local_time_text, table, text, utc_time_text

#: Level codes used in every forecast (``level`` variable) and warning.
LEVEL_NAMES: dict[int, str] = {0: "none", 1: "yellow", 2: "orange", 3: "red"}

#: Physical drivers of a warning (:attr:`WarningArea.conditions`): rain over the window
#: [mm], sea level at the peak and highest sea level around the window [cm above the
#: datum, DVR90 in Denmark] with its time (ISO, UTC), the lowest dike crest of the place
#: minus that high water [cm], median groundwater depth of the warned cells [m].
CONDITION_KEYS: tuple[str, ...] = ("rain_mm", "sea_level_cm", "high_water_cm",
                                   "high_water_time", "dike_crest_margin_cm",
                                   "groundwater_depth_m")

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
        The place's level at the peak hour, 1 yellow, 2 orange, 3 red (levels come from
        the excess water on exposed land, :mod:`wetindex.normal`).
    probability : float
        Highest warning score that 1 ha of the place reaches (the risk matrix of excess
        probability and impact as one number, :func:`wetindex.normal.warning_score`;
        the quantity its level is decided on) in the hours of the window, 0–1.
    onset, expires : datetime
        Onset ("from"): the first valid hour the place is at the warning's ``level``;
        expires ("until"): the end of the last hour the place is at or above yellow
        (UTC), taken hour by hour from the forecast cube
        (:func:`wetindex.risk.warning_timeline`, the one computation of the window).
    peak_time : datetime
        Valid time of the place's highest level (ties: the most warned area) (UTC).
    drivers : dict[str, float]
        Share of the model's evidence per driver group (keys from
        :data:`DRIVER_GROUPS`), summing to 1.
    geometry : dict
        GeoJSON ``Polygon`` or ``MultiPolygon`` in lon/lat (WGS84).
    cells : int
        Number of grid cells in the area.
    conditions : dict
        The drivers in physical units (:data:`CONDITION_KEYS`); a key is absent when the
        run had no such input.
    hourly_levels : list of int
        The place's level at each lead hour of the forecast (1 … 48 h).
    level_from : dict[str, datetime]
        First valid hour at or above each level the warning reaches, by level name
        (``{"yellow": …, "orange": …, "red": …}`` up to its ``level``); the entry of
        ``level`` is ``onset``, the earlier ones are the lower levels before it
        ("yellow from …").
    beyond_horizon : bool
        The place is still at or above yellow in the forecast's last hour: ``expires``
        is then the end of the forecast, and the warning lasts at least that long.
    hourly_score : list of float or None
        The place's warning score at each lead hour: the quantity its level is decided
        on (:func:`wetindex.risk.place_hourly_score`); None for an hour without data.
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
    conditions: dict[str, Any] = field(default_factory=dict)
    hourly_levels: list[int] = field(default_factory=list)
    level_from: dict[str, datetime] = field(default_factory=dict)
    beyond_horizon: bool = False
    hourly_score: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        # read back from JSON (warnings.geojson, the feed state): times come as ISO text
        for key in ("onset", "expires", "peak_time"):
            value = getattr(self, key)
            if isinstance(value, str):
                object.__setattr__(self, key, datetime.fromisoformat(value))
        lf = {str(k): (datetime.fromisoformat(v) if isinstance(v, str) else v)
              for k, v in (self.level_from or {}).items()}
        if not lf:  # a warning made without the timeline: its onset is its level's start
            lf = {LEVEL_NAMES[self.level]: self.onset}
        object.__setattr__(self, "level_from", lf)

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]

    @property
    def main_drivers(self) -> list[str]:
        """Driver groups carrying at least 20 % of the evidence, largest first."""
        ranked = sorted(self.drivers.items(), key=lambda kv: kv[1], reverse=True)
        main = [name for name, share in ranked if share >= 0.2]
        return main or [ranked[0][0]]

    @property
    def end(self) -> datetime:
        """End of the warning window (same as :attr:`expires`)."""
        return self.expires

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("onset", "expires", "peak_time"):
            d[key] = d[key].isoformat()
        d["level_from"] = {k: v.isoformat() for k, v in self.level_from.items()}
        d["level_name"] = self.level_name
        return d

    def lower_levels_before(self) -> list[tuple[str, datetime]]:
        """``[(level name, from), …]`` of the lower levels before the onset, in time order."""
        return sorted(((k, v) for k, v in self.level_from.items()
                       if k != self.level_name and v < self.onset), key=lambda kv: kv[1])


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


#: Sentences of :func:`conditions_text` per language; a sentence is left out when its
#: value is not in the warning's conditions.
_CONDITION_SENTENCES: dict[str, dict[str, str]] = {
    "da": {
        "rain_mm": "Regn i tidsrummet: {rain_mm:.0f} mm.",
        "high_water": "Højeste vandstand i havet: {high_water_cm:.0f} cm over DVR90 "
                      "den {high_water_local}.",
        "dike": "Diget: kronen ligger {dike_crest_margin_cm:.0f} cm over den højeste "
                "vandstand.",
        "dike_over": "Diget: den højeste vandstand ligger {over_cm:.0f} cm over kronen.",
        "groundwater": "Grundvandet står {groundwater_depth_m:.1f} m under terræn.",
    },
    "en": {
        "rain_mm": "Rain in the period: {rain_mm:.0f} mm.",
        "high_water": "Highest sea level: {high_water_cm:.0f} cm above DVR90 at "
                      "{high_water_local}.",
        "dike": "Dike: the crest is {dike_crest_margin_cm:.0f} cm above the highest sea level.",
        "dike_over": "Dike: the highest sea level is {over_cm:.0f} cm above the crest.",
        "groundwater": "Groundwater is {groundwater_depth_m:.1f} m below the surface.",
    },
}


def conditions_text(language: str, conditions: dict[str, Any]) -> str:
    """The physical drivers of a warning as plain sentences (Danish local times).

    The same text goes into the CAP description and the alert e-mail, so both say
    the same numbers as the site.
    """
    s = _CONDITION_SENTENCES[language]
    c = dict(conditions)
    out = []
    if c.get("rain_mm") is not None:
        out.append(s["rain_mm"].format(**c))
    if c.get("high_water_cm") is not None and c.get("high_water_time"):
        when = datetime.fromisoformat(str(c["high_water_time"]))
        out.append(s["high_water"].format(high_water_local=local_time_text(when, language), **c))
    margin = c.get("dike_crest_margin_cm")
    if margin is not None:
        out.append(s["dike"].format(**c) if margin >= 0 else
                   s["dike_over"].format(over_cm=-margin))
    if c.get("groundwater_depth_m") is not None:
        out.append(s["groundwater"].format(**c))
    return " ".join(out)


def window_text(language: str, warning: Any, *, peak: bool = True, utc: bool = True) -> str:
    """The warning's level and window as plain sentences (Danish local time, UTC too).

    ``warning`` is a :class:`WarningArea` or an alert decision (``level``, ``onset``,
    ``expires``, ``peak_time``, ``level_from``, ``beyond_horizon``). E.g. "Rød fra
    30.11.2026 kl. 08:00 til 30.11.2026 kl. 20:00 dansk tid (2026-11-30 07:00 til
    2026-11-30 19:00 UTC). Forinden gul fra 30.11.2026 kl. 02:00. Højest omkring …".
    The CAP description, the e-mail, the SMS and the place page all say this, so they
    say the same; ``utc=False`` leaves the UTC times out (the SMS).
    """
    titles, names = table(language, "level_title"), table(language, "level_name")
    codes = {name: code for code, name in LEVEL_NAMES.items()}
    end = warning.expires
    times = {"onset_utc": utc_time_text(warning.onset)}
    if end is not None:
        times["end_utc"] = utc_time_text(end)
    utc_text = text(language, "window_utc" if end is not None else "window_utc_open",
                    **times) if utc else ""
    key = "window_open" if end is None else (
        "window_beyond" if warning.beyond_horizon else "window")
    out = [text(language, key, level_title=titles[warning.level], utc=utc_text,
                onset_local=local_time_text(warning.onset, language),
                end_local=local_time_text(end, language) if end is not None else "")]
    before = sorted(((codes[k], v) for k, v in (warning.level_from or {}).items()
                     if codes.get(k, 0) < warning.level and v < warning.onset),
                    key=lambda cv: cv[1])
    if before:
        steps = ", ".join(text(language, "window_step", level_name=names[c],
                               time_local=local_time_text(v, language)) for c, v in before)
        out.append(text(language, "window_before", steps=steps))
    if peak and warning.peak_time is not None:
        out.append(text(language, "window_peak",
                        peak_local=local_time_text(warning.peak_time, language)))
    return " ".join(out)
