"""How uncertain the driver forecasts are, by lead, and an ensemble that carries it.

The physical forecast is deterministic given its drivers; its probabilities come from
the drivers' uncertainty. The spread of each driver's forecast error is estimated by
lead from the area's own history (forecast issued at ``t`` against what was observed at
``t + lead``) where it has enough forecasts, and taken from a documented default
otherwise:

- sea level [m]: standard deviation of the error at each lead;
- rain [mm]: standard deviation of the error of the rain *accumulated* from the issue
  time to each lead (an accumulation is what fills a hollow; hourly errors of a
  timing error cancel in it);
- groundwater anomaly [m]: standard deviation of the error at each lead.

Each spread is made non-decreasing with lead (a forecast does not get surer further
ahead; a dip is sampling noise). The ensemble has ``M`` members at the standard-normal
quantiles ``z_m = Φ⁻¹((m + ½)/M)``: deterministic (the same inputs give the same
probabilities), and its spread equals the estimated one. A member keeps its ``z`` over
all leads (errors of one forecast are strongly correlated along lead).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from wetindex.sources.base import AreaInputs, InputMissingError

#: Members of the driver ensemble.
N_MEMBERS = 32
#: At least this many past forecasts are needed to estimate a spread from the history.
MIN_FORECASTS = 40
#: Past issue times used for the estimate (the latest ones before the issue time).
MAX_FORECASTS = 720
#: Without a rain forecast (a persistence proxy) the rain forecast is the mean hourly
#: rain of this many hours before the issue time: one wet hour held for 48 hours would
#: fill every hollow in the area.
RAIN_RATE_WINDOW_H = 720


def is_persistence(forecast) -> bool:
    """Whether a driver forecast is the persistence proxy (no real forecast)."""
    return str(getattr(forecast, "attrs", {}).get("forecast_kind", "")) == "persistence"


def mean_rain_rate(rain: np.ndarray) -> float:
    """Mean hourly rain [mm/h] of an observed series (the substitute rain forecast)."""
    rain = np.asarray(rain, dtype="float64")
    return float(np.nanmean(rain)) if np.isfinite(rain).any() else 0.0


def default_sea_sigma(leads: np.ndarray) -> np.ndarray:
    """Default sea-level error [m]: 0.10 m at 1 h to 0.30 m at 48 h.

    The order of a storm-surge model's errors on the Danish coasts at those leads
    (DMI's DKSS verification quotes roughly 10–15 cm RMS on the first day, more in
    storms); used until the area has its own forecast history.
    """
    return (0.10 + 0.20 * np.clip((leads - 1) / 47.0, 0, None) ** 0.8).astype("float64")


def default_rain_sigma(leads: np.ndarray) -> np.ndarray:
    """Default error of the accumulated rain [mm]: 0.5 mm + 0.25 mm per hour of lead."""
    return (0.5 + 0.25 * leads).astype("float64")


def default_groundwater_sigma(leads: np.ndarray) -> np.ndarray:
    """Default groundwater-anomaly error [m]: 0.01 m + 0.001 m per hour of lead."""
    return (0.01 + 0.001 * leads).astype("float64")


@dataclass(frozen=True)
class DriverSpread:
    """Standard deviation of each driver's forecast error at leads 1 … L.

    ``source`` says where each came from: ``"history (N forecasts)"`` or ``"default"``.
    """

    leads: np.ndarray
    sea_level: np.ndarray
    rain_accumulated: np.ndarray
    groundwater: np.ndarray
    source: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"leads": self.leads.tolist(), "sea_level_m": _round(self.sea_level),
                "rain_accumulated_mm": _round(self.rain_accumulated),
                "groundwater_m": _round(self.groundwater), "source": dict(self.source)}


def _round(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def _monotone(sigma: np.ndarray, floor: float) -> np.ndarray:
    return np.maximum.accumulate(np.maximum(np.nan_to_num(sigma, nan=floor), floor))


def default_spread(max_lead_h: int) -> DriverSpread:
    """The documented default spread (see the ``default_*_sigma`` functions)."""
    leads = np.arange(1, max_lead_h + 1)
    return DriverSpread(leads, default_sea_sigma(leads), default_rain_sigma(leads),
                        default_groundwater_sigma(leads),
                        {"sea_level": "default", "rain": "default", "groundwater": "default"})


def spread_from_errors(errors: dict[str, np.ndarray], leads: np.ndarray) -> DriverSpread:
    """The spread from forecast errors ``(n_forecasts, n_leads)`` per driver.

    Keys ``sea_level`` [m], ``rain_accumulated`` [mm], ``groundwater`` [m]; a driver
    with fewer than :data:`MIN_FORECASTS` complete forecasts keeps its default.
    """
    base = default_spread(int(leads[-1]))
    out = {"sea_level": base.sea_level, "rain_accumulated": base.rain_accumulated,
           "groundwater": base.groundwater}
    floors = {"sea_level": 0.01, "rain_accumulated": 0.05, "groundwater": 0.002}
    names = {"sea_level": "sea_level", "rain_accumulated": "rain", "groundwater": "groundwater"}
    source = dict(base.source)
    for key, err in errors.items():
        complete = err[np.isfinite(err).all(axis=1)]
        if len(complete) < MIN_FORECASTS:
            continue
        # root-mean-square error: a biased forecast is as uncertain as its bias
        rms = np.sqrt(np.mean(complete**2, axis=0))
        out[key] = _monotone(rms, floors[key])
        source[names[key]] = f"history ({len(complete)} forecasts)"
    return DriverSpread(leads, out["sea_level"], out["rain_accumulated"], out["groundwater"],
                        source)


def estimate_spread(inputs: AreaInputs, issue_time: pd.Timestamp, max_lead_h: int
                    ) -> DriverSpread:
    """Spread by lead from the area's past forecasts against its observations.

    Uses the latest :data:`MAX_FORECASTS` issue times whose whole horizon was observed
    before ``issue_time`` (nothing from the future of the forecast being made).
    Without enough of them, the documented default (:func:`default_spread`).
    """
    leads = np.arange(1, max_lead_h + 1)
    issue_time = pd.Timestamp(issue_time)
    issues = inputs.issue_times()
    past = issues[issues + pd.Timedelta(hours=max_lead_h) <= issue_time][-MAX_FORECASTS:]
    if len(past) < MIN_FORECASTS:
        return default_spread(max_lead_h)
    try:
        fc = inputs.forecasts_many(past.values)
        obs = inputs.observed(past[0].to_datetime64(), issue_time.to_datetime64())
    except (InputMissingError, KeyError, ValueError):
        return default_spread(max_lead_h)
    fc = fc.isel(lead=slice(0, max_lead_h))
    if is_persistence(fc) and "rain" in fc:  # the substitute the forecast will use
        rain_obs = obs["rain"].to_series()
        rate = rain_obs.rolling(RAIN_RATE_WINDOW_H, min_periods=24).mean()
        at = rate.reindex(past).fillna(rain_obs.mean()).values
        fc = fc.copy()
        fc["rain"].values[:] = at[:, None]
    obs_index = pd.DatetimeIndex(obs["time"].values)
    valid = past.values[:, None] + leads[None, :].astype("timedelta64[h]")
    pos = obs_index.get_indexer(valid.ravel()).reshape(valid.shape)
    ok = pos >= 0

    def observed_at(name: str) -> np.ndarray:
        values = obs[name].values.astype("float64")
        return np.where(ok, values[np.maximum(pos, 0)], np.nan)

    errors = {}
    if "sea_level" in fc:
        errors["sea_level"] = fc["sea_level"].values - observed_at("sea_level")
    if "rain" in fc:
        errors["rain_accumulated"] = (np.cumsum(fc["rain"].values, axis=1)
                                      - np.cumsum(observed_at("rain"), axis=1))
    if "groundwater_anomaly" in fc:
        errors["groundwater"] = fc["groundwater_anomaly"].values - observed_at(
            "groundwater_anomaly")
    return spread_from_errors(errors, leads)


def member_quantiles(n_members: int = N_MEMBERS) -> np.ndarray:
    """Standard-normal quantiles ``Φ⁻¹((m + ½)/M)`` of the members (mean 0, sorted)."""
    return norm.ppf((np.arange(n_members) + 0.5) / n_members)


def _shuffled(z: np.ndarray, seed: int) -> np.ndarray:
    # another driver's members in another order: the drivers' errors are independent
    return z[np.random.default_rng(seed).permutation(z.size)]


def sea_level_members(forecast: np.ndarray, sigma: np.ndarray,
                      n_members: int = N_MEMBERS) -> np.ndarray:
    """Sea level [m] ``(member, lead)``: the forecast plus ``z_m·σ(lead)``."""
    z = member_quantiles(n_members)
    return forecast[None, :] + z[:, None] * sigma[None, :]


def rain_members(forecast: np.ndarray, sigma_accumulated: np.ndarray,
                 n_members: int = N_MEMBERS) -> np.ndarray:
    """Hourly rain [mm/h] ``(member, lead)`` whose accumulations spread by ``σ(lead)``.

    Each member's accumulation is the forecast's plus ``z_m·σ(lead)``, kept >= 0 and
    non-decreasing (rain is never negative), then differenced back to hourly rain.
    """
    z = _shuffled(member_quantiles(n_members), 1)
    acc = np.cumsum(np.nan_to_num(forecast), dtype="float64")
    members = np.maximum(acc[None, :] + z[:, None] * sigma_accumulated[None, :], 0.0)
    members = np.maximum.accumulate(members, axis=1)
    return np.diff(members, axis=1, prepend=0.0)


def groundwater_members(forecast: np.ndarray, sigma: np.ndarray,
                        n_members: int = N_MEMBERS) -> np.ndarray:
    """Groundwater anomaly [m] ``(member, lead)``: the forecast plus ``z_m·σ(lead)``."""
    z = _shuffled(member_quantiles(n_members), 2)
    return forecast[None, :] + z[:, None] * sigma[None, :]
