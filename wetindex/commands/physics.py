"""`wetindex methods`: the physical forecast and the learned model side by side.

Runs both methods for one issue time in memory (nothing is published), prints what
each would warn and which one is live and why, and how to switch.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import typer

from wetindex.areas import load_area
from wetindex.commands.common import AreaOpt, Command, RootOpt, configure_logging, project_root
from wetindex.commands.common import fail as _fail

# The forecasts' modules are imported inside the command: they pull in xarray, Dask and
# LightGBM, which `wetindex --help` must not load.


def method_row(name: str, prob: np.ndarray, thresholds: list[float]) -> dict[str, Any]:
    """Cells at each level at any lead, the highest probability and the first orange lead."""
    flat = prob.reshape(prob.shape[0], -1)
    top = flat.max(axis=0)
    orange = np.flatnonzero((flat >= thresholds[1]).any(axis=1))
    return {"method": name, "max_probability": round(float(top.max()), 3),
            "yellow_cells": int((top >= thresholds[0]).sum()),
            "orange_cells": int((top >= thresholds[1]).sum()),
            "red_cells": int((top >= thresholds[2]).sum()),
            "first_orange_lead_h": int(orange[0]) + 1 if orange.size else None}


def methods(
    area: AreaOpt,
    issue_time: Annotated[str | None, typer.Option(
        metavar="TIME", help="Issue time (UTC); default: the latest.")] = None,
    root: RootOpt = None,
) -> None:
    """The physical forecast and the learned model side by side; which one is live."""
    from wetindex.config import ConfigError
    from wetindex.physics.compare_run import learned_probability
    from wetindex.physics.forecast import physical_forecast
    from wetindex.physics.selection import choose_method
    from wetindex.sources.base import InputMissingError
    from wetindex.stages.context import AreaContext
    from wetindex.stages.run import AreaRun

    configure_logging()
    root = project_root(root)
    try:
        config = load_area(root, area)
        run = AreaRun(AreaContext(config, root), issue_time)
        issue = run._issue()
        thresholds = config.thresholds.as_list()
        physical = physical_forecast(run.inputs, run.static, issue, thresholds=thresholds,
                                     max_lead_h=config.forecast.max_lead_h)
        rows = [method_row("physical", physical.dataset["probability"].values, thresholds)]
        model = run._latest_model()
        if model is not None:
            rows.append(method_row(f"learned {model.version}",
                                   learned_probability(model, run.inputs, run.static, issue),
                                   thresholds))
        live, why = choose_method(config.forecast.method, model)
    except (ConfigError, InputMissingError, ValueError) as err:
        raise _fail(str(err)) from None
    typer.echo(f"issue time {issue}")
    typer.echo(f"{'method':24s} {'max P':>6s} {'yellow':>8s} {'orange':>8s} {'red':>8s} "
               f"{'1st orange':>10s}")
    for r in rows:
        first = f"+{r['first_orange_lead_h']} h" if r["first_orange_lead_h"] else "-"
        typer.echo(f"{r['method']:24s} {r['max_probability']:6.2f} {r['yellow_cells']:8d} "
                   f"{r['orange_cells']:8d} {r['red_cells']:8d} {first:>10s}")
    if model is None:
        typer.echo("learned                  no trained model (needs observed water: labels)")
    for d in physical.summary["dikes"]:
        typer.echo(f"dike area {d['area']}: crest {d['crest_m']} m, forecast high water "
                   f"{d['max_forecast_m']} m at {d['high_water_time']}, margin "
                   f"{d['margin_m']:+.2f} m, overtopping probability "
                   f"{d['overtopping_probability']:.0%}")
    typer.echo(f"live: {live} ({why})")
    typer.echo(f"switch: wetindex run forecast --area {config.name} --method physical|learned "
               "(once), or forecast.method in the area file (always)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command(cls=Command)(methods)
