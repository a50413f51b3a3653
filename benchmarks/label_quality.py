"""Quality of the water labels: IoU, precision, recall of water and the share left unknown.

Run: ``python benchmarks/label_quality.py`` (from the repository; the real samples are
read from ``../shared/fixtures/real/`` or ``--real DIR``). Results go to
``benchmarks/results/label_quality.json`` and ``label_quality.md``.

Scenes:

- ``test S1 SAFE`` / ``test S2 L2A``: the product structures made in code by the tests
  (``tests/model/satellite_fixtures.py``), through the full readers.
- ``Padova EMS geometry``: the real observed flood of EMSR332 (2 Nov 2018) as truth,
  with *synthetic* Sentinel-1 backscatter on it (water −19 dB, land fields drawn
  around −10 dB, 4.4-look speckle): real flood shapes and a real, small water share,
  not real radiometry. Once over the whole area of interest (little water) and
  once over a 6 km window around the flood.
- ``Baltic WorldCover geometry``: the real WorldCover water (class 80) as truth, the
  same synthetic backscatter; then the same scene with WorldCover as the
  permanent-water mask (those cells become class 2, not flood labels).

Each radar scene is scored with the current mask (doubt band, edge band, fallback
that never makes doubtful cells dry) and with the earlier one (bare Otsu, fixed
fallback, everything not water dry) for comparison. Scores count only cells the
mask labels: recall = water labelled water / water labelled at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "model"))

from wetindex.grid import AreaGrid  # noqa: E402
from wetindex.model.label_vectors import (  # noqa: E402
    read_ems_observations,
)
from wetindex.model.labels import (  # noqa: E402
    DRY,
    PERMANENT,
    UNKNOWN,
    WET,
    db_to_linear,
    lee_filter,
    linear_to_db,
    otsu_threshold,
    permanent_water_from_worldcover,
    sentinel1_water,
)


def scores(mask: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    truth = np.asarray(truth, bool)
    tp = int(((mask == WET) & truth).sum())
    fp = int(((mask == WET) & ~truth).sum())
    fn = int(((mask == DRY) & truth).sum())
    unknown = float((mask == UNKNOWN).mean())
    return {"iou": tp / max(tp + fp + fn, 1), "precision": tp / max(tp + fp, 1),
            "recall": tp / max(tp + fn, 1), "unknown": unknown,
            "unknown_of_water": float((mask[truth] == UNKNOWN).mean()) if truth.any() else 0.0,
            "permanent": float((mask == PERMANENT).mean()), "water_share": float(truth.mean())}


def earlier_mask(vv_db: np.ndarray) -> np.ndarray:
    """The mask before issue #17: Otsu or a −18 dB fallback, every other cell dry."""
    vv = linear_to_db(lee_filter(db_to_linear(vv_db), 5))
    try:
        t = otsu_threshold(vv)
    except ValueError:
        t = np.nan
    if not -26.0 <= t <= -12.0:
        t = -18.0
    out = np.where(vv < t, WET, DRY).astype("int8")
    out[~np.isfinite(vv)] = UNKNOWN
    return out


def synthetic_backscatter(truth: np.ndarray, seed: int, field_cells: int = 10) -> np.ndarray:
    """σ⁰ [dB]: water −19 dB, land fields N(−10, 2.5) dB, 4.4-look speckle."""
    rng = np.random.default_rng(seed)
    ny, nx = truth.shape
    fields = rng.normal(-10.0, 2.5, (ny // field_cells + 1, nx // field_cells + 1))
    land = np.kron(fields, np.ones((field_cells, field_cells)))[:ny, :nx]
    mean = np.where(truth, -19.0 + rng.normal(0, 1.0, truth.shape), land)
    return 10 * np.log10(db_to_linear(mean) * rng.gamma(4.4, 1 / 4.4, truth.shape))


def radar_rows(name: str, truth: np.ndarray, seed: int,
               permanent: np.ndarray | None = None) -> list[dict]:
    db = synthetic_backscatter(truth, seed)
    mask, facts = sentinel1_water(db, permanent_water=permanent)
    rows = [{"scene": name, "mask": "current", "fallback": facts["fallback"],
             "threshold_db": round(facts["vv_threshold_db"], 2), **scores(mask, truth)}]
    if permanent is None:
        rows.append({"scene": name, "mask": "earlier", **scores(earlier_mask(db), truth)})
    return rows


def test_scenes() -> list[dict]:
    from satellite_fixtures import make_s1_grd_safe, make_s2_l2a_granule

    from wetindex.model.label_build import sentinel1_label, sentinel2_label

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        grid = AreaGrid("EPSG:25832", 10.0, 499_700.0, 6_300_500.0, 60, 60)
        label = sentinel1_label(make_s1_grd_safe(Path(tmp) / "s1"), grid)
        truth = np.broadcast_to(grid.x[None, :] < 500_000, grid.shape)
        rows.append({"scene": "test S1 SAFE (50 % water)", "mask": "current",
                     **scores(label.values, truth)})
        grid2 = AreaGrid("EPSG:25832", 20.0, 499_700.0, 6_300_500.0, 30, 30)
        label = sentinel2_label(make_s2_l2a_granule(Path(tmp) / "s2", west=499_600.0,
                                                    water_cols=40), grid2)
        truth = np.broadcast_to(grid2.x[None, :] < 500_000, grid2.shape)
        rows.append({"scene": "test S2 L2A (cloud band)", "mask": "current",
                     **scores(label.values, truth)})
    return rows


def padova(real: Path) -> list[dict]:
    folder = real / "ems_padova_EMSR332"
    rows = []
    whole = AreaGrid("EPSG:32632", 50.0, 700_000.0, 5_052_000.0, 1200, 1000)
    (first, *_) = read_ems_observations(folder, whole)
    seen = first.values != UNKNOWN
    truth = first.values == WET
    rows += [dict(r, scene="Padova EMS geometry, area of interest, 50 m")
             for r in radar_rows("", np.where(seen, truth, False), 1)]
    # the 6 km window with the most flood water, at 20 m
    from scipy import ndimage

    density = ndimage.uniform_filter(truth.astype("float64"), 120, mode="constant")
    iy, ix = np.unravel_index(int(np.argmax(density)), density.shape)
    cx, cy = whole.x[ix], whole.y[iy]
    win = AreaGrid("EPSG:32632", 20.0, cx - 3000, cy + 3000, 300, 300)
    (first_w, *_) = read_ems_observations(folder, win)
    truth_w = first_w.values == WET
    rows += [dict(r, scene="Padova EMS geometry, 6 km window, 20 m")
             for r in radar_rows("", truth_w, 2)]
    return rows


def baltic(real: Path) -> list[dict]:
    grid = AreaGrid("EPSG:32633", 20.0, 338_000.0, 6_047_000.0, 1000, 880)
    water = permanent_water_from_worldcover(real / "worldcover_baltic.tif", grid)
    rows = [dict(r, scene="Baltic WorldCover geometry, 20 m") for r in radar_rows("", water, 3)]
    rows += [dict(r, scene="Baltic, WorldCover as permanent water", mask="current+permanent")
             for r in radar_rows("", water, 3, permanent=water)]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "fixtures" / "real")
    args = parser.parse_args()
    rows = test_scenes()
    if args.real.exists():
        rows += padova(args.real) + baltic(args.real)
    else:
        print(f"real samples not found at {args.real}: only the test scenes")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "label_quality.json").write_text(json.dumps(rows, indent=2))
    lines = ["| scene | mask | water share | IoU | precision | recall | unknown | water left "
             "unknown | permanent | fallback |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['scene']} | {r['mask']} | {r['water_share']:.1%} | {r['iou']:.2f} | "
            f"{r['precision']:.2f} | {r['recall']:.2f} | {r['unknown']:.1%} | "
            f"{r['unknown_of_water']:.1%} | {r['permanent']:.1%} | {r.get('fallback', '')} |")
    (out / "label_quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
