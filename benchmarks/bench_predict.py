"""Benchmark of the forecast's evaluator against LightGBM, lleaves and tl2cgen.

Run: ``python benchmarks/bench_predict.py`` (``make bench`` runs it). On the same
model (the trained demo model) and the same rows, in one run:

- ``booster.predict`` (LightGBM's own predictor) on the full feature rows;
- wetindex's chunk evaluator (:mod:`wetindex.model.gridded`: static splits once per
  cell, driver splits once per zone and lead, the rest per cell-lead) on the cells
  those rows come from, all 48 leads: ``chunk_c`` is its generated-C kernel
  (:mod:`wetindex.model.chunkcode`, the default; AVX-512 intrinsics on this CPU),
  ``chunk_c_avx2`` and ``chunk_c_plain`` the same kernel's AVX2 and plain-C loops (as
  CPUs without AVX-512 run it),
  ``chunk_numba`` the numba fallback;
- wetindex's generated-C per-row evaluator (:mod:`wetindex.model.treecode`) on the rows;
- lleaves and tl2cgen on the rows, in their own venv ``.venv-lleaves`` (made here on
  first use; lleaves needs an llvmlite older than numba's), via
  ``benchmarks/compiled_predictors.py``;

for area-uniform drivers and for gridded drivers (rain on a 2.5 km grid scaled per
zone and lead, sea level per coast stretch, merged into driver zones), each with 1
and 2 threads. Every result is checked against ``booster.predict``. Then a Dask
``LocalCluster`` (2 workers × 1 thread) predicts a few chunks, for the per-chunk
times and worker memory of the Denmark estimate. Load averages are recorded before
and after, and each timing is kept as wall time and as the process's CPU time: on a
shared machine the CPU time of a 1-thread run is what it costs on a free core, and
ratios are taken between runs of the same process.

Writes ``benchmarks/results/predict.json`` and ``predict.md``; the Denmark estimate
(``denmark.md``) is written from them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
SIDE_VENV = ROOT / ".venv-lleaves"
SIDE_PACKAGES = ("lleaves==1.3.0", "llvmlite<0.45", "tl2cgen", "treelite", "numpy")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_forecast import _context, _load, area_screen, ensure_model  # noqa: E402
from compiled_predictors import best_time, best_times  # noqa: E402


def side_venv() -> Path | None:
    """``.venv-lleaves`` with lleaves and tl2cgen (made once; None if pip fails)."""
    python = SIDE_VENV / "bin" / "python"
    if python.exists():
        return python
    import lightgbm

    base = getattr(sys, "_base_executable", sys.executable)
    try:
        subprocess.run([base, "-m", "venv", str(SIDE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *SIDE_PACKAGES,
                        f"lightgbm=={lightgbm.__version__}"], check=True)
    except subprocess.CalledProcessError as exc:
        print(f"lleaves/tl2cgen venv could not be made: {exc}", flush=True)
        return None
    return python


def gridded_drivers(inputs, fin, grid, issue, *, rain_km: float, seed: int):
    """Zone drivers ``(Z, L, D)`` and each candidate cell's zone.

    Rain: the area's forecast rain scaled per 2.5 km grid cell and lead (lognormal
    factors, as convective rain varies across a municipality); sea level: the area's
    plus an offset per coast stretch (three bands of columns, ±10 cm). The two
    zonings are merged into one (:func:`wetindex.model.gridded.merge_zones`).
    """
    from wetindex.features.stack import DRIVER_FEATURES
    from wetindex.model.gridded import merge_zones
    from wetindex.model.zones import zone_drivers

    rng = np.random.default_rng(seed)
    row, col = np.divmod(fin.cells, grid.nx)
    step = max(1, round(rain_km * 1000 / grid.cell_size))
    n_rx = (grid.nx + step - 1) // step
    rain_zone = (row // step) * n_rx + col // step
    sea_zone = np.minimum(col * 3 // grid.nx, 2)
    merged, pairs = merge_zones(rain_zone, sea_zone)
    area_rain = inputs.forecast(issue)["rain"].values
    factors = rng.lognormal(0.0, 0.6, (int(rain_zone.max()) + 1, len(area_rain)))
    rain_drivers = zone_drivers(inputs, issue, factors * area_rain[None, :])
    out = rain_drivers[pairs[:, 0]].copy()
    sea_offset = np.array([-0.1, 0.0, 0.1], "float32")[pairs[:, 1]]
    for name in ("sea_level", "sea_level_max_24h"):
        out[:, :, DRIVER_FEATURES.index(name)] += sea_offset[:, None]
    return out, merged, {"rain_zones": len(np.unique(rain_zone)), "sea_zones": 3,
                         "merged_zones": len(pairs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-m", type=float, default=5_000.0)
    ap.add_argument("--years", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--work", type=Path, default=ROOT / "var" / "bench")
    ap.add_argument("--model-root", type=Path, default=ROOT / "models")
    ap.add_argument("--row-cells", type=int, default=10_000,
                    help="cells whose 48 leads are the rows every predictor sees")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dask-chunks", type=int, default=4)
    ap.add_argument("--chunk-cells", type=int, default=250_000)
    args = ap.parse_args()

    import lightgbm
    import numba

    from wetindex.features.stack import feature_rows
    from wetindex.model.chunkcode import AVX2_FLAGS, PORTABLE_FLAGS, compile_kernel
    from wetindex.model.gridded import ChunkEvaluator
    from wetindex.model.predict import gather_inputs
    from wetindex.model.treecode import compile_rows
    from wetindex.stages.inputs import area_inputs
    from wetindex.stages.static import build_static

    model = ensure_model(args.model_root, args.work)
    booster = model.booster
    ctx = _context(args.work, args.size_m, args.years, args.seed)
    inputs = area_inputs(ctx)
    static = build_static(ctx, inputs)
    issue = inputs.issue_times()[-17]
    fin = gather_inputs(inputs, static, issue, area_screen(inputs, model))
    grid = inputs.grid
    zd, zone, zinfo = gridded_drivers(inputs, fin, grid, issue, rain_km=2.5, seed=args.seed)
    n_leads = fin.drivers.shape[0]
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(fin.cells), min(args.row_cells, len(fin.cells)),
                              replace=False))
    s_rows, gw = fin.static_rows[pick], fin.groundwater_depth[pick]
    sets = {
        "uniform": (fin.drivers, None),
        "gridded": (zd, zone[pick]),
    }
    work = args.work / "predict"
    work.mkdir(parents=True, exist_ok=True)
    model_file = work / "model.txt"
    booster.save_model(str(model_file), num_iteration=booster.best_iteration or -1)

    t = time.perf_counter()
    ev = ChunkEvaluator(booster, engine="c")
    chunk_compile = time.perf_counter() - t
    ev_numba = ChunkEvaluator(booster, engine="numba")
    # the AVX2 and the plain-C loops, as CPUs without AVX-512 run them (same source)
    ev_avx2 = ChunkEvaluator(booster, engine="c")
    ev_avx2.kernel = compile_kernel(ev_avx2.forest, AVX2_FLAGS)
    ev_plain = ChunkEvaluator(booster, engine="c")
    ev_plain.kernel = compile_kernel(ev_plain.forest, PORTABLE_FLAGS)
    t = time.perf_counter()
    rowc = compile_rows(booster)
    treecode_compile = time.perf_counter() - t
    ev_numba.predict_chunk(s_rows[:10], gw[:10], fin.drivers)  # numba kernels compiled/loaded
    evaluators = {"chunk_c": ev, "chunk_c_avx2": ev_avx2, "chunk_c_plain": ev_plain,
                  "chunk_numba": ev_numba}

    load_before = _load()
    result: dict = {"sets": {}}
    row_files = []
    for name, (drv, zc) in sets.items():
        # the full rows, lead-major like the chunk evaluator's (lead, cell) output; not timed
        if zc is None:
            rows = np.concatenate([feature_rows(s_rows, drv[li], gw) for li in range(n_leads)])
        else:
            rows = np.concatenate([feature_rows(s_rows, drv[zc, li], gw)
                                   for li in range(n_leads)])
        path = work / f"rows_{name}.npy"
        np.save(path, rows)
        row_files.append(path)
        reference = booster.predict(rows)
        entry: dict = {"rows": len(rows), "cells": len(pick), "leads": n_leads,
                       "seconds": {}, "cpu_seconds": {}, "max_abs_diff_vs_booster": {},
                       "equal_to_booster_float32": {}}
        timed = {"booster_predict": lambda n, rows=rows: booster.predict(rows, num_threads=n),
                 "treecode": lambda n, rows=rows: rowc(rows, num_threads=n),
                 **{k: lambda n, e=e, drv=drv, zc=zc: e.predict_chunk(s_rows, gw, drv, zc,
                                                                      num_threads=n)
                    for k, e in evaluators.items()}}
        for n in (1, 2):
            for key, fn in timed.items():
                wall, cpu = best_times(lambda fn=fn, n=n: fn(n), args.repeat)
                entry["seconds"][f"{key}_{n}t"] = wall
                entry["cpu_seconds"][f"{key}_{n}t"] = cpu
        ref32 = reference.astype("float32")
        for key, e in evaluators.items():
            chunk = e.predict_chunk(s_rows, gw, drv, zc).ravel()  # (lead, cell): lead-major
            entry["max_abs_diff_vs_booster"][key] = float(np.abs(chunk - reference).max())
            entry["equal_to_booster_float32"][key] = bool(np.array_equal(chunk, ref32))
        entry["max_abs_diff_vs_booster"]["treecode"] = float(
            np.abs(rowc(rows) - reference).max())
        np.save(work / f"booster_{name}.npy", reference)
        result["sets"][name] = entry
        print(name, json.dumps(entry), flush=True)

    # lleaves and tl2cgen in their own venv, on the same model file and rows
    python = side_venv()
    side: dict = {"error": "no venv with lleaves/tl2cgen could be made"}
    if python is not None:
        done = subprocess.run([str(python), str(Path(__file__).parent / "compiled_predictors.py"),
                               str(model_file), str(work), *map(str, row_files),
                               "--repeat", str(args.repeat)], capture_output=True, text=True)
        try:
            side = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            side = {"error": done.stderr[-2000:]}
    for tool, rep in side.items():
        if not isinstance(rep, dict) or "sets" not in rep:
            continue
        for stem, tr in rep["sets"].items():
            name = stem.removeprefix("rows_")
            entry = result["sets"][name]
            for n, sec in tr["seconds"].items():
                entry["seconds"][f"{tool}_{n}t"] = sec
            for n, sec in tr.get("cpu_seconds", {}).items():
                entry["cpu_seconds"][f"{tool}_{n}t"] = sec
            ref = np.load(work / f"booster_{name}.npy")
            entry["max_abs_diff_vs_booster"][tool] = float(
                np.abs(np.load(tr["probabilities"]) - ref).max())
    result["compile_s"] = {"chunk_c_first_compile_or_cache_load": round(chunk_compile, 2),
                           "treecode_first_compile_or_cache_load": round(treecode_compile, 2),
                           **{t: r.get("compile_s") for t, r in side.items()
                              if isinstance(r, dict)}}
    result["side_errors"] = {t: r["error"] for t, r in side.items()
                             if isinstance(r, dict) and "error" in r}

    # the whole area's candidate cells, one process, both driver forms
    area: dict = {"cells": len(fin.cells), "leads": n_leads}
    for name, (drv, zc) in (("uniform", (fin.drivers, None)), ("gridded", (zd, zone))):
        for n in (1, 2):
            area[f"{name}_{n}t_s"] = best_time(
                lambda n=n, drv=drv, zc=zc: ev.predict_chunk(fin.static_rows,
                                                               fin.groundwater_depth, drv, zc,
                                                               num_threads=n), args.repeat)
    for name, (drv, zc) in (("uniform", (fin.drivers, None)), ("gridded", (zd, zone))):
        c = time.thread_time()
        ev.predict_chunk(fin.static_rows, fin.groundwater_depth, drv, zc, num_threads=1)
        area[f"{name}_1t_cpu"] = round(time.thread_time() - c, 2)
    result["area"] = area
    print("area", json.dumps(area), flush=True)
    result["dask"] = dask_chunks(booster, fin, zd, zone, args.chunk_cells, args.dask_chunks)
    print("dask", json.dumps(result["dask"]), flush=True)
    result.update({
        "load_average_before": load_before, "load_average_after": _load(),
        "repeat": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "lightgbm": lightgbm.__version__, "numba": numba.__version__},
        "model": {"trees": int(booster.num_trees()), "features": booster.num_feature(),
                  "best_iteration": int(booster.best_iteration),
                  "leaves": int(booster.dump_model()["tree_info"][0]["num_leaves"])},
        "world": {"size_m": args.size_m, "seed": args.seed, "cells": grid.nx * grid.ny,
                  "candidates": len(fin.cells), **zinfo},
    })
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "predict.json").write_text(json.dumps(result, indent=1))
    (RESULTS / "predict.md").write_text(report_md(result))
    print((RESULTS / "predict.md").read_text())


def dask_chunks(booster, fin, zd, zone, chunk_cells: int, n_chunks: int) -> dict:
    """A few chunks of the gridded forecast as Dask tasks on a 2-worker LocalCluster.

    The chunks are the area's candidate cells repeated up to ``chunk_cells`` each (the
    demo area is smaller than a chunk); each task builds its evaluator's leaf masks
    once per worker and predicts with one thread.
    """
    from dask.distributed import Client, LocalCluster

    reps = -(-chunk_cells // len(fin.cells))
    take = np.tile(np.arange(len(fin.cells)), reps)[:chunk_cells]
    chunk = (fin.static_rows[take], fin.groundwater_depth[take], zone[take])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, memory_limit="4GiB") as cluster, \
            Client(cluster) as client:
        remote = client.scatter((booster, zd, chunk), broadcast=True)
        client.submit(_dask_task, remote, 1, pure=False).result()  # compile/load, masks
        t = time.perf_counter()
        futures = [client.submit(_dask_task, remote, i, pure=False) for i in range(n_chunks)]
        per_task = client.gather(futures)  # (wall, CPU of the task's thread)
        wall = time.perf_counter() - t
        rss = client.run(_rss_gib)
    return {"chunk_cells": chunk_cells, "chunks": n_chunks, "workers": 2,
            "wall_s": round(wall, 2), "task_s": [round(w, 2) for w, _ in per_task],
            "task_cpu_s": [round(c, 2) for _, c in per_task],
            "worker_rss_gib": {k.split(":")[-1]: round(v, 2) for k, v in rss.items()}}


_EVALUATOR: dict = {}


def _dask_task(payload, i: int) -> tuple[float, float]:
    from wetindex.model.gridded import ChunkEvaluator

    booster, zd, (static_rows, depth, zone) = payload
    ev = _EVALUATOR.get(id(booster)) or _EVALUATOR.setdefault(id(booster),
                                                              ChunkEvaluator(booster))
    t, c = time.perf_counter(), time.thread_time()
    ev.predict_chunk(static_rows, depth, zd, zone, num_threads=1)
    return time.perf_counter() - t, time.thread_time() - c


def _rss_gib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


#: What was tried for the per-row remainder (measured on this shared, loaded machine:
#: 29 Nov 2026 for the numba and treecode entries, 30 Nov 2026 for the C chunk kernel).
TRIED = [
    "## What was tried for the per-row remainder", "",
    "- **Generated if/else compiled by numba (dropped).** Numba's compile time grows with "
    "the function: 15 trees took 27 s, the 101 trees in one function did not finish in 10 "
    "minutes. The same code as C (`wetindex.model.treecode`, gcc -O2, a few seconds to "
    "compile, cached) is the `treecode` row above.",
    "- **Branch-free walk in numba (dropped).** Flat node arrays with self-looping leaves "
    "and 16 rows per tree together: 14 µs per row (numba did not turn it into conditional "
    "moves or vector code), 2× slower than `booster.predict`.",
    "- **Rows in blocks of 32, tree by tree (as lleaves), in the generated C (dropped).** "
    "Slower than row by row in our (noisy, loaded) measurements; so were trees as separate "
    "non-inlined functions, and -O3 -march=native gave nothing over -O2.",
    "- **Numba chunk evaluator (kept as the fallback):** threshold intervals found by a "
    "short walk from the previous lead's; one prefix-AND row per combined feature instead "
    "of a scatter over the failed nodes; one fused pass per tree; four running sums. It "
    "is `chunk_numba` above.",
    "- **Skipping trees whose exit the static splits fix (dropped, numba):** the "
    "indirection over the remaining trees cost more than it saved on the demo model.",
    "- **The chunk evaluator as generated C (`wetindex.model.chunkcode`, kept: "
    "`chunk_c`).** Thread CPU time per cell-lead, 1 thread, all 107,796 candidates of "
    "the bench area × 48 leads, demo model of 45 trees (30 Nov): plain C at -O2, "
    "tree-outer over a cell's leads with mask ANDs per combined node (no branches): "
    "about 80 ns, against 153 for the numba kernel and 91 for lleaves on the same rows "
    "in the bench run that day. Skipping `exp` for a lead whose raw score equals the "
    "lead before's: 78 → 75 ns.",
    "- **-O3 -march=native, gcc's own vectorisation (replaced).** On a synthetic model of "
    "100 trees × 31 leaves, gcc vectorised the lead loop with AVX-512 (8 leads, leaf "
    "values by a gather): 222 ns against 490 at -O2; but with -march=x86-64-v4 (generic "
    "tuning) 641 ns and with 256-bit vectors 624 ns, slower than -O2: it hinged on the "
    "compiler's tuning, and the gathers were the hottest instructions in `perf`.",
    "- **AVX-512 intrinsics (kept).** The lead loop written with intrinsics: compares "
    "and masked ANDs on 8 leads, the exit leaf by `vplzcntq`, its value picked from the "
    "tree's values held in registers by `vpermt2pd` and blends (no gather), and the "
    "driver masks of the zone at hand copied into a per-thread block (no gather): 32 ns "
    "per cell-lead on the same data as above (75 ns before), equal to booster.predict in "
    "float32. The plain C loop stays for CPUs without AVX-512 and for models with "
    "categorical or zero-as-missing splits on combined features.",
    "- **Trees sharing one loop in the AVX-512 loop** (the 8 sums kept in a register "
    "over a group of trees): 1 to 8 trees per loop measured 29.6–32.7 ns per cell-lead, "
    "within noise; pairs kept. `perf` shows the time in the permutes, their register "
    "copies and the adds waiting on them.",
    "- **Branch-free static masks** (`s &= cond ? ~0 : M` instead of `if`): no "
    "measurable difference (504 vs 511 ns on the synthetic model), kept as `if`.",
    "- **The plain-C loop on its own (`chunk_c_plain`, what CPUs without AVX-512 run).** "
    "With the per-thread driver-mask block it measured 105 ns per cell-lead at -O2 on "
    "the bench data (30 Nov), about 0.85× lleaves' speed: slower than lleaves there. "
    "`if` instead of the select for combined nodes: 104–105 ns (no change); -O3: 109–110; "
    "-O2 -funroll-loops: 103; -O2 -march=x86-64-v3 (AVX2, BMI): 96–97, not adopted as the "
    "default because it was measured on this CPU only. Trees in groups sharing one loop "
    "over the leads (a lead's sum loaded and stored once per group, trees still added in "
    "order): 105 ns with groups of 1, 97 with 4, 95 with 16, 91.5 with 64 (kept; in the "
    "bench runs still slower than lleaves, see `chunk_c_plain` above).",
    "- **AVX2 intrinsics (kept, `chunk_c_avx2`, for CPUs without AVX-512).** 4 leads "
    "per instruction; no 64-bit lzcnt there, so the exit leaf's index comes from the "
    "float exponent of its bit's 32-bit half; the values are gathered (no 8-wide "
    "permutes): 56–58 ns per cell-lead against 93–99 for the plain loop on this CPU "
    "(30 Nov, before the bench run below), equal to booster.predict in float32.",
    "- **Not tried in C:** reusing a lead whose combined features stay in the same "
    "threshold intervals (the numba kernel does it), and several cells per tree loop.",
    "",
]


def _ns(seconds: float, rows: int) -> float:
    return seconds / rows * 1e9


def report_md(r: dict) -> str:
    """The benchmark's tables: ns per row, and every ratio against the chunk evaluator."""
    lines = [
        "# Prediction benchmark (`benchmarks/bench_predict.py`)", "",
        f"Model: the demo model, {r['model']['trees']} trees × {r['model']['leaves']} leaves, "
        f"{r['model']['features']} features. Area: demo world {r['world']['size_m'] / 1000:g} km "
        f"(seed {r['world']['seed']}), {r['world']['cells']:,} cells, "
        f"{r['world']['candidates']:,} candidates after the screen. Gridded drivers: "
        f"{r['world']['rain_zones']} rain zones (2.5 km) × {r['world']['sea_zones']} coast "
        f"stretches = {r['world']['merged_zones']} driver zones.", "",
        f"Load average before {r['load_average_before']}, after {r['load_average_after']} "
        f"(1, 5, 15 min) on {r['machine']['cpus']} cores: " + (
            "**the machine was shared and loaded**; absolute wall times are noisy, the "
            "ratios are measured in the same run, each the best of repeats."
            # the run itself keeps one core busy: only the load before it tells of others
            if r["load_average_before"][0] > 0.75 * r["machine"]["cpus"] else
            "the machine was otherwise idle (the load after is the benchmark's own)."), "",
        "Rows: the same cells' 48 leads as full feature rows (float32; lleaves reads them "
        "as float64, converted before timing). The chunk evaluator gets the cells, their "
        "static rows and the drivers, and builds the combined features itself; its time "
        "is per cell-lead (one row each). `chunk_c` is its generated-C kernel (the "
        "default: AVX-512 intrinsics where the CPU has them), `chunk_c_avx2` and "
        "`chunk_c_plain` the same kernel's AVX2 and plain-C loops (what CPUs without "
        "AVX-512, or without AVX2, run), `chunk_numba` the numba fallback. Each time is "
        "the best of "
        f"{r.get('repeat', 3)} runs; CPU time is the whole process's (for 2 threads, the "
        "sum over both), so on a loaded machine the 1-thread CPU columns are the fair "
        "comparison and the wall columns include waiting for a core.", "",
    ]
    for name, e in r["sets"].items():
        rows = e["rows"]
        cpu, wall = e.get("cpu_seconds", {}), e["seconds"]
        lines += [f"## {name} drivers ({rows:,} rows = {e['cells']:,} cells × "
                  f"{e['leads']} leads)", ""]
        if "lleaves_1t" in cpu and "chunk_c_1t" in cpu:
            vs = cpu["lleaves_1t"] / cpu["chunk_c_1t"]
            lines += [f"**chunk_c against lleaves, 1 thread: {vs:.2f}× "
                      f"as fast in CPU time ({_ns(cpu['chunk_c_1t'], rows):.0f} vs "
                      f"{_ns(cpu['lleaves_1t'], rows):.0f} ns per row), "
                      f"{wall['lleaves_1t'] / wall['chunk_c_1t']:.2f}× in wall time; "
                      f"2 threads: {wall['lleaves_2t'] / wall['chunk_c_2t']:.2f}× in wall "
                      "time.**", ""]
        lines += ["| predictor | threads | ns per row, wall | ns per row, CPU | "
                  "chunk_c is × faster (wall) | chunk_c is × faster (CPU) | "
                  "max abs diff vs booster.predict | equal to it in float32 |",
                  "|---|---|---|---|---|---|---|---|"]
        for key, sec in sorted(wall.items()):
            tool, n = key.rsplit("_", 1)
            n = int(n.rstrip("t"))
            ours, ours_cpu = wall[f"chunk_c_{n}t"], cpu.get(f"chunk_c_{n}t")
            c = cpu.get(key)
            diff = e["max_abs_diff_vs_booster"].get(tool)
            equal = e.get("equal_to_booster_float32", {}).get(tool, "")
            lines.append(f"| {tool} | {n} | {_ns(sec, rows):.0f} | "
                         f"{'' if c is None else f'{_ns(c, rows):.0f}'} | {sec / ours:.2f} | "
                         f"{'' if c is None or not ours_cpu else f'{c / ours_cpu:.2f}'} | "
                         f"{'' if diff is None else f'{diff:.1e}'} | {equal} |")
        lines.append("")
    a = r["area"]
    lines += ["## The whole area's candidates (one process)", "",
              f"{a['cells']:,} cells × {a['leads']} leads: " + ", ".join(
                  f"{k.replace('_s', '')} {v:.2f} s ({_ns(v, a['cells'] * a['leads']):.0f} ns "
                  "per cell-lead)" for k, v in a.items() if k.endswith("_s")) + "; CPU of the "
              "1-thread runs (the kernel runs in the calling thread): " + ", ".join(
                  f"{k.replace('_1t_cpu', '')} {v:.2f} s "
                  f"({_ns(v, a['cells'] * a['leads']):.0f} ns per cell-lead)"
                  for k, v in a.items() if k.endswith("_cpu")) + ".", ""]
    d = r["dask"]
    lines += ["## Dask LocalCluster (2 workers × 1 thread)", "",
              f"{d['chunks']} chunks of {d['chunk_cells']:,} cells × 48 leads, gridded drivers: "
              f"{d['wall_s']} s wall; per task {d['task_s']} s wall, {d['task_cpu_s']} s CPU "
              "(the task thread's own CPU time: what it costs on a free core); worker peak RSS "
              f"{d['worker_rss_gib']} GiB.", ""]
    c = r["compile_s"]
    lines += ["## Compile times", "", ", ".join(f"{k}: {v} s" for k, v in c.items()) + ".", ""]
    lines += TRIED
    if r["side_errors"]:
        lines += ["## Not measured", "", *(f"- {k}: {v}" for k, v in r["side_errors"].items()),
                  ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
