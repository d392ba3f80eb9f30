"""Applying approved migrations to a database: verification, the run, and ``--dry-run``.

The order of one ``apply`` (SPEC §9):

1. every approved record must be intact (its ``record_hash`` and its SQL checksum), else
   SC602 and nothing is done: approval approved exactly that SQL;
2. take the advisory lock (:mod:`schemactl.dblock`) and create ``schemactl.history``
   (:mod:`schemactl.history`) if missing;
3. verify every applied migration against the registry: a different checksum (SC700), or
   an applied id the registry does not hold as approved (SC705), stops the run before
   any change;
4. apply each approved, not yet applied migration in order, each in its own transaction
   together with its history row.  A failing statement rolls that migration back and
   stops the run (SC704, with the server's message, the migration id and the statement);
   migrations applied before it stay applied and recorded.

The SQL is the registry's stored ``sql.up``, sent as it is (the bytes its checksum covers,
the same bytes ``migration.sql`` holds between ``BEGIN`` and ``COMMIT``); it and the
history INSERT are exactly what ``--dry-run`` prints.  The SQL renderer emits nothing
that cannot run inside a transaction (no ``CONCURRENTLY``), so every migration is one
transaction; should such a statement ever appear, PostgreSQL refuses it and the migration
rolls back cleanly like any other failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import history, registry
from .diagnostics import Diagnostic
from .errors import OperationalError
from .progress import Progress
from .sql import split_statements

if TYPE_CHECKING:
    import psycopg

    from .registry import Registry

ACTOR_ENV = "SCHEMACTL_ACTOR"


# ----------------------------------------------------------------------------- checks


def integrity_problems(reg: Registry, migrations: list[dict[str, Any]]) -> list[Diagnostic]:
    """SC602 for an approved record edited by hand, or whose SQL no longer matches its
    checksum: such SQL was never approved and must not run."""
    from .registry.integrity import tampered_record

    return [
        tampered_record(reg, m, "; refusing to apply SQL nobody approved")
        for m in migrations
        if registry.tampered(m)
    ]


def canonical_history(
    applied: dict[str, history.Applied], migrations: list[dict[str, Any]]
) -> dict[str, history.Applied]:
    """The history by registry id: a row recorded under an id that `schemactl upgrade`
    renamed (the record's ``renamed_from``) counts for the record's current id."""
    alias = {old: m["id"] for m in migrations for old in m.get("renamed_from", ())}
    return {alias.get(mid, mid): row for mid, row in applied.items()}


def verify_applied(reg: Registry, applied: dict[str, history.Applied]) -> list[Diagnostic]:
    """SC700 for an applied migration whose checksum differs from the registry; SC705 for
    an applied migration the registry does not hold as approved."""
    by_id = {m["id"]: m for m in reg.all_records()}
    out = []
    for mid, row in applied.items():
        m = by_id.get(mid)
        where = reg.file_of(row.package if m is None else m["package"])
        if m is None or m["status"] != "approved":
            state = "is not in the registry" if m is None else f"is {m['status']} in the registry"
            out.append(
                Diagnostic(
                    "error",
                    "SC705",
                    f"migration {mid} ({row.package}) is applied to the database but {state}",
                    where,
                    package=row.package,
                    hint="the database is ahead of this registry: deploy from the branch that "
                    "applied it, or restore the registry from git",
                )
            )
        elif m["sql_checksum"] != row.sql_checksum:
            out.append(
                Diagnostic(
                    "error",
                    "SC700",
                    f"migration {mid} was applied with checksum {row.sql_checksum}, but the "
                    f"registry holds {m['sql_checksum']}",
                    where,
                    package=m["package"],
                    hint="the approved SQL changed after it was applied (or the history was "
                    "edited): restore the registry from git; never edit applied migrations, "
                    "plan a new one instead",
                )
            )
    return out


# ----------------------------------------------------------------------------- the run


@dataclass
class Outcome:
    applied: list[tuple[str, float]] = field(default_factory=list)  # (id, seconds)
    failure: Diagnostic | None = None


def statements(m: dict[str, Any], actor: str | None) -> list[str]:
    """Exactly what runs inside the migration's transaction: the approved SQL, byte for
    byte as its checksum covers it (one simple-query message), then the history row."""
    return [m["sql"]["up"], history.insert_sql(m["id"], m["package"], m["sql_checksum"], actor)]


def failing_statement(conn: psycopg.Connection[Any], sql: str, e: Exception) -> str:
    """The statement of ``sql`` that ``e`` is about.  PostgreSQL gives the error's position
    in the text sent for some errors; for others (an object that already exists, a lock
    timeout) the statements are replayed one by one in a transaction that is rolled back,
    which finds the first that fails and changes nothing."""
    import psycopg

    pos = getattr(getattr(e, "diag", None), "statement_position", None)
    try:
        offset = int(pos) - 1 if pos else -1
    except ValueError:
        offset = -1
    stmts = split_statements(sql)
    if offset >= 0:
        seen = 0
        for stmt in stmts:
            at = sql.find(stmt, seen)
            if at < 0:
                break
            seen = at + len(stmt)
            if offset < seen:
                return stmt
    found = sql
    with contextlib.suppress(psycopg.Error), conn.transaction():
        for stmt in stmts:
            try:
                conn.execute(stmt)
            except psycopg.Error:
                found = stmt
                break
        raise psycopg.Rollback()
    return found


def actor() -> str | None:
    """``applied_by``: ``$SCHEMACTL_ACTOR``, else (None) the database role."""
    return os.environ.get(ACTOR_ENV, "").strip() or None


def run(
    conn: psycopg.Connection[Any],
    pending: list[dict[str, Any]],
    progress: Progress,
    *,
    applied_by: str | None = None,
) -> Outcome:
    """Apply ``pending`` in order, one transaction each; stop at the first failure."""
    import psycopg

    out = Outcome()
    progress.start(len(pending))
    try:
        for m in pending:
            mid = m["id"]
            progress.begin(mid, m["package"])
            t0 = time.monotonic()
            current = ""
            try:
                with conn.transaction():
                    for stmt in statements(m, applied_by):
                        current = stmt
                        conn.execute(stmt)
            except psycopg.Error as e:
                if conn.broken or conn.closed:
                    raise OperationalError(
                        f"lost the database connection while applying {mid}: "
                        f"{_first(str(e))}; the server rolls that migration back",
                        hint="run apply again once the server is reachable",
                        code="SC706",
                    ) from None
                out.failure = failure_diagnostic(m, e, failing_statement(conn, current, e))
                progress.failed(mid, _server_message(e))
                break
            seconds = time.monotonic() - t0
            out.applied.append((mid, seconds))
            progress.done(mid, seconds)
    finally:
        progress.finish()
    return out


def failure_diagnostic(m: dict[str, Any], e: Exception, statement: str) -> Diagnostic:
    diag = getattr(e, "diag", None)
    detail = getattr(diag, "message_detail", None)
    server_hint = getattr(diag, "message_hint", None)
    sqlstate = getattr(e, "sqlstate", None)
    msg = (
        f"migration {m['id']} ({m['package']}) failed and was rolled back: "
        f"{_server_message(e)}" + (f" ({detail})" if detail else "")
    )
    msg += f"\n  sqlstate: {sqlstate}" if sqlstate else ""
    msg += f"\n  statement: {shorten(statement)}"
    hint = "nothing of this migration was applied and it is not recorded; fix the cause, then "
    hint += "run apply again (migrations before it stay applied)"
    if server_hint:
        hint = f"{server_hint}; {hint}"
    return Diagnostic("error", "SC704", msg, package=m["package"], hint=hint)


def shorten(statement: str, limit: int = 400) -> str:
    flat = re.sub(r"\s+", " ", statement).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _server_message(e: Exception) -> str:
    diag = getattr(e, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return str(primary) if primary else _first(str(e))


def _first(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else text


# ----------------------------------------------------------------------------- dry run


def dry_run_script(
    pending: list[dict[str, Any]],
    *,
    history_missing: bool,
    where: str,
    total: int,
    applied_by: str | None = None,
) -> str:
    """The SQL ``apply`` would run, transaction by transaction (psql can run it as is)."""
    lines = [
        "-- schemactl apply --dry-run",
        f"-- database: {where}",
        f"-- {len(pending)} of {total} approved migration(s) to apply, in this order, "
        "each in its own transaction,",
        "-- under a session advisory lock (pg_try_advisory_lock) held for the whole run.",
    ]
    if not pending:
        lines.append("-- nothing to apply: the database is up to date")
        return "\n".join(lines) + "\n"
    if history_missing:
        lines += ["", "-- the history table does not exist yet: it is created first", "BEGIN;"]
        lines += [s + ";" for s in history.DDL]
        lines.append("COMMIT;")
    for m in pending:
        lines += [
            "",
            f"-- migration {m['id']} (package {m['package']}, {m['sql_checksum']})",
            "BEGIN;",
        ]
        up, record = statements(m, applied_by)
        lines += [up.rstrip("\n"), record + ";"]
        lines.append("COMMIT;")
    return "\n".join(lines) + "\n"
