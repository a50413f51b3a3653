"""DMI metObs, oceanObs, climateData and forecast EDR on real and recorded answers."""

from __future__ import annotations

import copy
import json

import httpx
import numpy as np
import pandas as pd
import pytest
from sources_helpers import json_response, recorded_json

from wetindex.sources import dmi_climate, dmi_forecast_edr, dmi_metobs, dmi_oceanobs
from wetindex.sources.errors import SourceError


def _metobs_pages(real_dir):
    """The real page (its next link names the legacy host), then an empty last page."""
    first = json.loads((real_dir / "dmi_metobs_observations_06074.json").read_text())
    last = {"type": "FeatureCollection", "features": [], "numberReturned": 0, "links": []}

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(last if "offset" in request.url.params else first)
    return first, handler


def test_metobs_pages_on_the_catalog_host_and_parses_real_rain(make_session, real_dir):
    _first, handler = _metobs_pages(real_dir)
    session, rec, _ = make_session("dmi_metobs", handler)
    rain = dmi_metobs.fetch_rain(session, "2022-03-13T05:00", "2022-03-13T07:00",
                                 station_ids=["06074"])
    assert [r.url.host for r in rec.requests] == ["opendataapi.dmi.dk"] * 2
    assert rec.requests[0].url.params["parameterId"] == "precip_past1h"
    assert rec.requests[0].url.params["datetime"] == "2022-03-13T05:00:00Z/2022-03-13T07:00:00Z"
    assert rec.requests[1].url.params["offset"] == "100"          # from links rel=next
    assert rain.attrs["units"] == "mm/h" and rain.attrs["source"] == "dmi_metobs"
    assert rain.sizes == {"time": 1, "station": 1}
    assert str(rain.time.values[0])[:16] == "2022-03-13T06:00"
    assert float(rain.lon[0]) == pytest.approx(10.1353) and float(rain.values[0, 0]) == 0.0


def test_ten_minute_rain_sums_complete_hours_only():
    def f(t, v):
        return {"geometry": {"type": "Point", "coordinates": [9.8, 57.1]},
                "properties": {"observed": t, "parameterId": "precip_past10min",
                               "stationId": "06031", "value": v}}
    full = [f(f"2024-01-01T00:{m:02d}:00Z", 0.5) for m in (10, 20, 30, 40, 50)]
    full.append(f("2024-01-01T01:00:00Z", -0.1))                      # trace = 0
    part = [f(f"2024-01-01T01:{m:02d}:00Z", 1.0) for m in (10, 20, 30)]
    rain = dmi_metobs.rain_from_features(full + part, "precip_past10min", source="s",
                                         request="r")
    assert rain.sel(time="2024-01-01T01:00").item() == pytest.approx(2.5)
    assert np.isnan(rain.sel(time="2024-01-01T02:00").item())         # 3 of 6: unknown


def _feature(**props):
    return {"geometry": {"type": "Point", "coordinates": [9.8, 57.1]},
            "properties": {"observed": "2024-01-01T01:00:00Z", "parameterId": "precip_past1h",
                           "stationId": "06031", "value": 1.0, **props}}


@pytest.mark.parametrize("features, message", [
    ([], "empty answer"),
    ([_feature(value=-3.0)], "negative rain -3.0"),
    ([{"geometry": None, "properties": {"observed": "2024-01-01T01:00:00Z",
                                        "parameterId": "precip_past1h", "stationId": "06031",
                                        "val": 1.0}}],
     "changed schema: feature 0 has no field 'value'"),
])
def test_metobs_bad_answers_are_one_clear_error(features, message):
    with pytest.raises(SourceError) as err:
        dmi_metobs.rain_from_features(features, "precip_past1h", source="dmi_metobs",
                                      request="GET https://opendataapi.dmi.dk/...")
    assert message in str(err.value) and "what to do" in str(err.value)


def test_metobs_empty_feature_collection_over_http(make_session):
    empty = {"type": "FeatureCollection", "features": [], "links": []}
    session, _, _ = make_session("dmi_metobs", lambda r: json_response(empty))
    with pytest.raises(SourceError, match="empty answer") as err:
        dmi_metobs.fetch_rain(session, "2024-01-01", "2024-01-02", station_ids=["06031"])
    assert "stationId=06031" in str(err.value)


def test_oceanobs_sea_level_in_metres_above_dvr90(make_session):
    doc = recorded_json("dmi_oceanobs_sealev_dvr_20047.json")
    session, rec, _ = make_session("dmi_oceanobs", lambda r: json_response(doc))
    level = dmi_oceanobs.fetch_sea_level(session, ["20047"], "2023-10-26T09:00",
                                         "2023-10-26T10:00")
    assert rec.requests[0].url.params["parameterId"] == "sealev_dvr"
    np.testing.assert_allclose(level.sel(station="20047").values, [-0.28, -0.29, -0.30, -0.31])
    assert level.attrs["units"] == "m" and level.attrs["datum"] == "DVR90"


def test_oceanobs_sea_level_of_50_m_is_refused():
    doc = recorded_json("dmi_oceanobs_sealev_dvr_20047.json")
    doc["features"][2]["properties"]["value"] = 5000.0
    with pytest.raises(SourceError, match=r"sea level 50.00 m above DVR90 \(5000 cm as sent\)"):
        dmi_oceanobs.sea_level_from_features(doc["features"], "sealev_dvr", source="dmi_oceanobs",
                                             request="r")


def test_climate_grid_evaporation(make_session):
    doc = recorded_json("dmi_climate_10km_makkink.json")
    session, rec, _ = make_session("dmi_climate", lambda r: json_response(doc))
    evap = dmi_climate.fetch_grid_values(session, "pot_evaporation_makkink", "2023-06-01",
                                         "2023-06-03", (9.0, 57.0, 9.9, 57.4))
    assert rec.requests[0].url.path.endswith("/collections/10kmGridValue/items")
    assert rec.requests[0].url.params["timeResolution"] == "day"
    assert evap.name == "evaporation" and evap.attrs["units"] == "mm/d"
    assert evap.sel(cell="10km_634_53", time="2023-06-02").item() == pytest.approx(2.6)
    assert float(evap.lat.sel(cell="10km_634_52")) == pytest.approx(57.2)


def test_harmonie_rain_is_deaccumulated(make_session):
    doc = recorded_json("dmi_edr_harmonie_cube.json")
    session, rec, _ = make_session("dmi_forecast_edr", lambda r: json_response(doc))
    rain = dmi_forecast_edr.fetch_harmonie_rain(session, bbox=(9.2, 57.0, 9.6, 57.2))
    assert rec.requests[0].url.path.endswith("/collections/harmonie_dini_sf/cube")
    assert rec.requests[0].url.params["f"] == "GeoJSON"
    assert rain.attrs["units"] == "mm/h"
    # accumulated 0, 0.4, 1.4, 1.4, 3.9 → hours ending 01..04: 0.4, 1.0, 0.0, 2.5
    np.testing.assert_allclose(rain.isel(point=0).values, [0.4, 1.0, 0.0, 2.5], atol=1e-9)
    np.testing.assert_allclose(rain.isel(point=1).values, [0.0, 0.2, 0.5, 0.0], atol=1e-9)
    assert str(rain.time.values[0])[:13] == "2023-10-26T01"


def test_deaccumulation_without_step_zero_needs_the_run_start():
    doc = recorded_json("dmi_edr_harmonie_cube.json")
    doc["features"] = [f for f in doc["features"] if not f["properties"]["step"].endswith(
        "T00:00:00.000Z")]
    ds = dmi_forecast_edr.edr_dataset(doc, ["total-precipitation"], source="s", request="r")
    acc = ds["precipitation_accumulated"]
    dropped = dmi_forecast_edr.deaccumulate(acc, source="s", request="r")
    kept = dmi_forecast_edr.deaccumulate(acc, source="s", request="r",
                                         run_start="2023-10-26T00:00Z")
    assert dropped.sizes["time"] == 3 and kept.sizes["time"] == 4
    assert kept.isel(point=0, time=0).item() == pytest.approx(0.4)


def test_deaccumulation_refuses_falling_totals():
    doc = recorded_json("dmi_edr_harmonie_cube.json")
    doc["features"][3]["properties"]["total-precipitation"] = 0.2
    ds = dmi_forecast_edr.edr_dataset(doc, ["total-precipitation"], source="s", request="r")
    with pytest.raises(SourceError, match=r"accumulated rain falls by 1.20 mm"):
        dmi_forecast_edr.deaccumulate(ds["precipitation_accumulated"], source="s", request="r")


def test_dkss_surge_in_metres_and_renamed_parameter(make_session):
    doc = recorded_json("dmi_edr_dkss_position.json")
    session, rec, _ = make_session("dmi_forecast_edr", lambda r: json_response(doc))
    level = dmi_forecast_edr.fetch_surge(session, point=(9.5, 57.2), collection="dkss_lf")
    assert rec.requests[0].url.params["coords"] == "POINT(9.50000 57.20000)"
    assert rec.requests[0].url.path.endswith("/collections/dkss_lf/position")
    np.testing.assert_allclose(level.isel(point=0).values, [0.12, 0.35, 0.61, 0.48])
    assert level.attrs["units"] == "m" and "not DVR90" in level.attrs["datum"]
    renamed = copy.deepcopy(doc)
    for f in renamed["features"]:
        f["properties"]["sea-mean-dev"] = f["properties"].pop("sea-mean-deviation")
    with pytest.raises(SourceError, match="changed schema: feature 0 has no 'sea-mean-deviation'"):
        dmi_forecast_edr.edr_dataset(renamed, ["sea-mean-deviation"], source="s", request="r")


def test_dkss_surge_in_centimetres_is_refused(make_session):
    doc = recorded_json("dmi_edr_dkss_position.json")
    for f in doc["features"]:
        f["properties"]["sea-mean-deviation"] *= 100
    session, _, _ = make_session("dmi_forecast_edr", lambda r: json_response(doc))
    with pytest.raises(SourceError, match=r"deviation of 61.0 m"):
        dmi_forecast_edr.fetch_surge(session, point=(9.5, 57.2))


def test_coveragejson_answer_is_refused():
    with pytest.raises(SourceError, match="CoverageJSON"):
        dmi_forecast_edr.edr_dataset({"type": "Coverage", "domain": {}}, ["total-precipitation"],
                                     source="s", request="r")


def test_utc_times():
    t = pd.Timestamp("2024-06-01T12:00+02:00")
    from wetindex.sources.observations import rfc3339_interval
    assert rfc3339_interval(t, None) == "2024-06-01T10:00:00Z/.."
