"""An area's housekeeping: old forecasts, unused downloads, pending deliveries."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

from wetindex.alerts.area import alerts_housekeeping
from wetindex.sources.cache import ResponseCache
from wetindex.sources.live import cache_folder
from wetindex.stages.context import AreaContext


def housekeeping(ctx: AreaContext, now: datetime | None = None) -> dict[str, Any]:
    """Delete forecast folders older than ``schedule.retention_days`` (never the latest)
    and cached downloads unused for ``schedule.cache_max_age_days``; then, when the area
    has an alerts database, retry pending deliveries and delete sign-ups left
    unconfirmed for 72 h and messages past ``alerts.retention_days``
    (:func:`wetindex.alerts.area.alerts_housekeeping`; ``alerts`` is None without one)."""
    now = now or datetime.now(UTC)
    sched = ctx.config.schedule
    area = ctx.area_dir
    removed: list[str] = []
    forecasts = area / "forecasts"
    latest = (forecasts / "LATEST").read_text().strip() if (forecasts / "LATEST").exists() \
        else None
    cutoff = now - timedelta(days=sched.retention_days)
    for folder in sorted(forecasts.glob("2*")) if forecasts.exists() else []:
        try:
            issued = datetime.strptime(folder.name, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        if issued < cutoff and folder.name != latest:
            shutil.rmtree(folder)
            removed.append(str(folder))
    # the one download cache that fetch, init and live runs use (sources.live.cache_folder)
    pruned = ResponseCache(cache_folder(area)).prune(sched.cache_max_age_days,
                                                     now=now.timestamp())
    # the same delivery as a run's; then unconfirmed sign-ups and old messages go
    return {"forecasts_removed": removed, "cache_files_pruned": pruned,
            "alerts": alerts_housekeeping(ctx, now)}
