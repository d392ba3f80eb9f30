"""SPEC §13, the matrix: every entity of examples/ applied with the ACL enforced, then for
every (role, operation, own/other row, own/other tenant) the database allows or denies
exactly what the entity's ``acl`` block declares.

The expectations come from the declared role lists read here, not from the compiler:
a role may act on a row when a listed role is that role, or is ``owner``/``self`` and the
role is ``user`` and the row is owned; a table with ``tenantId`` also needs the current
tenant unless the role is cross-tenant.  Each case runs in its own transaction that starts
from an empty table holding exactly one row (foreign keys off, as superuser), acts as the
role with ``SET ROLE`` and no WHERE clause (a WHERE would also need read, PostgreSQL's
rule), looks at the result as superuser and rolls back.

The copy of examples/ is changed where its ACL does not compile as it stands (each is an
SC812/SC816/SC817 error, tested in test_acl_bad_input.py): ``$user.tenantId`` (not part of
the language) becomes ``$tenant.id``; CreditTransaction, whose ACL says ``self`` with no
owner field, gets ``rowLevel: "balance.userId = $user.id"`` (a relation path); MyEntity gets
``rowLevel: "tenantId = $tenant.id"`` and ``read: [public, user]`` and MyOtherEntity
``rowLevel: "parent.tenantId = $tenant.id"`` (a relation path the user role can read);
FileVersion and FileTag own rows through ``owner_fields`` createdById and taggedById.
"""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from acl_util import apply, scan_approve
from schemactl.model import Entity, Field
from schemactl.project import load_project

pytestmark = pytest.mark.postgres

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ROLES = {"public": "acl_ex_anon", "user": "acl_ex_user", "admin": "acl_ex_admin",
         "system": "acl_ex_system"}  # fmt: skip
CROSS = {"system"}
# the default owner fields, then those of examples/ (FileVersion.createdById, FileTag.taggedById)
OWNER_FIELDS = ("userId", "ownerId", "createdBy", "authorId", "createdById", "taggedById")
U1, U2, T1, T2 = "u1", "u2", "t1", "t2"
OPS = ("create", "read", "update", "delete")


def patched_examples(dest: Path) -> Path:
    shutil.copytree(EXAMPLES / "packages", dest / "packages")
    text = (EXAMPLES / "schemactl.toml").read_text()
    text = text.replace('registry = ".schemactl/registry.json"\n', "")
    roles = "".join(f'{k} = "{v}"\n' for k, v in ROLES.items())
    owners = ", ".join(f'"{x}"' for x in OWNER_FIELDS)
    text += (f'\n[acl]\nenforce = true\ncross_tenant = ["system"]\nowner_fields = [{owners}]\n'
             f"[acl.roles]\n{roles}")  # fmt: skip
    (dest / "schemactl.toml").write_text(text)
    for f in (dest / "packages").rglob("entities.yaml"):
        s = f.read_text().replace("$user.tenantId", "$tenant.id")
        s = s.replace(
            "      update: []              # append-only: nobody updates\n"
            "      delete: []              # ... or deletes ledger rows\n",
            '      update: []\n      delete: []\n      rowLevel: "balance.userId = $user.id"\n',
        )
        acl = (
            "        onDelete: Cascade\n\n    acl:\n      create: [user]\n      read: [public]\n"
            "      update: [self, admin]\n      delete: [admin]\n"
        )
        if s.count(acl) == 2:  # MyEntity, then MyOtherEntity
            first, _, rest = s.partition(acl)
            head, _, tail = rest.rpartition(acl)
            s = (first + acl.replace("read: [public]", "read: [public, user]")
                 + '      rowLevel: "tenantId = $tenant.id"\n' + head + acl
                 + '      rowLevel: "parent.tenantId = $tenant.id"\n' + tail)  # fmt: skip
        f.write_text(s)
    assert "parent.tenantId" in (dest / "packages/my_package/seed/schema/entities.yaml").read_text()
    assert "balance.userId" in (dest / "packages/credits/seed/schema/entities.yaml").read_text()
    return dest


@dataclass(frozen=True)
class Owner:
    kind: str  # "field" | "relation"
    field: Field
    setting: str = "user"  # for kind field: which setting the field is compared with
    parent: Entity | None = None
    parent_field: Field | None = None


def owner_of(e: Entity, by_name: dict[str, Entity]) -> Owner | None:
    rl = e.acl.row_level
    if rl:
        m = re.fullmatch(r"(\w+) = \$(user|tenant)\.id", rl)
        if m:
            f = e.field_named(m.group(1))
            assert f is not None
            return Owner("field", f, m.group(2))
        m = re.fullmatch(r"(\w+)\.(\w+) = \$(user|tenant)\.id", rl)
        assert m, f"the matrix does not model rowLevel {rl!r}"
        rel = next(r for r in e.relations if r.name == m.group(1))
        local = e.field_named(rel.field or "")
        parent = by_name[rel.target]
        assert local is not None
        return Owner("relation", local, m.group(3), parent, parent.field_named(m.group(2)))
    for name in OWNER_FIELDS:
        f = e.field_named(name)
        if f is not None:
            return Owner("field", f)
    return None


def value(f: Field, k: int) -> Any:
    if f.enum:
        return f.enum[0]
    if f.type in ("string", "text", "cuid"):
        v = f"v{k}"
        return v[: f.max_length] if f.max_length else v
    if f.type == "uuid":
        return str(uuid.UUID(int=k + 1))
    if f.type in ("int", "bigint", "float", "decimal"):
        v = (f.min or 0) + k
        return min(v, f.max) if f.max is not None else v
    if f.type == "boolean":
        return False
    if f.type == "json":
        return psycopg.types.json.Jsonb({})
    if f.type == "datetime":
        return "2024-01-01T00:00:00Z"
    if f.type == "date":
        return "2024-01-01"
    if f.type == "bytes":
        return b""
    raise AssertionError(f.type)


def ident_of(f: Field, who: str, k: int) -> Any:
    """A user or tenant id as the field's type ("u1" for text, a fixed uuid for uuid)."""
    if f.type == "uuid":
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, who))
    return who


def row_of(e: Entity, overrides: dict[str, Any], k: int) -> dict[str, Any]:
    out = {}
    for f in e.fields:
        if f.generated and f.type in ("int", "bigint"):
            continue
        out[f.column] = overrides.get(f.name, value(f, k))
    return out


def insert(conn: Any, e: Entity, row: dict[str, Any]) -> None:
    q = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(e.namespace, e.table),
        sql.SQL(", ").join(sql.Identifier(c) for c in row),
        sql.SQL(", ").join(sql.Placeholder() for _ in row),
    )
    conn.execute(q, list(row.values()))


def settings_for(conn: Any) -> None:
    conn.execute("SELECT set_config('app.user_id', %s, false), "
                 "set_config('app.tenant_id', %s, false)", (U1, T1))  # fmt: skip


def expected(e: Entity, op: str, role: str, owned: bool, own_tenant: bool) -> str:
    listed = set(getattr(e.acl, op))
    granted = role in listed or (role == "user" and listed & {"owner", "self"})
    if not granted:
        return "denied"
    ok = role in listed or (role == "user" and bool(listed & {"owner", "self"}) and owned)
    if e.field_named("tenantId") is not None and role not in CROSS and not own_tenant:
        ok = False
    return "yes" if ok else "no"


def run_case(conn: Any, e: Entity, own: Owner | None, op: str, role: str,
             owned: bool, own_tenant: bool, by_name: dict[str, Entity]) -> str:  # fmt: skip
    over: dict[str, Any] = {}
    parent_row: dict[str, Any] | None = None
    tf = e.field_named("tenantId")
    if tf is not None:
        over["tenantId"] = ident_of(tf, T1 if own_tenant else T2, 0)
    if own is not None and own.kind == "field":
        who = (U1 if owned else U2) if own.setting == "user" else (T1 if owned else T2)
        over[own.field.name] = ident_of(own.field, who, 0)
    if own is not None and own.kind == "relation":
        assert own.parent is not None and own.parent_field is not None
        mine, theirs = (U1, U2) if own.setting == "user" else (T1, T2)
        pover: dict[str, Any] = {}
        if own.parent.field_named("tenantId") is not None:
            pover["tenantId"] = T1
        pover[own.parent_field.name] = ident_of(own.parent_field, mine if owned else theirs, 0)
        parent_row = row_of(own.parent, pover, 7)
        pk = own.parent.pk_columns[0]
        over[own.field.name] = parent_row[pk]
    row = row_of(e, over, 1)
    pk = e.pk_columns[0]
    table = sql.Identifier(e.namespace, e.table)
    with conn.transaction() as tx:
        conn.execute("SET LOCAL session_replication_role = replica")  # foreign keys off
        conn.execute(sql.SQL("DELETE FROM {}").format(table))
        if parent_row is not None and own is not None and own.parent is not None:
            conn.execute(sql.SQL("DELETE FROM {}").format(
                sql.Identifier(own.parent.namespace, own.parent.table)))  # fmt: skip
            insert(conn, own.parent, parent_row)
        if op != "create":
            insert(conn, e, row)
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(ROLES[role])))
        outcome = "yes"
        try:
            with conn.transaction():
                if op == "create":
                    insert(conn, e, row)
                elif op == "read":
                    n = len(conn.execute(sql.SQL("SELECT 1 FROM {}").format(table)).fetchall())
                    outcome = "yes" if n == 1 else "no"
                elif op == "update":
                    col = next(
                        f
                        for f in e.fields
                        if not f.primary
                        and f.name not in ("tenantId", own.field.name if own else "")
                        and not f.unique
                    )
                    cur = conn.execute(sql.SQL("UPDATE {} SET {} = %s").format(
                        table, sql.Identifier(col.column)), (row[col.column],))  # fmt: skip
                    outcome = "yes" if cur.rowcount == 1 else "no"
                else:
                    cur = conn.execute(sql.SQL("DELETE FROM {}").format(table))
                    outcome = "yes" if cur.rowcount == 1 else "no"
        except psycopg.errors.InsufficientPrivilege as x:
            outcome = "no" if "row-level security" in str(x) else "denied"
        raise psycopg.Rollback(tx)
    del pk
    return outcome


def test_every_role_operation_and_row_is_allowed_exactly_as_declared(
    pg_server: Any, tmp_path: Path
) -> None:
    root = patched_examples(tmp_path / "ex")
    scan_approve(root)
    pr = load_project(root)
    entities = [e for p in pr.project.packages for e in p.owned_entities()]
    by_name = {e.name: e for e in entities}
    assert len(entities) >= 15
    mismatches: list[str] = []
    cases = 0
    with pg_server.fresh_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE public.users (id text PRIMARY KEY)")
        apply(root, url)
        with psycopg.connect(url, autocommit=True) as conn:
            settings_for(conn)
            for e in entities:
                own = owner_of(e, by_name)
                owned_opts = (True, False) if own is not None else (True,)
                tenant_opts = (True, False) if e.field_named("tenantId") else (True,)
                for role in ROLES:
                    for op in OPS:
                        for owned in owned_opts:
                            for own_tenant in tenant_opts:
                                if (own is not None and own.field.name == "tenantId"
                                        and owned != own_tenant):  # fmt: skip
                                    continue  # one column cannot be both
                                want = expected(e, op, role, owned, own_tenant)
                                got = run_case(conn, e, own, op, role, owned, own_tenant,
                                               by_name)  # fmt: skip
                                cases += 1
                                if got != want:
                                    mismatches.append(
                                        f"{e.name} {role} {op} owned={owned} "
                                        f"own_tenant={own_tenant}: got {got}, declared {want}"
                                    )
    assert mismatches == [], "\n".join(mismatches)
    assert cases > 400
