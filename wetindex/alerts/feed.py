"""The public warning feed: one CAP 1.2 file per warning revision, and an Atom feed.

``feed_dir`` holds::

    cap/<identifier>.xml   every CAP message ever issued (never rewritten)
    atom.xml               Atom 1.0: active warnings and recent all-clears
    feed_state.json        warning_id -> revisions issued so far (the feed's memory)

A run compares its warnings with the state: a new warning is a CAP ``Alert``; a
changed level, probability (whole percent, as published) or time window is an
``Update`` referencing every earlier revision; an unchanged warning writes nothing;
a warning that disappeared gets an all-clear ``Update``. A run that is not healthy
(forecast failed, or inputs stale or missing: ``status.healthy`` false) never issues
all-clears: no forecast is not no risk, and old data is no all-clear.

Files are written atomically, CAP files first and the state last, so a crash part-way
leaves at worst CAP files that the rerun writes again with identical content.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree

from wetindex.alerts.cap import cap_alert, cap_time, info_texts, validate_cap
from wetindex.alerts.messages import as_utc
from wetindex.atomicdir import write_bytes
from wetindex.warnings import LEVEL_NAMES, RunStatus, WarningArea

ATOM_NS = "http://www.w3.org/2005/Atom"
STATE_FILE = "feed_state.json"
#: How long an all-clear stays listed in the Atom feed.
ALL_CLEAR_LISTED = timedelta(hours=24)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class FeedResult:
    """What one :func:`write_feed` call did.

    Attributes
    ----------
    alerts, updates, all_clears : list of str
        Identifiers of the CAP messages written, by kind.
    unchanged : list of str
        ``warning_id`` of active warnings that needed no new revision.
    written : list of Path
        Every file created or changed (CAP files, state, ``atom.xml``).
    atom : Path
        The Atom feed.
    """

    alerts: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    all_clears: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    atom: Path | None = None

    @property
    def messages(self) -> list[str]:
        return [*self.alerts, *self.updates, *self.all_clears]


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Write ``data`` to ``path`` (:func:`wetindex.atomicdir.write_bytes`); False if unchanged.

    The file gets ``mode`` (default world-readable: the feed is public, and the web
    server that publishes it runs as another user).
    """
    if path.exists() and path.read_bytes() == data:
        return False
    write_bytes(path, data, mode)
    return True


def _warning_from_dict(d: dict[str, Any]) -> WarningArea:
    d = {k: v for k, v in d.items() if k != "level_name"}
    for key in ("onset", "expires", "peak_time"):
        d[key] = datetime.fromisoformat(d[key])
    return WarningArea(**d)


def _signature(w: WarningArea) -> list[Any]:
    """What makes a new revision: level, published percent, time window."""
    return [w.level, round(100 * w.probability), cap_time(w.onset), cap_time(w.expires)]


def _load_state(feed_dir: Path) -> dict[str, Any]:
    path = feed_dir / STATE_FILE
    if not path.exists():
        return {"version": 1, "updated": None, "warnings": {}}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: feed state is not valid JSON ({exc}); restore it from a backup, or "
            "delete it to restart the feed (earlier warnings will then not be referenced)"
        ) from exc
    if state.get("version") != 1:
        raise ValueError(f"{path}: unknown feed state version {state.get('version')!r}")
    return state


def write_feed(
    feed_dir: Path,
    warnings: list[WarningArea],
    status: RunStatus,
    *,
    sender: str,
    site_url: str,
    area_name: str,
    feed_url: str | None = None,
    geocode: dict[str, str] | None = None,
) -> FeedResult:
    """Issue CAP messages for what changed since the last run and rewrite the Atom feed.

    Parameters
    ----------
    feed_dir : Path
        Folder of the feed (created if missing).
    warnings : list of WarningArea
        The run's warnings; ``warning_id`` identifies a place across runs.
    status : RunStatus
        The run; ``generated_at`` becomes the CAP ``sent`` time; an unhealthy run
        issues no all-clears and is noted in the feed's subtitle.
    sender, site_url, area_name : str
        CAP sender, public web page, forecast area name.
    feed_url : str, optional
        Public URL of ``feed_dir``; makes the Atom links absolute (else relative).
    geocode : dict, optional
        The area's geocodes in every message, e.g. ``{"kommunekode": "0849"}``.

    Returns
    -------
    FeedResult
    """
    feed_dir = Path(feed_dir)
    ids = [w.warning_id for w in warnings]
    if len(set(ids)) != len(ids):
        raise ValueError(f"warnings: duplicate warning_id in {sorted(ids)}")
    state = _load_state(feed_dir)
    known: dict[str, Any] = state["warnings"]
    result = FeedResult()
    last_sent = max(
        (datetime.fromisoformat(r["sent"]) for e in known.values() for r in e["revisions"]),
        default=None,
    )
    sent = as_utc(status.generated_at).replace(microsecond=0)
    if last_sent is not None and sent <= last_sent:  # identifiers must be new and ordered
        sent = last_sent + timedelta(seconds=1)
    stamp = sent.strftime("%Y%m%dT%H%M%SZ")

    new_files: dict[Path, bytes] = {}

    def issue(entry: dict[str, Any], warning: WarningArea, kind: str) -> str:
        identifier = f"{_UNSAFE.sub('-', warning.warning_id)}.{stamp}"
        refs = [(sender, r["identifier"], datetime.fromisoformat(r["sent"]))
                for r in entry["revisions"]]
        msg_type = "Alert" if kind == "alert" else "Update"
        xml = cap_alert(
            None if kind == "all_clear" else warning,
            identifier=identifier, sender=sender, sent=sent, msg_type=msg_type,
            references=refs, all_clear_of=warning if kind == "all_clear" else None,
            site_url=site_url, area_name=area_name, geocode=geocode,
        )
        validate_cap(xml)
        new_files[feed_dir / "cap" / f"{identifier}.xml"] = xml
        entry["revisions"].append({
            "identifier": identifier, "sent": sent.isoformat(), "kind": kind,
            "level": 0 if kind == "all_clear" else warning.level,
            "probability": warning.probability, "warning": warning.to_dict(),
        })
        {"alert": result.alerts, "update": result.updates,
         "all_clear": result.all_clears}[kind].append(identifier)
        return identifier

    for warning in warnings:
        entry = known.get(warning.warning_id)
        if entry is None or not entry["active"]:
            # a new warning, or a place warned again after an all-clear: a new episode
            entry = known[warning.warning_id] = {"active": True, "revisions": []}
            issue(entry, warning, "alert")
        elif _signature(_warning_from_dict(entry["revisions"][-1]["warning"])) != _signature(
            warning
        ):
            issue(entry, warning, "update")
        else:
            result.unchanged.append(warning.warning_id)
    if status.healthy:  # an all-clear only from a fresh forecast, never for want of data
        for warning_id, entry in known.items():
            if entry["active"] and warning_id not in ids:
                issue(entry, _warning_from_dict(entry["revisions"][-1]["warning"]), "all_clear")
                entry["active"] = False

    for path, data in new_files.items():
        if atomic_write(path, data):
            result.written.append(path)
    if new_files:
        state["updated"] = sent.isoformat()
        state_bytes = json.dumps(state, indent=1, ensure_ascii=False).encode("utf-8")
        if atomic_write(feed_dir / STATE_FILE, state_bytes):
            result.written.append(feed_dir / STATE_FILE)
    atom = atom_feed(state, status, sender=sender, site_url=site_url, area_name=area_name,
                     feed_url=feed_url, now=sent)
    result.atom = feed_dir / "atom.xml"
    if atomic_write(result.atom, atom):
        result.written.append(result.atom)
    return result


def _atom(parent: etree._Element, tag: str, value: str | None = None, **attrs: str):
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
    if value is not None:
        element.text = value
    return element


def _urn(sender: str, name: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"wetindex:{sender}:{name}").urn


def atom_feed(
    state: dict[str, Any],
    status: RunStatus,
    *,
    sender: str,
    site_url: str,
    area_name: str,
    feed_url: str | None = None,
    now: datetime,
) -> bytes:
    """The Atom 1.0 feed (bytes) of the active warnings and the all-clears of the last 24 h.

    Entries are the latest revision of each warning, newest first, linking to the CAP
    file (``type="application/cap+xml"``). IDs are ``urn:uuid`` derived from the CAP
    identifier, so the same revision keeps its id; ``updated`` is the revision's
    ``sent`` time, the feed's is this run's (``status.generated_at``), so it moves on every run.
    """
    base = (feed_url.rstrip("/") + "/") if feed_url else ""
    latest = []
    for entry in state["warnings"].values():
        rev = entry["revisions"][-1]
        if entry["active"] or as_utc(now) - datetime.fromisoformat(rev["sent"]) <= ALL_CLEAR_LISTED:
            latest.append((entry, rev))
    latest.sort(key=lambda er: er[1]["sent"], reverse=True)

    root = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "da")
    _atom(root, "id", _urn(sender, f"feed:{area_name}"))
    _atom(root, "title", f"{area_name}: varsler om lokal oversvømmelse / local flood warnings")
    subtitle = "Varsler fra wetindex i CAP 1.2 / warnings from wetindex as CAP 1.2."
    if not status.healthy:
        subtitle += f" OBS: {status.message or 'prognosen mangler data / inputs missing'}"
    _atom(root, "subtitle", subtitle)
    # the feed's time is this run's, so a dead feed (no run) is told from a quiet one
    # (rerunning the same run rewrites nothing)
    run_time = as_utc(status.generated_at).replace(microsecond=0)
    newest = datetime.fromisoformat(state["updated"]) if state.get("updated") else run_time
    _atom(root, "updated", cap_time(max(run_time, newest)))
    author = _atom(root, "author")
    _atom(author, "name", sender)
    _atom(root, "link", rel="alternate", type="text/html", href=site_url)
    if base:
        _atom(root, "link", rel="self", type="application/atom+xml", href=f"{base}atom.xml")
    for entry, rev in latest:
        warning = _warning_from_dict(rev["warning"])
        all_clear = rev["kind"] == "all_clear"
        da = info_texts("da", warning, area_name=area_name, all_clear=all_clear)
        en = info_texts("en", warning, area_name=area_name, all_clear=all_clear)
        item = _atom(root, "entry")
        _atom(item, "id", _urn(sender, rev["identifier"]))
        stale = entry["active"] and not status.forecast_ok  # in force, but not updated
        _atom(item, "title", (f"IKKE OPDATERET / NOT UPDATED: {da['headline']}" if stale
                              else da["headline"]))
        _atom(item, "published", cap_time(datetime.fromisoformat(entry["revisions"][0]["sent"])))
        _atom(item, "updated", cap_time(datetime.fromisoformat(rev["sent"])))
        _atom(item, "summary", f"{da['description']}\n\n{en['headline']}. {en['description']}")
        _atom(item, "category", term=LEVEL_NAMES[rev["level"]] if not all_clear else "all_clear")
        if stale:
            _atom(item, "category", term="not_updated")
        _atom(item, "link", rel="alternate", type="application/cap+xml",
              href=f"{base}cap/{rev['identifier']}.xml")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
