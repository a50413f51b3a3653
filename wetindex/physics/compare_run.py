"""Running the comparison of :mod:`wetindex.physics.compare` on a small demo area.

Builds the demo area (``source: demo``) under ``folder``, trains the learned model (or
reuses it), finds the truth's events in the model's hold-out period and runs both
methods at every issue time up to 48 h before each onset and at quiet issue times.
``python -m wetindex.physics.compare_run FOLDER`` prints the result (see :func:`main`).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wetindex.config import AreaConfig, DemoConfig
from wetindex.model.artifacts import ModelArtifactError, load_model
from wetindex.model.calibration import apply_calibration
from wetindex.model.predict import gather_inputs, predict_probability
from wetindex.physics.compare import (
    MAX_LEAD_H,
    demo_events,
    false_warning,
    learned_should_take_over,
    score_event,
    summarise,
    warns,
)
from wetindex.physics.forecast import PhysicalSetup, physical_forecast
from wetindex.stages.context import AreaContext
from wetindex.stages.inputs import area_inputs, inputs_key
from wetindex.stages.static import build_static
from wetindex.stages.train import train_stage

log = logging.getLogger(__name__)


def learned_probability(model: Any, inputs: Any, static: Any, issue: pd.Timestamp
                        ) -> np.ndarray:
    """The learned model's calibrated probability ``(lead, ny·nx)`` at ``issue``."""
    fin = gather_inputs(inputs, static, issue.to_datetime64(), model.screen)
    prob = predict_probability(model.booster, fin, inputs.grid)
    calibration = model.metadata.get("calibration") or {}
    values = prob.values
    if any(not m.get("identity") for m in calibration.get("maps", [])):
        values = apply_calibration(values, prob["lead"].values[:, None, None], calibration)
    return values.reshape(values.shape[0], -1)


def run_comparison(folder: Path, *, size_m: float, years: float, start: str, seed: int,
                   quiet_every_h: int = 24) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[2]  # models/configs of this checkout
    cfg = AreaConfig(name="compare", title="Comparison area", source="demo",
                     demo=DemoConfig(size_m=size_m, years=years, start=start, seed=seed))
    ctx = AreaContext(cfg, root, output_root=Path(folder))
    inputs = area_inputs(ctx)
    static = build_static(ctx, inputs)
    key = inputs_key(ctx, inputs)
    try:
        model = load_model(ctx.models_root, cfg.name)
        if model.metadata.get("inputs_key") != key:
            raise FileNotFoundError
    except (FileNotFoundError, OSError, ModelArtifactError):
        model = train_stage(ctx, inputs, static, key)
    h0, h1 = (pd.Timestamp(t) for t in model.metadata["periods"]["holdout"])
    world = inputs.world
    events = demo_events(world, h0 + pd.Timedelta(hours=MAX_LEAD_H), world.history_end)
    log.info("hold-out %s – %s: %d events", h0, h1, len(events))
    issues = inputs.issue_times()
    issues = issues[(issues >= h0) & (issues <= h1)]
    near = np.zeros(len(issues), bool)
    for e in events:
        near |= (issues >= e.onset - pd.Timedelta(hours=MAX_LEAD_H)) & (issues <= e.end)
    quiet = issues[~near]
    quiet = quiet[(quiet - quiet[0]) % pd.Timedelta(hours=quiet_every_h) == pd.Timedelta(0)] \
        if len(quiet) else quiet
    quiet = quiet[quiet + pd.Timedelta(hours=MAX_LEAD_H) <= world.history_end]
    run = sorted(set(issues[near]) | set(quiet))
    setup = PhysicalSetup.from_static(static)
    thresholds = cfg.thresholds.as_list()
    warned: dict[str, dict[int, list]] = {"physical": {}, "learned": {}}
    false = {"physical": 0, "learned": 0}
    quiet_set = set(quiet)
    for n, issue in enumerate(run):
        probs = {
            "physical": physical_forecast(inputs, static, issue, thresholds=thresholds,
                                          setup=setup).dataset["probability"].values,
            "learned": learned_probability(model, inputs, static, issue),
        }
        truth = None
        at_issue = world.water([issue.to_datetime64()]).values.reshape(-1)
        for method, p in probs.items():
            p = p.reshape(p.shape[0], -1)
            for i, e in enumerate(events):
                if warns(e, issue, p, at_issue):
                    warned[method].setdefault(i, []).append(issue)
            if issue in quiet_set:
                if truth is None:
                    valid = issue + pd.to_timedelta(np.arange(1, p.shape[0] + 1), unit="h")
                    truth = world.water(valid.values).values.reshape(p.shape[0], -1)
                false[method] += false_warning(p, truth, at_issue)
        if n % 10 == 0:
            log.info("%d/%d issue times", n + 1, len(run))
    out: dict[str, Any] = {"holdout": [h0.isoformat(), h1.isoformat()],
                           "model_version": model.version, "issue_times_run": len(run)}
    for method in ("physical", "learned"):
        scores = [score_event(e, warned[method].get(i, [])) for i, e in enumerate(events)]
        out[method] = {"events": scores,
                       "summary": summarise(scores, false[method], len(quiet))}
    take, why = learned_should_take_over(out["physical"]["summary"], out["learned"]["summary"])
    out["learned_takes_over"] = {"now": take, "why": why}
    return out


def main(argv: list[str] | None = None) -> None:
    """Build a demo area, train, and compare both methods on its hold-out."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size-m", type=float, default=3000.0)
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--start", default="2025-01-01T00:00")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--quiet-every-h", type=int, default=24)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    result = run_comparison(args.folder, size_m=args.size_m, years=args.years,
                            start=args.start, seed=args.seed, quiet_every_h=args.quiet_every_h)
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
