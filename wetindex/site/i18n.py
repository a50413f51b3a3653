"""Translations and the way times and numbers are written for citizens.

All page text lives in ``web/i18n/<lang>.yaml``; this module only loads it, checks
that both languages have the same keys, and fills in times (Danish local time
first, UTC beside it) and percentages using the patterns those files give.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

#: Languages of the site, default first (served at ``/``; others at ``/<lang>/``).
LANGUAGES: tuple[str, ...] = ("da", "en")

#: Local time zone of the people the site is for.
LOCAL_TZ = ZoneInfo("Europe/Copenhagen")


class TranslationError(ValueError):
    """A translation file that is missing, unreadable or incomplete."""


def flatten_keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted keys of every leaf in a nested mapping (lists count as one leaf)."""
    keys: set[str] = set()
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            keys |= flatten_keys(value, dotted + ".")
        else:
            keys.add(dotted)
    return keys


def load_translations(i18n_dir: Path) -> dict[str, dict[str, Any]]:
    """Load every language's YAML and check they have exactly the same keys.

    Raises
    ------
    TranslationError
        Naming the file and the keys it lacks.
    """
    texts: dict[str, dict[str, Any]] = {}
    for lang in LANGUAGES:
        path = i18n_dir / f"{lang}.yaml"
        if not path.is_file():
            raise TranslationError(f"{path}: translation file missing")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TranslationError(f"{path}: expected a mapping of texts at the top level")
        texts[lang] = data
    reference = flatten_keys(texts[LANGUAGES[0]])
    for lang in LANGUAGES[1:]:
        keys = flatten_keys(texts[lang])
        missing, extra = reference - keys, keys - reference
        if missing or extra:
            raise TranslationError(
                f"{i18n_dir / (lang + '.yaml')}: keys differ from {LANGUAGES[0]}.yaml; "
                f"missing {sorted(missing)}, not in {LANGUAGES[0]}.yaml {sorted(extra)}"
            )
    return texts


class Formatter:
    """Writes times and numbers in one language, from that language's patterns."""

    def __init__(self, texts: dict[str, Any]):
        self.fmt = texts["format"]

    def _clock(self, when: datetime) -> str:
        key = "clock_on_the_hour" if when.minute == 0 else "clock"
        return self.fmt[key].format(hour=when.hour, minute=when.minute)

    def local(self, when: datetime) -> str:
        """``"tirsdag 24. nov kl. 14"`` / ``"Tuesday 24 Nov, 14:00"`` in Danish time."""
        loc = _utc(when).astimezone(LOCAL_TZ)
        return self.fmt["datetime"].format(
            weekday=self.fmt["weekdays"][loc.weekday()], day=loc.day,
            month=self.fmt["months"][loc.month - 1], clock=self._clock(loc),
        )

    def utc(self, when: datetime) -> str:
        """``"13:00 UTC"``."""
        u = _utc(when)
        return self.fmt["utc"].format(hour=u.hour, minute=u.minute)

    def utc_full(self, when: datetime) -> str:
        """``"2026-11-24 13:00 UTC"``."""
        return _utc(when).strftime("%Y-%m-%d %H:%M UTC")

    def both(self, when: datetime | None) -> str:
        """Local time with UTC beside it; the "unknown" text when ``when`` is None."""
        if when is None:
            return self.fmt["unknown_time"]
        return self.fmt["local_and_utc"].format(local=self.local(when), utc=self.utc(when))

    def percent(self, probability: float) -> str:
        """``"55 %"`` / ``"55%"``, never "0" for a small non-zero chance."""
        value = round(float(probability) * 100)
        if value == 0 and probability > 0:
            return self.fmt["percent_below_one"]
        return self.fmt["percent"].format(value=value)

    def number(self, value: float | None, digits: int = 2) -> str:
        """A score with the language's decimal mark; the "no value" dash for None/NaN."""
        if value is None or value != value:  # NaN
            return self.fmt["no_value"]
        text = f"{float(value):.{digits}f}"
        return text.replace(".", self.fmt["decimal_mark"])


def _utc(when: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the pipeline's convention)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
