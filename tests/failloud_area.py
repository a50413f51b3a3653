"""Helpers for the fail-loud tests: variants of the tiny local area, a model, the CLI.

Each variant is ``areas/<name>.yaml`` beside ``tiny.yaml`` with some inputs swapped,
so its outputs (``var/<name>/``, ``models/<name>/``) never touch another test's.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from local_area import synthetic_model
from typer.testing import CliRunner

from wetindex.cli import app
from wetindex.model.artifacts import save_model

#: The tiny area's inputs end 2025-06-08 23:00 UTC; its issue slots are every 3 h.
DATA_END = pd.Timestamp("2025-06-08T23:00")
FRESH_NOW = "2025-06-08T23:30Z"  # owes the 21:00 slot: fresh

runner = CliRunner()


def area_variant(project: Path, name: str, inputs: dict[str, Any] | None = None,
                 **sections: Any) -> str:
    """Write ``areas/<name>.yaml``: tiny's config with ``inputs`` and sections replaced."""
    data = yaml.safe_load((project / "areas" / "tiny.yaml").read_text())
    data["name"] = name
    for kind, value in (inputs or {}).items():
        data["inputs"][kind] = value
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    (project / "areas" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return name


def input_path(project: Path, kind: str) -> Path:
    data = yaml.safe_load((project / "areas" / "tiny.yaml").read_text())
    spec = data["inputs"][kind]
    return Path(spec if isinstance(spec, str) else spec["path"])


def install_model(project: Path, area: str, passing: bool = True) -> Path:
    """A small LightGBM model for ``area`` that warns (water rising with lead), with a
    hold-out evaluation that passes the gate (or scores worse than climatology in every
    bin)."""
    model = synthetic_model(DATA_END.floor("3h"), rising_with_lead=True)
    meta = dict(model.metadata)
    meta["evaluation"] = {"lead_bins": ["0-24", "24-48"], "scores": {
        "model": {"brier": [0.01, 0.02] if passing else [0.3, 0.4],
                  "brier_skill": [0.8, 0.6] if passing else [-5.0, float("nan")]},
        "climatology": {"brier": [0.05, 0.05], "brier_skill": [0.0, 0.0]},
        "climatology_month": {"brier": [0.04, 0.045], "brier_skill": [0.2, 0.1]}}}
    return save_model(project / "models", area, model.booster, meta, "test model",
                      root=project)


def cli(project: Path, *args: str, now: str | None = None, monkeypatch=None):
    """Run the CLI in-process with ``WETINDEX_NOW`` (never the wall clock)."""
    if monkeypatch is not None and now is not None:
        monkeypatch.setenv("WETINDEX_NOW", now)
    result = runner.invoke(app, [*args, "--root", str(project)])
    assert "Traceback" not in result.output, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"an exception reached the operator: {result.exception!r}\n"
                             f"{result.output}")
    return result


def strict_json(text: str) -> Any:
    """Parse JSON as a strict parser does: NaN / Infinity are errors."""
    def refuse(token: str):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


def finite(x: float) -> bool:
    return x is not None and math.isfinite(x)
