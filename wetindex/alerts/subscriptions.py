"""Subscriptions: who wants to hear about which area, from which level, and how.

A subscriptions file is YAML::

    subscriptions:
      - id: digelag-klitten            # letters, digits, . _ - (used in idempotency keys)
        name: Digelaget Klitten        # shown in alerts as the place
        email: formand@example.dk
        language: da                   # da | en
        min_level: 2                   # 1 yellow, 2 orange, 3 red
        min_probability: 0.3           # optional floor on the probability thresholds
        max_lead_h: 24                 # only look this many hours ahead
        channels: [email]
        area:
          crs: EPSG:25832              # of the coordinates below; default EPSG:4326 (lon, lat)
          line: [[540100, 6329900], [540300, 6329900]]
          buffer_m: 20                 # a dike section: the line buffered by 20 m
          # or  polygon: [[x, y], ...]
          # or  point: [x, y] with radius_m: 100

Geometries end up in the grid's CRS, where buffers and radii are in metres.
Subscriber data (e-mail addresses) never leaves the alerts: warnings, the feed and
the site are built without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import shapely
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pyproj import CRS, Transformer
from shapely import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from wetindex.config import format_validation_error

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


class SubscriptionSpec(BaseModel):
    """One entry of a subscriptions file (``wetindex subscribers import FILE``)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    language: Literal["da", "en"] = "da"
    area: AreaSpec
    min_level: int = Field(default=1, ge=1, le=3)
    min_probability: float | None = Field(default=None, gt=0, le=1)
    max_lead_h: int = Field(default=48, ge=1, le=48)
    channels: tuple[Channel, ...] = ("email",)
    kind: Literal["household", "dike_association", "operator"] = "household"

    @model_validator(mode="after")
    def _email_channel_needs_address(self) -> SubscriptionSpec:
        if "email" in self.channels and not self.email:
            raise ValueError("the email channel needs an `email` address")
        return self


class SubscriptionsFile(BaseModel):
    """A subscriptions file: ``subscriptions:`` and a list of entries."""

    model_config = ConfigDict(extra="forbid")

    subscriptions: list[SubscriptionSpec]


def reproject(geometry: BaseGeometry, source: Any, target: Any) -> BaseGeometry:
    """``geometry`` from CRS ``source`` to ``target`` (x/y order, i.e. lon/lat for WGS84)."""
    transformer = Transformer.from_crs(source, target, always_xy=True)
    return shapely.transform(geometry, lambda x, y: transformer.transform(x, y),
                             interleaved=False)


def area_geometry(spec: AreaSpec, crs: str, where: str) -> BaseGeometry:
    """The area in the grid CRS, lines and points buffered there in metres."""
    source = CRS.from_user_input(spec.crs)
    target = CRS.from_user_input(crs)
    if not target.is_projected:
        raise ValueError(f"grid CRS {crs} is not projected; buffers need metres")
    if spec.polygon is not None:
        shape = reproject(Polygon(spec.polygon), source, target)
        if not shape.is_valid:
            raise ValueError(f"{where}: the polygon is not valid (self-intersecting?)")
    elif spec.line is not None:
        shape = reproject(LineString(spec.line), source, target).buffer(spec.buffer_m)
    else:
        shape = reproject(Point(spec.point), source, target).buffer(spec.radius_m)
    if shape.is_empty or shape.area == 0:
        raise ValueError(f"{where}: the area is empty")
    return shape


def _format_errors(path: Path, exc: ValidationError, data: Any) -> str:
    def entry_id(loc: tuple) -> str | None:
        if len(loc) >= 2 and loc[0] == "subscriptions" and isinstance(loc[1], int):
            try:
                return f"id {data['subscriptions'][loc[1]]['id']!r}"
            except (KeyError, TypeError, IndexError):
                return None
        return None

    return format_validation_error(exc, str(path), "subscriptions file", label=entry_id)


def load_subscriptions(path: Path, crs: str) -> list[Subscription]:
    """Read and check a subscriptions YAML file; geometries are returned in ``crs``.

    Raises
    ------
    ValueError
        Naming the file, the subscription and the key at fault (unknown keys
        included), or a geometry that cannot be used.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: subscriptions file not found") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    try:
        parsed = SubscriptionsFile.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_format_errors(path, exc, data)) from None
    ids = [s.id for s in parsed.subscriptions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate subscription id(s) {duplicates}")
    return [subscription_from_spec(spec, crs, f"{path}: subscription {spec.id!r}")
            for spec in parsed.subscriptions]


def subscription_from_spec(spec: Any, crs: str, where: str) -> Subscription:
    """One validated file entry as a :class:`Subscription` in the grid ``crs``."""
    return Subscription(
        id=spec.id, name=spec.name, email=spec.email, language=spec.language,
        geometry=area_geometry(spec.area, crs, where), min_level=spec.min_level,
        min_probability=spec.min_probability, max_lead_h=spec.max_lead_h,
        channels=spec.channels, crs=crs, kind=spec.kind)
