"""Progress reporting for long runs: a rich bar on a terminal, periodic lines otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["progress_factory"]


def progress_factory(console: Any, interval: float = 15.0) -> Callable[[str, int], Any]:
    """A ``progress(description, total)`` context-manager factory writing to ``console``.

    On a terminal it shows a rich bar (done/total, elapsed, remaining); when the output is a
    file or a pipe (CI, ``> log``) it prints a line at most every ``interval`` seconds and at
    the end, so a long run is never silent.
    """
    if console.is_terminal:
        return _rich_bar(console)
    return _line_bar(console, interval)


def _rich_bar(console: Any) -> Callable[[str, int], Any]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    @contextmanager
    def bar(description: str, total: int) -> Iterator[Callable[..., None]]:
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
        ) as prog:
            task = prog.add_task(description, total=total)
            yield lambda n=1: prog.advance(task, n)

    return bar


def _line_bar(console: Any, interval: float) -> Callable[[str, int], Any]:
    @contextmanager
    def bar(description: str, total: int) -> Iterator[Callable[..., None]]:
        start = last = time.monotonic()
        done = [0]

        def advance(n: int = 1) -> None:
            nonlocal last
            done[0] += n
            now = time.monotonic()
            if now - last >= interval:
                last = now
                pct = 100.0 * done[0] / max(total, 1)
                console.print(f"{description}: {done[0]}/{total} ({pct:.0f}%), {now - start:.0f} s", soft_wrap=True)

        yield advance
        console.print(f"{description}: {done[0]}/{total} done in {time.monotonic() - start:.1f} s", soft_wrap=True)

    return bar
