"""Connecting to PostgreSQL: where the URL comes from, and clear errors when it fails.

Owns the rules every database command shares (``apply``, ``status``, ``check --shadow``):

- the URL is ``--database-url``, else ``$DATABASE_URL``; neither is an operational error
  (exit 3, SC708), as is every connection failure: unreachable server or unknown host or
  database (SC706), authentication failure (SC707), a server older than
  ``MIN_SERVER_VERSION`` (SC709).  A malformed URL is a configuration error (exit 2).
- messages never show a password: a server is named ``user@host:port/dbname``.

psycopg is imported inside the functions, so ``import schemactl.db`` stays cheap.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, OperationalError

if TYPE_CHECKING:
    import psycopg

ENV_URL = "DATABASE_URL"
CONNECT_TIMEOUT = float(os.environ.get("SCHEMACTL_CONNECT_TIMEOUT", "10"))
APPLICATION_NAME = "schemactl"

# PostgreSQL 13 is the oldest release with gen_random_uuid() built in (uuid keys with
# `generated: true`) and DROP DATABASE ... WITH (FORCE) (the shadow database).
MIN_SERVER_VERSION = 130000


def resolve_url(database_url: str | None) -> str:
    """``--database-url``, else ``$DATABASE_URL``; neither -> OperationalError SC708."""
    url = (database_url or "").strip() or os.environ.get(ENV_URL, "").strip()
    if not url:
        raise OperationalError(
            "no database URL: pass --database-url or set DATABASE_URL",
            hint="e.g. DATABASE_URL=postgresql://deploy@db.internal:5432/app",
            code="SC708",
        )
    return url


def describe(url: str) -> str:
    """``user@host:port/dbname`` for messages: never the password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(url)
    except Exception:
        return "the database"
    user = str(info.get("user") or os.environ.get("PGUSER") or "")
    host = str(info.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(info.get("port") or os.environ.get("PGPORT") or "5432")
    db = str(info.get("dbname") or os.environ.get("PGDATABASE") or user or "")
    where = f"{host}:{port}" if not host.startswith("/") else f"{host} (socket), port {port}"
    return f"{user + '@' if user else ''}{where}/{db}"


def version_problem(server_version: int) -> str | None:
    """Why a server of ``server_version`` (e.g. 150018) cannot be used, or None."""
    if server_version < MIN_SERVER_VERSION:
        major = server_version // 10000
        return (
            f"PostgreSQL {major} is too old: schemactl needs PostgreSQL "
            f"{MIN_SERVER_VERSION // 10000} or newer"
        )
    return None


def connect(
    url: str, *, purpose: str = "apply", timeout: float | None = None
) -> psycopg.Connection[Any]:
    """An autocommit connection, or an exit-3 error that says what went wrong.
    ``timeout``: seconds for the connection attempt (default ``CONNECT_TIMEOUT``)."""
    import psycopg

    where = describe(url)
    seconds = CONNECT_TIMEOUT if timeout is None else timeout
    try:
        conn = psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=max(1, round(seconds)),
            application_name=f"{APPLICATION_NAME} {purpose}",
        )
    except psycopg.ProgrammingError as e:
        raise ConfigError(
            f"invalid database URL: {_first_line(str(e))}",
            hint="use postgresql://user:password@host:5432/dbname or key=value pairs",
            code="SC706",
        ) from None
    except psycopg.OperationalError as e:
        raise connection_error(e, where) from None
    problem = version_problem(conn.info.server_version)
    if problem is not None:
        conn.close()
        raise OperationalError(
            f"{where}: {problem}",
            hint="upgrade the server; every supported PostgreSQL release works",
            code="SC709",
        )
    return conn


def connection_error(e: Exception, where: str) -> OperationalError:
    """Map a libpq connection failure to a one-line message with a useful hint."""
    text = str(e)
    low = text.lower()
    detail = _server_line(text)
    if (
        "password authentication failed" in low
        or "no password supplied" in low
        or "authentication failed" in low
        or "pg_hba.conf" in low
    ):
        return OperationalError(
            f"cannot connect to {where}: authentication failed ({detail})",
            hint="check the user and password in the URL (or PGPASSWORD / ~/.pgpass)",
            code="SC707",
        )
    if "does not exist" in low and "database" in low:
        return OperationalError(
            f"cannot connect to {where}: {detail}",
            hint="create the database first (schemactl creates schemas, not databases)",
            code="SC706",
        )
    if "timeout" in low:
        hint = "the server did not answer in time: check host, port and firewalls"
    elif "translate host name" in low or "name or service not known" in low:
        hint = "the host name does not resolve: check the URL"
    else:
        hint = "is the server running and accepting connections at that address?"
    return OperationalError(
        f"cannot connect to {where}: {detail}",
        hint=hint,
        code="SC706",
    )


def _server_line(text: str) -> str:
    """The informative part of a libpq error: the FATAL line, else the last failure line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if "FATAL:" in ln:
            return ln.split("FATAL:", 1)[1].strip()
    for ln in lines:
        if " failed: " in ln:
            return ln.rsplit(" failed: ", 1)[1].strip()
    return lines[0] if lines else "connection failed"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
