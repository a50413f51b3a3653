"""Sparse satellite labels and an area without rain (issue #22, the rest).

The area is made in code (:mod:`operator_world`) with ``wet_ground``: labels at 05 and
17 UTC every third day (255 for a cloud band on the morning passes), a meadow wet on
three passes of four, a hollow wet after each rain event. A second area has sea level
and no rain at all. Wrong products these tests catch: a normal or a climatology taken
at a fixed hour (always 0 here), NaN lead bins, bins without case counts, a verdict
from an empty bin, rain read as 0 mm where there is none, a sea-only area refused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import operator_world as ow
from local_area import synthetic_model

from wetindex.cli import app
from wetindex.commands.area import load_area
from wetindex.forecast_io import open_forecast
from wetindex.freshness import family_ends
from wetindex.model.evaluate import evaluate, label_climatology, lead_bins
from wetindex.model.label_times import (
    bin_cases,
    case_lines,
    sample_by_month,
    verification_issues,
)
from wetindex.normal import seasonal_normal
from wetindex.sources.local import LocalInputs
from wetindex.stages.context import AreaContext
from wetindex.stages.static import build_static

DAYS = 70
NOW = "2025-03-11T23:30Z"  # the wet-ground world's inputs end 2025-03-11 23:00
TRAIN = (pd.Timestamp("2025-02-08T00:00"), pd.Timestamp("2025-02-24T00:00"))
HOLDOUT = (pd.Timestamp("2025-03-01T00:00"), pd.Timestamp("2025-03-08T21:00"))
#: a short training period for the verification test: the issue-time reference trains on it
EV_TRAIN = (pd.Timestamp("2025-02-17T00:00"), pd.Timestamp("2025-02-24T00:00"))


def _init(root: Path, name: str, files: dict[str, Path]) -> None:
    args = ["init", "--aoi", str(files["boundary"]), "--name", name, "--root", str(root),
            "--margin-m", "0", "--input", "groundwater=1.5"]
    for kind in ("terrain", "rain", "sea_level", "evaporation", "dikes", "labels", "water",
                 "streams"):
        if kind in files:
            args += ["--input", f"{kind}={files[kind]}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    path = root / "areas" / f"{name}.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["inputs"]["dikes"] = {"path": cfg["inputs"]["dikes"], "variable": "DIGE_KOTE",
                              "units": "cm"}
    path.write_text(yaml.safe_dump(cfg))


@pytest.fixture(scope="module")
def project(tmp_path_factory, project_root: Path) -> Path:
    root = tmp_path_factory.mktemp("sparse")
    (root / "models").mkdir()
    for link, target in (("pipelines", "pipelines"), ("web", "web"),
                         ("models/configs", "models/configs")):
        (root / link).symlink_to(project_root / target)
    _init(root, "vaad", ow.write_files(root / "vaad", days=DAYS, wet_ground=True))
    sea_only = ow.write_files(root / "hav", with_rain=False)
    assert "rain" not in sea_only
    _init(root, "hav", sea_only)
    return root


@pytest.fixture(scope="module")
def wet(project) -> LocalInputs:
    return LocalInputs(load_area(project, "vaad"), project)


def test_label_times_are_the_passes_and_a_fixed_hour_sees_none(wet):
    hours = wet.label_times(np.datetime64(TRAIN[0]), np.datetime64(TRAIN[1]))
    assert len(hours) > 0 and set(hours.hour) == {5, 17}
    # what the normal and the climatology sampled before: noon (or midnight) every day
    noon = pd.date_range(TRAIN[0] + pd.Timedelta(hours=12), TRAIN[1], freq="24h")
    assert (wet.labels(noon.values, np.arange(wet.grid.nx * wet.grid.ny)) == -1).all()


def test_the_normal_is_taken_at_the_passes(wet):
    cells = np.arange(wet.grid.nx * wet.grid.ny)
    normal = seasonal_normal(wet, cells, wet.grid.shape, TRAIN)
    feb = normal.sel(month=2).values
    meadow = feb[ow.meadow_mask()]
    assert 0.6 <= meadow.min() and meadow.max() <= 0.9, "wet on three passes of four"
    assert feb[ow.hollow_mask()].min() > 0.2  # wet after each weekly rain
    assert feb[ow.lake_mask()].max() == 0.0  # permanent water is not a label of flooding
    assert feb[:, 16:36].max() == 0.0  # the polder is normally dry
    assert normal.attrs["label_times"] == len(wet.label_times(np.datetime64(TRAIN[0]),
                                                              np.datetime64(TRAIN[1])))


def test_hourly_labels_keep_the_daily_noon_sample():
    hours = pd.date_range("2025-01-01T00:00", "2025-02-28T23:00", freq="h")
    picked = sample_by_month(hours, 45, hour=12)
    assert set(picked) == {1, 2}
    assert set(picked[1].hour) == {12} and len(picked[1]) == 31  # the demo's meaning
    sparse = hours[(hours.hour == 5) | (hours.hour == 17)][::6]
    assert sample_by_month(sparse, 45)[2].equals(sparse[sparse.month == 2])  # every pass


def test_a_bin_no_label_falls_in_is_named_with_its_reason():
    issues = pd.date_range("2025-02-01T00:00", "2025-02-05T00:00", freq="12h")
    hours = pd.date_range("2025-02-01T05:00", "2025-02-08T05:00", freq="12h")  # 05, 17
    bins = lead_bins(48)
    _, leads, every = verification_issues(issues, hours, 48, 1, bins)
    assert every and {int(x) for k in leads for x in k} == {5, 17, 29, 41}
    lead = np.concatenate(leads)
    cases = bin_cases(lead, np.arange(len(lead)), np.zeros(len(lead)),
                      np.zeros(len(lead)), bins)
    empty = [c for c in cases if c["cases"] == 0]
    assert [c["bin"] for c in empty] == ["6-12", "18-24", "30-36", "42-48"]
    assert empty[0]["reason"] == "no label falls in leads 7–12 h at these issue times"
    assert "no water seen" in cases[0]["reason"]


def test_verification_on_passes_has_every_bin_with_cases(project, wet, monkeypatch):
    monkeypatch.setenv("WETINDEX_NOW", NOW)
    ctx = AreaContext(load_area(project, "vaad"), project)
    static = build_static(ctx, wet)
    model = synthetic_model(HOLDOUT[0])
    ev = evaluate(model.booster, wet, static, holdout=HOLDOUT, train=EV_TRAIN,
                  screen=model.metadata["screen"], thresholds=[0.2, 0.4, 0.7], n_cells=400,
                  issue_step_h=24, with_events=False)
    assert ev["lead_bins"] == [f"{lo}-{hi}" for lo, hi in lead_bins(48)]
    assert ev["bins_without_cases"] == []
    assert "every issue time" in ev["verified_at"]  # 24-hourly issues would miss half
    for case in ev["cases"]:
        assert case["valid_times"] >= 3 and case["cells"] > 0 and case["cases"] > 0
        assert case["wet"] > 0 and case["reason"] is None
    assert sum(c["cases"] for c in ev["cases"]) == ev["n_rows"]
    table = "\n".join(case_lines(ev))
    assert "| 42-48 | " in table and "not scored" not in table
    for method, scores in ev["scores"].items():
        for ref in ev["references"]:
            assert not np.isnan(scores[f"bss_{ref}"]).any(), (method, ref)
    # the same-month climatology saw the meadow (wet on 5 of the 6 passes of EV_TRAIN):
    # it is not "never wet" in disguise
    clim, never = ev["scores"]["climatology_month"]["brier"], ev["scores"]["never_wet"]["brier"]
    assert all(c != n for c, n in zip(clim, never, strict=True))
    meadow = np.flatnonzero(ow.meadow_mask().ravel())
    all_seasons, by_month = label_climatology(wet, meadow, EV_TRAIN)
    assert np.allclose(by_month[2], 5 / 6) and np.allclose(all_seasons, 5 / 6)


def test_a_sea_only_area_checks_and_forecasts_the_surge(project, monkeypatch):
    monkeypatch.setenv("WETINDEX_NOW", "2025-02-09T22:30Z")
    runner = CliRunner()
    out = runner.invoke(app, ["check", "--area", "hav", "--root", str(project)])
    assert out.exit_code == 0, out.output
    assert "rain is not an input of this area" in out.output and "FAIL" not in out.output
    inputs = LocalInputs(load_area(project, "hav"), project)
    assert "rain" not in family_ends(inputs)  # no rain feed to wait for
    assert np.isnan(inputs.observed(np.datetime64("2025-02-09T00:00"),
                                    np.datetime64("2025-02-09T21:00"))["rain"].values).all()
    assert any(a.name == "rain: not an input of this area" for a in inputs.attributions())
    for stage in ("static", "forecast"):
        result = runner.invoke(app, ["run", stage, "--area", "hav", "--root", str(project),
                                     "--method", "physical", "--issue-time", "2025-02-09T21:00"])
        assert result.exit_code == 0, result.output
    area = project / "var" / "hav"
    latest = area / "forecasts" / (area / "forecasts" / "LATEST").read_text().strip()
    ds = open_forecast(latest)  # levels in forecast.nc, fractions in the GeoTIFFs
    assert ds["probability"].values[:, :, 16:36].max(axis=0).min() > 0.9  # the polder floods
    assert int(ds["level"].values[:, :, 16:36].max()) == 3
    assert "rain is not an input" in ds.attrs["method_note"]
    physical = json.loads((latest / "physical.json").read_text())
    assert physical["rain_forecast_mm"] is None  # not 0 mm, and no rain made up by the spread
    status = json.loads((latest / "status.json").read_text())
    assert "rain" not in [i["name"] for i in status["inputs"]]
    card = (project / "models" / "hav" / "physical" / "model_card.md")
    assert "Rain: rain is not an input of this area" in card.read_text()


def test_the_history_rule_is_said_as_a_rule(wet):
    from wetindex.model.label_times import check_labelled_history

    check_labelled_history(wet, (pd.Timestamp("2025-01-02"), pd.Timestamp("2025-02-20")))
    with pytest.raises(ValueError, match=r"rule: training needs at least 30 days of labelled "
                                         r"history before the hold-out .*the labels cover "
                                         r"2025-02-0\d 05:00 – "):
        check_labelled_history(wet, (pd.Timestamp("2025-02-01"), pd.Timestamp("2025-02-20")))


def test_a_label_store_adds_its_scenes_hours_to_the_files(wet):
    from wetindex.model.label_store import LabelledInputs, LabelStore
    from wetindex.model.labels import LabelMap

    scene = pd.Timestamp("2025-02-10T10:20")  # a Sentinel-1 pass, between the file's passes
    store = LabelStore(wet.grid).add(LabelMap(np.zeros(wet.grid.shape, "int8"), scene, scene,
                                              "sentinel1", 0.9, "S1A_test"))
    both = LabelledInputs(wet, store)
    hours = both.label_times(np.datetime64("2025-02-09T00:00"), np.datetime64("2025-02-12T00:00"))
    own = wet.label_times(np.datetime64("2025-02-09T00:00"), np.datetime64("2025-02-12T00:00"))
    # the scene labels 10:00 and 11:00 (its 1 h tolerance), the file its passes at 05 and 17
    assert set(hours) == set(own) | {pd.Timestamp("2025-02-10T10:00"),
                                     pd.Timestamp("2025-02-10T11:00")}
    clear = 30 * wet.grid.nx + np.arange(40, 45)  # below the cloud band of the morning passes
    assert (both.labels(hours.values, clear) >= 0).all()  # every hour it names is known
