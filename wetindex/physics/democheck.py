"""The demo world's inputs for a new area, with the surge ahead and the forecasts it got.

``python -m wetindex.physics.democheck FOLDER`` writes what
``python -m wetindex.demo.export`` writes (terrain, rain, sea level, evaporation,
groundwater, dikes, boundary, labels) for a world whose storm surge overtops the dike
``--storm-ahead-h`` hours after the history ends, plus ``forecast.csv``: the archived
driver forecasts (sea level and rain at every issue time, the last one showing the
surge). A new area made from them *without* ``labels`` then shows what the physical
forecast warns on its first day::

    python -m wetindex.physics.democheck example-inputs
    wetindex init --aoi example-inputs/boundary.geojson --name new-area \\
        --input terrain=... --input forecast=example-inputs/forecast.csv   # no labels
    wetindex run all --area new-area
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from wetindex.config import demo_start_ending_now
from wetindex.demo import DemoWorld, DemoWorldConfig, build_demo_world
from wetindex.demo.export import export_inputs


def write_forecast_csv(path: Path, world: DemoWorld) -> Path:
    """The world's archived forecasts of sea level and rain as a forecast file."""
    fc = world.forecasts
    issue = pd.DatetimeIndex(fc["issue_time"].values)
    leads = fc["lead"].values.astype("int64")
    n_i, n_l = issue.size, leads.size
    valid = issue.values[:, None] + leads[None, :].astype("timedelta64[h]")
    fmt = "%Y-%m-%dT%H:%MZ"
    frame = pd.DataFrame({
        "issue_time": np.repeat(issue.strftime(fmt).values, n_l),
        "time": pd.DatetimeIndex(valid.ravel()).strftime(fmt),
        "sea_level": np.round(fc["sea_level"].values.reshape(n_i * n_l), 4),
        "rain": np.round(fc["rain"].values.reshape(n_i * n_l), 3),
    })
    frame.to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--size-m", type=float, default=3000.0)
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--start", default=None,
                        help="UTC start of the history (default: so that it ends now)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--storm-ahead-h", type=int, default=20)
    args = parser.parse_args(argv)
    start = args.start or demo_start_ending_now(args.years)
    world = build_demo_world(DemoWorldConfig(size_m=args.size_m, years=args.years, start=start,
                                             seed=args.seed,
                                             storm_ahead_h=args.storm_ahead_h or None))
    files = export_inputs(args.folder, world)
    files["forecast"] = write_forecast_csv(args.folder / "forecast.csv", world)
    for kind, path in files.items():
        print(f"{kind:12s} {path}")
    print(f"storms      {world.events['overtopping_storms']}")
    inputs = " ".join(f"--input {k}={p}" for k, p in files.items()
                      if k not in ("boundary", "labels"))
    print(f"\nnext (no labels): wetindex init --aoi {files['boundary']} --name new-area {inputs}")


if __name__ == "__main__":
    main()
