"""`wetindex` commands: model — ``train`` and ``evaluate`` (see DESIGN.md, Interfaces)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from wetindex.commands.common import AreaOpt, Command, RootOpt, configure_logging, project_root

# The stages' and the model's modules are imported inside the commands: they pull in
# xarray, Dask and LightGBM, which `wetindex --help` must not load.

SizeOpt = Annotated[float | None, typer.Option(
    metavar="M", help="Demo only: side of the area (m).")]
YearsOpt = Annotated[float | None, typer.Option(
    metavar="YEARS", help="Demo only: years of history.")]
SeedOpt = Annotated[int | None, typer.Option(metavar="N", help="Demo only: seed of the world.")]


def area_context(area: str, root: Path, *, size_m: float | None = None,
                 years: float | None = None, seed: int | None = None):
    """The :class:`~wetindex.stages.context.AreaContext` of ``area`` under ``root``."""
    from wetindex.config import ConfigError, demo_config, load_config
    from wetindex.stages.context import AreaContext

    if area == "demo":
        overrides = {k: v for k, v in {"size_m": size_m, "years": years, "seed": seed}.items()
                     if v is not None}
        return AreaContext(demo_config(**overrides), root)
    if any(v is not None for v in (size_m, years, seed)):
        raise typer.BadParameter("--size-m/--years/--seed apply to the demo area only")
    try:
        return AreaContext(load_config(root / "areas" / f"{area}.yaml"), root)
    except ConfigError as err:
        typer.secho(str(err), err=True, fg="red")
        raise typer.Exit(2) from None


def trained_context(ctx, model):
    """The context a saved model was trained in (its area configuration, as saved).

    The demo's world depends on the run's ``start`` (it follows the clock) and its
    coming storm; ``demo_config()``'s defaults would build another world whose history
    does not hold the model's hold-out period.
    """
    from dataclasses import replace

    from wetindex.config import parse_config

    saved = model.metadata.get("area_config")
    if not saved:
        return ctx
    return replace(ctx, config=parse_config(saved, str(model.path / "metadata.json")))


def reevaluate(ctx, inputs, static, model) -> dict[str, Any]:
    """Score a saved model again on its hold-out period (same rows, current baselines)."""
    import pandas as pd

    from wetindex.model.evaluate import evaluate, evaluation_options

    meta = model.metadata
    periods = {k: (pd.Timestamp(v[0]), pd.Timestamp(v[1])) for k, v in meta["periods"].items()}
    return evaluate(model.booster, inputs, static, holdout=periods["holdout"],
                    train=periods["train"], screen=meta["screen"],
                    thresholds=ctx.config.thresholds.as_list(),
                    chance=ctx.config.warning_chance.as_list(),
                    max_lead_h=ctx.config.forecast.max_lead_h,
                    calibration=meta.get("calibration"),
                    **evaluation_options(meta["model_config"]["evaluation"]))


def _print_summary(meta: dict[str, Any], folder: Path) -> None:
    from wetindex.model.report import verdict

    ev = meta["evaluation"]
    typer.echo("Brier skill score by lead bin (vs. per-cell climatology):")
    typer.echo("  " + "method".ljust(14) + "".join(b.rjust(8) for b in ev["lead_bins"]))
    for method in ("model", "model_raw", "persistence", "rain_rule", "bathtub",
                   "best_baseline", "nowcast"):
        if method in ev["scores"]:
            row = ev["scores"][method]["brier_skill"]
            typer.echo("  " + method.ljust(14) + "".join(f"{v:8.3f}" for v in row))
    typer.echo("  " + "cases".ljust(14) + "".join(f"{c['cases']:8d}" for c in ev.get("cases", [])))
    for b in ev.get("bins_without_cases", []):  # never a bare NaN: the bin and why
        typer.echo(f"  {b['bin']} h not scored: {b['reason']}")
    v = verdict(ev)
    typer.echo(f"beats every baseline in BSS: {v['beats_baselines_bss']}; in CSI at orange: "
               f"{v['beats_baselines_csi_orange']}; 42–48 h ≥ nowcast: "
               f"{v.get('last_bin_at_least_nowcast')}")
    typer.echo(f"report: {folder / 'evaluation.md'}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""

    @app.command("train", cls=Command)
    def train_cmd(area: AreaOpt, root: RootOpt = None, size_m: SizeOpt = None,
                  years: YearsOpt = None, seed: SeedOpt = None) -> None:
        """Train, calibrate, cross-validate and evaluate a model; save a new version."""
        from wetindex.stages.inputs import area_inputs
        from wetindex.stages.static import build_static
        from wetindex.stages.train import train_stage

        configure_logging()
        ctx = area_context(area, project_root(root), size_m=size_m, years=years, seed=seed)
        inputs = area_inputs(ctx)
        static = build_static(ctx, inputs)
        model = train_stage(ctx, inputs, static)
        typer.echo(f"model {model.version} saved to {model.path}")
        _print_summary(model.metadata, model.path / "evaluation")

    @app.command("evaluate", cls=Command)
    def evaluate_cmd(area: AreaOpt, root: RootOpt = None, size_m: SizeOpt = None,
                     years: YearsOpt = None, seed: SeedOpt = None,
                     version: Annotated[str | None, typer.Option(
                         metavar="VERSION", help="Model version (default: LATEST).")] = None
                     ) -> None:
        """Score the area's model on its hold-out storms; write the report next to it."""
        from wetindex.model.artifacts import ModelArtifactError, load_model
        from wetindex.model.report import write_report
        from wetindex.stages.inputs import area_inputs
        from wetindex.stages.static import build_static

        configure_logging()
        ctx = area_context(area, project_root(root), size_m=size_m, years=years, seed=seed)
        try:
            model = load_model(ctx.models_root, ctx.config.name, version)
        except ModelArtifactError as err:
            typer.secho(str(err), err=True, fg="red")
            raise typer.Exit(2) from None
        if area == "demo" and all(v is None for v in (size_m, years, seed)):
            ctx = trained_context(ctx, model)
        inputs = area_inputs(ctx)
        static = build_static(ctx, inputs)
        meta = dict(model.metadata)
        meta["evaluation"] = reevaluate(ctx, inputs, static, model)
        meta["evaluated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        folder = write_report(model.path, meta, images=bool(
            meta["model_config"]["evaluation"].get("report_images", True)))
        (folder / "metadata_evaluated.json").write_text(json.dumps(meta, indent=1, default=str))
        _print_summary(meta, folder)
