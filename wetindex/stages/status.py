"""An area's health: paths, last forecast and its age, input freshness, model, deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from wetindex import freshness
from wetindex.alerts.area import delivery_status
from wetindex.atomicdir import read_json
from wetindex.model.artifacts import ModelArtifactError, load_model
from wetindex.modelgate import gate_report
from wetindex.stages.context import AreaContext
from wetindex.stages.products import parse_utc


def area_status(ctx: AreaContext, now: datetime | None = None) -> dict[str, Any]:
    """Paths, last forecast and its age, input freshness, model, deliveries; ``stale``."""
    now = now or freshness.utc_now()
    area = ctx.area_dir
    out: dict[str, Any] = {"area": ctx.config.name, "title": ctx.config.title,
                           "checked_at": now.isoformat()}
    latest = area / "forecasts" / "LATEST"
    forecast: dict[str, Any] = {"path": None, "issue_time": None, "age_h": None}
    if latest.exists():
        folder = latest.parent / latest.read_text().strip()
        st = read_json(folder / "status.json") or {}
        issued = parse_utc(st.get("issue_time"))
        forecast = {"path": str(folder), "issue_time": st.get("issue_time"),
                    "age_h": round((now - issued) / timedelta(hours=1), 2) if issued else None,
                    "healthy": st.get("healthy"), "inputs": st.get("inputs", []),
                    "proxies": st.get("proxies", {}), "model_version": st.get("model_version"),
                    "forecast_method": st.get("forecast_method"),
                    "method_note": st.get("method_note")}
    limit = ctx.config.forecast.stale_after_h
    forecast["stale_after_h"] = limit
    forecast["stale"] = forecast["age_h"] is None or forecast["age_h"] > limit
    out["forecast"] = forecast
    try:
        model = load_model(ctx.models_root, ctx.config.name)
        ev = model.metadata.get("evaluation") or {}
        scores = ev.get("scores", {})
        out["model"] = {"version": model.version, "path": str(model.path),
                        "lead_bins": ev.get("lead_bins"),
                        "brier_skill": {m: s.get("brier_skill") for m, s in scores.items()}}
        gate = gate_report(model.metadata)  # which model is live and how it scored
        out["model"].update(passes_gate=gate["passes_gate"], gate=gate["gate"],
                            brier=gate["brier"])
    except (FileNotFoundError, OSError, KeyError, ModelArtifactError):
        out["model"] = None
    out["deliveries"] = delivery_status(ctx)
    out["paths"] = {"static": str(area / "static"), "forecasts": str(area / "forecasts"),
                    "models": str(ctx.models_root / ctx.config.name),
                    "site": str(area / "site" / "current"), "feed": str(area / "feed")}
    out["stale"] = forecast["stale"]
    # a refused run after the latest forecast: the site says "not updated since …"
    refused = read_json(area / "not_updated.json")
    issued = parse_utc(forecast.get("issue_time"))
    since = parse_utc(refused.get("since")) if refused else None
    if refused and (issued is None or since is None or since >= issued):
        out["not_updated"] = refused
        out["stale"] = True
    out["degraded"] = forecast.get("healthy") is False  # made, but with late inputs continued
    return out

