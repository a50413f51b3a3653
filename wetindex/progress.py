"""Progress of a run's stages and of its long loops, shown by the command line.

The stages report through :func:`stage` and :func:`advance`; nothing is shown unless a
display is active (:func:`shown`, used by ``wetindex demo``), so library use, the
Prefect deployments and the tests stay silent. One display per process: Prefect runs
a flow's tasks in worker threads, which a context variable would not reach.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_display: _RichStages | None = None


class _RichStages:
    """One line per stage: a spinner while it runs, a bar for counted work, its time."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import (  # noqa: PLC0415 - Rich only where a display is shown
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(SpinnerColumn(finished_text="[green]✓"),
                                 TextColumn("{task.description:<34}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=console, transient=False)
        self.tasks: dict[str, Any] = {}

    def start(self, name: str) -> None:
        self.tasks[name] = self.progress.add_task(name, total=None)

    def advance(self, name: str, done: int, total: int) -> None:
        if name not in self.tasks:
            self.start(name)
        self.progress.update(self.tasks[name], completed=done, total=total)

    def finish(self, name: str) -> None:
        """``name`` is done, and so is every line opened inside it (a loop may end early:
        LightGBM's early stopping ends the boosting rounds before their total)."""
        task = self.tasks.get(name)
        if task is None:
            return
        for line in self.progress.tasks:
            if line.id >= task and not line.finished:
                done = line.completed if line.id != task else (line.total or 1)
                self.progress.update(line.id, total=done or 1, completed=done or 1)
                self.progress.stop_task(line.id)


@contextmanager
def shown(console: Any = None) -> Iterator[None]:
    """Show the stages' progress on ``console`` (a :class:`rich.console.Console`) inside."""
    global _display
    display = _RichStages(console)
    with _lock:
        _display = display
    try:
        with display.progress:
            yield
    finally:
        with _lock:
            _display = None


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Mark ``name`` running inside the block (and done after it) on the active display."""
    display = _display
    if display is not None:
        display.start(name)
    try:
        yield
    finally:
        if display is not None:
            display.finish(name)


def advance(name: str, done: int, total: int) -> None:
    """``done`` of ``total`` steps of ``name`` (a stage or a loop in one) are done."""
    display = _display
    if display is not None:
        display.advance(name, done, total)


def lightgbm_callback(name: str) -> Callable[[Any], None]:
    """A LightGBM training callback reporting boosting rounds as the progress of ``name``."""

    def report(env: Any) -> None:
        advance(name, env.iteration - env.begin_iteration + 1,
                env.end_iteration - env.begin_iteration)

    report.order = 50  # after early stopping's bookkeeping; it changes nothing
    return report
