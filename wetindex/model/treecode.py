"""LightGBM trees as generated C, compiled once per model: the per-row evaluator.

:func:`compile_rows` writes every tree of a binary LightGBM model as nested
``if``/``else`` with its thresholds as constants (the way lleaves and tl2cgen
compile trees) into one C file under a cache folder keyed by the model's text and
the compiler flags, compiles it with the system C compiler (``cc``/``gcc``, OpenMP
for threads) and loads it with ctypes; a second process loads the cached library.
It has ``raw_score(row)`` (trees summed in tree order, as LightGBM sums them) and
``predict_rows(rows, n, out, threads)``.

Numba was tried first: numba's compile time grows with the size of a function (15
trees: 27 s on the loaded machine; the demo model's 101 trees in one function did not
finish in 10 minutes), while the C compiler takes a few seconds for the whole model.

Each node reproduces LightGBM's decision exactly (``Tree::NumericalDecision`` and
``CategoricalDecision``): a NaN is read as 0.0 unless the node's missing type is
NaN; zero-as-missing and NaN-as-missing take the node's default direction;
categorical nodes test the category (``int(value)``) against the node's set, and
NaN or a negative category goes right. Values are compared as doubles against the
double thresholds of the model text, so the result equals ``booster.predict`` to
the last bits of the double sum (a test checks it on random boosters with NaNs,
zeros and categorical features).

This is the evaluator for rows whose features all vary (a feature matrix); the
forecast's cells use :mod:`wetindex.model.fastpredict`, which evaluates the static
and the driver splits once and only the rest per cell and lead.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import lightgbm as lgb
import numpy as np

from wetindex.model.forest import (
    CATEGORICAL,
    DEFAULT_LEFT,
    MISSING_NAN,
    MISSING_ZERO,
    ZERO_THRESHOLD,
    ModelFormatError,
    categories_left,
    model_trees,
)

#: Environment variable naming the folder of generated C files and compiled libraries.
CACHE_ENV = "WETINDEX_TREECODE_CACHE"
_FLAGS = ("-O2", "-fPIC", "-shared", "-fopenmp", "-fno-math-errno")


class CompilerError(RuntimeError):
    """The generated evaluator could not be compiled."""


def _cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wetindex" / "treecode"


def c_double(x: float) -> str:
    """A double as a C literal that reads back exactly."""
    if np.isinf(x):
        return "INFINITY" if x > 0 else "(-INFINITY)"
    return repr(float(x))


def _condition(var: str, fields: dict[str, str], k: int) -> str:
    """C expression, true where LightGBM sends the row to the left child of node ``k``."""
    dec = int(fields["decision_type"].split()[k])
    thr_text = fields["threshold"].split()[k]
    cats: list[int] = []
    if dec & CATEGORICAL:
        ci = int(float(thr_text))
        bounds = [int(b) for b in fields["cat_boundaries"].split()]
        words = [int(w) for w in fields["cat_threshold"].split()][bounds[ci]:bounds[ci + 1]]
        cats = categories_left(words)
    return go_left_c(var, dec, float(thr_text), cats)


def go_left_c(var: str, decision: int, threshold: float, categories: list[int]) -> str:
    """C expression of LightGBM's decision at a node: true where ``var`` goes left.

    ``var`` is a C double expression; ``decision`` the node's decision_type bits,
    ``threshold`` its threshold (numerical nodes) and ``categories`` the categories
    sent left (categorical nodes).
    """
    if decision & CATEGORICAL:
        # LightGBM: NaN goes right, else static_cast<int> (toward zero); < 0 goes right
        inside = " || ".join(f"(int){var} == {c}" for c in categories) or "0"
        return f"({var} > -1.0 && ({inside}))"
    thr = c_double(threshold)
    missing = (decision >> 2) & 3
    left = bool(decision & DEFAULT_LEFT)
    if missing == MISSING_NAN:  # a NaN fails every comparison
        return f"!({var} > {thr})" if left else f"({var} <= {thr})"
    if missing == MISSING_ZERO:  # NaN is read as 0.0, and 0.0 is missing
        if left:
            return f"(isnan({var}) || fabs({var}) <= {c_double(ZERO_THRESHOLD)} || {var} <= {thr})"
        return f"(!isnan({var}) && fabs({var}) > {c_double(ZERO_THRESHOLD)} && {var} <= {thr})"
    # no missing type: NaN is read as 0.0
    return f"!({var} > {thr})" if 0.0 <= threshold else f"({var} <= {thr})"


def _tree_function(t: int, fields: dict[str, str]) -> list[str]:
    """One tree as a C function of a row returning its leaf value (nested if/else)."""
    leaves = [float(v) for v in fields["leaf_value"].split()]
    out = [f"static inline double tree_{t}(const float *x) {{"]
    if int(fields["num_leaves"]) == 1:
        return [*out, f"  return {c_double(leaves[0])};", "}"]
    feat = [int(f) for f in fields["split_feature"].split()]
    left = [int(c) for c in fields["left_child"].split()]
    right = [int(c) for c in fields["right_child"].split()]

    def node(child: int, depth: int) -> None:
        pad = "  " * depth
        if child < 0:
            out.append(f"{pad}return {c_double(leaves[~child])};")
            return
        out.append(f"{pad}if ({_condition(f'(double)x[{feat[child]}]', fields, child)}) {{")
        node(left[child], depth + 1)
        out.append(f"{pad}}} else {{")
        node(right[child], depth + 1)
        out.append(f"{pad}}}")

    node(0, 1)
    return [*out, "}"]


def model_source(booster: lgb.Booster, num_iteration: int | None = None) -> tuple[str, int]:
    """C source of the trees ``booster.predict`` uses, and the model's number of features."""
    header, blocks = model_trees(booster, num_iteration, "compiled prediction")
    n_features = int(header.split("max_feature_idx=")[1].split("\n")[0]) + 1
    lines = ["/* Generated by wetindex.model.treecode: do not edit. */",
             "#include <math.h>", "#include <stdint.h>", ""]
    for t, fields in enumerate(blocks):
        if fields.get("is_linear", "0") != "0":
            raise ModelFormatError("linear trees are not supported by compiled prediction")
        lines += _tree_function(t, fields)
    lines += [
        "double raw_score(const float *x) {",
        "  double s = 0.0;  /* in tree order, as LightGBM sums */",
        *(f"  s += tree_{t}(x);" for t in range(len(blocks))),
        "  return s;", "}", "",
        "void predict_rows(const float *rows, int64_t n, double *out, int threads) {",
        "  #pragma omp parallel for schedule(static, 4096) num_threads(threads)",
        "  for (int64_t i = 0; i < n; i++)",
        f"    out[i] = 1.0 / (1.0 + exp(-raw_score(rows + i * {n_features})));",
        "}", "",
    ]
    return "\n".join(lines), n_features


class RowPredictor:
    """A compiled model: ``predictor(rows)`` equals ``booster.predict(rows)``."""

    def __init__(self, library: ctypes.CDLL, n_features: int, path: Path) -> None:
        self.library = library
        self.n_features = n_features
        self.path = path
        fn = library.predict_rows
        fn.restype = None
        fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int]
        self._predict_rows = fn

    def __call__(self, rows: np.ndarray, *, num_threads: int = 0) -> np.ndarray:
        """Probabilities of ``rows`` ``(n, n_features)`` (float32 read as is; others cast).

        ``num_threads`` 0 uses every core.
        """
        rows = np.ascontiguousarray(rows, dtype="float32")
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ValueError(f"rows: expected (n, {self.n_features}) features, "
                             f"got {rows.shape}")
        out = np.empty(len(rows), dtype="float64")
        threads = num_threads if num_threads > 0 else (os.cpu_count() or 1)
        self._predict_rows(rows.ctypes.data, len(rows), out.ctypes.data, threads)
        return out


def compile_rows(booster: lgb.Booster, num_iteration: int | None = None) -> RowPredictor:
    """Generate, cache and compile the per-row evaluator of ``booster`` (see module doc).

    The first call for a model runs the C compiler (seconds, as lleaves' LLVM does);
    later calls, in this or another process, load the cached shared library.

    Raises
    ------
    CompilerError
        No C compiler (``$CC``, ``cc`` or ``gcc``) was found or it failed.
    """
    source, n_features = model_source(booster, num_iteration)
    library, lib = compile_library(source, "trees", _FLAGS)
    return RowPredictor(library, n_features, lib)


def compile_library(source: str, stem: str, flags: tuple[str, ...] = _FLAGS,
                    key_extra: str = "") -> tuple[ctypes.CDLL, Path]:
    """Compile C ``source`` into a shared library in the cache folder and load it.

    The library's name is ``stem`` and a hash of the source, the flags and
    ``key_extra`` (e.g. the CPU, for flags that tune for it); a library already in
    the cache is loaded without compiling.

    Raises
    ------
    CompilerError
        No C compiler (``$CC``, ``cc`` or ``gcc``) was found or it failed.
    """
    key = hashlib.sha256((source + " ".join(flags) + key_extra).encode()).hexdigest()[:20]
    folder = _cache_dir()
    lib = folder / f"{stem}_{key}.so"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CompilerError(f"the compiled-evaluator cache {folder} cannot be made ({exc}): "
                            f"set {CACHE_ENV} to a writable folder") from exc
    if not lib.exists():
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not compiler:
            raise CompilerError("no C compiler found for the compiled tree evaluator: "
                                "install gcc (apt-get install gcc) or set $CC")
        src = folder / f"{stem}_{key}.c"
        try:
            src.write_text(source)
        except OSError as exc:
            raise CompilerError(f"the compiled-evaluator cache {folder} is not writable "
                                f"({exc}): set {CACHE_ENV} to a writable folder") from exc
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        try:
            done = subprocess.run([compiler, *flags, "-o", str(tmp), str(src), "-lm"],
                                  capture_output=True, text=True)
        except OSError as exc:
            raise CompilerError(f"running the C compiler {compiler} failed: {exc}") from exc
        if done.returncode != 0:
            raise CompilerError(f"compiling {src} failed: {done.stderr[-2000:]}")
        os.replace(tmp, lib)  # whole or absent, also with several processes at once
    try:
        return ctypes.CDLL(str(lib)), lib
    except OSError as exc:
        raise CompilerError(f"the compiled evaluator {lib} could not be loaded ({exc}); "
                            "delete it to have it compiled again") from exc
