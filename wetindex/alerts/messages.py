"""Translated texts of warnings and alerts (``messages.yaml``), and time formatting.

The CAP messages carry Danish and English, the e-mails the subscriber's language.
All texts come from ``messages.yaml`` so that a translator edits one file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

#: Languages with a complete set of texts.
LANGUAGES: tuple[str, ...] = ("da", "en")

#: Local time zone of the people warned (Denmark).
LOCAL_TZ = ZoneInfo("Europe/Copenhagen")

_MESSAGES_FILE = Path(__file__).with_name("messages.yaml")


@cache
def _catalog() -> dict[str, dict[str, Any]]:
    with _MESSAGES_FILE.open(encoding="utf-8") as f:
        catalog = yaml.safe_load(f)
    missing = [lang for lang in LANGUAGES if lang not in catalog]
    if missing:
        raise ValueError(f"{_MESSAGES_FILE}: no texts for language(s) {missing}")
    return catalog


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not supported; use one of {LANGUAGES}")


def text(language: str, key: str, **values: Any) -> str:
    """The text ``key`` in ``language`` with ``{placeholders}`` filled from ``values``."""
    _check_language(language)
    entry = _catalog()[language][key]
    if not isinstance(entry, str):
        raise TypeError(f"{_MESSAGES_FILE}: {language}.{key} is not a single text")
    return entry.format(**values)


def table(language: str, key: str) -> Mapping[Any, str]:
    """A keyed group of texts, e.g. ``table("da", "level_name")[2] == "orange"``."""
    _check_language(language)
    return _catalog()[language][key]


def drivers_text(language: str, drivers: list[str]) -> str:
    """Driver groups as a plain-language list, e.g. ``"regn, høj vandstand i havet"``."""
    names = table(language, "driver")
    return ", ".join(names.get(d, d) for d in drivers) if drivers else "-"


def as_utc(when: datetime) -> datetime:
    """``when`` in UTC; a naive time is taken to be UTC already (wetindex's convention)."""
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def local_time_text(when: datetime, language: str = "da") -> str:
    """Danish local time as people read it: ``"24.11.2026 kl. 14:00"`` or ``"24.11.2026 14:00"``."""
    local = as_utc(when).astimezone(LOCAL_TZ)
    return local.strftime("%d.%m.%Y kl. %H:%M" if language == "da" else "%d.%m.%Y %H:%M")


def utc_time_text(when: datetime) -> str:
    """UTC time, e.g. ``"2026-11-24 13:00"``."""
    return as_utc(when).strftime("%Y-%m-%d %H:%M")
