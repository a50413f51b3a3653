"""The chunk evaluator as generated C: the forecast's per cell-lead kernel.

:mod:`wetindex.model.fastpredict` evaluates the static splits once per cell, the
driver splits once per zone and lead, and per cell and lead only the splits on the
five combined features, with every tree's leaves as a bit mask (QuickScorer). This
module writes the same evaluation as C for one model, with the model's numbers as
constants, and compiles it once (cached like :mod:`wetindex.model.treecode`):

- per cell, the combined features of a block of leads (up to 64, padded to a
  multiple of 8) are built in float32 exactly as
  :func:`~wetindex.features.stack.feature_rows` does;
- then tree by tree (tree-outer, leads-inner, so a tree's constants stay in
  registers): the static mask ``S`` from the tree's static nodes (once per cell),
  per lead ``m = S & D[tree, lead]`` (the driver masks, evaluated once per zone and
  lead by ``driver_masks`` and copied per thread for the zone at hand), and only for
  the tree's nodes on combined features ``m &= (x <= THR) ? ~0 : MASK``; the exit
  leaf is the lowest bit left, its value read from the tree's constant table. With
  AVX-512 (F and CD) this loop is written with intrinsics, 8 leads per
  instruction, the exit leaf found by ``vplzcntq`` and its value picked by permutes
  from the table held in registers; with AVX2 only, 4 leads per instruction and the
  values gathered; elsewhere it is plain C. A tree without driver or combined nodes
  is one value per cell;
- the trees are added in tree order per lead, as LightGBM adds them, and the
  sigmoid is LightGBM's, so the float32 result equals ``booster.predict`` rounded to
  float32 (the tests check equality, for both loops).

Each node's decision is LightGBM's (:func:`wetindex.model.treecode.go_left_c`: NaN
and zero-as-missing, default-left, categorical sets), also on combined features
(a categorical or zero-as-missing combined node makes the plain C loop run).
:func:`kernel_flags` picks the compiler flags, and so the loop, for this CPU.
Cells run in parallel with OpenMP.
"""

from __future__ import annotations

import ctypes
import os
import platform
from dataclasses import dataclass
from functools import cache

import numpy as np

from wetindex.features.stack import DRIVER_FEATURES, STATIC_FEATURES
from wetindex.model.forest import (
    CATEGORICAL,
    DEFAULT_LEFT,
    MISSING_NAN,
    MISSING_ZERO,
    Forest,
    ModelFormatError,
    categories_left,
    leaf_order,
)
from wetindex.model.treecode import c_double, compile_library, go_left_c

_N_STATIC = len(STATIC_FEATURES)
_N_DRIVER = len(DRIVER_FEATURES)
#: Leads evaluated together per cell (arrays on the C stack).
LEAD_BLOCK = 64
#: Trees sharing one loop over the leads in the plain-C loop (one load and store of a
#: lead's sum per group; measured 105 ns per cell-lead with 1, 97 with 4, 91.5 with 64).
SCALAR_GROUP = 64
#: Trees sharing one loop over the leads in the AVX-512 loop (1 to 8 measured within
#: noise of each other, 29.6-32.7 ns per cell-lead; 2 was the fastest).
VECTOR_GROUP = 2
_COMMON = ("-fPIC", "-shared", "-fopenmp", "-fno-math-errno", "-ffp-contract=off")
#: Compiler flags of the kernel on any CPU.
PORTABLE_FLAGS = ("-O2", *_COMMON)
#: Flags on x86 CPUs with AVX2 but not AVX-512: the AVX2 intrinsics loop is compiled
#: (4 leads per instruction, leaf values gathered): 56-58 ns per cell-lead here against
#: 93-99 for the plain loop (see benchmarks/results/predict.md).
AVX2_FLAGS = ("-O2", "-mavx2", *_COMMON)
#: Flags on CPUs with AVX-512 (F and CD): the intrinsics loop is compiled (see
#: :func:`kernel_source`); -O3 -march=native with AVX2 only was slower than -O2 (see
#: benchmarks/results/predict.md). The cache key then names the CPU.
AVX512_FLAGS = ("-O3", "-march=native", *_COMMON)

# the kernel builds the combined features from these positions, as feature_rows does
_S_FILL = STATIC_FEATURES.index("bluespot_fill_rain")
_S_SEA_FLOOD = STATIC_FEATURES.index("sea_flood_level")
_D = {name: DRIVER_FEATURES.index(name) for name in
      ("rain_24h", "rain_72h", "sea_level", "sea_level_max_24h", "groundwater_rise")}


def _condition(forest: Forest, k: int, var: str) -> str:
    return go_left_c(var, int(forest.decision[k]), float(forest.threshold[k]),
                     categories_left(forest.cat_bits[forest.cat_start[k]:forest.cat_end[k]])
                     if forest.decision[k] & CATEGORICAL else [])


def _u64(mask: int) -> str:
    return f"0x{mask:016x}ULL"


def _tree_masks(forest: Forest, t: int) -> tuple[list[int], list[float]]:
    """Per node of tree ``t`` the mask its failed test leaves, and the leaf values in order."""
    n0, n1 = int(forest.node_start[t]), int(forest.node_start[t + 1])
    l0, l1 = int(forest.leaf_start[t]), int(forest.leaf_start[t + 1])
    if l1 - l0 > 64:
        raise ModelFormatError("the compiled chunk evaluator supports trees of at most "
                               "64 leaves")
    if l1 - l0 == 1:  # a single leaf (forest_from_booster gives it one always-left node)
        return [2**64 - 1], [float(forest.leaf_value[l0])]
    position, under_left = leaf_order(forest.left[n0:n1], forest.right[n0:n1], l1 - l0)
    values = [0.0] * (l1 - l0)
    for leaf, p in enumerate(position.tolist()):
        values[p] = float(forest.leaf_value[l0 + leaf])
    every = 2**64 - 1
    masks = [every & ~sum(1 << p for p in under_left[k]) for k in range(n1 - n0)]
    return masks, values


def _group(f: int) -> str:
    return "static" if f < _N_STATIC else "driver" if f < _N_STATIC + _N_DRIVER else "combined"


def _right_predicate(forest: Forest, k: int) -> str | None:
    """The AVX-512 compare predicate true where node ``k`` sends ``x`` right, if one is.

    Only numerical nodes whose missing type is NaN or none: a NaN goes left exactly
    where LightGBM's expression is ``!(x > thr)``, so "right" is an ordered
    ``x > thr``; elsewhere it is the unordered ``!(x <= thr)``.
    """
    dec, thr = int(forest.decision[k]), float(forest.threshold[k])
    missing = (dec >> 2) & 3
    if dec & CATEGORICAL or missing == MISSING_ZERO:
        return None
    nan_left = bool(dec & DEFAULT_LEFT) if missing == MISSING_NAN else 0.0 <= thr
    return "_CMP_GT_OQ" if nan_left else "_CMP_NLE_UQ"


def _lookup(t: int, n_leaves: int) -> str:
    """AVX-512 expression of tree ``t``'s leaf values at the lanes' leaf indices ``idx``."""
    def pair(j: int) -> str:
        return f"_mm512_permutex2var_pd(T{t}_{j}, idx, T{t}_{j + 1})"

    if n_leaves <= 8:
        return f"_mm512_permutexvar_pd(idx, T{t}_0)"
    if n_leaves <= 16:
        return pair(0)
    bit4 = "_mm512_test_epi64_mask(idx, _mm512_set1_epi64(16))"
    if n_leaves <= 32:
        return f"_mm512_mask_blend_pd({bit4}, {pair(0)}, {pair(2)})"
    bit5 = "_mm512_test_epi64_mask(idx, _mm512_set1_epi64(32))"
    return (f"_mm512_mask_blend_pd({bit5}, _mm512_mask_blend_pd({bit4}, {pair(0)}, {pair(2)}), "
            f"_mm512_mask_blend_pd({bit4}, {pair(4)}, {pair(6)}))")


@dataclass
class _TreeCode:
    """One tree's C: its value table, driver-mask lines, and (head, loop) per lead loop."""

    values: str
    driver: list[str]
    scalar: tuple[list[str], list[str]]
    avx512: tuple[list[str], list[str]]
    avx2: tuple[list[str], list[str]]
    vectorisable: bool


def _tree_code(forest: Forest, t: int) -> _TreeCode:
    """The C of tree ``t``: the static mask once per cell (the head), then per lead the
    driver mask and the combined nodes as mask ANDs (the loop), in three flavours."""
    masks, values = _tree_masks(forest, t)
    n0 = int(forest.node_start[t])
    nodes: dict[str, list[int]] = {"static": [], "driver": [], "combined": []}
    if len(values) > 1:
        for k in range(len(masks)):
            nodes[_group(int(forest.feature[n0 + k]))].append(n0 + k)
    padded = values + [0.0] * (-len(values) % 8)
    table = (f"static const double V{t}[{len(padded)}] __attribute__((aligned(64))) = "
             f"{{{', '.join(c_double(v) for v in padded)}}};")
    driver = ["    { uint64_t m = ~0ULL;"]
    for k in nodes["driver"]:
        cond = _condition(forest, k, f"(double)d[{int(forest.feature[k]) - _N_STATIC}]")
        driver.append(f"      if (!{cond}) m &= {_u64(masks[k - n0])};")
    driver.append(f"      out[{t}] = m; }}")
    head = [f"    uint64_t s{t} = ~0ULL;"]
    for k in nodes["static"]:
        cond = _condition(forest, k, f"(double)x[{int(forest.feature[k])}]")
        head.append(f"    if (!{cond}) s{t} &= {_u64(masks[k - n0])};")
    if not nodes["driver"] and not nodes["combined"]:  # the cell's value for every lead
        return _TreeCode(
            table, driver,
            ([*head, f"    const double v{t} = V{t}[EXIT(s{t})];"], [f"      a += v{t};"]),
            ([*head, f"    const __m512d v{t} = _mm512_set1_pd(V{t}[EXIT(s{t})]);"],
             [f"      a = _mm512_add_pd(a, v{t});"]),
            ([*head, f"    const __m256d v{t} = _mm256_set1_pd(V{t}[EXIT(s{t})]);"],
             [f"      a = _mm256_add_pd(a, v{t});"]),
            True)
    combined = [(k, int(forest.feature[k]) - _N_STATIC - _N_DRIVER, masks[k - n0])
                for k in nodes["combined"]]
    has_driver = bool(nodes["driver"])
    loop = [f"      {{ uint64_t m = s{t} & dzb[{t} * LB + l];" if has_driver else
            f"      {{ uint64_t m = s{t};"]
    loop += [f"        m &= {_condition(forest, k, f'c{c}[l]')} ? ~0ULL : {_u64(mask)};"
             for k, c, mask in combined]
    loop.append(f"        a += V{t}[EXIT(m)]; }}")
    vhead = [*head, f"    const __m512i sv{t} = _mm512_set1_epi64((long long)s{t});",
             *(f"    const __m512d T{t}_{j} = _mm512_load_pd(V{t} + {8 * j});"
               for j in range(len(padded) // 8))]
    vloop = [f"      {{ __m512i m = _mm512_and_si512(sv{t}, _mm512_load_si512(dzb + {t} * LB "
             "+ l));" if has_driver else f"      {{ __m512i m = sv{t};"]
    vloop += [f"        m = _mm512_mask_and_epi64(m, _mm512_cmp_pd_mask(_mm512_load_pd("
              f"c{c} + l), _mm512_set1_pd({c_double(float(forest.threshold[k]))}), "
              f"{_right_predicate(forest, k)}), m, _mm512_set1_epi64((long long){_u64(mask)}));"
              for k, c, mask in combined]
    vloop += ["        const __m512i low = _mm512_and_si512(m, "
              "_mm512_sub_epi64(_mm512_setzero_si512(), m));",
              "        const __m512i idx = _mm512_sub_epi64(_mm512_set1_epi64(63), "
              "_mm512_lzcnt_epi64(low));",
              f"        a = _mm512_add_pd(a, {_lookup(t, len(values))}); }}"]
    # AVX2: 4 leads; a right-going lane clears the node's left leaves; the exit leaf's
    # index from the float exponent of its bit's 32-bit half; values gathered
    ahead = [*head, f"    const __m256i sv{t} = _mm256_set1_epi64x((long long)s{t});"]
    aloop = [f"      {{ __m256i m = _mm256_and_si256(sv{t}, _mm256_load_si256((const __m256i *)"
             f"(dzb + {t} * LB + l)));" if has_driver else f"      {{ __m256i m = sv{t};"]
    aloop += [f"        m = _mm256_andnot_si256(_mm256_and_si256(_mm256_castpd_si256("
              f"_mm256_cmp_pd(_mm256_load_pd(c{c} + l), _mm256_set1_pd("
              f"{c_double(float(forest.threshold[k]))}), {_right_predicate(forest, k)})), "
              f"_mm256_set1_epi64x((long long){_u64((2**64 - 1) & ~mask)})), m);"
              for k, c, mask in combined]
    aloop.append(f"        a = _mm256_add_pd(a, _mm256_i64gather_pd(V{t}, exit256(m), 8)); }}")
    vectorisable = all(_right_predicate(forest, k) is not None for k, _, _ in combined)
    return _TreeCode(table, driver, (head, loop), (vhead, vloop), (ahead, aloop), vectorisable)


def _grouped(trees: list[tuple[list[str], list[str]]], group: int, step: int,
             load: str, store: str) -> list[str]:
    """Trees in groups sharing one loop over the leads: the group's heads, then per
    ``step`` leads one load of the sums, the trees' lines in tree order, one store."""
    out = []
    for g in range(0, len(trees), group):
        part = trees[g:g + group]
        out += [f"  {{ /* trees {g}-{g + len(part) - 1} */",
                *(line for head, _ in part for line in head),
                f"    for (int l = 0; l < nl; {'l++' if step == 1 else f'l += {step}'}) {{",
                f"      {load}", *(line for _, loop in part for line in loop),
                f"      {store}", "    }", "  }"]
    return out


_HEADER = ["/* Generated by wetindex.model.chunkcode: do not edit. */",
           "#include <math.h>", "#include <stdint.h>", "#include <stdlib.h>", ""]
_EXIT = ["/* the exit leaf: the lowest bit left (never 0: no failed node clears the exit",
         "   leaf); as 63 - clz of the lowest bit, which gcc vectorises (vplzcntq) */",
         "#define EXIT(m) (63 - __builtin_clzll((m) & (0 - (m))))", ""]
_EXIT256 = [
    "/* index of the lowest set bit of each 64-bit lane (never 0): the bit as",
    "   two 32-bit halves converted to float, whose exponent is the bit's place */",
    "static inline __m256i exit256(__m256i m) {",
    "  const __m256i low = _mm256_and_si256(m, _mm256_sub_epi64(_mm256_setzero_si256(), m));",
    "  const __m256i e = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256("
    "_mm256_cvtepi32_ps(low)), 23), _mm256_set1_epi32(0xff));",
    "  const __m256i elo = _mm256_and_si256(e, _mm256_set1_epi64x(0xffffffffLL));",
    "  const __m256i ehi = _mm256_srli_epi64(e, 32);",
    "  const __m256i in_hi = _mm256_cmpeq_epi64(elo, _mm256_setzero_si256());",
    "  return _mm256_blendv_epi8(_mm256_sub_epi64(elo, _mm256_set1_epi64x(127)),",
    "                            _mm256_sub_epi64(ehi, _mm256_set1_epi64x(95)), in_hi);",
    "}"]
_CELL_BLOCK = [
    "/* the trees of one cell for a block of nl leads (a multiple of 8, padded), added",
    "   in tree order into acc; dzb[t * LB + l]: tree t's driver mask at lead l */",
    "static inline void cell_block(const float *restrict x, const double *restrict c0,",
    "    const double *restrict c1, const double *restrict c2, const double *restrict c3,",
    "    const double *restrict c4, const uint64_t *restrict dzb, int nl,",
    "    double *restrict acc) {"]


def _predict_cells() -> list[str]:
    """The exported loop over a chunk's cells: combined features per lead, then the trees."""
    return [
        "",
        "/* cells i of the chunk into out[lead * out_stride + i] */",
        "void predict_cells(const float *srows, const float *gw, const int32_t *zone,",
        "    const float *drivers, const int32_t *mask_id, const uint64_t *dmask,",
        "    int64_t n_masks, int64_t n_leads, int64_t n, float *out, int64_t out_stride,",
        "    int threads) {",
        "  #pragma omp parallel num_threads(threads)",
        "  {",
        "  /* the driver masks of the zone and lead block at hand, per tree (rebuilt when",
        "     the zone changes: neighbouring cells mostly share it) */",
        "  uint64_t *dzb = aligned_alloc(64, sizeof(uint64_t) * N_TREES * LB);",
        "  if (!dzb) abort();",
        "  int64_t zb = -1, lb = -1;",
        "  #pragma omp for schedule(dynamic, 256)",
        "  for (int64_t i = 0; i < n; i++) {",
        "    const float *x = srows + i * N_STATIC;",
        f"    float fill = x[{_S_FILL}];",
        "    if (!(fill > 0.0f)) fill = NAN;",
        f"    const float flood = x[{_S_SEA_FLOOD}];",
        "    const float depth = gw[i];",
        "    const int64_t z = zone[i];",
        "    for (int64_t l0 = 0; l0 < n_leads; l0 += LB) {",
        "      const int nl = (int)(n_leads - l0 < LB ? n_leads - l0 : LB);",
        "      const int nl8 = (nl + 7) & ~7;",
        "      double c0[LB] __attribute__((aligned(64))), c1[LB] __attribute__((aligned(64))),",
        "        c2[LB] __attribute__((aligned(64))), c3[LB] __attribute__((aligned(64))),",
        "        c4[LB] __attribute__((aligned(64))), acc[LB] __attribute__((aligned(64)));",
        "      if (z != zb || l0 != lb) {",
        "        zb = z;",
        "        lb = l0;",
        "        for (int t = 0; t < N_TREES; t++)",
        "          for (int l = 0; l < LB; l++)",
        "            dzb[t * LB + l] = l < nl ?",
        "              dmask[t * n_masks + mask_id[z * n_leads + l0 + l]] : ~0ULL;",
        "      }",
        "      for (int l = 0; l < nl8; l++) {",
        "        acc[l] = 0.0;",
        "        if (l >= nl) {  /* padding: evaluated, not written */",
        "          c0[l] = c1[l] = c2[l] = c3[l] = c4[l] = 0.0;",
        "          continue;",
        "        }",
        "        const float *d = drivers + (z * n_leads + l0 + l) * N_DRIVER;",
        "        /* float32 arithmetic, as feature_rows */",
        f"        const float g = depth - d[{_D['groundwater_rise']}];",
        "        c0[l] = (g > 0.0f || isnan(g)) ? g : 0.0f;",
        f"        c1[l] = (float)(d[{_D['sea_level']}] - flood);",
        f"        c2[l] = (float)(d[{_D['sea_level_max_24h']}] - flood);",
        f"        c3[l] = (float)(d[{_D['rain_24h']}] / fill);",
        f"        c4[l] = (float)(d[{_D['rain_72h']}] / fill);",
        "      }",
        "      cell_block(x, c0, c1, c2, c3, c4, dzb, nl8, acc);",
        "      /* a lead with the raw score of the one before reuses its probability */",
        "      double last = NAN;",
        "      float prob = 0.0f;",
        "      for (int l = 0; l < nl; l++) {",
        "        if (acc[l] != last) {  /* LightGBM's sigmoid, in double */",
        "          last = acc[l];",
        "          prob = (float)(1.0 / (1.0 + exp(-last)));",
        "        }",
        "        out[(l0 + l) * out_stride + i] = prob;",
        "      }",
        "    }",
        "  }",
        "  free(dzb);",
        "  }",
        "}",
        "",
    ]


def kernel_source(forest: Forest) -> str:
    """C source of the chunk kernel and the driver masks of ``forest`` (see module doc).

    The trees' loop over leads is written three times: with AVX-512 intrinsics (8 leads
    per instruction; the exit leaf's value picked from the tree's values held in
    registers by permutes, not a gather) where the compiler targets AVX-512 F and CD,
    with AVX2 intrinsics (4 leads; values gathered) where it targets AVX2, both only
    when no combined node is categorical or zero-as-missing, and as plain C.
    """
    trees = [_tree_code(forest, t) for t in range(forest.n_trees)]
    lines = [*_HEADER,
             f"#define N_STATIC {_N_STATIC}", f"#define N_DRIVER {_N_DRIVER}",
             f"#define N_TREES {forest.n_trees}", f"#define LB {LEAD_BLOCK}", *_EXIT,
             *(tree.values for tree in trees), "",
             "/* per zone-lead row of drivers, the leaves each tree's driver splits leave */",
             "void driver_masks(const float *d, int64_t n_rows, uint64_t *out) {",
             "  for (int64_t r = 0; r < n_rows; r++, d += N_DRIVER, out += N_TREES) {",
             *(line for tree in trees for line in tree.driver), "  }", "}", ""]
    scalar = _grouped([tree.scalar for tree in trees], SCALAR_GROUP, 1,
                      "double a = acc[l];", "acc[l] = a;")
    if not all(tree.vectorisable for tree in trees):
        return "\n".join([*lines, *_CELL_BLOCK, *scalar, "}", *_predict_cells()])
    avx512 = _grouped([tree.avx512 for tree in trees], VECTOR_GROUP, 8,
                      "__m512d a = _mm512_load_pd(acc + l);", "_mm512_store_pd(acc + l, a);")
    avx2 = _grouped([tree.avx2 for tree in trees], VECTOR_GROUP, 4,
                    "__m256d a = _mm256_load_pd(acc + l);", "_mm256_store_pd(acc + l, a);")
    lines += ["#if defined(__AVX512F__) && defined(__AVX512CD__)", "#include <immintrin.h>",
              *_CELL_BLOCK, *avx512, "}",
              "#elif defined(__AVX2__)", "#include <immintrin.h>", *_EXIT256,
              *_CELL_BLOCK, *avx2, "}",
              "#else", *_CELL_BLOCK, *scalar, "}", "#endif", *_predict_cells()]
    return "\n".join(lines)


class ChunkKernel:
    """The compiled kernel of one forest (:func:`compile_kernel`).

    It pickles as the forest and its flags (a loaded library cannot be pickled): a Dask
    worker that receives it compiles the forest again, or loads the library from its
    own cache.
    """

    def __init__(self, library: ctypes.CDLL, forest: Forest, flags: tuple[str, ...] | None,
                 path: os.PathLike) -> None:
        self.library = library
        self.forest = forest
        self.flags = flags
        self.n_trees = forest.n_trees
        self.path = path
        p, i64 = ctypes.c_void_p, ctypes.c_int64
        self._driver_masks = library.driver_masks
        self._driver_masks.restype = None
        self._driver_masks.argtypes = [p, i64, p]
        self._predict = library.predict_cells
        self._predict.restype = None
        self._predict.argtypes = [p, p, p, p, p, p, i64, i64, i64, p, i64, ctypes.c_int]

    def zone_masks(self, drivers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Driver masks of ``drivers`` ``(Z, L, D)``: ids ``(Z, L)`` and ``(trees, n_masks)``.

        Zone-leads whose drivers send every tree the same way share one mask.
        """
        drivers = np.ascontiguousarray(drivers, dtype="float32")
        n_zones, n_leads = drivers.shape[:2]
        rows = np.empty((n_zones * n_leads, self.n_trees), dtype="uint64")
        self._driver_masks(drivers.ctypes.data, len(rows), rows.ctypes.data)
        masks, ids = np.unique(rows, axis=0, return_inverse=True)
        return (ids.reshape(n_zones, n_leads).astype("int32"),
                np.ascontiguousarray(masks.T))

    def predict(self, static_rows: np.ndarray, groundwater_depth: np.ndarray,
                drivers: np.ndarray, zone: np.ndarray, out: np.ndarray,
                num_threads: int) -> np.ndarray:
        """Probabilities into ``out`` ``float32 (leads, cells)`` (a view with contiguous rows
        may be given; the other inputs are checked by the caller).

        ``static_rows`` ``(cells, n_static)`` float32, ``groundwater_depth`` ``(cells,)``
        float32, ``drivers`` ``(Z, L, D)`` float32, ``zone`` ``(cells,)`` int32 in
        ``0..Z-1``; ``num_threads`` 0 uses every core.
        """
        drivers = np.ascontiguousarray(drivers, dtype="float32")
        if len(static_rows) == 0:
            return out
        if (out.dtype != np.float32 or out.shape != (drivers.shape[1], len(static_rows))
                or out.strides[1] != 4):
            raise ValueError(f"out: expected float32 ({drivers.shape[1]}, "
                             f"{len(static_rows)}) with contiguous rows, got {out.dtype} "
                             f"{out.shape}")
        mask_id, dmask = self.zone_masks(drivers)
        n = len(static_rows)
        threads = num_threads if num_threads > 0 else (os.cpu_count() or 1)
        self._predict(static_rows.ctypes.data, groundwater_depth.ctypes.data,
                      zone.ctypes.data, drivers.ctypes.data, mask_id.ctypes.data,
                      dmask.ctypes.data, dmask.shape[1], drivers.shape[1], n,
                      out.ctypes.data, out.strides[0] // 4, threads)
        return out

    def __reduce__(self) -> tuple:
        return compile_kernel, (self.forest, self.flags)


@cache
def _cpu() -> str:
    """This CPU's model and flags (the cache key of a ``-march=native`` library)."""
    try:
        info = open("/proc/cpuinfo").read().split("\n\n")[0]
    except OSError:
        return platform.processor() or platform.machine()
    return "\n".join(line for line in info.splitlines()
                     if line.startswith(("model name", "flags")))


def kernel_flags() -> tuple[str, ...]:
    """:data:`AVX512_FLAGS` on a CPU with AVX-512 F and CD, :data:`AVX2_FLAGS` on one
    with AVX2, else :data:`PORTABLE_FLAGS`."""
    flags = set(" ".join(line for line in _cpu().splitlines()
                         if line.startswith("flags")).split())
    if {"avx512f", "avx512cd"} <= flags:
        return AVX512_FLAGS
    return AVX2_FLAGS if "avx2" in flags else PORTABLE_FLAGS


def compile_kernel(forest: Forest, flags: tuple[str, ...] | None = None) -> ChunkKernel:
    """Generate, cache and compile the chunk kernel of ``forest``.

    ``flags`` default to :func:`kernel_flags`.

    Raises
    ------
    wetindex.model.treecode.CompilerError
        No C compiler was found or it failed.
    wetindex.model.forest.ModelFormatError
        A tree has more than 64 leaves.
    """
    source = kernel_source(forest)
    chosen = kernel_flags() if flags is None else flags
    native = any(f.startswith(("-march", "-mtune", "-mcpu")) for f in chosen)
    library, path = compile_library(source, "chunk", chosen, _cpu() if native else "")
    return ChunkKernel(library, forest, flags, path)
