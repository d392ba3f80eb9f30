"""PostgreSQL for the test suite: a throwaway server, or the one named by an env variable.

``start_throwaway_server()`` is a plain context manager usable outside pytest: the product's
own private server (:func:`schemactl.shadow.throwaway_server`: ``initdb`` into a temporary
directory, as the ``postgres`` OS user when root, trust auth, fsync off, always stopped and
removed), here also listening on a free port of 127.0.0.1.

Fixtures (imported by ``conftest.py``):

- ``pg_server`` (session): a :class:`PgServer` whose ``.url`` is a superuser libpq URL. It is
  the server named by ``SCHEMACTL_TEST_DATABASE_URL`` when that is set, else a throwaway one.
- ``pg_db`` (function): the URL of a fresh, empty, uniquely named database on that server,
  dropped ``WITH (FORCE)`` afterwards.

When no server can be had the tests that need one are skipped, except under CI (``CI`` set),
where they fail: CI must never pass by skipping the database tests.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from schemactl import shadow
from schemactl.errors import OperationalError
from schemactl.shadow import find_pg_bindir

if TYPE_CHECKING:
    import psycopg

ENV_URL = "SCHEMACTL_TEST_DATABASE_URL"
DB_PREFIX = "schemactl_test_"

_counter = itertools.count(1)


class PgUnavailable(RuntimeError):
    """No PostgreSQL server could be had (binaries missing, start failed, ...)."""


class PgMisconfigured(PgUnavailable):
    """The machine has PostgreSQL but is set up so that it cannot run (always a failure)."""


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but a false value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the current test, or fail it under CI where nothing may be skipped silently."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- server model


@dataclass(frozen=True)
class PgServer:
    """A reachable PostgreSQL server and a superuser URL for it (its maintenance database)."""

    url: str

    def database_url(self, dbname: str) -> str:
        """The same connection with ``dbname`` as the database."""
        if "://" in self.url:
            parts = urlsplit(self.url)
            return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.url, dbname=dbname)

    def create_database(self, prefix: str = DB_PREFIX) -> str:
        """Create a new empty database with a unique name; return its name."""
        from psycopg import sql

        name = f"{prefix}{os.getpid()}_{next(_counter)}_{secrets.token_hex(4)}"
        with _admin(self.url) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
            )
        return name

    def drop_database(self, name: str) -> None:
        from psycopg import sql

        with _admin(self.url) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        """Context manager: the URL of a new empty database, dropped on exit."""
        name = self.create_database()
        try:
            yield self.database_url(name)
        finally:
            self.drop_database(name)

    def check(self) -> str:
        """Connect once; return the server version string (raises on failure)."""
        with _admin(self.url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


def _admin(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


# --------------------------------------------------------------------------- throwaway server


@contextlib.contextmanager
def start_throwaway_server(*, startup_timeout: int = 60) -> Iterator[PgServer]:
    """Start a private PostgreSQL server for the duration of the ``with`` block.

    Raises :class:`PgUnavailable` when it cannot be started (:class:`PgMisconfigured` when
    running as root with no ``postgres`` OS user). As root, initdb and the server
    run as the OS user ``postgres``, which must exist (``.ci/run`` makes sure it does).
    """
    bindir = find_pg_bindir()
    if bindir is None:
        raise PgUnavailable(
            "PostgreSQL binaries not found: no pg_ctl/initdb on PATH nor in "
            "/usr/lib/postgresql/*/bin (install PostgreSQL, or set "
            f"{ENV_URL} to a superuser URL of an existing server)"
        )
    with contextlib.ExitStack() as stack:
        try:
            running = stack.enter_context(
                shadow.throwaway_server(
                    bindir,
                    tcp=True,
                    settings={"max_connections": "100"},
                    startup_timeout=startup_timeout,
                    prefix="schemactl-pg-",
                )
            )
        except shadow.NoServerUserError as exc:
            raise PgMisconfigured(
                f"{exc} (create it, e.g. `useradd --system --user-group {shadow.OS_USER}`, "
                "or run .ci/run which does)"
            ) from None
        except OperationalError as exc:
            raise PgUnavailable(str(exc)) from exc
        server = PgServer(url=running.url)
        try:
            server.check()
        except Exception as exc:
            raise PgUnavailable(f"throwaway server started but refuses connections: {exc}") from exc
        yield server


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole session (see the module docstring)."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        server = PgServer(url=url)
        problem = ""
        try:
            server.check()
        except Exception as exc:
            problem = str(exc)
        if problem:
            # An explicitly configured server that does not answer is a setup error,
            # never a reason to skip.
            message = f"{ENV_URL} is set but the server does not answer: {problem}"
            pytest.fail(message, pytrace=False)
        yield server
        return

    with contextlib.ExitStack() as stack:
        error: PgUnavailable | None = None
        try:
            server = stack.enter_context(start_throwaway_server())
        except PgUnavailable as exc:
            error = exc
        if isinstance(error, PgMisconfigured):
            pytest.fail(f"cannot start PostgreSQL for the tests: {error}", pytrace=False)
        if error is not None:
            skip_or_fail(f"no PostgreSQL server for the tests: {error}")
        yield server


@pytest.fixture
def pg_db(pg_server: PgServer) -> Iterator[str]:
    """URL of a fresh empty database, dropped (WITH (FORCE)) after the test."""
    with pg_server.fresh_database() as url:
        yield url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the server with ``postgres`` (so ``-m 'not postgres'``)."""
    for item in items:
        if {"pg_server", "pg_db"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
