"""What ``wetindex check`` asks beyond "is each file readable".

Freshness (would a run now be fresh, degraded or refused?), the subscriptions file
(entries that would be skipped) and the model gate (is the latest model fit to be
put live?). Each returns lines for the check's report; nothing here raises.
"""

from __future__ import annotations

from pathlib import Path

from wetindex import freshness
from wetindex.alerts.subscriber_input import SubscribersFileError, read_subscribers_file
from wetindex.config import AreaConfig
from wetindex.model.artifacts import load_model
from wetindex.modelgate import gate_summary, model_passes_gate


def freshness_problems(config: AreaConfig, inputs) -> tuple[list[str], list[str]]:
    """``(problems, notes)``: a run now would be degraded or refused → a problem."""
    try:
        owed = freshness.owed_issue_time(freshness.utc_now(), config.forecast.issue_every_h)
        report = freshness.assess(inputs, owed, freshness.policy_hours(config))
    except Exception as err:
        return [f"freshness: {err}"], []
    if report.state == "fresh":
        return [], [f"freshness: {report.message}"]
    return [f"freshness: {report.message}"], []


def subscription_problems(config: AreaConfig, root: Path, crs: str) -> list[str]:
    """Entries of ``alerts.subscriptions`` that a run would report and skip."""
    if not config.alerts.subscriptions:
        return []

    p = Path(config.alerts.subscriptions)
    try:
        _, problems = read_subscribers_file(p if p.is_absolute() else root / p,
                                            config.name, crs)
    except SubscribersFileError as err:
        problems = [str(err)]
    return [f"alerts: {line}" for line in problems]


def model_gate_lines(config: AreaConfig, root: Path) -> tuple[list[str], list[str]]:
    """``(problems, notes)``: the latest model and whether it passes the gate."""
    try:
        model = load_model(root / "models", config.name)
    except Exception:
        return [], ["model: none trained yet (wetindex run train)"]
    if model_passes_gate(model.metadata):
        return [], [f"model: {model.version} {gate_summary(model.metadata)}"]
    return [f"model: {model.version} is not put live: {gate_summary(model.metadata)}; "
            "retrain, or run with --force to override"], []
