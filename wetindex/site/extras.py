"""What the publish stage gives the site beyond the forecast: places, drivers, base map,
addresses, contact and feed, gathered from an area's config and inputs.

Kept out of :mod:`wetindex.stages.publish` so that stage stays a few lines; paths in the
area config (``site.basemap``, ``site.addresses``) are relative to the project root,
like the local input files.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from wetindex.demo.basemap import addresses_lonlat, demo_basemap

log = logging.getLogger(__name__)

#: The demo municipality's contact (made up; ``.invalid`` never resolves).
DEMO_CONTACT = {"name": "Demo-kommunen, Beredskab", "email": "beredskab@demo-kommunen.invalid",
                "phone": "+45 99 99 99 99"}


def _path(root: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else root / p


def site_extras(ctx: Any, inputs: Any, forecast: Any, static: Any,
                feed_dir: Path | None) -> dict[str, Any]:
    """Keyword arguments for :func:`wetindex.site.build_site` beyond the forecast's own.

    Parameters
    ----------
    ctx : AreaContext
        The area (config, project root).
    inputs : AreaInputs
        The area's inputs: places, the drivers' forecast, the demo world.
    forecast : Forecast
        The run being published (its dataset carries ``issue_time``).
    static : xr.Dataset
        Static inputs/features; ``dike_crest`` [m] gives the lowest crest.
    feed_dir : Path or None
        The CAP/Atom feed folder.
    """
    site = ctx.config.site
    out: dict[str, Any] = {"feed_dir": feed_dir, "contact": getattr(site, "contact", None),
                           "places_in": inputs.places()}
    try:
        out["drivers"] = inputs.forecast(forecast.dataset["issue_time"].values)
    except Exception as err:  # a missing driver forecast leaves the driver chart out
        log.warning("site: no driver forecast for the place charts: %s", err)
        out["drivers"] = None
    try:  # dike_crest [m] is an input; the features keep only margins
        raw = inputs.static_inputs()
    except Exception as err:  # no crest line on the chart rather than no site
        log.warning("site: no static inputs for the dike crest: %s", err)
        raw = {}
    if "dike_crest" in raw:
        crest = np.asarray(raw["dike_crest"].values, dtype=float)
        out["dike_crest"] = float(np.nanmin(crest)) if np.isfinite(crest).any() else None
    basemap = getattr(site, "basemap", None)
    addresses = getattr(site, "addresses", None)
    if basemap:
        out["basemap"] = {k: _path(ctx.root, v) for k, v in basemap.items()}
    if addresses:
        out["addresses"] = _path(ctx.root, addresses)
    world = getattr(inputs, "world", None)
    if world is not None and not out["contact"]:
        out["contact"] = DEMO_CONTACT
    if world is not None and not basemap:

        bm = demo_basemap(world)
        out["basemap"] = bm.layers()
        if not addresses:
            out["addresses"] = addresses_lonlat(bm.addresses, world.grid.crs)
    return out
