"""Benchmark of the static terrain features (wetindex.features.terrain).

Run: ``python benchmarks/bench_terrain.py --size 4000`` (several sizes: ``--size 1000 4000``).
Builds a realistic synthetic terrain (fractal noise, valleys, a flat coastal plain
at 0-1 m with sea, closed pits and a dike), times each step and the whole
``static_features``, records peak memory, library versions and the machine, and writes
``benchmarks/results/terrain.json`` and ``terrain.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def synthetic_terrain(n: int, cell_size: float = 10.0, seed: int = 0):
    """Elevation [m], sea mask, stream mask and dike crest on an ``n x n`` grid."""
    from wetindex.grid import AreaGrid

    rng = np.random.default_rng(seed)
    # fractal (1/f^beta) noise by spectral synthesis
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    f = np.hypot(fx, fy)
    f[0, 0] = 1.0
    amp = f ** (-1.6)
    amp[0, 0] = 0.0
    phase = rng.uniform(0, 2 * np.pi, amp.shape)
    noise = np.fft.irfft2(amp * np.exp(1j * phase), s=(n, n)).astype(np.float32)
    noise = (noise - noise.mean()) / noise.std()
    rows = np.linspace(0, 1, n, dtype=np.float32)[:, None]
    cols = np.linspace(0, 1, n, dtype=np.float32)[None, :]
    # land rises inland (north), with hills from the noise
    z = 2.0 + 40.0 * rows[::-1] ** 1.5 + 6.0 * noise * (0.2 + rows[::-1])
    # valleys cut towards the coast
    for k in range(5):
        centre = (k + 0.5) / 5 + 0.03 * np.sin(rows * 12 + k)
        z -= 8.0 * np.exp(-(((cols - centre) / 0.01) ** 2)) * rows[::-1]
    # flat coastal plain (south third): 0-1 m, with a little noise, then sea
    plain = rows > 0.66
    z = np.where(plain, 0.5 + 0.3 * noise * 0.2, z)
    sea = rows > 0.9 + 0.02 * np.sin(cols * 20)
    z = np.where(sea, -2.0, z)
    # pits: small closed depressions
    r = rng.integers(2, n - 2, size=n // 10)
    c = rng.integers(2, n - 2, size=n // 10)
    z[r, c] -= 2.0
    # a polder behind a dike on the plain
    crest = np.full((n, n), np.nan, dtype=np.float32)
    dike_row = int(0.88 * n)
    crest[dike_row: dike_row + 2, : n // 2] = 2.5
    z[int(0.7 * n): dike_row, : n // 2] -= 1.0
    z = z.astype(np.float32)
    stream = np.zeros((n, n), dtype=bool)
    for k in range(5):
        colk = int(((k + 0.5) / 5) * n)
        stream[: int(0.66 * n), colk] = True
    grid = AreaGrid("EPSG:25832", cell_size, 500_000.0, 6_300_000.0, n, n)
    return (
        grid.data_array(z, "elevation", "m"),
        grid.data_array(sea & np.ones_like(stream), "sea"),
        grid.data_array(stream, "stream"),
        grid.data_array(crest, "dike_crest", "m"),
    )


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next reading covers one step."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def rss_gib(field: str) -> float:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process in GiB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


CPU_S: dict[str, float] = {}


def timed(fn, *args, _label: str | None = None, **kwargs):
    """Result and wall seconds; CPU seconds (all threads) go to ``CPU_S[_label]``."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    wall = time.perf_counter() - t0
    if _label:
        CPU_S[_label] = round(time.process_time() - c0, 3)
    return out, wall


def run(n: int, repeats: int = 2) -> dict:
    """Time ``static_features`` (best of ``repeats``, peak RSS of the first) and each step."""
    import gc

    from wetindex.features import terrain as t

    elevation, sea, stream, crest = synthetic_terrain(n)
    gc.collect()
    load_before = os.getloadavg()[0]
    base = rss_gib("VmRSS")
    reset_peak_rss()
    totals = []
    ds, first = timed(t.static_features, elevation, sea, stream=stream, dike_crest=crest,
                      _label="static_features")
    peak = rss_gib("VmHWM")
    totals.append(first)
    for _ in range(repeats - 1):
        del ds
        gc.collect()
        ds, again = timed(t.static_features, elevation, sea, stream=stream, dike_crest=crest)
        totals.append(again)
    check = {
        "valid_cells": int(np.isfinite(elevation.values).sum()),
        "bluespots": int(ds["bluespot_id"].max()),
        "dike_protected_cells": int(ds["dike_protected"].sum()),
        "hand_min": float(ds["hand"].min()),
        "outlet_accumulation_sum": None,
    }
    del ds
    gc.collect()
    outlets = elevation.copy(data=t.default_outlets(np.isfinite(elevation.values)) | sea.values)
    steps = {}
    def step(name, fn, *args):
        out, steps[name] = timed(fn, *args, _label=name)
        return out

    routing = step("fill_and_route", t.routing_of, elevation, outlets)
    acc = step("flow_accumulation", routing.accumulation)
    step("hand", routing.hand, sea.values | stream.values)
    step("bluespots", t.bluespot_dataset, routing, 0.05, 4)
    slope_deg = step("slope", t.slope, elevation)
    step("twi", t.twi, acc, slope_deg)
    step("distance_to_coast", t.distance_to, sea, "distance_to_coast")
    step("sea_flood_level", t.sea_flood_level, elevation, sea)
    step("dike_protection", t.dike_protection, elevation, sea, crest)
    # correctness on the flat plain: every valid cell is in the flow tree and the
    # accumulation at the outlets adds up to the number of valid cells
    flw = routing.flwdir()
    check["cells_in_flow_tree"] = int(flw.idxs_seq.size)
    check["outlet_accumulation_sum"] = float(np.nansum(acc.values.ravel()[flw.idxs_pit]))
    return {
        "size": n,
        "cells": n * n,
        "static_features_s": round(min(totals), 3),
        "static_features_runs_s": [round(x, 3) for x in totals],
        "static_features_peak_rss_gib": round(peak, 2),
        "rss_before_gib": round(base, 2),
        "load_average_1min_before": round(load_before, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "static_features_cpu_s": CPU_S["static_features"],
        "steps_s": {k: round(v, 3) for k, v in steps.items()},
        "steps_cpu_s": {k: CPU_S[k] for k in steps},
        "check": check,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one size
    args = parser.parse_args()
    if args.one:
        run(64, repeats=1)  # compile the numba kernels (cached on disk afterwards)
        print(json.dumps(run(args.one)))
        return
    import subprocess

    import dask
    import numba
    import pyflwdir
    import scipy
    import xarray

    results = []
    for n in sorted(args.size):  # one process per size: peak memory is that size's own
        proc = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True,
                              capture_output=True, text=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        print(json.dumps(res), flush=True)
        results.append(res)
    report = {
        "machine": {
            "nproc": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
        },
        "versions": {
            "numpy": np.__version__,
            "numba": numba.__version__,
            "pyflwdir": pyflwdir.__version__,
            "scipy": scipy.__version__,
            "xarray": xarray.__version__,
            "dask": dask.__version__,
        },
        "note": ("static_features_s is the best of 2 runs; peak RSS (VmHWM) covers the first "
                 "run and includes the inputs; steps are timed one by one after it. The "
                 "machine is shared: see the load averages."),
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "terrain.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Terrain features benchmark",
        "",
        f"Machine: {report['machine']['nproc']} cores, {report['machine']['platform']}, "
        f"Python {report['machine']['python']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".",
        "",
        report["note"],
        "",
        "| step | " + " | ".join(f"{r['size']}x{r['size']} wall / CPU [s]" for r in results)
        + " |",
        "| --- | " + " | ".join("---" for _ in results) + " |",
    ]
    for step in results[0]["steps_s"]:
        lines.append(f"| {step} | " + " | ".join(
            f"{r['steps_s'][step]} / {r['steps_cpu_s'][step]}" for r in results) + " |")
    lines.append("| **static_features (all)** | " + " | ".join(
        f"**{r['static_features_s']}** / {r['static_features_cpu_s']}" for r in results) + " |")
    lines.append("| static_features peak RSS [GiB] | "
                 + " | ".join(str(r["static_features_peak_rss_gib"]) for r in results) + " |")
    lines.append("| load average before / after | "
                 + " | ".join(f"{r['load_average_1min_before']} / {r['load_average_1min_after']}"
                              for r in results) + " |")
    lines += ["", "Checks (every valid cell in the flow tree; outlet accumulation = valid cells):",
              ""]
    for r in results:
        lines.append(f"- {r['size']}: {json.dumps(r['check'])}")
    (RESULTS / "terrain.md").write_text("\n".join(lines) + "\n")
    print((RESULTS / "terrain.md").read_text())


if __name__ == "__main__":
    main()
