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

The SQL is the registry's stored ``sql.up`` split into statements; those statements and
the history INSERT are exactly what ``--dry-run`` prints.  The SQL renderer emits nothing
that cannot run inside a transaction (no ``CONCURRENTLY``), so every migration is one
transaction; should such a statement ever appear, PostgreSQL refuses it and the migration
rolls back cleanly like any other failure.
"""

from __future__ import annotations

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

ACTOR_ENV = "SCHEMACTL_ACTOR"


# ----------------------------------------------------------------------------- checks


def integrity_problems(migrations: list[dict[str, Any]], registry_file: str) -> list[Diagnostic]:
    """SC602 for an approved record edited by hand, or whose SQL no longer matches its
    checksum: such SQL was never approved and must not run."""
    out = []
    for m in migrations:
        sql = m.get("sql") or {}
        if registry.tampered(m) or m.get("sql_checksum") != registry.sql_checksum(
            sql.get("up", ""), sql.get("down", "")
        ):
            out.append(
                Diagnostic(
                    "error",
                    "SC602",
                    f"migration {m['id']} was edited by hand since it was approved; "
                    "refusing to apply SQL nobody approved",
                    registry_file,
                    package=m.get("package"),
                    hint="restore .schemactl/registry.json from git",
                )
            )
    return out


def verify_applied(
    data: dict[str, Any],
    applied: dict[str, history.Applied],
    registry_file: str,
) -> list[Diagnostic]:
    """SC700 for an applied migration whose checksum differs from the registry; SC705 for
    an applied migration the registry does not hold as approved."""
    by_id = {m["id"]: m for m in data["migrations"]}
    out = []
    for mid, row in applied.items():
        m = by_id.get(mid)
        if m is None or m["status"] != "approved":
            state = "is not in the registry" if m is None else f"is {m['status']} in the registry"
            out.append(
                Diagnostic(
                    "error",
                    "SC705",
                    f"migration {mid} ({row.package}) is applied to the database but {state}",
                    registry_file,
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
                    registry_file,
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
    """Exactly what runs inside the migration's transaction."""
    stmts = split_statements(m["sql"]["up"])
    stmts.append(history.insert_sql(m["id"], m["package"], m["sql_checksum"], actor))
    return stmts


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
                out.failure = failure_diagnostic(m, e, current)
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
        lines += [s + ";" for s in statements(m, applied_by)]
        lines.append("COMMIT;")
    return "\n".join(lines) + "\n"
