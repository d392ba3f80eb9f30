"""The PostgreSQL test fixtures give a working server and isolated, disposable databases."""

from __future__ import annotations

import psycopg
import pytest

from pg import PgServer, find_pg_bindir, start_throwaway_server


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
    if find_pg_bindir() is None:
        pytest.skip("no initdb/pg_ctl here (the fixture may be using an external server)")
    with start_throwaway_server() as server:
        assert _dbname(server.url) == "postgres"
        with server.fresh_database() as url, psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url, connect_timeout=3)
