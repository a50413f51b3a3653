"""Benchmark of the streamed forecast: peak memory by area size, bytes written, stage times.

Run: ``python benchmarks/bench_stream.py`` (``make bench``): area-uniform drivers at
1000² and 2950², gridded rain at 2950² and 4000² (the memory case): 2 min 18 s on two
idle cores (30 Nov 2026), most of it making the synthetic areas and models.
``--runs 2950:gridded`` (or ``--sizes 2950 --drivers uniform gridded``) runs
only those. Each run is its own process (so its peak RSS is its own) on a synthetic
area and model:

* a LightGBM model of the demo model's shape (63 trees × 31 leaves, the 30 features),
  trained on random rows (its skill is irrelevant, its cost per row is the demo's);
* an ``N × N`` grid at 10 m with smooth synthetic static features, half of the cells
  candidates (as the screen leaves on the demo), 48 hourly leads of area drivers, or,
  ``gridded``, rain zones of 250 × 250 cells (a 2.5 km rain grid) each with its own
  drivers (streamed through :class:`wetindex.model.gridded.ChunkEvaluator` like the
  uniform ones);
* 36 places of 1 km² (settlements) for the warnings.

Stages, timed once each with the load average before and after:

1. ``inputs`` (not part of the forecast): the candidate cells' static rows and the fields;
2. ``stream``: :func:`wetindex.forecast_stream.stream_forecast` — prediction, excess,
   levels and 8-bit codes per block of rows, forecast.nc and the COGs;
3. ``warnings``: :func:`wetindex.forecast_stream.warnings_from_codes` (no explanation);
4. ``maps``: the site's risk images from the 8-bit cube
   (:func:`wetindex.site.layers.write_layer_images`);
5. ``release``: the GIS downloads copied into a site release and shared with the
   previous release (:func:`wetindex.site.publish.share_unchanged`), done twice.

Bytes written are what the process wrote (``/proc/self/io`` ``wchar``, temporary files
included) and what stays on disk. Writes ``benchmarks/results/stream.json`` and
``stream.md``. The machine is shared: every timing comes with load averages.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"peak_gib": 2.0, "written_mb": 150.0, "end_to_end_s": 60.0}


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _rss_gib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def _wchar() -> int:
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("wchar")).split()[1])


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _du(path: Path) -> int:
    seen, total = set(), 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total


def _smooth(rng, shape: tuple[int, int], scale: float) -> np.ndarray:
    """A smooth random field (a few sinusoids) on ``shape``, float32."""
    ny, nx = shape
    yy = np.linspace(0, 1, ny, dtype="float32")[:, None]
    xx = np.linspace(0, 1, nx, dtype="float32")[None, :]
    out = np.zeros(shape, "float32")
    for _ in range(4):
        fx, fy, ph = rng.uniform(1, scale), rng.uniform(1, scale), rng.uniform(0, 6.3)
        out += np.sin(2 * np.pi * fx * xx + ph) * np.cos(2 * np.pi * fy * yy)
    return out


def synthetic_model(seed: int = 0, trees: int = 63):
    """A booster shaped like the demo model: 63 trees × 31 leaves on the 30 features."""
    import lightgbm as lgb

    from wetindex.features.stack import FEATURES, STATIC_FEATURES

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40_000, len(FEATURES))).astype("float32")
    logit = 1.5 * x[:, 0] + x[:, len(STATIC_FEATURES)] + 0.5 * x[:, 5] - 2.5
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(int)
    return lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 31,
                      "min_data_in_leaf": 5}, lgb.Dataset(x, y, feature_name=list(FEATURES)),
                     num_boost_round=trees)


def _lazy_static(rng, grid, rows: int = 256):
    """The static features as a Dask-backed cube of smooth fields (``_smooth``'s values,
    ``flow_accumulation`` stored so that its log1p is), computed a window at a time."""
    import dask.array as da
    import xarray as xr

    from wetindex.features.stack import STATIC_FEATURES

    ny, nx = grid.shape
    out = {}
    for j, name in enumerate(STATIC_FEATURES):
        terms = [(rng.uniform(1, 8 + j), rng.uniform(1, 8 + j), rng.uniform(0, 6.3))
                 for _ in range(4)]

        def block(block_info=None, terms=terms, name=name):
            (r0, r1), _ = block_info[None]["array-location"]
            yy = np.linspace(0, 1, ny, dtype="float32")[r0:r1, None]
            xx = np.linspace(0, 1, nx, dtype="float32")[None, :]
            v = np.zeros((r1 - r0, nx), "float32")
            for fx, fy, ph in terms:
                v += np.sin(2 * np.pi * fx * xx + ph) * np.cos(2 * np.pi * fy * yy)
            return np.expm1(v) if name == "flow_accumulation" else v

        out[name] = (("y", "x"), da.map_blocks(block, chunks=((rows,) * (ny // rows)
                                                               + ((ny % rows,) if ny % rows
                                                                  else ()), (nx,)),
                                               dtype="float32"))
    return xr.Dataset(out)


def synthetic_zones(grid, fin, seed: int = 2, zone_cells: int = 250):
    """Rain zones of ``zone_cells`` × ``zone_cells`` cells, each with its own drivers:
    ``(drivers (zones, leads, n_driver), zone of each candidate cell)``."""
    from wetindex.features.stack import DRIVER_FEATURES

    rng = np.random.default_rng(seed)
    across = -(-grid.nx // zone_cells)
    rows, cols = np.divmod(fin.cells, grid.nx)
    zone = ((rows // zone_cells) * across + cols // zone_cells).astype("int32")
    n_zones = across * -(-grid.ny // zone_cells)
    drivers = np.repeat(fin.drivers[None], n_zones, axis=0)
    vary = [j for j, f in enumerate(DRIVER_FEATURES) if f != "lead_hours"]
    drivers[:, :, vary] *= rng.uniform(0.5, 1.5, size=(n_zones, 1, len(vary))).astype("float32")
    return drivers, zone


def synthetic_area(n: int, seed: int = 1):
    """Grid, forecast inputs (half the cells candidates) and per-cell fields of n × n cells."""
    from wetindex.candidate_rows import CandidateRows
    from wetindex.features.stack import DRIVER_FEATURES
    from wetindex.forecast_stream import AreaFields
    from wetindex.grid import AreaGrid
    from wetindex.model.predict import ForecastInputs

    rng = np.random.default_rng(seed)
    grid = AreaGrid("EPSG:25832", 10.0, 540_000.0, 6_335_000.0, n, n)
    hand = _smooth(rng, grid.shape, 12)
    cells = np.flatnonzero(hand.ravel() < np.median(hand))
    del hand
    # the static features as a lazily computed cube (as a Zarr opened without loading),
    # read a window of rows at a time by the streamed forecast's per-block static rows
    static = CandidateRows(_lazy_static(rng, grid), cells)
    drivers = np.zeros((48, len(DRIVER_FEATURES)), "float32")
    storm = np.exp(-((np.arange(48) - 20) / 8.0) ** 2)
    for j in range(len(DRIVER_FEATURES)):
        drivers[:, j] = 2.5 * storm + 0.2 * rng.normal(size=48)
    drivers[:, DRIVER_FEATURES.index("lead_hours")] = np.arange(1, 49)
    fin = ForecastInputs(np.datetime64("2025-01-10T06:00", "ns"), cells, static, drivers,
                         rng.normal(size=len(cells)).astype("float32"))
    fields = AreaFields(
        normal=np.full(grid.shape, 0.02, "float32"), standing=None,
        exposure=(0.5 + 0.5 * (_smooth(rng, grid.shape, 6) > 0)).astype("float32"),
        permanent_water=np.zeros(grid.shape, bool), sea_prone=None,
        dike_crest=np.full(grid.shape, np.nan))
    return grid, fin, fields


def places_for(grid) -> list:
    """36 settlements of 1 km² spread over the area."""
    from shapely.geometry import box

    from wetindex.sources.base import Place

    out = []
    w = grid.nx * grid.cell_size
    for i in range(6):
        for j in range(6):
            x0 = grid.x_min + (i + 0.5) * w / 6 - 500
            y1 = grid.y_max - (j + 0.5) * w / 6 + 500
            out.append(Place(f"By {i}{j}", "settlement", box(x0, y1 - 1000, x0 + 1000, y1)))
    return out


def run_one(n: int, work: Path, trees: int = 63, drivers: str = "uniform") -> dict:
    """One size, in this process: stage times, loads, bytes, peak memory."""
    import rioxarray  # noqa: F401  (the .rio accessor)
    import xarray as xr

    from wetindex.forecast_io import open_forecast, write_forecast_grids
    from wetindex.forecast_stream import stream_forecast, warnings_from_codes
    from wetindex.site.layers import write_layer_images
    from wetindex.site.publish import link_or_copy, share_unchanged

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    booster = synthetic_model(trees=trees)
    out: dict = {"cells": n * n, "trees": trees, "drivers": drivers, "stages": {},
                 "load": {}, "written_mb": {}}

    def stage(name, t0, w0):
        out["stages"][name] = round(time.perf_counter() - t0, 2)
        out["load"][name] = _load()
        out["written_mb"][name] = round((_wchar() - w0) / 1e6, 1)
        out.setdefault("peak_after_gib", {})[name] = round(_peak_gib(), 3)
        return time.perf_counter(), _wchar()

    out["load"]["start"] = _load()
    t, w = time.perf_counter(), _wchar()
    grid, fin, fields = synthetic_area(n)
    out["candidates"] = len(fin.cells)
    zones = synthetic_zones(grid, fin) if drivers == "gridded" else None
    if zones is not None:
        out["zones"] = len(zones[0])
    t, w = stage("inputs", t, w)
    out["rss_after_inputs_gib"] = round(_rss_gib(), 3)
    timings: dict[str, float] = {}
    ds = stream_forecast(booster, fin, grid, fields, forecasts_dir=work / "forecasts",
                         thresholds=[0.1, 0.25, 0.5], attrs={"area": "bench"},
                         zones=zones, timings=timings)
    out["stream_parts"] = {k: round(v, 2) for k, v in timings.items()}
    t, w = stage("stream", t, w)
    # as the forecast stage: warnings from the streamed files, then the files moved into
    # the forecast folder and the forecast opened from there for the site
    found = warnings_from_codes(ds, places_for(grid), grid, area_name="Bench", area_id="b")
    out["warnings"] = len(found)
    folder = work / "forecasts" / "20250110T0600Z"
    folder.mkdir()
    write_forecast_grids(folder, ds)
    ds = open_forecast(folder, grid)
    t, w = stage("warnings", t, w)
    elevation = xr.DataArray(np.zeros(grid.shape, "float32"), dims=("y", "x"),
                             coords=grid.coords())
    elevation = elevation.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    site = work / "site"
    write_layer_images(site / "r1", elevation=elevation, forecast=ds, observed_water=None)
    t, w = stage("maps", t, w)
    shared = []
    for r in ("r1", "r2"):
        shutil.copytree(folder / "geotiff", site / r / "downloads" / "geotiff",
                        copy_function=link_or_copy)  # as the site's downloads are
        shared.append(share_unchanged(site, site / r))
    out["release_shared_mb"] = round(shared[1][1] / 1e6, 1)
    t, w = stage("release", t, w)
    out["files_mb"] = {p.name: round(p.stat().st_size / 1e6, 2)
                       for p in [folder / "forecast.nc", *sorted((folder / "geotiff").iterdir())]}
    out["forecast_folder_mb"] = round(_du(folder) / 1e6, 1)
    out["site_mb_two_releases"] = round(_du(site) / 1e6, 1)
    out["peak_gib"] = round(_peak_gib(), 3)
    out["end_to_end_s"] = round(sum(v for k, v in out["stages"].items() if k != "inputs"), 2)
    out["written_per_run_mb"] = round(sum(v for k, v in out["written_mb"].items()
                                          if k not in ("inputs",)), 1)
    shutil.rmtree(work, ignore_errors=True)
    return out


def _label(key: str) -> str:
    n, drivers = _run_key(key)
    return f"{n}² {drivers}"


def _markdown(res: dict) -> str:
    sizes = res["sizes"]
    keys = list(sizes)
    lines = [
        "# Streamed forecast: memory, bytes, time by area size",
        "",
        f"Run {res['when']} on {res['machine']} (2 cores, shared: see the load averages).",
        "Synthetic model of the demo model's shape (63 trees × 31 leaves, 30 features), "
        "synthetic smooth area, half the cells candidates, 48 leads. "
        "Command: `python benchmarks/bench_stream.py` (one run: `--runs 2950:gridded`).",
        "",
        "| | " + " | ".join(_label(k) for k in keys) + " |",
        "|---|" + "---|" * len(keys),
    ]

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(str(fn(sizes[k])) for k in keys) + " |")

    row("model trees (31 leaves)", lambda s: s.get("trees", 63))
    row("driver zones", lambda s: s.get("zones", 1))
    row("cells (candidates)", lambda s: f"{s['cells'] / 1e6:.1f} M ({s['candidates'] / 1e6:.1f} M)")
    row("**peak RSS GiB** (target ≤ 2)", lambda s: f"**{s['peak_gib']:.2f}**")
    row("RSS after inputs GiB", lambda s: f"{s['rss_after_inputs_gib']:.2f}")
    row("peak after inputs / stream / warnings / maps GiB", lambda s: " / ".join(
        str(s.get("peak_after_gib", {}).get(k, "-")) for k in ("inputs", "stream", "warnings",
                                                               "maps")))
    for st in ("inputs", "stream", "warnings", "maps", "release"):
        row(f"{st} s", lambda s, st=st: s["stages"][st])
    row("stream: predict+codes / write / COG s", lambda s: " / ".join(
        str(s["stream_parts"].get(k, "-")) for k in ("predict_and_codes", "write", "cog")))
    row("**end to end s** (stream..release; target ≤ 60)", lambda s: f"**{s['end_to_end_s']}**")
    row("**written per run MB** (wchar; target ≤ 150)",
        lambda s: f"**{s['written_per_run_mb']}**")
    row("forecast folder on disk MB", lambda s: s["forecast_folder_mb"])
    row("forecast.nc / probability.tif / warning_score.tif MB", lambda s: " / ".join(
        str(s["files_mb"].get(k, "-")) for k in ("forecast.nc", "probability.tif",
                                                  "warning_score.tif")))
    row("2nd release: MB shared, not stored", lambda s: s["release_shared_mb"])
    row("warnings", lambda s: s["warnings"])
    row("load avg (1/5/15 min) after stream", lambda s: "/".join(map(str, s["load"]["stream"])))
    lines += ["", "Load averages before the run: " + str(res["load_before"])
              + "; after: " + str(res.get("load_after")) + ".", "", "## Against the targets", ""]
    for k in keys:
        s = sizes[k]
        verdict = [f"peak {s['peak_gib']:.2f} GiB "
                   + ("≤" if s["peak_gib"] <= TARGETS["peak_gib"] else ">") + " 2 GiB",
                   f"{s['written_per_run_mb']} MB written "
                   + ("≤" if s["written_per_run_mb"] <= TARGETS["written_mb"] else ">")
                   + " 150 MB",
                   f"{s['end_to_end_s']} s "
                   + ("≤" if s["end_to_end_s"] <= TARGETS["end_to_end_s"] else ">") + " 60 s"
                   + f" at load {s['load']['stream'][0]}"]
        lines.append(f"- {_label(k)} ({s.get('trees', 63)} trees): " + "; ".join(verdict) + ".")
    lines += ["", NOTES]
    return "\n".join(lines) + "\n"


NOTES = """\
What bounds each number (read with the load averages above: on 2 cores a 1-minute load
near 1 is the benchmark's own process; more than that is other work, and then a time here
can be several times what two idle cores take):

- **What is written, once each** (``wetindex/forecast_io.py``): ``probability.tif`` and
  ``warning_score.tif`` — 8-bit codes, a band per lead, 256 × 256 tiles holding every
  lead of their cells (pixel interleaving: 2.2× smaller than a plane per lead on these
  fields), DEFLATE 3 with the horizontal predictor, internal overviews averaged from the
  streamed rows, every IFD at the head of the file — written by our own streaming writer
  (``wetindex/cog_writer.py``) as the blocks come: no temporary file, no GDAL COG driver
  (its spill under a bounded cache was 1 GB of the 1.1 GB written at 2950² before), no
  reread. ``forecast.nc`` holds ``level``, the coordinates and the attributes only (the
  fractions were a second copy of the GeoTIFFs' values). "Written" is every byte the
  process wrote (``/proc/self/io`` wchar): now the files themselves plus the site's images.
- **Bytes left**: the information in 2 quantities × 48 leads × every cell at 8 bits. The
  synthetic probabilities vary everywhere every hour (a storm over the whole area, white
  noise in the groundwater depth per cell); a real forecast is 0 on most land most hours
  and compresses further.
- **Memory.** One block of rows (``dask.chunk_cells``, 250 000 cells × 48 leads), its
  static rows made from the static cube's window (``wetindex/candidate_rows.py``; the
  bench's static cube is computed lazily, as a Zarr opened without loading — the forecast
  stage's static features are loaded whole by ``build_static``, outside the stream), one
  row of tiles per overview level, one strip of 128 rows × every lead for the maps, one
  place's window for the warnings. What still grows with the area: the per-cell fields
  (normal, exposure, masks, dike crest: ~20 B per cell) and the candidate cells' index and
  groundwater depth (12 B per candidate).
- **Time.** Prediction (``ChunkEvaluator``, called per block by
  ``forecast_stream.stream_forecast``) is most of ``predict+codes``; writing is the DEFLATE
  of the tiles (two threads); the maps are mostly PNG encoding of the 49 images
  (``optimize=True``; ``compress_level=6`` is 8× faster for 19 % more bytes on the page).
- **What "end to end" covers.** The forecast from the candidate cells' static rows and the
  drivers to the written files, the places' warnings, the site's risk images and the
  release; not reading the inputs from their sources, the driver features, the site's
  HTML pages or the alerts (the demo's 1000² area: forecast stage 4 s, publishing 9 s).
- **COG layout.** Tiled, internal overviews, every IFD and tag value at the head of the
  file (what cogeo.org's structure requires for range reads); the tiles' data are in the
  order the stream makes them (full-resolution and overview tiles by rows of tiles; the
  spec recommends the smallest overview first, for progressive rendering) and GDAL's
  optional ghost header is not written, so GDAL does not report ``LAYOUT=COG``.
"""


DEFAULT_RUNS = ["1000:uniform", "2950:uniform", "2950:gridded", "4000:gridded"]


def _run_key(text: str) -> tuple[int, str]:
    """``"2950:gridded"`` → ``(2950, "gridded")``; a bare size is area-uniform."""
    size, _, drivers = text.partition(":")
    drivers = drivers or "uniform"
    if drivers not in ("uniform", "gridded"):
        raise SystemExit(f"--runs {text}: drivers are 'uniform' or 'gridded'")
    return int(size), drivers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="+", default=None,
                    help="size:drivers runs, e.g. 2950:gridded (default: "
                         + " ".join(DEFAULT_RUNS) + ")")
    ap.add_argument("--sizes", type=int, nargs="+",
                    help="these sizes with each of --drivers instead of --runs")
    ap.add_argument("--drivers", nargs="+", default=["uniform"],
                    choices=["uniform", "gridded"])
    ap.add_argument("--work", type=Path, default=ROOT / "var" / "bench-stream")
    ap.add_argument("--merge", action="store_true",
                    help="keep the runs of an earlier run in stream.json")
    ap.add_argument("--trees", type=int, default=63,
                    help="trees of the synthetic model (63: the demo model's)")
    ap.add_argument("--report", action="store_true",
                    help="only write stream.md again from stream.json")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.report:
        _save(json.loads((RESULTS / "stream.json").read_text()), merge=False)
        return
    if args.one:
        n, drivers = _run_key(args.one)
        print(json.dumps(run_one(n, args.work / f"{n}-{drivers}", args.trees, drivers)))
        return
    runs = ([f"{n}:{d}" for n in args.sizes for d in args.drivers] if args.sizes
            else args.runs or DEFAULT_RUNS)
    res = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": f"{platform.machine()} {os.cpu_count()} CPUs, Python "
                      f"{platform.python_version()}",
           "load_before": _load(), "targets": TARGETS, "sizes": {}}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in runs:
        key = "{}:{}".format(*_run_key(run))
        done = subprocess.run([sys.executable, __file__, "--one", key, "--work",
                               str(args.work), "--trees", str(args.trees)],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            res["sizes"][key] = {"error": done.stderr[-500:]}
        else:
            res["sizes"][key] = json.loads(done.stdout.strip().splitlines()[-1])
            print(key, json.dumps(res["sizes"][key]), flush=True)
        res["load_after"] = _load()
        _save(res, merge=args.merge)


def _save(res: dict, merge: bool) -> None:
    """stream.json and stream.md; with ``merge``, sizes of an earlier run are kept."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "stream.json"
    if merge and path.exists():
        old = json.loads(path.read_text())
        res = {**res, "sizes": {**old.get("sizes", {}), **res["sizes"]},
               "load_before": old.get("load_before", res["load_before"])}
    tmp = path.with_name(f".stream.json.{os.getpid()}")
    tmp.write_text(json.dumps(res, indent=2) + "\n")
    os.replace(tmp, path)
    ok = {k: v for k, v in sorted(res["sizes"].items(), key=lambda kv: _run_key(kv[0]))
          if "error" not in v}
    (RESULTS / "stream.md").write_text(_markdown({**res, "sizes": ok}))


if __name__ == "__main__":
    main()
