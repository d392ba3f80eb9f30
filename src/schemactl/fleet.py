"""``apply`` and ``status`` against many databases in one command (SPEC §15).

The single-database code path does the work: :func:`schemactl.deploy.apply_to` (advisory
lock, history, one transaction per migration) and :func:`schemactl.deploy.inspect`
(applied, checksum and drift findings).  This module only decides *which* database runs
*when*, and turns each run into one small :class:`TargetOutcome`:

- the registry is read and checked once; every target then gets its own connection, its
  own advisory lock and its own ``schemactl.history``, so a rerun applies only what each
  database is missing;
- ``jobs`` worker threads pull targets from one shared iterator (psycopg releases the GIL
  while it waits on the server).  Nothing per target outlives its run except its outcome,
  so memory does not grow with the number of targets beyond one short record each;
- a failing target stops only itself; with ``fail_fast`` no further target starts after a
  failure (the ones running finish: a migration is never cut off half-way, it is one
  transaction anyway) and the rest are ``skipped``;
- ``canary``: that target runs first, alone; the others run only if it succeeded, else
  they are ``skipped``;
- exit 3 when every target was tried and none could be reached; else 1 when any target
  failed or was skipped; else 0;
- every message about a target goes through :meth:`Target.scrub`: no password is ever
  printed, not even one that a driver error echoes.

Progress events go to a :class:`FleetProgress` (see :mod:`schemactl.progress`): live per
target on a terminal, one line per event otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry
from .commands import Result
from .config import load_config
from .diagnostics import Diagnostic, has_errors
from .errors import SchemactlError
from .progress import FleetProgress, Progress
from .targets import Target, pick_canary, resolve

if TYPE_CHECKING:
    from .config import Config
    from .project import ProjectResult

DEFAULT_JOBS = 4
APPLIED, CURRENT, FAILED, SKIPPED, PENDING = "applied", "current", "failed", "skipped", "pending"
BEHIND, DRIFT = "behind", "drift"
UNREACHABLE_CODES = frozenset({"SC706", "SC707", "SC709"})


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    """What happened to one target; ``error`` is already scrubbed of passwords."""

    name: str
    where: str
    status: str
    applied: tuple[str, ...] = ()
    error: str | None = None
    code: str | None = None
    hint: str | None = None
    reachable: bool = True
    seconds: float = 0.0
    pending: tuple[str, ...] = ()
    findings: tuple[Diagnostic, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "database": self.where,
            "status": self.status,
            "applied": list(self.applied),
            "error": self.error,
            "code": self.code,
            "seconds": round(self.seconds, 3),
        }
        if self.hint:
            out["hint"] = self.hint
        return out


class _Forward(Progress):
    """The single-database progress events of one target, forwarded to the fleet's."""

    def __init__(self, target: Target, sink: Callable[..., None]) -> None:
        self.target = target
        self.sink = sink

    def info(self, message: str) -> None:
        self.sink("info", self.target.name, self.target.scrub(message))

    def begin(self, migration_id: str, package: str) -> None:
        self.sink("migration_begin", self.target.name, migration_id, package)

    def done(self, migration_id: str, seconds: float) -> None:
        self.sink("migration_done", self.target.name, migration_id, seconds)

    def failed(self, migration_id: str, message: str) -> None:
        self.sink("migration_failed", self.target.name, migration_id, self.target.scrub(message))


@dataclass
class _Runner:
    """Runs ``work`` over targets with bounded parallelism, reporting under one lock."""

    progress: FleetProgress
    jobs: int
    fail_fast: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def emit(self, event: str, *args: Any) -> None:
        with self.lock:
            getattr(self.progress, event)(*args)

    def run(
        self,
        targets: list[Target],
        work: Callable[[Target], TargetOutcome],
        outcomes: dict[str, TargetOutcome],
    ) -> None:
        it: Iterator[Target] = iter(targets)
        take = threading.Lock()

        def worker() -> None:
            while True:
                with take:
                    t = next(it, None)
                if t is None:
                    return
                if self.stop.is_set():
                    out = skipped(t, "not started: --fail-fast stopped the run after a failure")
                else:
                    self.emit("target_begin", t.name)
                    out = _guarded(work, t)
                    if out.status == FAILED and self.fail_fast:
                        self.stop.set()
                outcomes[t.name] = out  # one key per thread: safe under the GIL
                self.emit("target_end", out)

        n = max(1, min(self.jobs, len(targets)))
        if n == 1:
            worker()
            return
        threads = [
            threading.Thread(target=worker, name=f"schemactl-fleet-{i}", daemon=True)
            for i in range(n)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()


def skipped(t: Target, why: str) -> TargetOutcome:
    return TargetOutcome(name=t.name, where=t.where, status=SKIPPED, error=why)


def _guarded(work: Callable[[Target], TargetOutcome], t: Target) -> TargetOutcome:
    """``work(t)``; any error becomes a failed outcome with a scrubbed message."""
    t0 = time.monotonic()
    try:
        return work(t)
    except SchemactlError as e:
        unreachable = e.code in UNREACHABLE_CODES and e.message.startswith("cannot connect")
        unreachable = unreachable or e.code in ("SC707", "SC709")
        return TargetOutcome(
            name=t.name,
            where=t.where,
            status=FAILED,
            error=t.scrub(e.message),
            code=e.code,
            hint=t.scrub(e.hint) if e.hint else None,
            reachable=not unreachable,
            seconds=time.monotonic() - t0,
        )
    except Exception as e:  # a driver error outside the guarded spots: still this target only
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return TargetOutcome(
            name=t.name,
            where=t.where,
            status=FAILED,
            error=t.scrub(f"{type(e).__name__}: {text}"),
            code="SC727",
            seconds=time.monotonic() - t0,
        )


def _exit_code(outcomes: list[TargetOutcome]) -> int:
    if outcomes and all(o.status == FAILED and not o.reachable for o in outcomes):
        return 3  # every target was tried and none could be reached
    if any(o.status in (FAILED, SKIPPED) for o in outcomes):
        return 1
    return 0


def _diagnostics(outcomes: list[TargetOutcome]) -> list[Diagnostic]:
    out = []
    for o in outcomes:
        if o.status == FAILED:
            out.append(
                Diagnostic(
                    "error",
                    o.code or "SC727",
                    f"target {o.name} ({o.where}): {o.error}",
                    hint=o.hint,
                )
            )
        elif o.status == SKIPPED:
            out.append(Diagnostic("warning", "SC728", f"target {o.name}: skipped: {o.error}"))
    return out


def _counts(outcomes: list[TargetOutcome], states: tuple[str, ...]) -> str:
    return ", ".join(f"{sum(1 for o in outcomes if o.status == s)} {s}" for s in states)


# ----------------------------------------------------------------------------- apply


def apply(
    root: Path,
    *,
    database_urls: list[str] | None = None,
    targets_file: Path | None = None,
    jobs: int = DEFAULT_JOBS,
    fail_fast: bool = False,
    canary: str | None = None,
    dry_run: bool = False,
    lock_timeout: float = 60.0,
    connect_timeout: float | None = None,
    progress: FleetProgress | None = None,
) -> Result:
    """``apply`` to one database (the single path of :mod:`schemactl.deploy`), or to the
    targets of ``--targets`` / several ``--database-url`` (SPEC §15)."""
    from .errors import UsageError

    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be at least 1", code="SC725")
    targets = resolve(database_urls, targets_file)
    if targets is None and canary is not None:  # a canary of one: the fleet of that one
        from .db import resolve_url
        from .targets import from_urls

        targets = from_urls([resolve_url(_first(database_urls))])
    if targets is None:
        from .deploy import apply as single

        url = _first(database_urls)
        return single(root, database_url=url, dry_run=dry_run, lock_timeout=lock_timeout)
    chosen = pick_canary(targets, canary)

    from . import deploy

    config = load_config(root)
    reg = registry.read(config)
    migrations = reg.approved()
    problems = deploy.refusals(config, reg, migrations)
    if problems:
        return Result(
            diagnostics=problems,
            messages=[
                "nothing applied to any target: the registry holds approved records edited "
                "by hand or without the signatures they need"
            ],
        )
    if progress is None:
        from .progress import auto_fleet

        progress = auto_fleet()
    runner = _Runner(progress=progress, jobs=jobs, fail_fast=fail_fast)

    def work(t: Target) -> TargetOutcome:
        t0 = time.monotonic()
        r = deploy.apply_to(
            t.url,
            reg,
            migrations,
            dry_run=dry_run,
            lock_timeout=lock_timeout,
            progress=_Forward(t, runner.emit),
            connect_timeout=connect_timeout,
        )
        now = tuple(r.data.get("applied_now") or ())
        errors = [d for d in r.diagnostics if d.severity == "error"]
        seconds = time.monotonic() - t0
        if errors:
            return TargetOutcome(
                name=t.name,
                where=t.where,
                status=FAILED,
                applied=now,
                error=t.scrub(errors[0].message),
                code=errors[0].code,
                hint=t.scrub(errors[0].hint) if errors[0].hint else None,
                seconds=seconds,
            )
        if dry_run:
            pending = tuple(r.data.get("pending") or ())
            status = PENDING if pending else CURRENT
            return TargetOutcome(t.name, t.where, status, pending=pending, seconds=seconds)
        return TargetOutcome(t.name, t.where, APPLIED if now else CURRENT, now, seconds=seconds)

    outcomes: dict[str, TargetOutcome] = {}
    t0 = time.monotonic()
    runner.emit("start", [t.name for t in targets], len(migrations))
    try:
        rest = targets
        if chosen is not None:
            runner.run([chosen], work, outcomes)
            rest = [t for t in targets if t is not chosen]
            if outcomes[chosen.name].status == FAILED:
                for t in rest:
                    outcomes[t.name] = skipped(t, f"not started: the canary {chosen.name} failed")
                    runner.emit("target_end", outcomes[t.name])
                rest = []
        runner.run(rest, work, outcomes)
    finally:
        runner.emit("finish")
    ordered = [outcomes[t.name] for t in targets]
    elapsed = time.monotonic() - t0
    return _apply_result(ordered, migrations, dry_run=dry_run, elapsed=elapsed, jobs=jobs)


def _apply_result(
    outcomes: list[TargetOutcome],
    migrations: list[dict[str, Any]],
    *,
    dry_run: bool,
    elapsed: float,
    jobs: int,
) -> Result:
    from .deploy import _summaries

    targets = []
    for o in outcomes:
        d = o.to_dict()
        if dry_run:
            d["pending"] = list(o.pending)
        targets.append(d)
    states = (PENDING, CURRENT, FAILED, SKIPPED) if dry_run else (APPLIED, CURRENT, FAILED, SKIPPED)
    verb = "dry run over" if dry_run else "applied to"
    result = Result(
        diagnostics=_diagnostics(outcomes),
        migrations=_summaries(migrations, None),
        data={"targets": targets, "dry_run": dry_run, "jobs": jobs},
        messages=[
            f"{verb} {len(outcomes)} target(s) in {elapsed:.2f}s: {_counts(outcomes, states)}"
        ],
    )
    result.exit_code = _exit_code(outcomes)
    return result


# ----------------------------------------------------------------------------- status


def status(
    root: Path,
    *,
    database_urls: list[str] | None = None,
    targets_file: Path | None = None,
    jobs: int = DEFAULT_JOBS,
    connect_timeout: float | None = None,
) -> Result:
    """``status`` of one database (:func:`schemactl.deploy.status`), or per target:
    applied, pending, and drift."""
    from .errors import UsageError

    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be at least 1", code="SC725")
    targets = resolve(database_urls, targets_file)
    if targets is None:
        from .deploy import status as single

        return single(root, database_url=_first(database_urls))

    from . import deploy
    from .project import load_project

    config = load_config(root)
    pr = load_project(config.root, config=config)
    reg = registry.read(config)
    approved = reg.approved()
    queued = [m for m in reg.all_records() if m["status"] == registry.PENDING]  # SPEC §7
    runner = _Runner(progress=FleetProgress(), jobs=jobs)

    def work(t: Target) -> TargetOutcome:
        t0 = time.monotonic()
        applied, found = _inspect(t, config, pr, reg, approved, connect_timeout)
        ids = tuple(m["id"] for m in approved if m["id"] in applied)
        missing = tuple(m["id"] for m in approved if m["id"] not in applied)
        errors = [d for d in found if d.severity == "error"]
        mismatch = [d for d in errors if d.code in ("SC700", "SC705")]
        state = FAILED if mismatch else DRIFT if errors else BEHIND if missing else CURRENT
        return TargetOutcome(
            name=t.name,
            where=t.where,
            status=state,
            applied=ids,
            pending=missing,
            error=t.scrub(mismatch[0].message) if mismatch else None,
            code=mismatch[0].code if mismatch else None,
            findings=tuple(found),
            seconds=time.monotonic() - t0,
        )

    outcomes: dict[str, TargetOutcome] = {}
    runner.run(targets, work, outcomes)
    ordered = [outcomes[t.name] for t in targets]
    rows = []
    diags = list(pr.diagnostics)
    for o in ordered:
        d = o.to_dict()
        d["pending"] = list(o.pending)
        d["drift"] = [f.to_dict() for f in o.findings if f.code not in ("SC700", "SC705")]
        rows.append(d)
        diags += [
            Diagnostic(
                f.severity,
                f.code,
                f"target {o.name}: {f.message}",
                f.file,
                f.line,
                f.column,
                package=f.package,
                entity=f.entity,
                hint=f.hint,
            )
            for f in o.findings
        ]
    diags += [d for d in _diagnostics(ordered) if d.code not in ("SC700", "SC705")]
    packages = deploy._status_packages(pr, reg, approved, queued, None)
    result = Result(
        diagnostics=diags,
        packages=packages,
        migrations=deploy._summaries(approved + queued, None),
        data={"targets": rows},
        messages=[
            f"{len(ordered)} target(s): {_counts(ordered, (CURRENT, BEHIND, DRIFT, FAILED))}; "
            f"{len(approved)} approved migration(s)"
        ],
    )
    code = _exit_code(ordered)
    result.exit_code = 1 if code == 0 and has_errors(diags) else code
    return result


def _inspect(
    t: Target,
    config: Config,
    pr: ProjectResult,
    reg: registry.Registry,
    approved: list[dict[str, Any]],
    connect_timeout: float | None,
) -> tuple[dict[str, Any], list[Diagnostic]]:
    from .deploy import inspect

    return inspect(t.url, config, pr, reg, approved, connect_timeout=connect_timeout)


def _first(urls: list[str] | None) -> str | None:
    return urls[0] if urls else None
