"""An area's context: its configuration, where its resources and outputs live, and
the content keys its outputs are stored under."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wetindex.config import AreaConfig


@dataclass(frozen=True)
class AreaContext:
    """Where an area's configuration, resources, data products and models live.

    ``root`` is the project folder with the resources (``models/configs``, ``web/``);
    outputs go under ``output_root`` (default: ``root``): ``var/<area>/`` and
    ``models/<area>/``.
    """

    config: AreaConfig
    root: Path
    output_root: Path | None = None

    @property
    def area_dir(self) -> Path:
        return self.config.area_dir(self.output_root or self.root)

    @property
    def models_root(self) -> Path:
        return (self.output_root or self.root) / "models"

    @property
    def web_dir(self) -> Path:
        return self.root / "web"


def artifact_key(*parts: Any) -> str:
    """A short content key (12 hex digits) of ``parts``, for outputs reused by a rerun."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]
