"""Command groups of the ``wetindex`` CLI, one module per concern.

Each module defines ``register(app: typer.Typer) -> None`` adding its commands;
:mod:`wetindex.cli` calls them all. Commands stay thin over importable functions.
"""

MODULES: tuple[str, ...] = ("area", "sources", "subscribers", "model", "labels", "serve",
                            "physics")
