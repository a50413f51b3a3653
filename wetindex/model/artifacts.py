"""Model artifacts: ``models/<area>/<version>/`` with model, metadata and card.

A version folder is written once: it is built under a temporary name and renamed
into place, and an existing version is never overwritten. ``LATEST`` names the
version forecasts use; it is replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb

from wetindex import __version__
from wetindex.atomicdir import switched_dir, write_text
from wetindex.features.stack import FEATURES

FORMAT_VERSION = 1


class ModelArtifactError(RuntimeError):
    """A saved model that cannot be used with this code, and why."""


@dataclass
class LoadedModel:
    booster: lgb.Booster
    metadata: dict[str, Any]
    path: Path

    @property
    def version(self) -> str:
        return self.metadata["version"]

    @property
    def screen(self) -> dict[str, float]:
        return self.metadata["screen"]


def git_revision(root: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def save_model(models_root: Path, area: str, booster: lgb.Booster, metadata: dict[str, Any],
               model_card: str, *, root: Path) -> Path:
    """Write a new version folder and point ``LATEST`` at it; returns the folder."""
    model_text = booster.model_to_string()
    digest = hashlib.sha256(model_text.encode()).hexdigest()[:8]
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{digest}"
    area_dir = models_root / area
    base, n = version, 1
    while (area_dir / version).exists():  # same model in the same second: a new name, no overwrite
        n += 1
        version = f"{base}-{n}"
    final = area_dir / version
    meta = {
        "format_version": FORMAT_VERSION,
        "version": version,
        "area": area,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "wetindex_version": __version__,
        "git_revision": git_revision(root),
        "features": list(FEATURES),
        "lightgbm_version": lgb.__version__,
        **metadata,
    }
    with switched_dir(final) as tmp:
        (tmp / "model.txt").write_text(model_text)
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, default=str))
        (tmp / "model_card.md").write_text(model_card)
    write_text(area_dir / "LATEST", version + "\n")
    return final


def load_model(models_root: Path, area: str, version: str | None = None) -> LoadedModel:
    """Load a model and check that it fits this code's features before it is used."""
    area_dir = models_root / area
    if version is None:
        latest = area_dir / "LATEST"
        if not latest.exists():
            raise ModelArtifactError(
                f"no trained model for area '{area}' in {area_dir}; run 'wetindex run train "
                f"--area {area}' first")
        version = latest.read_text().strip()
    path = area_dir / version
    try:
        meta = json.loads((path / "metadata.json").read_text())
    except FileNotFoundError:
        raise ModelArtifactError(f"{path}: metadata.json missing; retrain the model") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelArtifactError(
            f"{path}: model format {meta.get('format_version')} but this wetindex reads "
            f"format {FORMAT_VERSION}; retrain the model")
    if meta.get("features") != list(FEATURES):
        expected, got = list(FEATURES), meta.get("features") or []
        diff = sorted(set(expected) ^ set(got)) or "same names in another order"
        raise ModelArtifactError(
            f"{path}: the model was trained on other features than this wetindex builds "
            f"(difference: {diff}); retrain the model")
    booster = lgb.Booster(model_file=str(path / "model.txt"))
    if booster.feature_name() != list(FEATURES):
        raise ModelArtifactError(f"{path}: model.txt features do not match metadata.json")
    return LoadedModel(booster, meta, path)
