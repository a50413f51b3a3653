"""Area configuration: validated data loaded from YAML.

One file per area. Unknown keys are errors that name the key and the file, so a
typo never silently falls back to a default. The resolved configuration is saved
beside every model and forecast (:func:`AreaConfig.resolved_yaml`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

if TYPE_CHECKING:
    import pandas as pd


class ConfigError(ValueError):
    """A configuration file that cannot be used, with what to change."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridConfig(_Strict):
    """The area grid (see :class:`wetindex.grid.AreaGrid`)."""

    crs: str = "EPSG:25832"
    cell_size: float = Field(10.0, gt=0)
    x_min: float
    y_max: float
    nx: int = Field(gt=1)
    ny: int = Field(gt=1)


class DemoConfig(_Strict):
    """Size and seed of the built-in demo world."""

    size_m: float = Field(10_000.0, gt=0)
    cell_size: float = Field(10.0, gt=0)
    years: float = Field(3.0, gt=0)
    seed: int = 42
    start: str = "2023-01-01T00:00"
    #: an overtopping storm this many hours after the history ends (none when unset)
    storm_ahead_h: int | None = Field(None, ge=1, le=47)


class Thresholds(_Strict):
    """Warning score at which each level starts: the impact the level's water must have.

    The warning score of a cell (:func:`wetindex.normal.warning_score`) reaches a
    level's threshold exactly when the impact of new water there reaches it and its
    chance of new water reaches the level's :class:`WarningChance`.
    """

    yellow: float = Field(0.2, gt=0, lt=1)
    orange: float = Field(0.4, gt=0, lt=1)
    red: float = Field(0.7, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not self.yellow < self.orange < self.red:
            raise ValueError(
                f"thresholds must rise from yellow to red, got yellow={self.yellow}, "
                f"orange={self.orange}, red={self.red}"
            )
        return self

    def as_list(self) -> list[float]:
        return [self.yellow, self.orange, self.red]


class WarningChance(_Strict):
    """Chance of new water a cell needs for each level, on land whose impact reaches it.

    The warning levels are a risk matrix (:func:`wetindex.normal.warning_score`): a cell
    is at a level when the impact of water there (exposure × how rarely it is wet this
    month) reaches the level's threshold (:class:`Thresholds`) *and* its chance of new
    water reaches the level's chance here. Worse harm needs less certainty on farmland
    and at houses, so the chances need not rise from yellow to red. The defaults were
    chosen on the demo's validation period (the half year before the hold-out, an issue
    every 48 h; none of the hold-out): at least 90 % of quiet issue times without any
    warning, FAR at most 0.3 at orange and 0.2 at red, then the highest orange and red
    POD; yellow's FAR was above 0.3 at every chance tried, so it has the chance with the
    lowest (``benchmarks/choose_warning_chance.py`` makes the choice for any area with a
    trained model and writes its figures). An area with its own history may choose its
    own.
    """

    yellow: float = Field(0.4, gt=0, le=1)
    orange: float = Field(0.15, gt=0, le=1)
    red: float = Field(0.4, gt=0, le=1)

    def as_list(self) -> list[float]:
        return [self.yellow, self.orange, self.red]


class ForecastConfig(_Strict):
    max_lead_h: int = Field(48, ge=1, le=240)
    issue_every_h: int = Field(3, ge=1)
    #: an input older than this many hours at issue time is reported as stale
    stale_after_h: int = Field(6, ge=1)
    #: auto: the learned model only when one exists and has passed its gate, else the
    #: physically based forecast (wetindex.physics.selection)
    method: Literal["auto", "physical", "learned"] = "auto"
    #: missing-data policy: hours a late driver (rain, sea_level, evaporation) may be
    #: continued from its last value (forecast marked degraded); beyond, the run refuses.
    #: A family not named here gets ``stale_after_h``; 0 refuses any delay.
    missing_data_max_h: dict[Literal["rain", "sea_level", "evaporation"], int] = {}


class TrainingConfig(_Strict):
    model_config_file: str = "models/configs/default.yaml"
    holdout_days: int = Field(120, ge=7)
    #: use a model that does not beat the references on its hold-out (like ``run --force``)
    force_model: bool = False


class SiteConfig(_Strict):
    url: str = "http://localhost:8000/"
    tile_service: dict[str, str] | None = None
    #: the municipality's contact on every page: name, and any of url, email, phone
    contact: dict[str, str] | None = None
    #: base-map layers (water, landuse, roads, buildings) -> vector file (README)
    basemap: dict[str, str] | None = None
    #: address file searched on the site: CSV or vector points (README)
    addresses: str | None = None


class SmtpConfig(_Strict):
    """The operator's SMTP relay (``alerts.smtp``); the password comes from the environment."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    #: ``starttls`` (port 587), ``tls`` (implicit TLS, port 465) or ``none`` (loopback only)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    #: name of the environment variable holding the password (never the password itself)
    password_env: str = "WETINDEX_SMTP_PASSWORD"
    #: CA bundle (PEM) to verify the relay's certificate; default: the system's
    ca_file: str | None = None
    timeout_s: float = Field(30.0, gt=0)


class SmsConfig(_Strict):
    """An HTTP SMS gateway (``alerts.sms``); see :class:`wetindex.alerts.sms.HttpSmsGateway`."""

    url: str = Field(pattern=r"^https?://")
    body_format: Literal["json", "form"] = "json"
    to_field: str = "to"
    text_field: str = "text"
    reference_field: str | None = "reference"
    sender_field: str = "from"
    to_as_list: bool = False
    sender: str | None = None
    #: environment variable with the Authorization header's value; null for none
    auth_env: str | None = "WETINDEX_SMS_AUTH"


class ServeConfig(_Strict):
    """``wetindex serve``: the sign-up API behind the site's reverse proxy."""

    host: str = "127.0.0.1"
    #: default 8000: with --site the demo site and its API answer at site.url (localhost:8000)
    port: int = Field(8000, ge=1, le=65535)
    #: proxies whose ``X-Forwarded-For`` is believed (addresses or networks)
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]
    #: requests per client address per minute
    client_per_minute: int = Field(5, ge=1)
    #: confirmation/unsubscribe mails per target e-mail address per day
    target_per_day: int = Field(3, ge=1)


class AlertsConfig(_Strict):
    sender: str = "wetindex@localhost"
    #: shown as the sender's name; replies go to ``reply_to`` (default: the sender)
    sender_name: str = "wetindex"
    reply_to: str | None = None
    #: a subscriptions YAML file is no longer read by a run: import it with
    #: ``wetindex subscribers import FILE --area NAME``
    subscriptions: str | None = None
    #: the alerts database (subscribers, alert state, outbox); default SQLite in the area's
    #: ``alerts/`` folder; ``postgresql://...`` for production
    db_url: str | None = None
    #: environment variable with the key that encrypts contacts at rest
    secret_key_env: str = "WETINDEX_SECRET_KEY"
    #: public URL of the sign-up API (unsubscribe links); default ``<site.url>api/``
    api_url: str | None = None
    smtp: SmtpConfig | None = None
    sms: SmsConfig | None = None
    #: let webhooks go to private/loopback addresses (closed networks, tests)
    webhook_allow_private: bool = False
    max_attempts: int = Field(8, ge=1)
    #: delivered and failed messages are deleted after this many days (housekeeping)
    retention_days: int = Field(30, ge=1)
    serve: ServeConfig = ServeConfig()
    #: the municipality's code (e.g. "0849"), a geocode in every CAP message
    municipality_code: str | None = Field(None, pattern=r"^[0-9]{3,4}$")


#: Input families a local file can provide (DESIGN.md, Interfaces: ``--input KIND=PATH``).
INPUT_KINDS: tuple[str, ...] = ("terrain", "rain", "evaporation", "sea_level", "groundwater",
                                "labels", "dikes", "boundary", "places", "forecast", "water",
                                "streams", "sea")


class LocalInput(_Strict):
    """One local file as the source of an input family (or a constant value).

    In YAML a bare path (``rain: data/rain.csv``) or a bare number (``groundwater: 1.5``,
    a constant depth in metres) is accepted as the short form.
    """

    path: str | None = None
    #: CSV column / NetCDF variable / vector attribute to read (default: the only one)
    variable: str | None = None
    #: units of the file's values when not the canonical ones, e.g. ``cm`` for sea level
    units: str | None = None
    #: a constant instead of a file (groundwater depth below terrain [m])
    value: float | None = None
    #: zone of clock times written without a UTC offset, e.g. ``Europe/Copenhagen``
    timezone: str | None = None
    attribution: str = ""
    licence: str = ""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"value": float(data)}
        if isinstance(data, str):
            return {"path": data}
        return data

    @model_validator(mode="after")
    def _path_or_value(self) -> LocalInput:
        if (self.path is None) == (self.value is None):
            raise ValueError("give exactly one of 'path' (a file) or 'value' (a constant)")
        return self


def _label_codes(value: Any) -> list[float | str]:
    """A code or a list of codes; NaN (number or text) is kept as the text ``"NaN"``."""
    values = value if isinstance(value, (list, tuple)) else [value]
    out: list[float | str] = []
    for v in values:
        if (isinstance(v, str) and v.strip().lower() == "nan") or (
                isinstance(v, float) and v != v):
            out.append("NaN")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
        else:
            raise ValueError(f"label code {v!r} is not a number or NaN")
    return out


class LabelsInput(LocalInput):
    """The labels file and its codes (``wetindex.sources.label_encoding``)."""

    water: list[float | str] = [1.0]
    dry: list[float | str] = [0.0]
    unknown: list[float | str] = [-1.0, 255.0]
    nodata: list[float | str] = ["NaN"]

    @model_validator(mode="before")
    @classmethod
    def _codes_as_lists(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, **{k: _label_codes(data[k]) for k in ("water", "dry", "unknown",
                                                                  "nodata") if k in data}}
        return data


class LocalInputsConfig(_Strict):
    """Local files per input family (``source: local``); see ``wetindex.sources.local``."""

    terrain: LocalInput
    #: none: rain is not an input of this area (sea warnings only; wetindex.absent_inputs)
    rain: LocalInput | None = None
    sea_level: LocalInput
    boundary: LocalInput
    evaporation: LocalInput | None = None
    groundwater: LocalInput | None = None
    labels: LabelsInput | None = None
    #: dike lines; ``variable``: the crest attribute (``wetindex.sources.dikes``)
    dikes: LocalInput | None = None
    #: permanent water polygons and stream lines (``wetindex.sources.water_layers``)
    water: LocalInput | None = None
    streams: LocalInput | None = None
    #: sea polygons (a coastline layer); none: the sea is derived from the terrain
    sea: LocalInput | None = None
    #: named places (polygons; ``variable``: the name attribute); none: 2 km tiles
    places: LocalInput | None = None
    #: archived driver forecasts (CSV issue_time, time, rain/sea_level), see
    #: wetindex.sources.forecast_file; without it the drivers are held (persistence)
    forecast: LocalInput | None = None
    #: terrain at or below this height [m] (or nodata) connected to the grid's edge is sea
    sea_below_m: float = 0.0
    #: a label observed within this many hours of a valid hour labels that hour
    label_tolerance_h: int = Field(1, ge=0, le=12)


class LiveOverrides(_Strict):
    """Local files that replace one live input family each (any family, all optional)."""

    terrain: LocalInput | None = None
    rain: LocalInput | None = None
    evaporation: LocalInput | None = None
    sea_level: LocalInput | None = None
    groundwater: LocalInput | None = None
    labels: LabelsInput | None = None
    dikes: LocalInput | None = None
    boundary: LocalInput | None = None
    water: LocalInput | None = None
    streams: LocalInput | None = None
    sea: LocalInput | None = None


class LiveConfig(_Strict):
    """Inputs of a live area from the catalog's sources (see ``wetindex.sources.live``)."""

    municipality: str | None = None
    #: the area polygon (a file written by ``wetindex init``)
    boundary: str
    #: "denmark": DMI/DHM sources; "global": Open-Meteo and Copernicus DEM
    region: Literal["denmark", "global"] = "denmark"
    #: metObs stations whose rain is averaged (none: every station within the padded bbox)
    rain_stations: list[str] = []
    #: tide gauges (oceanObs) whose sea level is averaged; empty: a non-coastal area
    sea_stations: list[str] = []
    sea_parameter: Literal["sealev_dvr", "sea_reg"] = "sealev_dvr"
    #: DKSS domain and the sea point ``[lon, lat]`` of the surge forecast
    dkss_collection: str = "dkss_nsbs"
    sea_point: list[float] | None = None
    harmonie_collection: str = "harmonie_dini_sf"
    #: days of observed history fetched (training needs ≥ 70)
    history_days: int = Field(90, ge=31)
    #: constant depth to the water table [m] when no groundwater file is given
    groundwater_depth_m: float = Field(2.0, gt=0)
    #: terrain at or below this height [m] outside the boundary (or nodata) is sea
    sea_below_m: float = 0.0
    label_tolerance_h: int = Field(1, ge=0, le=12)
    overrides: LiveOverrides = LiveOverrides()


class ScheduleConfig(_Strict):
    """When the Prefect deployments run (cron, UTC) and how long outputs are kept."""

    #: 1 h 45 min after each HARMONIE DINI run that DMI publishes (00, 03, … UTC; the
    #: model runs hourly): an assumed publication delay, not measured against DMI
    forecast_cron: str = "45 1-22/3 * * *"
    housekeeping_cron: str = "30 4 * * *"
    #: forecast folders older than this are deleted by housekeeping (never the latest);
    #: site releases are pruned by count when one is published (wetindex.site.publish)
    retention_days: int = Field(30, ge=1)
    #: cached downloads not used for this long are pruned
    cache_max_age_days: int = Field(60, ge=1)


class DaskConfig(_Strict):
    """Where feature building and prediction run."""

    #: ``tcp://host:8786`` of a Dask distributed scheduler; none: the local threaded scheduler
    scheduler_address: str | None = None
    #: candidate cells per prediction task
    chunk_cells: int = Field(250_000, ge=1000)


class AreaConfig(_Strict):
    """Everything that defines one forecast area."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    source: Literal["demo", "local", "live"] = "demo"
    grid: GridConfig | None = None
    demo: DemoConfig | None = None
    inputs: LocalInputsConfig | None = None
    live: LiveConfig | None = None
    schedule: ScheduleConfig = ScheduleConfig()
    dask: DaskConfig = DaskConfig()
    thresholds: Thresholds = Thresholds()
    warning_chance: WarningChance = WarningChance()
    forecast: ForecastConfig = ForecastConfig()
    training: TrainingConfig = TrainingConfig()
    site: SiteConfig = SiteConfig()
    alerts: AlertsConfig = AlertsConfig()
    data_dir: str = "var"

    @model_validator(mode="after")
    def _has_grid_or_demo(self) -> AreaConfig:
        if self.source == "demo" and self.demo is None:
            raise ValueError(
                "source 'demo' needs a 'demo:' section (size_m, cell_size, years, seed)"
            )
        if self.source == "local" and (self.grid is None or self.inputs is None):
            raise ValueError(
                "source 'local' needs a 'grid:' and an 'inputs:' section; "
                "write them with 'wetindex init --aoi FILE --name NAME --input KIND=PATH'"
            )
        if self.source == "live" and (self.grid is None or self.live is None):
            raise ValueError("source 'live' needs a 'grid:' and a 'live:' section; write them "
                             "with 'wetindex init --kommune CODE' or 'wetindex init --aoi FILE'")
        return self

    def area_dir(self, root: Path) -> Path:
        """Folder for this area's data products under the project root."""
        return root / self.data_dir / self.name

    def resolved_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def format_validation_error(err: ValidationError, source: str,
                            what: str = "area configuration",
                            label: Callable[[tuple], str | None] | None = None) -> str:
    """One message naming ``source`` and every bad or unknown key of a pydantic error.

    The one formatter of validation errors (configs, the data catalog, subscription
    files). A location reads ``a.b[0].c``; ``label(loc)`` may add what the entry is
    called (e.g. a subscription's id), shown in brackets after it.
    """
    lines = []
    for e in err.errors():
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
        where = where.lstrip(".") or "(top level)"
        name = label(tuple(e["loc"])) if label else None
        where += f" ({name})" if name else ""
        if e["type"] == "extra_forbidden":
            lines.append(f"  unknown key '{where}': remove it or fix its spelling")
        else:
            lines.append(f"  {where}: {e['msg']}")
    return f"{source}: invalid {what}\n" + "\n".join(lines)


def parse_config(data: dict[str, Any], source: str = "<config>") -> AreaConfig:
    """Validate a configuration mapping; errors name ``source`` and each bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level")
    try:
        return AreaConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def load_config(path: Path) -> AreaConfig:
    """Load and validate an area configuration file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such area configuration; create it with 'wetindex init'")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse_config(data or {}, str(path))


def demo_start_ending_now(years: float, issue_every_h: int = 3,
                          now: pd.Timestamp | None = None) -> str:
    """A demo ``start`` whose history ends at the current issue slot.

    The latest issue time is then the current ``issue_every_h`` slot (UTC) of ``now``
    (default: the clock), so the demo site is as fresh as a live one and its staleness
    checks mean something. The world itself is the same on every day, only moved.
    """
    # pandas (0.3 s) and the demo world's modules (seconds: 1.6 s -> 7 s measured) are
    # imported only here: config is imported by every command, `wetindex --help` included
    import pandas as pd  # noqa: PLC0415 - see above

    from wetindex.demo.world import history_hours  # noqa: PLC0415 - see above

    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_convert("UTC").tz_localize(None) if now.tzinfo is not None else now
    slot = now.floor(f"{issue_every_h}h")
    end = slot + pd.Timedelta(hours=issue_every_h)
    start = end - pd.Timedelta(hours=history_hours(years, issue_every_h))
    return start.strftime("%Y-%m-%dT%H:%M")


def demo_config(**demo: Any) -> AreaConfig:
    """The built-in demo area's configuration (``demo`` overrides the world size)."""
    return AreaConfig(
        name="demo",
        title="Demo-kommunen ved Vesterhavet",
        source="demo",
        demo=DemoConfig(**demo),
    )
