"""The model gate: a model goes live only when it beats the accepted references.

A model that scores worse than climatology in every lead bin once went live without
a word and issued red "act now" warnings on every sampled issue time, July included.
:func:`model_passes_gate` reads the hold-out evaluation a model carries in its
metadata (:func:`wetindex.model.evaluate.evaluate`) and says whether it may be put
live: its Brier score must be lower (better) than every accepted reference's in
every lead bin. The accepted references are the probabilistic ones a forecaster
accepts (DESIGN.md, Verification): the ones the evaluation names itself
(``references``: "never wet", same-month climatology and the issue-time LightGBM of
:mod:`wetindex.model.baselines`), else "never wet", all-season and same-month
climatology and the issue-time baseline; a reference the evaluation does not carry is
skipped, a model score that is NaN fails.

Without an evaluation there is no evidence of skill: the gate is closed.
:class:`wetindex.stages.run.AreaRun` refuses such a model unless the operator
overrides (``--force``); a physically based fallback (issue #21) can call
:func:`model_passes_gate` to decide when to step in.
"""

from __future__ import annotations

import math
from typing import Any

#: References a model must beat on its hold-out, in every lead bin.
ACCEPTED_REFERENCES: tuple[str, ...] = ("never_wet", "climatology", "climatology_month",
                                        "issue_time_baseline")


def _bins(ev: dict[str, Any], method: str) -> list[float] | None:
    scores = (ev.get("scores") or {}).get(method) or {}
    values = scores.get("brier")
    return None if values is None else [float("nan") if v is None else float(v)
                                        for v in values]


def _references(ev: dict[str, Any]) -> tuple[str, ...]:
    """The references the evaluation itself names (``references``), else the accepted
    list: a model is judged against what its own verification calls a reference."""
    return tuple(ev.get("references") or ACCEPTED_REFERENCES)


def gate_failures(metadata: dict[str, Any]) -> list[str]:
    """Why a model may not go live (empty when it passes), one line per failed comparison."""
    ev = (metadata or {}).get("evaluation") or {}
    model = _bins(ev, "model")
    if not model:
        return ["no hold-out evaluation in the model's metadata"]
    bins = ev.get("lead_bins") or [str(i) for i in range(len(model))]
    failures = []
    if any(math.isnan(m) for m in model):
        failures.append("the model's Brier score is undefined in some lead bins")
    for ref in _references(ev):
        other = _bins(ev, ref)
        if other is None:
            continue
        worse = [b for b, m, o in zip(bins, model, other, strict=False)
                 if not math.isnan(o) and not (m < o)]
        if worse:
            failures.append(f"not better than {ref} in lead bin(s) {', '.join(worse)} h")
    return failures


def model_passes_gate(metadata: dict[str, Any]) -> bool:
    """True when the model beats every accepted reference in every lead bin on its hold-out."""
    return not gate_failures(metadata)


def gate_summary(metadata: dict[str, Any]) -> str:
    """One line for the status and the CLI: passes, or why not."""
    failures = gate_failures(metadata)
    if not failures:
        ev = (metadata or {}).get("evaluation") or {}
        present = [r for r in _references(ev) if r in (ev.get("scores") or {})]
        return "beats " + ", ".join(present) + " in every lead bin on its hold-out"
    return "; ".join(failures)


def gate_report(metadata: dict[str, Any]) -> dict[str, Any]:
    """The gate's verdict and the model's scores by lead bin, for ``wetindex status``."""
    ev = (metadata or {}).get("evaluation") or {}
    scores = ev.get("scores") or {}
    return {"passes_gate": model_passes_gate(metadata), "gate": gate_summary(metadata),
            "lead_bins": ev.get("lead_bins"),
            "brier": {m: (scores.get(m) or {}).get("brier") for m in ("model",
                                                                     *_references(ev))
                      if m in scores},
            "model_brier_skill": (scores.get("model") or {}).get("brier_skill")}
