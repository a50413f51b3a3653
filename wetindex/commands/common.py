"""What every ``wetindex`` command shares: the project folder, logging, options, errors.

:mod:`wetindex.cli` and every module of :mod:`wetindex.commands` import this module;
it imports neither of them (no cycle), and only the standard library and Typer, so
``wetindex --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# The level set by the global -v/-q options (see :func:`set_verbosity`): 0 is the
# default (wetindex's own progress), +1 per -v, -1 for -q.
_verbosity = 0

# Options that many commands share, with the value's meaning as their metavar.
RootOpt = Annotated[Path | None, typer.Option(
    metavar="DIR", help="Project folder (default: here, or $WETINDEX_ROOT).")]
AreaOpt = Annotated[str, typer.Option(
    metavar="NAME", help="Area name (areas/NAME.yaml), a .yaml file, or 'demo'.")]


class _PlainHelp:
    """Help that shows what a value is, not its Python type.

    Typer shows every option's Python type (``<bool>``, ``<str>``). Here an on/off
    flag (``--help`` too) shows none; a value without its own ``metavar`` shows
    Click's plain name (TEXT, FLOAT, INTEGER, PATH) or its choices; an argument shows
    its name in capitals and its choices, if any.
    """

    def _plain_params(self) -> None:
        for param in self.params:
            if param.metavar is not None:
                continue
            if isinstance(param, TyperOption):
                param.metavar = "" if param.is_flag else plain_metavar(param)
            elif isinstance(param, TyperArgument):
                param.metavar = param.name.upper()
                # Typer has no setting for an argument's type column: its choices, or none
                choices = plain_metavar(param) if param.type_descriptor.is_choice else None
                param.display_type_rich = lambda ctx, shown=choices: shown

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class Command(_PlainHelp, TyperCommand):
    """A ``wetindex`` command (``app.command(cls=Command)``): plain help, see _PlainHelp."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._plain_params()


class Group(_PlainHelp, TyperGroup):
    """A ``wetindex`` command group (``typer.Typer(cls=Group)``): plain help."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._plain_params()


_TYPE_NAMES = {"str": "TEXT", "float": "FLOAT", "int": "INTEGER", "Path": "PATH"}


def plain_metavar(param: TyperOption | TyperArgument) -> str:
    """``a|b|c`` for a choice, else Click's name of the value's type in capitals."""
    desc = param.type_descriptor
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    if desc.is_path:
        return "PATH"
    bare = param.bare_type().removeprefix("list[").removesuffix("]")
    return _TYPE_NAMES.get(bare, bare.upper())


def set_verbosity(verbose: int, quiet: bool) -> None:
    """Remember the global ``-v``/``-q`` choice for :func:`configure_logging`."""
    global _verbosity
    _verbosity = -1 if quiet else verbose


def verbosity() -> int:
    """The global ``-v``/``-q`` choice: -1 quiet, 0 default, 1 and more verbose."""
    return _verbosity


def log_levels(level: int) -> tuple[int, int]:
    """``(wetindex's level, every other library's level)`` for a verbosity ``level``.

    -1 (``-q``): warnings and errors only; 0: wetindex's progress at INFO, libraries'
    warnings; 1 (``-v``): wetindex's DEBUG; 2 (``-vv``): every library's INFO too;
    3 and more: everything at DEBUG.
    """
    ours = {-1: logging.WARNING, 0: logging.INFO}.get(level, logging.DEBUG)
    others = {2: logging.INFO}.get(level, logging.DEBUG if level >= 3 else logging.WARNING)
    return ours, others


def configure_logging(console: Any = None) -> None:
    """Configure logging for a command (never at import), at the global ``-v``/``-q`` level.

    With a Rich ``console`` (a command showing progress bars) messages go through it,
    above the bars, instead of through a stream the bars would overwrite.
    """
    ours, others = log_levels(_verbosity)
    if console is None:
        logging.basicConfig(level=others, format="%(asctime)s %(levelname)s %(message)s")
    else:
        from rich.logging import RichHandler  # only commands with progress bars need it

        logging.basicConfig(level=others, format="%(message)s", force=True,
                            handlers=[RichHandler(console=console, show_path=False)])
    if _verbosity >= 2:  # -vv: the libraries' messages even where logging was set up
        logging.getLogger().setLevel(others)
    logging.getLogger("wetindex").setLevel(ours)


def project_root(root: Path | None) -> Path:
    """The project folder holding ``pipelines/``, ``models/`` and ``web/``; exit 2 if not."""
    candidate = Path(root or os.environ.get("WETINDEX_ROOT") or Path.cwd()).resolve()
    if not (candidate / "pipelines" / "flows.py").exists():
        typer.secho(
            f"{candidate} is not a wetindex project folder (no pipelines/flows.py). Run from "
            "the repository's folder or pass --root / set WETINDEX_ROOT.", err=True, fg="red")
        raise typer.Exit(2)
    return candidate


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` in red on stderr; the ``typer.Exit(code)`` to raise."""
    typer.secho(message, err=True, fg="red")
    return typer.Exit(code)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``"1 e-mail"``, ``"2 e-mails"``: ``count`` and the noun in the right number."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
