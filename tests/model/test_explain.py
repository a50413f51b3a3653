"""Each warning names its drivers: LightGBM contributions grouped into rain, sea, …"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from wetindex.features.stack import FEATURE_GROUPS, FEATURES
from wetindex.risk import group_contributions

COL = {name: i for i, name in enumerate(FEATURES)}


def _rows(n: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.normal(size=(n, len(FEATURES))).astype("float32")
    x[:, COL["land_cover"]] = rng.integers(0, 3, n)
    x[:, COL["sea_margin"]] = rng.uniform(-3, 1, n)
    x[:, COL["sea_margin_max_24h"]] = x[:, COL["sea_margin"]] + rng.uniform(0, 0.3, n)
    x[:, COL["rain_6h"]] = rng.exponential(8, n)
    x[:, COL["rain_24h"]] = x[:, COL["rain_6h"]] + rng.exponential(5, n)
    return x


def test_sea_driven_warning_names_sea_and_rain_driven_names_rain():
    rng = np.random.default_rng(0)
    x = _rows(20_000, rng)
    # a cell floods when the sea stands above it, or in a cloudburst
    y = ((x[:, COL["sea_margin"]] > 0) | (x[:, COL["rain_6h"]] > 30)).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15,
                         "num_threads": 1}, lgb.Dataset(x, y, feature_name=list(FEATURES)),
                        num_boost_round=60)
    sea_case = _rows(50, rng)
    sea_case[:, COL["sea_margin"]] = 0.6
    sea_case[:, COL["sea_margin_max_24h"]] = 0.7
    sea_case[:, [COL["rain_6h"], COL["rain_24h"]]] = 0.0
    rain_case = _rows(50, rng)
    rain_case[:, COL["sea_margin"]] = -2.5
    rain_case[:, COL["sea_margin_max_24h"]] = -2.4
    rain_case[:, COL["rain_6h"]] = 45.0
    rain_case[:, COL["rain_24h"]] = 50.0
    assert booster.predict(sea_case).min() > 0.5 and booster.predict(rain_case).min() > 0.5
    for case, expected in ((sea_case, "sea"), (rain_case, "rain")):
        contrib = booster.predict(case, pred_contrib=True)
        shares = group_contributions(contrib, FEATURES, FEATURE_GROUPS)
        assert max(shares, key=shares.get) == expected, shares
        assert abs(sum(shares.values()) - 1) < 0.01
