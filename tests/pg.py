"""PostgreSQL for the test suite: a throwaway server, or the one named by an env variable.

``start_throwaway_server()`` is a plain context manager usable outside pytest: it runs
``initdb`` into a temporary directory, starts the server with ``pg_ctl`` on a free port of
127.0.0.1 (trust auth, fsync off) and always stops it and removes the directory.

Fixtures (imported by ``conftest.py``):

- ``pg_server`` (session): a :class:`PgServer` whose ``.url`` is a superuser libpq URL. It is
  the server named by ``SCHEMACTL_TEST_DATABASE_URL`` when that is set, else a throwaway one.
- ``pg_db`` (function): the URL of a fresh, empty, uniquely named database on that server,
  dropped ``WITH (FORCE)`` afterwards.

When no server can be had the tests that need one are skipped, except under CI (``CI`` set),
where they fail: CI must never pass by skipping the database tests.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

if TYPE_CHECKING:
    import psycopg

ENV_URL = "SCHEMACTL_TEST_DATABASE_URL"
OS_USER = "postgres"
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


# --------------------------------------------------------------------------- binaries


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_pg_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: from PATH, else the newest
    ``/usr/lib/postgresql/*/bin``."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        bindir = Path(on_path).resolve().parent
        if (bindir / "initdb").exists():
            return bindir
        return Path(on_path).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        bindir = Path(candidate)
        if os.access(bindir / "pg_ctl", os.X_OK) and os.access(bindir / "initdb", os.X_OK):
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

    owner: pwd.struct_passwd | None = None
    user: int | None = None
    group: int | None = None
    extra_groups: list[int] | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(OS_USER)
        except KeyError:
            raise PgMisconfigured(
                f"running as root, and PostgreSQL refuses to run as root, but there is no OS "
                f"user {OS_USER!r} to run it as (create it, e.g. "
                f"`useradd --system --user-group {OS_USER}`, or run .ci/run which does)"
            ) from None
        user, group, extra_groups = owner.pw_uid, owner.pw_gid, []

    base = Path(tempfile.mkdtemp(prefix="schemactl-pg-"))
    datadir, sockdir, logfile = base / "data", base / "sock", base / "server.log"
    env = {
        **os.environ,
        "LC_ALL": "C",
        "LANG": "C",
        "HOME": str(base),
        "PGTZ": "UTC",
    }
    for var in ("PGDATA", "PGPORT", "PGHOST", "PGUSER", "PGDATABASE"):
        env.pop(var, None)

    def run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            cwd=base,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=user,
            group=group,
            extra_groups=extra_groups,
        )

    started = False
    pg_ctl = str(bindir / "pg_ctl")

    def stop() -> None:
        nonlocal started
        if started:
            started = False
            with contextlib.suppress(Exception):
                run([pg_ctl, "stop", "-D", str(datadir), "-m", "immediate", "-w"], 60)
        shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)  # backstop should the with-block's exit never run (e.g. a 2nd Ctrl-C)
    try:
        sockdir.mkdir()
        if owner is not None:
            for path in (base, sockdir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        base.chmod(0o700)

        init = run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=180,
        )
        if init.returncode != 0:
            raise PgUnavailable(f"initdb failed ({init.returncode}):\n{init.stdout}{init.stderr}")

        port = 0
        last_error = ""
        for _attempt in range(3):
            port = _free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={port}",
                    f"-c unix_socket_directories='{sockdir}'",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=100",
                ]
            )
            started = True  # a failed start may still leave a postmaster behind: stop anyway
            proc = run(
                [
                    pg_ctl,
                    "start",
                    "-D",
                    str(datadir),
                    "-l",
                    str(logfile),
                    "-w",
                    "-t",
                    str(startup_timeout),
                    "-o",
                    options,
                ],
                timeout=startup_timeout + 30,
            )
            if proc.returncode == 0:
                break
            with contextlib.suppress(OSError):
                last_error = logfile.read_text(errors="replace")[-4000:]
            last_error = f"{proc.stdout}{proc.stderr}\n--- server log ---\n{last_error}"
            run([pg_ctl, "stop", "-D", str(datadir), "-m", "immediate", "-w"], 60)
        else:
            raise PgUnavailable(f"pg_ctl start failed 3 times:\n{last_error}")

        server = PgServer(url=f"postgresql://postgres@127.0.0.1:{port}/postgres")
        try:
            server.check()
        except Exception as exc:
            raise PgUnavailable(f"throwaway server started but refuses connections: {exc}") from exc
        yield server
    except subprocess.TimeoutExpired as exc:
        raise PgUnavailable(f"timed out running {exc.cmd!r}") from exc
    finally:
        stop()
        atexit.unregister(stop)


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
