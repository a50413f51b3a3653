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

from pathlib import Path

import numpy as np
import pandas as pd

from wetindex.demo import DemoWorld
from wetindex.demo.export import export_inputs, print_files, world_from_args, world_parser


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
    parser = world_parser(__doc__.splitlines()[0])
    parser.add_argument("--storm-ahead-h", type=int, default=20)
    args = parser.parse_args(argv)
    world = world_from_args(args, storm_ahead_h=args.storm_ahead_h or None)
    files = export_inputs(args.folder, world)
    files["forecast"] = write_forecast_csv(args.folder / "forecast.csv", world)
    inputs = " ".join(f"--input {k}={p}" for k, p in files.items()
                      if k not in ("boundary", "labels"))
    print_files(files, f"next (no labels): wetindex init --aoi {files['boundary']} "
                       f"--name new-area {inputs}",
                notes=(f"storms      {world.events['overtopping_storms']}",))


if __name__ == "__main__":
    main()
