"""The citizen website: static pages, a page per place, offline map and search, atomic
releases.

Public API::

    build_site(out_dir, *, forecast, warnings, status, outline, elevation, attributions,
               scorecard=None, observed_water=None, downloads=None, tile_service=None,
               web_dir=None, feed_dir=None, contact=None, places_in=None, drivers=None,
               dike_crest=None, addresses=None, basemap=None, area_id=None) -> Path
    publish_release(site_root, build, keep=3) -> Path
    rollback(site_root) -> Path
    check_site(folder) -> None   # raises SiteCheckError
"""

from wetindex.site.check import SiteCheckError, check_site
from wetindex.site.pages import build_site
from wetindex.site.publish import PublishError, publish_release, rollback

__all__ = [
    "PublishError",
    "SiteCheckError",
    "build_site",
    "check_site",
    "publish_release",
    "rollback",
]
