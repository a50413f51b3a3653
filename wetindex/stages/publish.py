"""The publish stage: the CAP feed, then a new site release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from wetindex.alerts.feed import write_feed
from wetindex.model.artifacts import LoadedModel
from wetindex.model.report import site_scorecard
from wetindex.physics.stage import physical_scorecard
from wetindex.site import build_site, publish_release
from wetindex.site.extras import site_extras
from wetindex.sources.base import AreaInputs
from wetindex.stages.context import AreaContext
from wetindex.stages.products import Forecast


@dataclass
class Published:
    site_root: Path
    release: Path
    feed_dir: Path
    cap_messages: list[str]


def scorecard(model: LoadedModel | None) -> dict[str, Any] | None:
    """The latest evaluation, as the site's 'about' page shows it."""
    if model is None:  # the physical forecast is live: say so in plain words
        return physical_scorecard()
    ev = model.metadata.get("evaluation")
    if not ev:
        return None
    return site_scorecard(ev, model.version, model.metadata["created"])


def publish_stage(ctx: AreaContext, inputs: AreaInputs, static: xr.Dataset, forecast: Forecast,
                  model: LoadedModel | None) -> Published:
    """CAP feed first, then a new site release with the feed and GeoTIFFs as downloads."""
    feed_dir = ctx.area_dir / "feed"
    site_url = ctx.config.site.url
    code = ctx.config.alerts.municipality_code
    feed = write_feed(feed_dir, forecast.warnings, forecast.status, sender=ctx.config.alerts.sender,
                      site_url=site_url, area_name=ctx.config.title,
                      geocode={"kommunekode": code} if code else None)
    observed = inputs.observed_water(forecast.dataset["issue_time"].values)
    site_root = ctx.area_dir / "site"

    def build(release: Path):
        return build_site(
            release, forecast=forecast.dataset, warnings=forecast.warnings,
            status=forecast.status, outline=inputs.outline(),
            elevation=static["elevation"], attributions=[a.to_dict() for a in
                                                         inputs.attributions()],
            scorecard=scorecard(model), observed_water=observed,
            # GIS downloads only; the feed is published apart, for citizens
            downloads={"geotiff": forecast.folder / "geotiff"},
            tile_service=ctx.config.site.tile_service, web_dir=ctx.web_dir,
            area_id=ctx.config.name, **site_extras(ctx, inputs, forecast, static, feed_dir))

    release = publish_release(site_root, build)
    return Published(site_root, release, feed_dir, feed.messages)

