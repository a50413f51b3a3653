"""lleaves and tl2cgen on saved rows, run in their own venv by ``bench_predict.py``.

lleaves 1.3 needs ``llvmlite < 0.45`` and numba 0.68 needs ``>= 0.50``, so they cannot
share wetindex's environment: ``bench_predict.py`` makes ``.venv-lleaves`` and runs
this file there on the same model file and rows (``.npy``). Prints one JSON object:
compile seconds, the best of ``--repeat`` prediction wall and CPU times per thread count,
and the path of each predictor's probabilities (saved for the equality check).

Usage: ``python compiled_predictors.py MODEL.txt OUTDIR ROWS.npy [ROWS.npy ...]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def best_time(fn, repeat: int) -> float:
    """The fastest of ``repeat`` runs of ``fn`` [s] (also used by ``bench_predict.py``)."""
    return best_times(fn, repeat)[0]


def best_times(fn, repeat: int) -> tuple[float, float]:
    """The fastest wall and the least process CPU time of ``repeat`` runs of ``fn`` [s].

    The CPU time (all the process's threads) is what a run costs on free cores: on a
    shared, loaded machine the wall time also counts the time other processes held
    the cores (also used by ``bench_predict.py``).
    """
    wall = cpu = float("inf")
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return wall, cpu


def run_lleaves(model: Path, out: Path, rows: list[Path], threads: list[int],
                repeat: int) -> dict:
    import lleaves

    t = time.perf_counter()
    m = lleaves.Model(model_file=str(model))
    m.compile()  # no cache file: the compile time is part of the result
    result: dict = {"compile_s": round(time.perf_counter() - t, 2), "sets": {}}
    for path in rows:
        x = np.load(path).astype("float64")  # lleaves reads doubles; converted before timing
        m.predict(x[:1000], n_jobs=1)
        times, cpu = {}, {}
        for n in threads:
            times[str(n)], cpu[str(n)] = best_times(lambda n=n, x=x: m.predict(x, n_jobs=n),
                                                    repeat)
        saved = out / f"lleaves_{path.stem}.npy"
        np.save(saved, m.predict(x, n_jobs=max(threads)))
        result["sets"][path.stem] = {"seconds": times, "cpu_seconds": cpu,
                                     "probabilities": str(saved)}
    return result


def run_tl2cgen(model: Path, out: Path, rows: list[Path], threads: list[int],
                repeat: int) -> dict:
    import tl2cgen
    import treelite

    t = time.perf_counter()
    tm = treelite.frontend.load_lightgbm_model(str(model))
    lib = out / "tl2cgen_model.so"
    tl2cgen.export_lib(tm, toolchain="gcc", libpath=str(lib), params={"parallel_comp": 8})
    result: dict = {"compile_s": round(time.perf_counter() - t, 2), "sets": {}}
    for path in rows:
        x = np.load(path)
        times, cpu, pred = {}, {}, None
        for n in threads:
            predictor = tl2cgen.Predictor(str(lib), nthread=n)
            dmat = tl2cgen.DMatrix(x, dtype="float32")
            times[str(n)], cpu[str(n)] = best_times(lambda p=predictor, d=dmat: p.predict(d),
                                                    repeat)
            pred = predictor.predict(dmat)
        saved = out / f"tl2cgen_{path.stem}.npy"
        np.save(saved, np.asarray(pred).reshape(len(x)))
        result["sets"][path.stem] = {"seconds": times, "cpu_seconds": cpu,
                                     "probabilities": str(saved)}
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("rows", type=Path, nargs="+")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    report = {}
    for name, fn in (("lleaves", run_lleaves), ("tl2cgen", run_tl2cgen)):
        try:
            report[name] = fn(args.model, args.out, args.rows, args.threads, args.repeat)
        except Exception as exc:  # one missing tool must not hide the other's result
            report[name] = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
