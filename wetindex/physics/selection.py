"""Which forecast is live: the learned model when it has earned it, else the physical one.

``forecast.method`` in the area config (or ``wetindex run forecast --method``):

- ``learned``: the latest trained model (an error when there is none);
- ``physical``: the physically based forecast (:mod:`wetindex.physics.forecast`);
- ``auto`` (default): the learned model only when one exists *and* has passed its gate,
  else the physical forecast.

The gate: the model's metadata carries ``gate.passed`` (written by the training gate)
where it exists; a model without that record has passed when its hold-out evaluation
says it beats every baseline in Brier skill in every lead bin
(:func:`wetindex.model.report.verdict`).
"""

from __future__ import annotations

from typing import Any

METHODS: tuple[str, ...] = ("auto", "physical", "learned")


def model_gate(model: Any) -> tuple[bool, str]:
    """Whether a trained model has passed its gate, and why (plain words)."""
    meta = getattr(model, "metadata", None) or {}
    gate = meta.get("gate")
    if isinstance(gate, dict) and "passed" in gate:
        why = gate.get("reason") or ("passed its gate" if gate["passed"] else "failed its gate")
        return bool(gate["passed"]), str(why)
    ev = meta.get("evaluation")
    if not ev or "model" not in ev.get("scores", {}):
        return False, "the trained model has no hold-out evaluation"
    from wetindex.model.report import verdict

    if verdict(ev).get("beats_baselines_bss"):
        return True, "the trained model beats every baseline on the hold-out in every lead bin"
    return False, "the trained model does not beat every baseline on the hold-out"


def choose_method(configured: str, model: Any | None) -> tuple[str, str]:
    """``("learned" | "physical", reason)`` for ``configured`` and the latest ``model``.

    Raises
    ------
    ValueError
        ``configured`` is not one of :data:`METHODS`, or is ``learned`` without a model.
    """
    if configured not in METHODS:
        raise ValueError(f"forecast method {configured!r}: use one of {', '.join(METHODS)}")
    if configured == "physical":
        return "physical", "the physical forecast was chosen (forecast.method: physical)"
    if configured == "learned":
        if model is None:
            raise ValueError("forecast method 'learned' but no trained model: run "
                             "'wetindex run train' first, or use --method physical")
        return "learned", "the learned model was chosen (forecast.method: learned)"
    if model is None:
        return "physical", ("no model trained on observed water here yet, so the physically "
                            "based forecast is live")
    passed, why = model_gate(model)
    if passed:
        return "learned", f"the learned model is live: {why}"
    return "physical", f"the physically based forecast is live: {why}"
