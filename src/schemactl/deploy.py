"""The database commands: ``apply``, ``status`` and the ``--shadow`` part of ``check``.

Each returns a ``commands.Result`` (or diagnostics) and prints nothing, except the
progress of ``apply`` on stderr (:mod:`schemactl.progress`).  The pieces live in their own
modules: :mod:`schemactl.db` (connecting), :mod:`schemactl.dblock` (the advisory lock),
:mod:`schemactl.history` (``schemactl.history``), :mod:`schemactl.apply` (verification
and the run), :mod:`schemactl.introspect` and :mod:`schemactl.drift` (drift),
:mod:`schemactl.shadow` (the throwaway server).

Importing this module loads neither psycopg nor rich; they load when a command runs.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry
from .commands import Result, packages_json
from .config import Config, load_config
from .diagnostics import Diagnostic, has_errors
from .errors import OperationalError

if TYPE_CHECKING:
    from .history import Applied
    from .model import Entity
    from .progress import Progress
    from .project import ProjectResult


def _rel(config: Config, p: Path) -> str:
    try:
        return p.relative_to(config.root).as_posix()
    except ValueError:
        return str(p)


@contextlib.contextmanager
def database_errors(doing: str) -> Iterator[None]:
    """A psycopg error outside a migration (permissions, a dropped connection) -> exit 3."""
    import psycopg

    try:
        yield
    except psycopg.Error as e:
        detail = str(getattr(getattr(e, "diag", None), "message_primary", None) or e).strip()
        hint = None
        if getattr(e, "sqlstate", None) == "42501":
            hint = "the role needs CREATE on the database (see docs/deploy.md, Permissions)"
        raise OperationalError(
            f"database error while {doing}: {detail.splitlines()[0] if detail else e}",
            hint=hint,
            code="SC713",
        ) from None


def _summaries(
    migrations: list[dict[str, Any]], applied: dict[str, Applied] | None
) -> list[dict[str, Any]]:
    from .registry import summary as migration_summary

    out = []
    for m in migrations:
        s = migration_summary(m)
        row = applied.get(m["id"]) if applied is not None else None
        s["applied"] = None if applied is None else row is not None
        s["applied_at"] = row.applied_at.isoformat() if row is not None else None
        out.append(s)
    return out


# ----------------------------------------------------------------------------- apply


def apply(
    root: Path,
    *,
    database_url: str | None,
    dry_run: bool,
    lock_timeout: float,
    progress: Progress | None = None,
) -> Result:
    """Apply the approved migrations that the database does not have yet (SPEC §9)."""
    from . import db

    config = load_config(root)
    reg = registry.read(config)
    migrations = reg.approved()
    problems = refusals(config, reg, migrations)
    if problems:
        return Result(
            diagnostics=problems,
            messages=[
                "nothing applied: the registry holds approved records edited by hand "
                "or without the signatures they need"
            ],
        )
    url = db.resolve_url(database_url)
    return apply_to(
        url,
        reg,
        migrations,
        dry_run=dry_run,
        lock_timeout=lock_timeout,
        progress=progress,
    )


def refusals(
    config: Config, reg: registry.Registry, migrations: list[dict[str, Any]]
) -> list[Diagnostic]:
    """Why no approved migration may run: a record edited by hand, or (SPEC §14) one that
    lacks the signatures it needs."""
    from . import apply as applying
    from .approval import problems as signature_problems

    return applying.integrity_problems(reg, migrations) + signature_problems(
        config, migrations, approved_only=True
    )


def apply_to(
    url: str,
    reg: registry.Registry,
    migrations: list[dict[str, Any]],
    *,
    dry_run: bool,
    lock_timeout: float,
    progress: Progress | None = None,
    connect_timeout: float | None = None,
) -> Result:
    """The single-database part of ``apply`` (also run once per target by
    :mod:`schemactl.fleet`): ``migrations`` are the registry's approved records in order,
    already checked for integrity."""
    from . import apply as applying
    from . import db, dblock, history

    where = db.describe(url)
    actor = applying.actor()

    def connect(purpose: str) -> Any:
        return db.connect(url, purpose=purpose, timeout=connect_timeout)

    if dry_run:
        with connect("apply --dry-run") as conn, database_errors("reading"):
            missing = not history.exists(conn)
            applied = applying.canonical_history(history.read(conn), migrations)
        diags = applying.verify_applied(reg, applied)
        result = Result(diagnostics=diags, migrations=_summaries(migrations, applied))
        if has_errors(diags):
            result.messages.append("dry run stopped: the database does not match the registry")
            return result
        pending = [m for m in migrations if m["id"] not in applied]
        script = applying.dry_run_script(
            pending, history_missing=missing, where=where, total=len(migrations), applied_by=actor
        )
        result.data = {"dry_run": True, "pending": [m["id"] for m in pending], "sql": script}
        result.data["text"] = script
        result.messages.append(
            f"dry run: {len(pending)} migration(s) would be applied to {where}; nothing changed"
        )
        return result

    if progress is None:
        from .progress import auto

        progress = auto()
    t0 = time.monotonic()

    def waiting(who: str | None) -> None:
        assert progress is not None
        progress.info(f"waiting up to {lock_timeout:g}s for the apply lock (held by {who})")

    with (
        database_errors("taking the apply lock"),
        connect("apply lock") as lock_conn,
        dblock.advisory_lock(lock_conn, timeout=lock_timeout, on_wait=waiting),
        connect("apply") as conn,
    ):
        with database_errors("creating or reading schemactl.history"):
            history.ensure(conn)
            applied = applying.canonical_history(history.read(conn), migrations)
        diags = applying.verify_applied(reg, applied)
        if has_errors(diags):
            return Result(
                diagnostics=diags,
                migrations=_summaries(migrations, applied),
                messages=["nothing applied: the database does not match the registry"],
            )
        pending = [m for m in migrations if m["id"] not in applied]
        if not pending:
            return Result(
                migrations=_summaries(migrations, applied),
                data={"applied_now": [], "database": where},
                messages=[
                    f"nothing to apply: all {len(migrations)} approved migration(s) are "
                    f"applied to {where}"
                ],
            )
        outcome = applying.run(conn, pending, progress, applied_by=actor)
        with database_errors("reading schemactl.history"):
            after = applying.canonical_history(history.read(conn), migrations)
    result = Result(
        migrations=_summaries(migrations, after),
        data={"applied_now": [mid for mid, _ in outcome.applied], "database": where},
    )
    done = len(outcome.applied)
    elapsed = time.monotonic() - t0
    if outcome.failure is not None:
        result.diagnostics.append(outcome.failure)
        left = len(pending) - done
        result.messages.append(
            f"stopped: {done} migration(s) applied before the failure stay applied; "
            f"{left} not applied"
        )
    else:
        result.messages.append(
            f"applied {done} migration(s) to {where} in {elapsed:.2f}s; "
            f"{len(after)} of {len(migrations)} approved migration(s) are applied"
        )
    return result


# ----------------------------------------------------------------------------- status


def expected_after(reg: registry.Registry, applied: set[str]) -> tuple[list[Entity], list[str]]:
    """The model the database should have, and the packages it cannot be told for.

    A package all of whose approved migrations are applied should have its baseline; one
    with none applied, nothing of its own.  The registry keeps an entity's definition only
    once, in the baseline, so a package applied part-way has no model to compare with:
    its drift is not checked (its unapplied migrations are listed instead)."""
    from .serialize import entity_from_data

    entities: list[Entity] = []
    partial: list[str] = []
    for pkg in reg.packages():
        ids = [m["id"] for m in reg.records(pkg) if m["status"] == registry.APPROVED]
        done = [i for i in ids if i in applied]
        if ids and len(done) == len(ids):
            entities += [
                entity_from_data(v["definition"]) for _, v in sorted(reg.baseline(pkg).items())
            ]
        elif done:
            partial.append(pkg)
    return entities, partial


def status(root: Path, *, database_url: str | None) -> Result:
    """Per package: baseline, pending and approved migrations; with a database also
    which are applied, and drift (exit 1)."""
    from .project import load_project

    config = load_config(root)
    pr = load_project(config.root, config=config)
    reg = registry.read(config)
    approved = reg.approved()
    pending = [m for m in reg.all_records() if m["status"] == registry.PENDING]
    url = (database_url or "").strip() or os.environ.get("DATABASE_URL", "").strip() or None

    diags = list(pr.diagnostics)
    applied: dict[str, Applied] | None = None
    where = None
    if url is not None:
        from . import db

        where = db.describe(url)
        applied, found = inspect(url, config, pr, reg, approved)
        diags += found

    packages = _status_packages(pr, reg, approved, pending, applied)
    listed = approved + pending
    result = Result(
        diagnostics=diags,
        packages=packages,
        migrations=_summaries(listed, applied),
        data={"database": where},
    )
    result.messages = _status_text(packages, where, applied, approved, diags)
    return result


def inspect(
    url: str,
    config: Config,
    pr: ProjectResult,
    reg: registry.Registry,
    approved: list[dict[str, Any]],
    *,
    connect_timeout: float | None = None,
) -> tuple[dict[str, Applied], list[Diagnostic]]:
    """The single-database part of ``status`` (also run once per target by
    :mod:`schemactl.fleet`): what is applied, and the checksum and drift findings."""
    from . import apply as applying
    from . import db, drift, history, introspect

    files = {p.id: p.file for p in pr.project.packages}
    with (
        db.connect(url, purpose="status", timeout=connect_timeout) as conn,
        database_errors("reading the catalog"),
    ):
        applied = applying.canonical_history(history.read(conn), approved)
        diags = applying.verify_applied(reg, applied)
        expected, partial = expected_after(reg, set(applied))
        schemas = (
            {e.namespace for e in expected}
            | {m.get("namespace", m["package"]) for m in reg.all_records()}
            | {p.namespace for p in pr.project.packages}
        ) - {m.get("namespace", m["package"]) for p in partial for m in reg.records(p)}
        catalog = introspect.read_catalog(conn, schemas)
        from .acl import drift as acl_drift  # SPEC §13: policy and grant drift

        done = {e.package for e in expected}
        diags += acl_drift.compare(
            acl_drift.expected_from_entries(
                entry for pkg in sorted(done) for entry in reg.baseline(pkg).values()
            ),
            acl_drift.read_live(conn, schemas),
        )
    diags += drift.compare(
        expected,
        catalog,
        schemas=schemas,
        ignore_tables={(x.namespace, x.table) for x in config.externals},
        files=files,
        schema_packages=_schema_packages(pr, reg),
        hint="the database differs from its applied migrations: undo the manual change, "
        "or put it into the entities files and plan a migration",
    )
    return applied, diags


def _schema_packages(pr: ProjectResult, reg: registry.Registry) -> dict[str, str]:
    out = {m.get("namespace", m["package"]): m["package"] for m in reg.all_records()}
    out.update({p.namespace: p.id for p in pr.project.packages})
    return out


def _status_packages(
    pr: ProjectResult,
    reg: registry.Registry,
    approved: list[dict[str, Any]],
    pending: list[dict[str, Any]],
    applied: dict[str, Applied] | None,
) -> list[dict[str, Any]]:
    packages = packages_json(pr.project)
    known = {p["id"] for p in packages}
    for m in approved + pending:
        if m["package"] not in known:
            known.add(m["package"])
            packages.append(
                {
                    "id": m["package"],
                    "namespace": m.get("namespace", m["package"]),
                    "path": None,
                    "entities": [],
                }
            )
    for p in packages:
        pid = p["id"]
        p["baseline"] = {n: b["checksum"] for n, b in sorted(reg.baseline(pid).items())}
        p["approved"] = [m["id"] for m in approved if m["package"] == pid]
        p["pending"] = [m["id"] for m in pending if m["package"] == pid]
        p["applied"] = None if applied is None else [i for i in p["approved"] if i in applied]
    return packages


def _status_text(
    packages: list[dict[str, Any]],
    where: str | None,
    applied: dict[str, Applied] | None,
    approved: list[dict[str, Any]],
    diags: list[Diagnostic],
) -> list[str]:
    lines = []
    for p in packages:
        lines.append(f"package {p['id']} (schema {p['namespace']})")
        base = ", ".join(f"{n} {c[7:19]}" for n, c in p["baseline"].items()) or "empty"
        lines.append(f"  baseline: {base}")
        for mid in p["approved"]:
            if applied is None:
                state = ""
            elif mid in applied:
                state = f"  applied {applied[mid].applied_at:%Y-%m-%d %H:%M:%S %Z}".rstrip()
            else:
                state = "  NOT APPLIED"
            lines.append(f"  approved: {mid}{state}")
        for mid in p["pending"]:
            lines.append(f"  pending:  {mid} (awaiting approval)")
    if where is None:
        lines.append("no database: pass --database-url or set DATABASE_URL to see what is applied")
    else:
        assert applied is not None
        n = sum(1 for m in approved if m["id"] in applied)
        drift = sum(1 for d in diags if d.code in ("SC701", "SC702", "SC703", "SC820"))
        lines.append(
            f"database {where}: {n} of {len(approved)} approved migration(s) applied; "
            + (f"{drift} drift finding(s)" if drift else "no drift")
        )
    return lines


# ----------------------------------------------------------------------------- shadow


def shadow_check(config: Config, pr: ProjectResult, reg: registry.Registry) -> list[Diagnostic]:
    """``check --shadow``: see :mod:`schemactl.shadow`."""
    from . import shadow

    files = {p.id: p.file for p in pr.project.packages}
    with database_errors("running the shadow check"):
        return shadow.check(
            reg,
            externals=config.externals,
            files=files,
            schema_packages=_schema_packages(pr, reg),
        )
