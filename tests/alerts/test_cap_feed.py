"""The CAP feed: revisions, references, all-clears, idempotent reruns, the Atom file."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from alert_fixtures import ISSUE, make_warning
from lxml import etree

from wetindex.alerts.cap import CAP_NS, validate_cap
from wetindex.alerts.feed import ATOM_NS, write_feed
from wetindex.warnings import InputHealth, RunStatus

NS = {"cap": CAP_NS, "a": ATOM_NS}
SENDER = "wetindex@example.dk"


def _status(hours: int, ok: bool = True) -> RunStatus:
    t = ISSUE + timedelta(hours=hours)
    return RunStatus(area_name="Testkommune", issue_time=t, generated_at=t + timedelta(minutes=7),
                     next_update=t + timedelta(hours=1), forecast_ok=ok,
                     inputs=[InputHealth("rain", "fresh" if ok else "missing")],
                     message="" if ok else "Regnprognosen mangler")


def _run(feed_dir, warnings, hours, ok=True):
    return write_feed(feed_dir, warnings, _status(hours, ok), sender=SENDER,
                      site_url="https://varsler.example.dk/", area_name="Testkommune")


def _cap_files(feed_dir):
    return sorted((feed_dir / "cap").glob("*.xml"))


def _field(path, name):
    return [e.text for e in etree.parse(str(path)).getroot().findall(f"cap:{name}", NS)]


def test_revision_history_through_the_feed(tmp_path):
    feed = tmp_path / "feed"
    warning = make_warning(level=1, probability=0.25)

    first = _run(feed, [warning], 0)
    assert len(first.alerts) == 1 and not first.updates
    (alert_file,) = _cap_files(feed)
    assert _field(alert_file, "msgType") == ["Alert"]

    # changed level: an Update referencing the first
    second = _run(feed, [replace(warning, level=2, probability=0.5)], 1)
    assert len(second.updates) == 1
    update_file = feed / "cap" / f"{second.updates[0]}.xml"
    assert _field(update_file, "msgType") == ["Update"]
    (refs,) = _field(update_file, "references")
    assert refs == f"{SENDER},{first.alerts[0]},2026-11-24T06:07:00+00:00"

    # same inputs again: nothing new, nothing rewritten
    before = {p: p.stat().st_mtime_ns for p in feed.rglob("*")}
    again = _run(feed, [replace(warning, level=2, probability=0.5)], 1)
    assert again.messages == [] and again.written == []
    assert {p: p.stat().st_mtime_ns for p in feed.rglob("*")} == before
    # a later run with the same warning: still nothing
    assert _run(feed, [replace(warning, level=2, probability=0.5)], 2).messages == []

    # probability change in whole percent, or new window: an Update
    third = _run(feed, [replace(warning, level=2, probability=0.61)], 3)
    assert len(third.updates) == 1
    (refs,) = _field(feed / "cap" / f"{third.updates[0]}.xml", "references")
    assert refs.split() == [
        f"{SENDER},{first.alerts[0]},2026-11-24T06:07:00+00:00",
        f"{SENDER},{second.updates[0]},2026-11-24T07:07:00+00:00",
    ]

    # warning gone: an all-clear Update referencing all earlier revisions
    gone = _run(feed, [], 4)
    assert len(gone.all_clears) == 1
    clear_file = feed / "cap" / f"{gone.all_clears[0]}.xml"
    assert _field(clear_file, "msgType") == ["Update"]
    assert len(_field(clear_file, "references")[0].split()) == 3
    root = etree.parse(str(clear_file)).getroot()
    assert {e.text for e in root.findall("cap:info/cap:responseType", NS)} == {"AllClear"}
    assert _run(feed, [], 5).messages == []  # an all-clear is issued once

    for path in _cap_files(feed):
        validate_cap(path.read_bytes())
    assert len(_cap_files(feed)) == 4
    assert not list(feed.rglob("*.tmp"))


def test_atom_lists_active_warnings_and_recent_all_clears(tmp_path):
    feed = tmp_path / "feed"
    a, b = make_warning(warning_id="place-a"), make_warning(3, 0.8, warning_id="place-b")
    _run(feed, [a, b], 0)
    result = _run(feed, [b], 1)  # a ends
    atom = etree.parse(str(result.atom)).getroot()
    assert atom.tag == f"{{{ATOM_NS}}}feed"
    entries = atom.findall("a:entry", NS)
    assert len(entries) == 2
    ids = [e.findtext("a:id", namespaces=NS) for e in entries]
    assert all(i.startswith("urn:uuid:") for i in ids) and len(set(ids)) == 2
    assert atom.findtext("a:id", namespaces=NS).startswith("urn:uuid:")
    terms = sorted(e.find("a:category", NS).get("term") for e in entries)
    assert terms == ["all_clear", "red"]
    for entry in entries:
        link = entry.find("a:link", NS)
        assert link.get("type") == "application/cap+xml"
        assert (feed / link.get("href")).exists()
        assert entry.findtext("a:updated", namespaces=NS).endswith("+00:00")
    # a day later the all-clear has dropped out, the active warning stays
    atom = etree.parse(str(_run(feed, [b], 30).atom)).getroot()
    assert [e.find("a:category", NS).get("term") for e in atom.findall("a:entry", NS)] == ["red"]


def test_failed_forecast_never_issues_all_clears(tmp_path):
    feed = tmp_path / "feed"
    _run(feed, [make_warning()], 0)
    result = _run(feed, [], 1, ok=False)
    assert result.all_clears == []
    atom = etree.parse(str(result.atom)).getroot()
    assert "Regnprognosen mangler" in atom.findtext("a:subtitle", namespaces=NS)
    assert len(atom.findall("a:entry", NS)) == 1


def test_warning_back_after_all_clear_starts_a_new_alert(tmp_path):
    feed = tmp_path / "feed"
    _run(feed, [make_warning()], 0)
    _run(feed, [], 1)
    back = _run(feed, [make_warning()], 2)
    assert len(back.alerts) == 1
    assert _field(feed / "cap" / f"{back.alerts[0]}.xml", "references") == []
    state = json.loads((feed / "feed_state.json").read_text())
    assert [r["kind"] for r in state["warnings"]["test-klitten"]["revisions"]] == ["alert"]
