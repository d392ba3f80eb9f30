"""Progress reporting for long database runs (``apply``, ``check --shadow``), on stderr.

stdout stays reserved for the command's result (one JSON document with ``--json``).
On a terminal a rich progress bar; otherwise one plain, timestamped log line per event,
which is what deploy logs and CI want.  ``SCHEMACTL_PROGRESS=rich|plain|off`` overrides
the choice.  rich is imported only when the bar is used.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import IO, Any


class Progress:
    """Silent; the base of the others.  Events come in this order: ``start``, then per
    migration ``begin`` and ``done`` or ``failed``, then ``finish``."""

    def info(self, message: str) -> None:
        pass

    def start(self, total: int) -> None:
        pass

    def begin(self, migration_id: str, package: str) -> None:
        pass

    def done(self, migration_id: str, seconds: float) -> None:
        pass

    def failed(self, migration_id: str, message: str) -> None:
        pass

    def finish(self) -> None:
        pass


class LogProgress(Progress):
    """``2026-01-31T10:00:00Z schemactl: applying 2026..._auth (auth)`` lines."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = 0
        self.index = 0

    def _line(self, text: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.stream.write(f"{stamp} schemactl: {text}\n")
        self.stream.flush()

    def info(self, message: str) -> None:
        self._line(message)

    def start(self, total: int) -> None:
        self.total = total

    def begin(self, migration_id: str, package: str) -> None:
        self.index += 1
        self._line(f"[{self.index}/{self.total}] applying {migration_id} ({package})")

    def done(self, migration_id: str, seconds: float) -> None:
        self._line(f"[{self.index}/{self.total}] applied {migration_id} in {seconds * 1000:.0f} ms")

    def failed(self, migration_id: str, message: str) -> None:
        self._line(f"[{self.index}/{self.total}] FAILED {migration_id}: {message}")


class RichProgress(Progress):
    """A transient progress bar on a terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.bar: Any = None
        self.task: Any = None

    def info(self, message: str) -> None:
        self.console.print(message, markup=False, style="dim")

    def start(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("applying", total=total)

    def begin(self, migration_id: str, package: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, description=f"applying {migration_id}")

    def done(self, migration_id: str, seconds: float) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)
        self.console.print(f"applied {migration_id} in {seconds * 1000:.0f} ms", markup=False)

    def failed(self, migration_id: str, message: str) -> None:
        self.console.print(f"FAILED {migration_id}", style="bold red", markup=False)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def auto() -> Progress:
    """The reporter for this process: see the module docstring."""
    choice = os.environ.get("SCHEMACTL_PROGRESS", "").strip().lower()
    if choice == "off":
        return Progress()
    if choice == "plain":
        return LogProgress()
    if choice == "rich":
        return RichProgress()
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return RichProgress() if tty else LogProgress()
