"""Small forecasts, warnings and subscriptions made in code for the alert tests.

(A plain module, not conftest.py: test folders share the name ``conftest``.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import xarray as xr
from shapely import box

from wetindex.alerts.subscriptions import Subscription, reproject
from wetindex.grid import AreaGrid
from wetindex.warnings import RunStatus, WarningArea

GRID = AreaGrid(crs="EPSG:25832", cell_size=10.0, x_min=540000.0, y_max=6330500.0, nx=50, ny=50)
THRESHOLDS = {"yellow": 0.2, "orange": 0.4, "red": 0.7}
ISSUE = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
# the subscribed area: a 60 m × 60 m block in the middle of the grid
AREA = box(540200.0, 6330200.0, 540260.0, 6330260.0)


#: What the alert stage reads of an area's inputs and forecast, without running one.
@dataclass
class FakeInputs:
    grid: object = GRID


@dataclass
class FakeForecast:
    dataset: object
    warnings: list
    status: RunStatus
    folder: Path = Path(".")


def level_of(prob: np.ndarray) -> np.ndarray:
    level = np.zeros(prob.shape, dtype="uint8")
    for code, name in ((1, "yellow"), (2, "orange"), (3, "red")):
        level[prob >= THRESHOLDS[name]] = code
    return level


def make_forecast(
    p_area: float | list[float], *, issue_time: datetime = ISSUE, background: float = 0.02,
    leads: int = 48,
) -> xr.Dataset:
    """A forecast with ``p_area`` inside :data:`AREA` (one value, or one per lead)."""
    per_lead = np.broadcast_to(np.asarray(p_area, dtype="float32"), (leads,))
    prob = np.full((leads, GRID.ny, GRID.nx), background, dtype="float32")
    xs, ys = np.meshgrid(GRID.x, GRID.y)
    inside = (xs > AREA.bounds[0]) & (xs < AREA.bounds[2]) & (ys > AREA.bounds[1]) & (
        ys < AREA.bounds[3])
    prob[:, inside] = per_lead[:, None]
    lead = np.arange(1, leads + 1)
    issue = np.datetime64(issue_time.replace(tzinfo=None), "ns")
    ds = xr.Dataset(
        {"probability": (("lead", "y", "x"), prob),
         "level": (("lead", "y", "x"), level_of(prob))},
        coords={"lead": lead, **GRID.coords(), "issue_time": issue,
                "valid_time": ("lead", issue + lead.astype("timedelta64[h]"))},
        attrs={"thresholds": json.dumps(THRESHOLDS), "area_name": "Testkommune"},
    )
    return ds.rio.write_crs(GRID.crs).rio.write_transform(GRID.transform)


def make_subscription(sub_id: str = "digelag-1", **kw) -> Subscription:
    values = {"id": sub_id, "name": "Digelaget Klitten", "email": f"{sub_id}@example.dk",
              "language": "da", "geometry": AREA, "crs": GRID.crs} | kw
    return Subscription(**values)


def make_warning(level: int = 2, probability: float = 0.5, *, warning_id: str = "test-klitten",
                 onset_h: int = 3, hours: int = 6) -> WarningArea:
    onset = ISSUE + timedelta(hours=onset_h)
    # the subscribed block plus 20 m, in lon/lat as warnings are
    ring = [list(xy) for xy in reproject(AREA.buffer(20, join_style="mitre"), GRID.crs,
                                         "EPSG:4326").exterior.coords]
    return WarningArea(
        warning_id=warning_id, area_name="Testkommune", place="Sommerhusområdet ved Klitten",
        level=level, probability=probability, onset=onset, expires=onset + timedelta(hours=hours),
        peak_time=onset + timedelta(hours=1), drivers={"rain": 0.6, "sea": 0.3, "terrain": 0.1},
        geometry={"type": "Polygon", "coordinates": [ring]}, cells=36,
    )
