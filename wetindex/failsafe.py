"""No traceback reaches an operator: one message, the details in a file, exit non-zero.

Every ``wetindex`` command an operator runs on a schedule (``check``, ``run``,
``status``) goes through :func:`operator_errors`. An input problem already has a
clear message (:class:`~wetindex.sources.base.InputMissingError`, ``ValueError``);
anything else is a bug or an environment fault the operator still must see in one
line, with the full traceback saved under the area's ``logs/`` for the developer.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import typer

#: Exit codes: 1 failed or refused, 2 usage, 3 done but degraded (inputs continued).
EXIT_FAILED = 1
EXIT_DEGRADED = 3


def save_traceback(log_dir: Path | None, err: BaseException) -> Path | None:
    """Write ``err``'s traceback to ``log_dir/error-<time>.txt``; None when that fails."""
    if log_dir is None:
        return None
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"error-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.txt"
        path.write_text("".join(traceback.format_exception(err)), encoding="utf-8")
        return path
    except OSError:
        return None


def one_line(err: BaseException) -> str:
    """The error's own message (it names the input and the fix) without the exception noise."""
    text = str(err).strip() or type(err).__name__
    if isinstance(err, MemoryError):
        text = "out of memory; the area or its inputs are too large for this machine"
    return text if isinstance(err, (ValueError, RuntimeError, OSError)) else \
        f"{type(err).__name__}: {text}"


@contextmanager
def operator_errors(what: str, log_dir: Path | None = None) -> Iterator[None]:
    """Turn any exception into one red line and exit 1; typer's own exits pass through."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # the point: an operator sees one line, never a traceback
        saved = save_traceback(log_dir, err)
        typer.secho(f"{what}: {one_line(err)}" + (f"  (details: {saved})" if saved else ""),
                    err=True, fg="red")
        raise typer.Exit(EXIT_FAILED) from None
