"""Rich progress for long work: on stderr, and off when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def stage_progress(
    title: str, total_stages: int, stream: IO[str] | None = None
) -> Iterator[StageBar]:
    """A bar advanced one step per named stage; ``bar("stage name")`` moves it on.

    Drawn on ``stream`` (default stderr) when it is a terminal.
    """
    stream = stream or sys.stderr
    console = Console(file=stream)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=not stream.isatty(),
        transient=False,
    )
    with progress:
        task = progress.add_task(title, total=total_stages)
        bar = StageBar(progress, task, title)
        yield bar
        progress.update(task, completed=total_stages, description=f"{title}: done")


class StageBar:
    def __init__(self, progress: Progress, task: object, title: str) -> None:
        self._progress = progress
        self._task = task
        self._title = title
        self._started = False
        self._stage = ""

    def __call__(self, stage: str) -> None:
        if self._started:
            self._progress.advance(self._task)  # type: ignore[arg-type]
        self._started = True
        self._stage = stage
        self._progress.update(self._task, description=f"{self._title}: {stage}")  # type: ignore[arg-type]

    def note(self, detail: str) -> None:
        """Show ``detail`` beside the current stage without moving the bar on."""
        text = f"{self._title}: {self._stage} {detail}"
        self._progress.update(self._task, description=text)  # type: ignore[arg-type]


@contextmanager
def count_progress(
    title: str, unit: str, stream: IO[str] | None = None
) -> Iterator[Callable[[int, int], None]]:
    """A bar of ``done/total`` items; yields ``update(done, total)``.

    Drawn on ``stream`` (default stderr) when it is a terminal.
    """
    stream = stream or sys.stderr
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} " + unit),
        TimeElapsedColumn(),
        console=Console(file=stream),
        disable=not stream.isatty(),
    )
    with progress:
        task = progress.add_task(title, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


@contextmanager
def step_progress(
    title: str, total: int, done: int = 0, stream: IO[str] | None = None
) -> Iterator[Callable[[int, str], None]]:
    """A bar of training steps with a detail (loss, speed) and the time left; yields
    ``update(step, detail)``.

    On a terminal, drawn by rich; elsewhere (a log, a pipe) one line per
    ``total // 50`` steps, so a long run still says how it goes.
    """
    stream = stream or sys.stderr
    every = max(1, total // 50)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=Console(file=stream),
        disable=not stream.isatty(),
    )
    with progress:
        task = progress.add_task(title, total=total, completed=done, detail="")

        def update(step: int, detail: str) -> None:
            progress.update(task, completed=step, detail=detail)
            if progress.disable and (step % every == 0 or step == total):
                print(f"{title}: step {step}/{total} {detail}", file=stream, flush=True)

        yield update
