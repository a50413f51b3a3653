"""The trees of a binary LightGBM model, read from its own text model.

:func:`forest_from_booster` gives flat node arrays (:class:`Forest`) with the
thresholds as doubles, the decision types with their missing-value rules and the
categorical bitsets, exactly as ``booster.predict`` uses them; the numba kernel
(:mod:`wetindex.model.fastpredict`), the generated chunk kernel
(:mod:`wetindex.model.chunkcode`) and the generated per-row C
(:mod:`wetindex.model.treecode`) all start from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from wetindex.features.stack import FEATURES

# LightGBM's decision_type of a split: bit 0 categorical, bit 1 default left, bits 2-3
# the missing type (Tree::NumericalDecision); values at most kZeroThreshold are zero
CATEGORICAL, DEFAULT_LEFT = 1, 2
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
ZERO_THRESHOLD = 1e-35


def categories_left(words) -> list[int]:
    """The categories a categorical split sends left, from its 32-bit ``cat_threshold`` words."""
    return [32 * w + b for w, word in enumerate(words) for b in range(32) if int(word) >> b & 1]


class ModelFormatError(ValueError):
    """A LightGBM model this predictor cannot reproduce exactly."""


@dataclass(frozen=True)
class Forest:
    """The trees of a binary LightGBM model as flat arrays.

    Node ``k`` of tree ``t`` is ``node_start[t] + k``; a child ``c >= 0`` is an
    internal node of the same tree, ``c < 0`` is leaf ``~c`` at
    ``leaf_start[t] + ~c``. Categorical nodes keep their bitset in
    ``cat_bits[cat_start[n]:cat_end[n]]``.
    """

    feature: np.ndarray  # int32 (nodes,)
    threshold: np.ndarray  # float64 (nodes,)
    decision: np.ndarray  # int32 (nodes,): LightGBM decision_type bits
    left: np.ndarray  # int32 (nodes,)
    right: np.ndarray  # int32 (nodes,)
    cat_start: np.ndarray  # int32 (nodes,)
    cat_end: np.ndarray  # int32 (nodes,)
    cat_bits: np.ndarray  # uint32
    leaf_value: np.ndarray  # float64 (leaves,)
    node_start: np.ndarray  # int32 (trees + 1,)
    leaf_start: np.ndarray  # int32 (trees + 1,)

    @property
    def n_trees(self) -> int:
        return len(self.node_start) - 1


def _numbers(text: str, dtype: str) -> np.ndarray:
    text = text.strip()
    return np.array(text.split(), dtype=dtype) if text else np.zeros(0, dtype=dtype)


def model_trees(booster: lgb.Booster, num_iteration: int | None, what: str
                ) -> tuple[str, list[dict[str, str]]]:
    """The header of the model text ``booster.predict`` uses and its trees' fields.

    ``num_iteration`` ``None`` is the best iteration, if the booster has one. Only
    binary models with ``sigmoid:1`` are accepted (``what`` names the reader in the
    error).
    """
    if num_iteration is None:
        num_iteration = booster.best_iteration if booster.best_iteration > 0 else -1
    text = booster.model_to_string(num_iteration=num_iteration)
    header, _, body = text.partition("\nTree=")
    if "objective=binary" not in header or "num_tree_per_iteration=1" not in header:
        raise ModelFormatError(f"{what} supports binary LightGBM models only")
    if "sigmoid:1" not in header.split("objective=")[1].split("\n")[0]:
        raise ModelFormatError(f"{what} expects the binary objective with sigmoid:1")
    body = body.split("\nend of trees")[0]
    return header, [dict(line.split("=", 1) for line in block.strip().splitlines()
                         if "=" in line) for block in ("Tree=" + body).split("\nTree=")]


def forest_from_booster(booster: lgb.Booster, num_iteration: int | None = None, *,
                        check_features: bool = True) -> Forest:
    """Parse the trees ``booster.predict`` uses (its best iteration, if it has one).

    ``check_features=False`` accepts any feature names (for rows evaluated as given,
    :mod:`wetindex.model.rowwalk`); the forecast kernels need wetindex's features.
    """
    header, blocks = model_trees(booster, num_iteration, "fast prediction")
    names = header.split("feature_names=")[1].split("\n")[0].split()
    if check_features and tuple(names) != FEATURES:
        raise ModelFormatError(f"model features {names} differ from wetindex's {list(FEATURES)}")
    parts: dict[str, list] = {k: [] for k in ("feature", "threshold", "decision", "left",
                                              "right", "cat_start", "cat_end", "leaf")}
    cat_bits: list[np.ndarray] = []
    node_start, leaf_start = [0], [0]
    n_bits = 0
    for fields in blocks:
        if fields.get("is_linear", "0") != "0":
            raise ModelFormatError("linear trees are not supported by fast prediction")
        leaves = _numbers(fields["leaf_value"], "float64")
        n_inner = int(fields["num_leaves"]) - 1
        if n_inner == 0:  # a single leaf: one always-left node on feature 0 to that leaf
            feat, thr = np.zeros(1, "int32"), np.array([np.inf])
            dec, lc, rc = np.zeros(1, "int32"), np.array([-1], "int32"), np.array([-1], "int32")
            cs = ce = np.zeros(1, "int32")
        else:
            feat = _numbers(fields["split_feature"], "int32")
            thr = _numbers(fields["threshold"], "float64")
            dec = _numbers(fields["decision_type"], "int32")
            lc = _numbers(fields["left_child"], "int32")
            rc = _numbers(fields["right_child"], "int32")
            cs, ce = np.zeros(n_inner, "int32"), np.zeros(n_inner, "int32")
            if int(fields.get("num_cat", "0")) > 0:
                bounds = _numbers(fields["cat_boundaries"], "int64")
                bits = _numbers(fields["cat_threshold"], "uint32")
                for k in np.flatnonzero(dec & CATEGORICAL):
                    ci = int(thr[k])
                    cs[k], ce[k] = n_bits + bounds[ci], n_bits + bounds[ci + 1]
                cat_bits.append(bits)
                n_bits += len(bits)
        for key, arr in zip(("feature", "threshold", "decision", "left", "right", "cat_start",
                             "cat_end", "leaf"), (feat, thr, dec, lc, rc, cs, ce, leaves),
                            strict=True):
            parts[key].append(arr)
        node_start.append(node_start[-1] + len(feat))
        leaf_start.append(leaf_start[-1] + len(leaves))
    cat = np.concatenate(cat_bits) if cat_bits else np.zeros(1, "uint32")
    return Forest(
        feature=np.concatenate(parts["feature"]).astype("int32"),
        threshold=np.concatenate(parts["threshold"]).astype("float64"),
        decision=np.concatenate(parts["decision"]).astype("int32"),
        left=np.concatenate(parts["left"]).astype("int32"),
        right=np.concatenate(parts["right"]).astype("int32"),
        cat_start=np.concatenate(parts["cat_start"]).astype("int32"),
        cat_end=np.concatenate(parts["cat_end"]).astype("int32"),
        cat_bits=cat, leaf_value=np.concatenate(parts["leaf"]).astype("float64"),
        node_start=np.array(node_start, "int32"), leaf_start=np.array(leaf_start, "int32"))


def leaf_order(left: np.ndarray, right: np.ndarray, n_leaves: int) -> tuple[np.ndarray, list]:
    """In-order position of each leaf, and the in-order leaves under each node's left child."""
    position = np.zeros(n_leaves, "int64")
    under_left: list[list[int]] = [[] for _ in range(len(left))]
    counter = [0]

    def walk(child: int) -> list[int]:
        if child < 0:
            position[~child] = counter[0]
            counter[0] += 1
            return [int(position[~child])]
        lo = walk(int(left[child]))
        under_left[child] = lo
        return lo + walk(int(right[child]))

    walk(0)
    return position, under_left
