"""Helpers of the ACL tests (SPEC §13): build an enforced project, apply it to a real
PostgreSQL, and act as a non-owner role with ``SET ROLE`` plus the app settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from foundation_util import json_doc, make_project, run_cli


def scan_approve(root: Path) -> dict[str, Any]:
    doc = json_doc(run_cli(root, "--json", "scan"))
    assert doc["exit_code"] == 0, doc["diagnostics"]
    res = run_cli(root, "--json", "approve", "all", "--by", "admin@test", "--allow-destructive")
    assert res.exit_code == 0, res.stdout
    return doc


def apply(root: Path, url: str) -> dict[str, Any]:
    res = run_cli(root, "--json", "apply", "--database-url", url)
    doc = json_doc(res)
    assert res.exit_code == 0, doc
    return doc


def build(root: Path, packages: dict[str, str], config: str, url: str | None = None) -> Path:
    make_project(root, packages, config)
    scan_approve(root)
    if url is not None:
        apply(root, url)
    return root


@contextlib.contextmanager
def as_role(url: str, role: str, user: str | None = None,
            tenant: str | None = None) -> Iterator[psycopg.Connection[Any]]:  # fmt: skip
    """A connection that acts as ``role`` with the settings given (None: unset)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(role)))
        if user is not None:
            conn.execute("SELECT set_config('app.user_id', %s, false)", (user,))
        if tenant is not None:
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant,))
        yield conn


def attempt(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> int | str:
    """Row count of the statement; "denied" (no privilege), "rls" (refused by a policy) or
    "error:<SQLSTATE>" for any other error."""
    try:
        cur = conn.execute(sql, params)  # type: ignore[arg-type]
    except psycopg.errors.InsufficientPrivilege as e:
        # both are SQLSTATE 42501: a missing GRANT, or a row a policy's WITH CHECK refuses
        return "rls" if "row-level security" in str(e) else "denied"
    except psycopg.errors.Error as e:
        return f"error:{e.sqlstate}"
    if cur.description is not None:
        return len(cur.fetchall())
    return cur.rowcount


def superuser_sql(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description is not None else []


def acl_snapshot(url: str, schemas: list[str]) -> dict[str, Any]:
    """Everything the ACL makes PostgreSQL hold in ``schemas``: pg_policies, table grants
    (information_schema.role_table_grants, the owner's own left out), RLS flags and the
    schema USAGE of every non-superuser role."""
    pol = superuser_sql(
        url,
        "SELECT schemaname, tablename, policyname, permissive, roles::text[], cmd, qual, "
        "with_check FROM pg_policies WHERE schemaname = ANY(%s) ORDER BY 1, 2, 3",
        (schemas,),
    )
    grants = superuser_sql(
        url,
        "SELECT g.table_schema, g.table_name, g.grantee, g.privilege_type "
        "FROM information_schema.role_table_grants g JOIN pg_tables t "
        "ON t.schemaname = g.table_schema AND t.tablename = g.table_name "
        "WHERE g.table_schema = ANY(%s) AND g.grantee <> t.tableowner ORDER BY 1, 2, 3, 4",
        (schemas,),
    )
    rls = superuser_sql(
        url,
        "SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
        "AND n.nspname = ANY(%s) ORDER BY 1, 2",
        (schemas,),
    )
    usage = superuser_sql(
        url,
        "SELECT n.nspname, r.rolname FROM pg_namespace n, pg_roles r WHERE n.nspname = ANY(%s) "
        "AND NOT r.rolsuper AND r.rolname NOT LIKE 'pg\\_%%' "
        "AND has_schema_privilege(r.oid, n.oid, 'USAGE') ORDER BY 1, 2",
        (schemas,),
    )
    return {"policies": pol, "grants": grants, "rls": rls, "usage": usage}
