"""The history table ``schemactl.history``: one row per applied migration.

Owns its DDL, reading it, and the INSERT that records a migration.  The INSERT is plain
SQL text with quoted literals (no parameters), so that ``apply --dry-run`` prints exactly
the statement ``apply`` runs.  ``applied_at`` is the start of the migration's transaction
and ``duration_ms`` is measured by the server at the end of it, just before the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import __version__
from .sql.quote import ident, qualified, string

if TYPE_CHECKING:
    import psycopg

SCHEMA = "schemactl"
TABLE = "history"
QUALIFIED = qualified(SCHEMA, TABLE)

DDL: tuple[str, ...] = (
    f"CREATE SCHEMA IF NOT EXISTS {ident(SCHEMA)}",
    f"""CREATE TABLE IF NOT EXISTS {QUALIFIED} (
  "id" text NOT NULL,
  "package" text NOT NULL,
  "sql_checksum" text NOT NULL,
  "applied_at" timestamptz NOT NULL DEFAULT now(),
  "applied_by" text NOT NULL DEFAULT current_user,
  "duration_ms" integer NOT NULL,
  "schemactl_version" text NOT NULL,
  CONSTRAINT "pk_history" PRIMARY KEY ("id")
)""",
    f"COMMENT ON TABLE {QUALIFIED} IS "
    + string("Migrations applied by schemactl apply (one row per migration)"),
)


@dataclass(frozen=True, slots=True)
class Applied:
    """One history row."""

    id: str
    package: str
    sql_checksum: str
    applied_at: datetime
    applied_by: str
    duration_ms: int
    schemactl_version: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "package": self.package,
            "sql_checksum": self.sql_checksum,
            "applied_at": self.applied_at.isoformat(),
            "applied_by": self.applied_by,
            "duration_ms": self.duration_ms,
            "schemactl_version": self.schemactl_version,
        }


def exists(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{TABLE}",)).fetchone()
    return bool(row and row[0])


def ensure(conn: psycopg.Connection[Any]) -> bool:
    """Create the table if missing (call under the apply lock); True when it was created."""
    if exists(conn):
        return False
    with conn.transaction():
        for stmt in DDL:
            conn.execute(stmt)
    return True


def read(conn: psycopg.Connection[Any]) -> dict[str, Applied]:
    """Every row by id (empty when the table does not exist)."""
    if not exists(conn):
        return {}
    rows = conn.execute(
        f"SELECT id, package, sql_checksum, applied_at, applied_by, duration_ms, "
        f"schemactl_version FROM {QUALIFIED} ORDER BY applied_at, id"
    ).fetchall()
    return {r[0]: Applied(*r) for r in rows}


def insert_sql(migration_id: str, package: str, sql_checksum: str, actor: str | None) -> str:
    """The statement that records a migration, run last inside its transaction."""
    by = string(actor) if actor else "current_user"
    return (
        f'INSERT INTO {QUALIFIED} ("id", "package", "sql_checksum", "applied_by", '
        f'"duration_ms", "schemactl_version") VALUES ({string(migration_id)}, '
        f"{string(package)}, {string(sql_checksum)}, {by}, "
        "(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer, "
        f"{string(__version__)})"
    )
