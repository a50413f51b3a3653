"""``wetindex check`` for a live area: credentials, reachability, freshness, policy.

Each source the area uses is asked one small, fresh question (the latest hours of a
station, the model runs listed): reachable or not, how old its newest value is,
and what to do. Credentials are named by their environment variable, never shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from wetindex.config import AreaConfig
from wetindex.sources.catalog import load_catalog
from wetindex.sources.errors import SourceError
from wetindex.sources.live import cache_folder
from wetindex.sources.live_fetch import POLICY, as_of, model_runs
from wetindex.sources.observations import rfc3339_interval
from wetindex.sources.registry import open_session

#: newest value older than this is stale [h]: observations, and model runs
STALE_OBS_H = 6
STALE_RUN_H = 12


def _latest(session, url: str, params: dict[str, Any], field: str, now: pd.Timestamp
            ) -> pd.Timestamp:
    with as_of(session, now):
        features = list(session.feature_pages(url, params))
    if not features:
        raise SourceError(session.source, url, "empty answer: nothing in the last 24 h",
                          "the station may be out of service: pick another in the area file")
    times = pd.to_datetime([f["properties"][field] for f in features], utc=True)
    return times.max().tz_localize(None)


def check_live(config: AreaConfig, root: Path, area_dir: Path, now: Any = None
               ) -> tuple[list[str], list[str]]:
    """``(problems, notes)`` of a live area (see module docstring)."""
    # WETINDEX_NOW sets the clock of a check (a backtest, a test); default: the wall clock
    now = now or os.environ.get("WETINDEX_NOW") or pd.Timestamp.now(tz="UTC")
    now = pd.Timestamp(now)
    now = now.tz_convert("UTC").tz_localize(None) if now.tzinfo else now
    spec = config.live
    problems: list[str] = []
    notes: list[str] = []
    catalog = load_catalog()
    terrain_kept = (area_dir / "live" / "terrain.tif").exists() or spec.overrides.terrain
    used = ["dmi_metobs", "dmi_climate", "dmi_forecast_edr"]
    if spec.sea_stations:
        used.append("dmi_oceanobs")
    if not terrain_kept:
        used.append("dhm_terrain")
    for source in used:
        for variable in catalog[source].credentials:
            if os.environ.get(variable, "").strip():
                notes.append(f"credential {variable} ({source}): set")
            else:
                problems.append(f"credential {variable} ({source}): not set; set it in the "
                                "environment of the scheduled run")
    keyless = [s for s in used if not catalog[s].credentials]
    if keyless:
        notes.append(f"credentials: none needed for {', '.join(keyless)}")
    if terrain_kept:
        notes.append("terrain: kept from an earlier fetch (or a file); not fetched again")
    day = (now - pd.Timedelta(hours=24), now)
    probes: list[tuple[str, str, Callable[[Any], pd.Timestamp], float]] = []
    if spec.rain_stations:
        probes.append(("dmi_metobs", "rain", lambda s: _latest(
            s, s.entry.url("collections/observation/items"),
            {"stationId": spec.rain_stations[0], "parameterId": "precip_past1h",
             "datetime": rfc3339_interval(*day), "limit": 1000}, "observed", now), STALE_OBS_H))
    if spec.sea_stations:
        probes.append(("dmi_oceanobs", "sea_level", lambda s: _latest(
            s, s.entry.url("collections/observation/items"),
            {"stationId": spec.sea_stations[0], "parameterId": spec.sea_parameter,
             "datetime": rfc3339_interval(*day), "limit": 1000}, "observed", now), STALE_OBS_H))
    probes.append(("dmi_climate", "evaporation", lambda s: _latest(
        s, s.entry.url("collections/10kmGridValue/items"),
        {"parameterId": "pot_evaporation_makkink", "timeResolution": "day",
         "datetime": rfc3339_interval(now - pd.Timedelta(days=5), now), "limit": 1000},
        "from", now), 96))
    collections = [spec.harmonie_collection] + ([spec.dkss_collection] if spec.sea_stations
                                                else [])
    for collection in collections:
        def runs(s, c=collection):
            url = s.entry.url(f"collections/{c}/instances")
            with as_of(s, now):
                doc = s.fetch_json(url, {"f": "json"})
            listed = model_runs(doc, source=s.source, request=url)
            return listed[listed <= now].max()
        probes.append(("dmi_forecast_edr", collection, runs, STALE_RUN_H))
    for source, what, probe, stale_h in probes:
        try:
            session = open_session(source, cache_folder(area_dir))
            latest = probe(session)
        except SourceError as err:
            problems.append(f"{source} ({what}): unreachable or unusable: {err.problem}; "
                            f"{err.fix}")
            continue
        age = (now - latest) / pd.Timedelta(hours=1)
        line = f"{source} ({what}): reachable, newest {latest:%Y-%m-%d %H:%M} UTC ({age:.1f} h old)"
        if age > stale_h:
            problems.append(line + f": STALE (over {stale_h} h); the run applies the "
                            f"missing-data policy: {_policy(what)}")
        else:
            notes.append(line)
    for family, rule in POLICY.items():
        notes.append(f"policy {family}: fill {rule['fill']}; fallback {rule['fallback']}; "
                     f"refuse when {rule['refuse']}")
    return problems, notes


def _policy(what: str) -> str:
    key = "rain_forecast" if what.startswith("harmonie") else (
        "sea_level_forecast" if what.startswith("dkss") else what)
    rule = POLICY.get(key, {})
    return f"fallback {rule.get('fallback', '-')}, refuse when {rule.get('refuse', '-')}"
