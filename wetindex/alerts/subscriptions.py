"""A subscriber's area as given (:class:`AreaSpec`), and the alert engine's view of a
subscriber (:class:`Subscription`).

The one model of what a subscriber wants is
:class:`~wetindex.alerts.subscribers.SubscriberSpec` (CLI, self-service API, import
file, store); its ``shape`` is an :class:`AreaSpec`: a polygon, a line buffered by
``buffer_m`` or a point with ``radius_m``, in ``crs`` (default EPSG:4326, lon/lat).
Geometries end up in the grid's CRS, where buffers and radii are in metres. The engine
decides on a :class:`Subscription`, which a stored subscriber becomes for a run
(:meth:`~wetindex.alerts.subscribers.Subscriber.to_subscription`). Subscriber data
(contacts) never leaves the alerts: warnings, the feed and the site are built without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyproj import CRS, Transformer
from shapely import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

Channel = Literal["email", "sms", "webhook"]


@dataclass(frozen=True)
class Subscription:
    """One subscriber's area and thresholds.

    Attributes
    ----------
    id : str
        Stable id (letters, digits, ``.``, ``_``, ``-``); part of idempotency keys.
    name : str
        Name of the subscribed area, used as the place in alerts.
    email : str or None
        Recipient of the ``email`` channel.
    language : {"da", "en"}
    geometry : shapely geometry
        The area, in the grid CRS.
    min_level : int
        Lowest level that alerts (1 yellow, 2 orange, 3 red).
    min_probability : float or None
        Floor on every level's probability threshold for this subscriber.
    max_lead_h : int
        Only forecast hours up to this lead time count.
    channels : tuple of str
        Delivery channels, e.g. ``("email",)``.
    crs : str or None
        CRS of ``geometry``; checked against the forecast's when set.
    """

    id: str
    name: str
    email: str | None
    language: str
    geometry: BaseGeometry
    min_level: int = 1
    min_probability: float | None = None
    max_lead_h: int = 48
    channels: tuple[str, ...] = ("email",)
    crs: str | None = None
    #: ``household``, ``dike_association`` or ``operator``: what the alert says to do
    kind: str = "household"


Coord = tuple[float, float]


class AreaSpec(BaseModel):
    """A subscriber's area as given: a polygon, a buffered line or a point with a radius."""

    model_config = ConfigDict(extra="forbid")

    crs: str = "EPSG:4326"
    polygon: list[Coord] | None = Field(default=None, min_length=3)
    line: list[Coord] | None = Field(default=None, min_length=2)
    buffer_m: float | None = Field(default=None, gt=0)
    point: Coord | None = None
    radius_m: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_shape(self) -> AreaSpec:
        shapes = [k for k in ("polygon", "line", "point") if getattr(self, k) is not None]
        if len(shapes) != 1:
            raise ValueError(f"give exactly one of polygon, line, point (got {shapes or 'none'})")
        if (self.line is not None) != (self.buffer_m is not None):
            raise ValueError("a line needs buffer_m (and buffer_m needs a line)")
        if (self.point is not None) != (self.radius_m is not None):
            raise ValueError("a point needs radius_m (and radius_m needs a point)")
        return self

    def source(self) -> tuple[str, BaseGeometry, float | None]:
        """``(kind, shape as given in crs, buffer in metres)``: the one reading of the three
        forms, for :func:`area_geometry` and the store's record of what was given."""
        if self.polygon is not None:
            return "polygon", Polygon(self.polygon), None
        if self.line is not None:
            return "line", LineString(self.line), self.buffer_m
        return "point", Point(self.point), self.radius_m


def reproject(geometry: BaseGeometry, source: Any, target: Any) -> BaseGeometry:
    """``geometry`` from CRS ``source`` to ``target`` (x/y order, i.e. lon/lat for WGS84)."""
    transformer = Transformer.from_crs(source, target, always_xy=True)
    return shapely.transform(geometry, lambda x, y: transformer.transform(x, y),
                             interleaved=False)


def area_geometry(spec: AreaSpec, crs: str, where: str) -> BaseGeometry:
    """The area in the grid CRS, lines and points buffered there in metres."""
    target = CRS.from_user_input(crs)
    if not target.is_projected:
        raise ValueError(f"grid CRS {crs} is not projected; buffers need metres")
    kind, source, buffer_m = spec.source()
    shape = reproject(source, CRS.from_user_input(spec.crs), target)
    if kind == "polygon" and not shape.is_valid:
        raise ValueError(f"{where}: the polygon is not valid (self-intersecting?)")
    if buffer_m is not None:
        shape = shape.buffer(buffer_m)
    if shape.is_empty or shape.area == 0:
        raise ValueError(f"{where}: the area is empty")
    return shape
