"""Which forecast is live: the learned model when it has earned it, else the physical one.

``forecast.method`` in the area config (or ``wetindex run forecast --method``):

- ``learned``: the latest trained model (an error when there is none);
- ``physical``: the physically based forecast (:mod:`wetindex.physics.forecast`);
- ``auto`` (default): the learned model only when one exists *and* has passed its gate,
  else the physical forecast.

The gate is :func:`wetindex.modelgate.model_passes_gate`: the model beats every
accepted reference in every lead bin on its hold-out. ``learned`` with a model that
fails it is refused unless forced (:class:`wetindex.stages.run.AreaRun`).
"""

from __future__ import annotations

from typing import Any

from wetindex.modelgate import gate_summary, model_passes_gate

METHODS: tuple[str, ...] = ("auto", "physical", "learned")


def model_gate(model: Any) -> tuple[bool, str]:
    """Whether a trained model has passed its gate (:mod:`wetindex.modelgate`), and why."""
    meta = getattr(model, "metadata", None) or {}
    return model_passes_gate(meta), gate_summary(meta)


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
