"""The chance search's place levels (benchmarks/choose_warning_chance.py) are the product's."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np

from wetindex.normal import warning_score

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "choose_warning_chance.py"


def _script():
    spec = importlib.util.spec_from_file_location("choose_warning_chance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_levels_from_counts_are_the_products_place_rule():
    """Any chances of the grid, also a lower level's chance above a higher one's: the
    counts per impact class give the level of replay_place_levels (≥ k cells at the
    level or above, the cells' levels from warning_score)."""
    cw = _script()
    rng = np.random.default_rng(0)
    thresholds = [0.2, 0.4, 0.7]
    n_places, leads, n_cells = 3, 6, 400
    place_of = rng.integers(-1, n_places, n_cells)
    impact = rng.choice([0.0, 0.15, 0.2, 0.3, 0.4, 0.55, 0.7, 1.0], n_cells).astype("float32")
    excess = rng.choice(np.float32([0, 0.05, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6]),
                        (leads, n_cells), p=[0.82] + [0.02] * 9)
    values = np.unique(np.float32(list(itertools.chain(*cw.GRID.values()))))
    klass = cw.impact_class(impact, thresholds)
    counts = cw.count_cells(excess, klass, place_of, n_places, values)[None]
    min_cells = np.array([3, 5, 8])
    seen = set()
    for chance in [(0.4, 0.1, 0.2), (0.2, 0.25, 0.1), (0.3, 0.15, 0.4), (0.25, 0.2, 0.15)]:
        score = warning_score(excess, impact, thresholds, chance)
        cell_level = np.zeros(score.shape, "int8")
        for value, t in enumerate(thresholds, start=1):
            cell_level[score >= t] = value
        expected = np.zeros((1, n_places, leads), "int8")
        for pi in range(n_places):
            here = cell_level[:, place_of == pi]
            for value in (1, 2, 3):
                expected[0, pi, (here >= value).sum(axis=1) >= min_cells[pi]] = value
        got = cw.place_levels(counts, values, chance, min_cells)
        assert np.array_equal(got, expected), chance
        seen |= set(np.unique(expected).tolist())
        if chance == (0.4, 0.1, 0.2):  # the ad-hoc rule is not: orange cells count for yellow
            assert not np.array_equal(cw.place_levels(counts, values, chance, min_cells,
                                                      rule="kth"), expected)
    assert seen == {0, 1, 2, 3}
