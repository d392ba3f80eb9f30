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
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fleet import TargetOutcome


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


def _style() -> str:
    """``off``, ``plain`` or ``rich``: ``$SCHEMACTL_PROGRESS``, else rich on a terminal."""
    choice = os.environ.get("SCHEMACTL_PROGRESS", "").strip().lower()
    if choice in ("off", "plain", "rich"):
        return choice
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return "rich" if tty else "plain"


def auto() -> Progress:
    """The reporter for this process: see the module docstring."""
    return {"off": Progress, "plain": LogProgress, "rich": RichProgress}[_style()]()


# ----------------------------------------------------------------------------- many targets


class FleetProgress:
    """Progress of an ``apply`` to many targets (:mod:`schemactl.fleet`); silent.  The
    fleet calls these under one lock, so implementations need none of their own."""

    def start(self, names: list[str], migrations: int) -> None:
        pass

    def target_begin(self, name: str) -> None:
        pass

    def migration_begin(self, name: str, migration_id: str, package: str) -> None:
        pass

    def migration_done(self, name: str, migration_id: str, seconds: float) -> None:
        pass

    def migration_failed(self, name: str, migration_id: str, message: str) -> None:
        pass

    def info(self, name: str, message: str) -> None:
        pass

    def target_end(self, outcome: TargetOutcome) -> None:
        pass

    def finish(self) -> None:
        pass


def _outcome_text(o: TargetOutcome) -> str:
    if o.status == "applied":
        return f"applied {len(o.applied)} migration(s) in {o.seconds:.2f}s"
    if o.status == "current":
        return "up to date"
    if o.status == "pending":
        return f"{len(o.pending)} migration(s) would be applied"
    if o.status == "failed" and o.applied:
        return f"FAILED after applying {len(o.applied)}: {o.error}"
    return f"{o.status.upper()}: {o.error}"


class LogFleetProgress(FleetProgress):
    """One timestamped line per event, each naming its target: what CI logs want."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.log = LogProgress(stream)
        self.total = 0
        self.ended = 0

    def start(self, names: list[str], migrations: int) -> None:
        self.total = len(names)
        self.log.info(f"{len(names)} target(s), {migrations} approved migration(s)")

    def target_begin(self, name: str) -> None:
        self.log.info(f"[{name}] started")

    def migration_begin(self, name: str, migration_id: str, package: str) -> None:
        self.log.info(f"[{name}] applying {migration_id} ({package})")

    def migration_done(self, name: str, migration_id: str, seconds: float) -> None:
        self.log.info(f"[{name}] applied {migration_id} in {seconds * 1000:.0f} ms")

    def migration_failed(self, name: str, migration_id: str, message: str) -> None:
        self.log.info(f"[{name}] FAILED {migration_id}: {message}")

    def info(self, name: str, message: str) -> None:
        self.log.info(f"[{name}] {message}")

    def target_end(self, outcome: TargetOutcome) -> None:
        self.ended += 1
        self.log.info(f"[{outcome.name}] ({self.ended}/{self.total}) {_outcome_text(outcome)}")


FLEET_STYLE = {"applied": "green", "current": "dim", "failed": "bold red", "skipped": "yellow"}


class RichFleetProgress(FleetProgress):
    """On a terminal: a bar over the targets, one live line per running target (its last
    migration), and one printed line per finished target."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.bar: Any = None
        self.overall: Any = None
        self.tasks: dict[str, Any] = {}
        self.migrations = 0

    def start(self, names: list[str], migrations: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.migrations = migrations
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        self.overall = self.bar.add_task("targets", total=len(names))

    def target_begin(self, name: str) -> None:
        if self.bar is not None:
            self.tasks[name] = self.bar.add_task(f"  {name}: connecting", total=self.migrations)

    def migration_begin(self, name: str, migration_id: str, package: str) -> None:
        if self.bar is not None and name in self.tasks:
            self.bar.update(self.tasks[name], description=f"  {name}: {migration_id}")

    def migration_done(self, name: str, migration_id: str, seconds: float) -> None:
        if self.bar is not None and name in self.tasks:
            self.bar.advance(self.tasks[name])

    def info(self, name: str, message: str) -> None:
        self.console.print(f"{name}: {message}", markup=False, style="dim")

    def target_end(self, outcome: TargetOutcome) -> None:
        if self.bar is not None:
            task = self.tasks.pop(outcome.name, None)
            if task is not None:
                self.bar.remove_task(task)
            self.bar.advance(self.overall)
        self.console.print(
            f"{outcome.name}: {_outcome_text(outcome)}",
            markup=False,
            style=FLEET_STYLE.get(outcome.status),
        )

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def auto_fleet() -> FleetProgress:
    """The fleet reporter for this process, chosen like :func:`auto`."""
    kinds: dict[str, type[FleetProgress]] = {
        "off": FleetProgress,
        "plain": LogFleetProgress,
        "rich": RichFleetProgress,
    }
    return kinds[_style()]()
