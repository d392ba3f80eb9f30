"""The apply lock: a PostgreSQL session-level advisory lock on a dedicated connection.

One ``apply`` at a time per database.  The key is a signed 64-bit number derived from a
fixed name and the database name, so every schemactl computes the same key for the same
database, and different databases on one server do not block each other.  The lock is
polled with ``pg_try_advisory_lock`` until the timeout (a blocking ``pg_advisory_lock``
could not be given up cleanly); when it stays busy the error names who holds it, from
``pg_locks`` joined with ``pg_stat_activity``.  The server releases the lock when the
holding session ends, so a killed ``apply`` never leaves it behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .errors import OperationalError

if TYPE_CHECKING:
    import psycopg

LOCK_NAME = "schemactl.apply"


def lock_key(dbname: str) -> int:
    """The advisory lock key for ``dbname`` (a signed bigint)."""
    digest = hashlib.sha256(f"{LOCK_NAME}\0{dbname}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _split(key: int) -> tuple[int, int]:
    """(classid, objid) under which pg_locks shows a bigint advisory lock."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


HOLDER_SQL = """
SELECT a.pid, a.usename, a.application_name, host(a.client_addr), a.backend_start,
       a.state, a.state_change
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
  AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 1
"""


def holder(conn: psycopg.Connection[Any], key: int) -> str | None:
    """Who holds the lock, for people: pid, user, application, client, since when."""
    classid, objid = _split(key)
    row = conn.execute(HOLDER_SQL, (classid, objid)).fetchone()
    if row is None:
        return None
    pid, user, app, client, started, state, _changed = row
    parts = [f"pid {pid}"]
    if user:
        parts.append(f"user {user}")
    if app:
        parts.append(f"application {app!r}")
    parts.append(f"client {client or 'local socket'}")
    if started is not None:
        parts.append(f"connected since {started:%Y-%m-%d %H:%M:%S %Z}".rstrip())
    if state:
        parts.append(f"state {state}")
    return ", ".join(parts)


@contextlib.contextmanager
def advisory_lock(
    conn: psycopg.Connection[Any],
    *,
    timeout: float,
    on_wait: Callable[[str | None], None] | None = None,
    poll: float = 0.25,
) -> Iterator[int]:
    """Hold the apply lock on ``conn`` (autocommit, used for nothing else) for the block.

    Raises OperationalError (exit 3, SC710) naming the holder when the lock is still busy
    after ``timeout`` seconds.
    """
    row = conn.execute("SELECT current_database()").fetchone()
    key = lock_key(str(row[0]) if row else "")
    # An idle lock connection must not be closed by the server under us.
    with contextlib.suppress(Exception):
        conn.execute("SET idle_session_timeout = 0")
    deadline = time.monotonic() + max(0.0, timeout)
    waited = False
    while True:
        got = conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s)", (key,)).fetchone()
        if got and got[0]:
            break
        now = time.monotonic()
        if now >= deadline:
            who = holder(conn, key)
            raise OperationalError(
                f"timed out after {timeout:g}s waiting for the apply lock on this database: "
                f"held by {who or 'a session that just ended'}",
                hint="another `schemactl apply` is running; wait for it or raise "
                "--lock-timeout (a stuck holder can be ended with "
                "SELECT pg_terminate_backend(<pid>))",
                code="SC710",
            )
        if not waited and on_wait is not None:
            on_wait(holder(conn, key))
        waited = True
        time.sleep(min(poll, max(0.01, deadline - now)))
    try:
        yield key
    finally:
        with contextlib.suppress(Exception):
            if not conn.closed:
                conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (key,))
