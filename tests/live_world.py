"""A small recorded Jammerbugt for the live-area tests, served from a loopback HTTP server.

The answers have the providers' documented shapes (SOURCES.md): DMI metObs/oceanObs/
climateData GeoJSON FeatureCollections (metObs features copied from the real recorded
answer of station 06074), the forecast EDR ``/instances`` list and GeoJSON ``cube``/
``position`` answers per model run, a DHM WCS GeoTIFF, the DAGI WFS answer built from
the real 2014 DAGI file (municipality 0849 clipped to a 3 × 3 km box at the coast so
the test is fast), and Open-Meteo in the shape of the real recorded forecast.

The weather: 90 days of showers with three storms (rain and a surge) and one at the
end, inside the forecast window. The server has a clock (``now``): a model run is
listed from 1 h 45 min after its run time, an observation once it is observed,
climateData a day late. ``faults`` holds answers to give instead of the real one
(matched by path substring, used once each); ``requests`` lists every path asked.
"""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

#: the shared real samples beside the repository (a worktree may name them by WETINDEX_REAL)
REAL = Path(os.environ.get("WETINDEX_REAL")
            or Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real")
START = pd.Timestamp("2025-10-10T00:00")
END = pd.Timestamp("2026-01-20T00:00")
#: storms: peak times (the last one is in the forecast window of the tests' issue time)
STORMS = [pd.Timestamp("2025-11-02T12:00"), pd.Timestamp("2025-11-25T06:00"),
          pd.Timestamp("2025-12-15T18:00"), pd.Timestamp("2025-12-29T03:00"),
          pd.Timestamp("2026-01-11T06:00")]
#: the area's box (EPSG:25832) around a stretch of the Jammerbugt coast near Blokhus
BOX = (533_000.0, 6_343_500.0, 536_000.0, 6_346_500.0)
#: the synthetic coastline (northing) and the hollow inland
COAST_Y = 6_345_600.0
HOLLOW = (534_500.0, 6_344_300.0)
GAUGE = (9.575, 57.272)
RAIN_STATIONS = {"06031": (9.87, 57.10, "Tylstrup"), "06030": (9.85, 57.09, "Aalborg"),
                 "06041": (10.6, 57.73, "Skagen Fyr")}


def hours() -> pd.DatetimeIndex:
    return pd.date_range(START, END, freq="1h")


def true_weather() -> pd.DataFrame:
    """Hourly truth: rain [mm/h], sea level [m DVR90], evaporation [mm/d]."""
    t = hours()
    rng = np.random.default_rng(3)
    rain = np.where(rng.random(len(t)) < 0.06, rng.gamma(1.2, 0.8, len(t)), 0.0)
    tide = 0.15 * np.sin(2 * np.pi * np.arange(len(t)) / 12.42)
    surge = np.zeros(len(t))
    for peak in STORMS:
        dh = (t - peak) / pd.Timedelta(hours=1)
        rain += 9.0 * np.exp(-0.5 * (dh / 5.0) ** 2)
        surge += 1.3 * np.exp(-0.5 * (dh / 10.0) ** 2)
    evap = 0.4 + 0.2 * np.sin(2 * np.pi * t.day_of_year / 365.25)
    return pd.DataFrame({"rain": rain.round(1), "sea_level": tide + surge,
                         "evaporation": evap}, index=t)


def area_polygon():
    """The real Jammerbugt (0849) polygon clipped to :data:`BOX`, EPSG:25832."""
    import geopandas as gpd
    from shapely.geometry import box

    frame = gpd.read_file(REAL / "dagi_kommuner_2014_generalised.geojson")
    frame = frame[frame["KOMKODE"].astype(str).str.zfill(4) == "0849"].to_crs("EPSG:25832")
    return frame.geometry.union_all().intersection(box(*BOX))


def elevation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Terrain [m DVR90]: rising inland from the coast at the north, with a hollow."""
    inland = (COAST_Y - y) / 1000.0
    hollow = 1.5 * np.exp(-(((x - HOLLOW[0]) / 400) ** 2 + ((y - HOLLOW[1]) / 400) ** 2))
    return (0.2 + 2.5 * inland - hollow).astype("float32")


def labels_file(folder: Path) -> Path:
    """Observed water: polygons with times (storm hours wet where terrain is low), each
    time with the pass's footprint (``water`` 0: seen, dry where no water polygon is)."""
    import geopandas as gpd
    from shapely.geometry import box

    weather = true_weather()
    rows = []
    low = box(HOLLOW[0] - 400, HOLLOW[1] - 400, HOLLOW[0] + 400, HOLLOW[1] + 400)
    coast = box(BOX[0], COAST_Y - 400, BOX[2], COAST_Y)  # the low coastal strip
    footprint = box(*BOX)  # every pass sees the whole area
    for t in pd.date_range(START + pd.Timedelta(days=1), END, freq="6h"):
        wet_rain = weather["rain"].loc[t - pd.Timedelta(hours=12):t].sum() > 40
        wet_sea = weather["sea_level"].loc[t] > 0.9
        rows.append({"time": t.isoformat() + "Z", "water": 0, "geometry": footprint})
        geom = None
        if wet_rain and wet_sea:
            geom = low.union(coast)
        elif wet_rain:
            geom = low
        elif wet_sea:
            geom = coast
        if geom is not None:
            rows.append({"time": t.isoformat() + "Z", "water": 1, "geometry": geom})
    path = folder / "water.geojson"
    gpd.GeoDataFrame(rows, crs="EPSG:25832").to_file(path, driver="GeoJSON")
    return path


class LiveWorld:
    """The loopback server (see module docstring)."""

    def __init__(self, now: pd.Timestamp):
        self.now = pd.Timestamp(now)
        self.weather = true_weather()
        self.requests: list[str] = []
        self.faults: dict[str, list[tuple[int, dict[str, str], bytes]]] = {}
        self.drop_hours: set[pd.Timestamp] = set()
        real = json.loads((REAL / "dmi_metobs_observations_06074.json").read_text())
        self.metobs_template = real["features"][0]
        self.openmeteo_template = json.loads(
            (REAL / "openmeteo_forecast_hourly.json").read_text())
        world = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                world.requests.append(self.path)
                status, headers, body = world.answer(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def catalog(self, folder: Path) -> Path:
        """A copy of the repository's catalog with every base URL on this server."""
        import yaml

        repo = Path(__file__).resolve().parents[1] / "data_sources"
        folder.mkdir(parents=True, exist_ok=True)
        for path in repo.glob("*.yaml"):
            data = yaml.safe_load(path.read_text())
            data["base_url"] = f"{self.base}/{data['id']}"
            (folder / path.name).write_text(yaml.safe_dump(data, allow_unicode=True))
        return folder

    def count(self, prefix: str = "") -> int:
        return sum(r.startswith(prefix) for r in self.requests)

    # ---- routing ------------------------------------------------------------------------
    def answer(self, raw: str) -> tuple[int, dict[str, str], bytes]:
        for key, queue in self.faults.items():
            if key in raw and queue:
                return queue.pop(0)
        url = urlsplit(raw)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = url.path.strip("/").split("/")
        source, rest = parts[0], "/".join(parts[1:])
        try:
            if source == "dhm_terrain":
                return 200, {"Content-Type": "image/tiff"}, self.wcs(q)
            if source == "dagi":
                return self.json(self.dagi())
            if source in ("openmeteo_forecast", "openmeteo_archive"):
                return self.json(self.openmeteo(q))
            if rest == "collections/station/items":
                return self.json(self.stations(source))
            if rest == "collections/observation/items":
                return self.json(self.observations(source, q))
            if rest == "collections/10kmGridValue/items":
                return self.json(self.climate(q))
            if source == "dmi_forecast_edr":
                return self.json(self.edr(parts[2], parts[3:], q))
        except KeyError as err:
            return 400, {}, f"bad request: {err}".encode()
        return 404, {}, b"not found"

    @staticmethod
    def json(doc) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/geo+json"}, json.dumps(doc).encode()

    def _window(self, q) -> tuple[pd.Timestamp, pd.Timestamp]:
        s, e = q["datetime"].split("/")
        start = pd.Timestamp(s).tz_localize(None)
        end = pd.Timestamp(e).tz_localize(None)
        return start, min(end, self.now)

    def stations(self, source: str) -> dict:
        if source == "dmi_oceanobs":
            items = {"20999": (*GAUGE, "Testmåler Blokhus")}
        else:
            items = RAIN_STATIONS
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
             "properties": {"stationId": sid, "name": name, "status": "Active"}}
            for sid, (lon, lat, name) in items.items()]}

    def observations(self, source: str, q) -> dict:
        start, end = self._window(q)
        sid, parameter = q["stationId"], q["parameterId"]
        features = []
        if source == "dmi_metobs":
            lon, lat, _ = RAIN_STATIONS[sid]
            series = self.weather["rain"].loc[start:end]
            times = [t for t in series.index if t not in self.drop_hours]
            values = [float(series.loc[t]) for t in times]
        else:
            lon, lat = GAUGE
            ten = pd.date_range(start.ceil("10min"), end, freq="10min")
            level = np.interp(ten.asi8, self.weather.index.asi8, self.weather["sea_level"])
            times, values = list(ten), list(np.round(level * 100, 0))  # cm above DVR90
        for t, v in zip(times, values, strict=True):
            f = json.loads(json.dumps(self.metobs_template))
            f["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sid}{parameter}{t}"))
            f["geometry"]["coordinates"] = [lon, lat]
            f["properties"].update(observed=t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   created=t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   parameterId=parameter, stationId=sid, value=v)
            if source == "dmi_oceanobs":
                f["properties"]["qcStatus"] = "none"
            features.append(f)
        return {"type": "FeatureCollection", "features": features,
                "timeStamp": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "numberReturned": len(features), "links": []}

    def climate(self, q) -> dict:
        start, end = self._window(q)
        published = self.now.floor("1D") - pd.Timedelta(days=1)  # a day late
        days = pd.date_range(start.ceil("1D"), min(end, published), freq="1D")
        daily = self.weather["evaporation"].resample("1D").mean()
        days = days[days.isin(daily.index)]
        features = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
            [9.5, 57.2], [9.67, 57.2], [9.67, 57.29], [9.5, 57.29], [9.5, 57.2]]]},
            "properties": {"cellId": "10km_634_53", "from": d.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                           "to": (d + pd.Timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                           "parameterId": "pot_evaporation_makkink", "qcStatus": "none",
                           "timeResolution": "day", "validity": True,
                           "calculatedAt": self.now.isoformat(),
                           "created": self.now.isoformat(),
                           "value": round(float(daily.loc[d]), 2)}} for d in days]
        return {"type": "FeatureCollection", "features": features,
                "numberReturned": len(features), "links": []}

    def runs(self) -> list[pd.Timestamp]:
        last = (self.now - pd.Timedelta(minutes=105)).floor("3h")
        return list(pd.date_range(last - pd.Timedelta(hours=24), last, freq="3h"))

    def edr(self, collection: str, rest: list[str], q) -> dict:
        if rest == ["instances"]:
            return {"instances": [{"id": r.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "extent": {
                "temporal": {"interval": [[r.isoformat() + "Z",
                                           (r + pd.Timedelta(hours=60)).isoformat() + "Z"]]}}}
                for r in self.runs()], "links": []}
        run = pd.Timestamp(rest[1]).tz_localize(None)
        steps = pd.date_range(run, run + pd.Timedelta(hours=60), freq="1h")
        rng = np.random.default_rng(int(run.value // 10**9) % 2**32)
        if collection.startswith("harmonie"):
            w, s, e, n = map(float, q["bbox"].split(","))
            lons = np.arange(np.ceil(w / 0.04) * 0.04, e, 0.04)
            lats = np.arange(np.ceil(s / 0.025) * 0.025, n, 0.025)
            truth = self.weather["rain"].reindex(steps).fillna(0).to_numpy()
            features = []
            for lon in lons:
                for lat in lats:
                    hourly = truth * np.exp(rng.normal(0, 0.2, len(steps)))
                    hourly[0] = 0.0
                    acc = np.cumsum(hourly)
                    features += [{"type": "Feature", "geometry": {
                        "type": "Point", "coordinates": [round(lon, 4), round(lat, 4)]},
                        "properties": {"step": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                                       "total-precipitation": round(float(a), 3)}}
                        for t, a in zip(steps, acc, strict=True)]
            return {"type": "FeatureCollection", "features": features}
        lon, lat = (float(v) for v in q["coords"][6:-1].split())
        truth = np.interp(steps.asi8, self.weather.index.asi8, self.weather["sea_level"])
        level = truth - 0.10 + rng.normal(0, 0.03, len(steps))  # model MSL 10 cm above DVR90
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
             "properties": {"step": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            "sea-mean-deviation": round(float(v), 3)}}
            for t, v in zip(steps, level, strict=True)]}

    def openmeteo(self, q) -> dict:
        doc = json.loads(json.dumps(self.openmeteo_template))
        if "start_date" in q:  # the archive: whole days, up to the last full hour
            t = pd.date_range(q["start_date"], pd.Timestamp(q["end_date"])
                              + pd.Timedelta(hours=23), freq="1h")
            t = t[t <= self.now.floor("1h")]
        else:
            t = pd.date_range(self.now.floor("1D"), periods=72, freq="1h")
        doc.update(latitude=float(q["latitude"]), longitude=float(q["longitude"]),
                   utc_offset_seconds=0, timezone="GMT", timezone_abbreviation="GMT")
        rain = self.weather["rain"].reindex(t).fillna(0.0)
        doc["hourly"] = {"time": [x.strftime("%Y-%m-%dT%H:%M") for x in t],
                         "precipitation": [round(float(v), 1) for v in rain],
                         "et0_fao_evapotranspiration": [0.02] * len(t)}
        doc["hourly_units"] = {"time": "iso8601", "precipitation": "mm",
                               "et0_fao_evapotranspiration": "mm"}
        return doc

    def wcs(self, q) -> bytes:
        import rasterio
        from rasterio.transform import from_bounds

        x0, y0, x1, y1 = map(float, q["BBOX"].split(","))
        w, h = int(q["WIDTH"]), int(q["HEIGHT"])
        xs = x0 + (np.arange(w) + 0.5) * (x1 - x0) / w
        ys = y1 - (np.arange(h) + 0.5) * (y1 - y0) / h
        z = elevation(*np.meshgrid(xs, ys))
        buf = io.BytesIO()
        with rasterio.MemoryFile() as mem:
            with mem.open(driver="GTiff", width=w, height=h, count=1, dtype="float32",
                          crs="EPSG:25832", transform=from_bounds(x0, y0, x1, y1, w, h)) as ds:
                ds.write(z, 1)
            buf.write(mem.read())
        return buf.getvalue()

    def dagi(self) -> dict:
        from shapely.geometry import mapping

        return {"type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": mapping(area_polygon()),
            "properties": {"kommunekode": "0849", "navn": "Jammerbugt"}}],
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}}
