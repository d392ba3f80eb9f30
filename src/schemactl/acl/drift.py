"""ACL drift: row-level security, grants and policies in a database against the expected
``TableSecurity`` of each table (``status``, ``check --shadow``), as SC820 findings.

Compared per table of the expected state: RLS enabled and forced; the table privileges
granted to roles other than the owner (PUBLIC included: it must hold none); policies by
name with their command, kind (permissive/restrictive) and roles.  Expressions are
compared only when a ``probe`` is allowed (``check --shadow``, a throwaway database):
PostgreSQL stores a policy's expression as a parse tree and prints it back normalised, so
the expected text is normalised by creating it as a probe policy inside a transaction
that is rolled back.  ``status`` on a live database takes no such lock and compares the
structure only (docs/security.md).  A table without expected security that has RLS on or
``acl_*`` policies is reported as well (left behind by a disabled ACL).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic
from .state import TableSecurity

CODE = "SC820"
PROBE = "schemactl_acl_probe"


@dataclass
class LiveTable:
    owner: str
    rls: bool
    force: bool
    grants: set[tuple[str, str]] = field(default_factory=set)
    policies: dict[str, tuple[str, bool, tuple[str, ...], str | None, str | None]] = field(
        default_factory=dict
    )


def read_live(conn: Any, schemas: Iterable[str]) -> dict[tuple[str, str], LiveTable]:
    names = sorted(set(schemas))
    out: dict[tuple[str, str], LiveTable] = {}
    rows = conn.execute(
        "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity, "
        "c.relforcerowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)",
        (names,),
    ).fetchall()
    for ns, rel, owner, rls, force in rows:
        out[(ns, rel)] = LiveTable(owner, bool(rls), bool(force))
    rows = conn.execute(
        "SELECT n.nspname, c.relname, CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
        "ELSE pg_get_userbyid(a.grantee) END, a.privilege_type "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "LATERAL aclexplode(c.relacl) a "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s) AND a.grantee <> c.relowner",
        (names,),
    ).fetchall()
    for ns, rel, grantee, priv in rows:
        if (ns, rel) in out:
            out[(ns, rel)].grants.add((grantee, priv))
    rows = conn.execute(
        "SELECT schemaname, tablename, policyname, cmd, permissive = 'PERMISSIVE', "
        "roles::text[], qual, with_check FROM pg_policies WHERE schemaname = ANY(%s)",
        (names,),
    ).fetchall()
    for ns, rel, name, cmd, permissive, roles, qual, check in rows:
        if (ns, rel) in out:
            out[(ns, rel)].policies[name] = (
                cmd, bool(permissive), tuple(sorted(roles)), qual, check)  # fmt: skip
    return out


def expected_from_entries(
    entries: Iterable[Mapping[str, Any]],
) -> dict[tuple[str, str], TableSecurity]:
    out = {}
    for v in entries:
        sec = v.get("security")
        if sec:
            d = v["definition"]
            out[(d["namespace"], d["table"])] = TableSecurity.from_data(
                d["namespace"], d["table"], sec
            )
    return out


def _normalised(conn: Any, ns: str, table: str, p: Any) -> tuple[str | None, str | None]:
    """PostgreSQL's own text of a policy's expressions: create it as a probe, read it back,
    roll back (only on a throwaway database)."""
    import psycopg

    from ..sql.policies import create_policy_sql

    probe = type(p)(PROBE, p.command, p.permissive, p.roles, p.using, p.check)
    result: tuple[str | None, str | None] = (None, None)
    with conn.transaction() as tx:
        conn.execute(create_policy_sql(ns, table, probe))
        row = conn.execute(
            "SELECT qual, with_check FROM pg_policies WHERE schemaname = %s AND tablename = %s "
            "AND policyname = %s",
            (ns, table, PROBE),
        ).fetchone()
        result = (row[0], row[1])
        raise psycopg.Rollback(tx)
    return result


def compare(
    expected: Mapping[tuple[str, str], TableSecurity],
    live: Mapping[tuple[str, str], LiveTable],
    *,
    prefix: str = "drift: ",
    probe_conn: Any = None,
    hint: str | None = None,
) -> list[Diagnostic]:
    out: list[Diagnostic] = []

    def add(msg: str) -> None:
        out.append(Diagnostic("error", CODE, prefix + msg, hint=hint))

    for key in sorted(expected):
        sec, lt = expected[key], live.get(key)
        where = f"{key[0]}.{key[1]}"
        if lt is None:
            continue  # the missing table is structural drift (SC701)
        if not (lt.rls and lt.force):
            add(f"{where}: row-level security is not enabled and forced")
        want = set(sec.grants)
        for role, priv in sorted(want - lt.grants):
            add(f"{where}: {priv} to {role} is not granted")
        for role, priv in sorted(lt.grants - want):
            add(f"{where}: {priv} to {role} is granted but not declared")
        pols = {p.name: p for p in sec.policies}
        for name in sorted(pols.keys() - lt.policies.keys()):
            add(f"{where}: policy {name} is missing")
        for name in sorted(lt.policies.keys() - pols.keys()):
            add(f"{where}: policy {name} is not declared")
        for name in sorted(pols.keys() & lt.policies.keys()):
            p = pols[name]
            cmd, permissive, roles, qual, check = lt.policies[name]
            if (cmd, permissive, roles) != (p.command, p.permissive, tuple(sorted(p.roles))):
                add(f"{where}: policy {name} is {'PERMISSIVE' if permissive else 'RESTRICTIVE'} "
                    f"FOR {cmd} TO {', '.join(roles)}; expected "
                    f"{'PERMISSIVE' if p.permissive else 'RESTRICTIVE'} FOR {p.command} TO "
                    f"{', '.join(sorted(p.roles))}")  # fmt: skip
                continue
            if probe_conn is not None and (qual, check) != _normalised(
                probe_conn, key[0], key[1], p
            ):
                add(f"{where}: policy {name} has other expressions than declared")
    for key in sorted(live.keys() - expected.keys()):
        lt = live[key]
        ours = sorted(n for n in lt.policies if n.startswith("acl_"))
        if lt.rls or ours:
            add(f"{key[0]}.{key[1]}: row-level security or ACL policies "
                f"({', '.join(ours) or 'none'}) on a table whose ACL is not enforced")  # fmt: skip
    return out
