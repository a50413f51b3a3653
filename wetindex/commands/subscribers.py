"""`wetindex subscribers add|list|remove|export` (see DESIGN.md, Interfaces).

Thin over :mod:`wetindex.alerts.subscribers`. The database is ``--db``, else
``WETINDEX_DB_URL``, else ``wetindex-alerts.db`` here; contacts are encrypted with
``WETINDEX_SECRET_KEY``. Contacts are shown masked; ``export`` is the one place
that shows them in full (a subscriber's own data, on request).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from wetindex.areas import area_file, load_area
from wetindex.commands.common import Command, Group
from wetindex.commands.common import RootOpt as RootOption

# The alerts store (SQLAlchemy, cryptography) is imported inside the commands, not for
# `wetindex --help`.

DbOption = Annotated[str | None, typer.Option(
    "--db", metavar="URL",
    help="Alerts database URL (default: $WETINDEX_DB_URL or sqlite:///wetindex-alerts.db).")]


AreaOption = Annotated[str | None, typer.Option(
    metavar="NAME",
    help="Area whose alerts database holds the subscriber (when --db is not given).")]


def _area_context(area: str | None, root: Path | None):
    """The area's context when its configuration is found (``areas/NAME.yaml``; ``demo``)."""
    if not area:
        return None
    from wetindex.stages.context import AreaContext

    base = Path(root or os.environ.get("WETINDEX_ROOT") or Path.cwd()).resolve()
    if area != "demo" and not area_file(base, area).exists():
        return None
    return AreaContext(load_area(base, area), base)


def _store(db: str | None, area: str | None = None, root: Path | None = None):
    """``--db``, else ``$WETINDEX_DB_URL``, else the area's own alerts database (the one
    its runs read), else ``wetindex-alerts.db`` here."""
    from wetindex.alerts.crypto import MissingSecretKeyError
    from wetindex.alerts.subscribers import DB_URL_ENV, SubscriberStore

    try:
        ctx = None if db or os.environ.get(DB_URL_ENV) else _area_context(area, root)
        if ctx is not None:
            from wetindex.alerts.area import open_store

            return open_store(ctx)
        return SubscriberStore(db)
    except MissingSecretKeyError as exc:
        typer.secho(str(exc), err=True, fg="red")
        raise typer.Exit(2) from None


def _fail(message: str) -> None:
    typer.secho(message, err=True, fg="red")
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    group = typer.Typer(cls=Group, no_args_is_help=True,
                        help="Who gets alerts: add, list, remove and export subscribers.")
    app.add_typer(group, name="subscribers")

    @group.command("add", cls=Command)
    def add(
        area: Annotated[str, typer.Option(help="Area name (as in `wetindex run --area`).")],
        name: Annotated[str | None, typer.Option(help="Place name used in alerts.")] = None,
        email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
        phone: Annotated[str | None, typer.Option(help="Phone number, +45...")] = None,
        webhook: Annotated[str | None, typer.Option(help="Webhook URL.")] = None,
        polygon: Annotated[Path | None, typer.Option(help="GeoJSON file with a polygon.")] = None,
        line: Annotated[Path | None, typer.Option(help="GeoJSON file with a dike line.")] = None,
        buffer: Annotated[float | None, typer.Option(
            metavar="M", help="Metres around --line.")] = None,
        point: Annotated[str | None, typer.Option(help="X,Y in --crs.")] = None,
        radius: Annotated[float | None, typer.Option(
            metavar="M", help="Metres around --point.")] = None,
        level: Annotated[str, typer.Option(help="yellow, orange or red.")] = "yellow",
        within: Annotated[int, typer.Option(help="Lead-time window in hours (1-48).")] = 48,
        probability: Annotated[float | None, typer.Option(
            help="Optional floor on the probability thresholds (0-1).")] = None,
        language: Annotated[str, typer.Option(help="da or en.")] = "da",
        kind: Annotated[str, typer.Option(
            help="household, dike_association or operator: what alerts tell them to do.")
                        ] = "household",
        crs: Annotated[str, typer.Option(help="CRS of the area grid (and of --point).")
                       ] = "EPSG:25832",
        subscriber_id: Annotated[str | None, typer.Option("--id", help="Own id.")] = None,
        db: DbOption = None,
        root: RootOption = None,
    ) -> None:
        """Add an active subscriber (the operator vouches for the contact)."""
        from pydantic import ValidationError

        from wetindex.alerts.subscriber_input import area_shape
        from wetindex.alerts.subscribers import LEVELS, SubscriberSpec, spec_problem
        from wetindex.alerts.webhook import generate_secret

        if level not in LEVELS:
            _fail(f"--level {level!r}: one of {', '.join(LEVELS)}")
        try:
            shape = area_shape(polygon_file=polygon, line_file=line, point=point,
                               radius_m=radius, buffer_m=buffer, crs=crs)
            spec = SubscriberSpec(
                id=subscriber_id, area=area, name=name or area, email=email, phone=phone,
                webhook_url=webhook, webhook_secret=generate_secret() if webhook else None,
                language=language, shape=shape, min_level=LEVELS[level],
                min_probability=probability, max_lead_h=within, kind=kind)
        except ValidationError as exc:
            _fail(spec_problem(exc, "subscribers add"))
        except ValueError as exc:
            _fail(str(exc))
        store = _store(db, area, root)
        try:
            sub = store.add(spec, crs)
        except ValueError as exc:
            _fail(str(exc))
        typer.echo(f"added {sub.id} ({sub.area}: {sub.name}, {', '.join(sub.channels)})")
        if webhook:
            typer.echo(f"webhook secret (give it to the receiver; shown once): "
                       f"{sub.webhook_secret}")

    @group.command("list", cls=Command)
    def list_(
        area: Annotated[str | None, typer.Option(help="Only this area.")] = None,
        db: DbOption = None,
        root: RootOption = None,
    ) -> None:
        """List subscribers, contacts masked."""
        from wetindex.alerts.crypto import mask_contact
        from wetindex.warnings import LEVEL_NAMES

        subs = _store(db, area, root).list(area)
        if not subs:
            typer.echo("no subscribers")
        for s in subs:
            contact = " ".join(mask_contact(v) for v in (s.email, s.phone, s.webhook_url) if v)
            typer.echo(f"{s.id}\t{s.area}\t{s.name}\t{s.status}\t{','.join(s.channels)}\t"
                       f"{contact}\t{LEVEL_NAMES[s.min_level]} within {s.max_lead_h} h\t"
                       f"{s.area_kind}\t{s.language}")

    @group.command("remove", cls=Command)
    def remove(subscriber_id: Annotated[str, typer.Argument(help="Subscriber id.")],
               db: DbOption = None, area: AreaOption = None, root: RootOption = None) -> None:
        """Delete a subscriber completely (its data, alert state and messages)."""
        try:
            counts = _store(db, area, root).remove(subscriber_id)
        except KeyError as exc:
            _fail(str(exc))
        typer.echo(f"removed {subscriber_id} (alert state: {counts['alert_state']}, "
                   f"messages: {counts['outbox']})")

    @group.command("export", cls=Command)
    def export(subscriber_id: Annotated[str, typer.Argument(help="Subscriber id.")],
               db: DbOption = None, area: AreaOption = None, root: RootOption = None) -> None:
        """Everything stored about one subscriber, as JSON (GDPR access request)."""
        try:
            data = _store(db, area, root).export(subscriber_id)
        except KeyError as exc:
            _fail(str(exc))
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))

    @group.command("import", cls=Command)
    def import_(
        file: Annotated[Path, typer.Argument(help=(
            "Subscribers YAML file: a 'subscribers:' list of entries with id, name, email "
            "(or phone, webhook_url), shape (polygon, line + buffer_m, or point + radius_m), "
            "min_level, max_lead_h, language, kind."))],
        area: Annotated[str, typer.Option(help="Area name the subscribers belong to.")],
        crs: Annotated[str | None, typer.Option(
            help="CRS of the area grid (default: the area's, else EPSG:25832).")] = None,
        db: DbOption = None,
        root: RootOption = None,
    ) -> None:
        """Import subscribers from a YAML file into the encrypted store.

        Once: a rerun adds only new ids. A run reads only the store."""
        from wetindex.alerts.subscriber_input import read_subscribers_file, seed_subscribers

        ctx = _area_context(area, root)
        grid = getattr(ctx.config, "grid", None) if ctx is not None else None
        crs = crs or (grid.crs if grid is not None else "EPSG:25832")
        try:  # entry by entry: one bad entry does not hold back the rest
            specs, skipped = read_subscribers_file(file, area, crs)
        except ValueError as exc:  # the file as a whole (missing, not YAML, old format)
            _fail(str(exc))
        for line in skipped:
            typer.secho(f"SKIPPED {line}", err=True, fg="yellow")
        store = _store(db, area, root)
        try:
            added = seed_subscribers(store, crs, specs)
        except ValueError as exc:
            _fail(str(exc))
        typer.echo(f"imported {added} of {len(specs)} subscriber(s) from {file} into area "
                   f"{area} ({len(specs) - added} already there); contacts are encrypted. You "
                   f"may now delete {file}: runs no longer read it.")
        if skipped:
            _fail(f"{len(skipped)} subscriber(s) skipped (listed above): fix them and import "
                  "again; the ones already imported are not added twice")
