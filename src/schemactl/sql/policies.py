"""SQL of the ACL operations (:mod:`schemactl.acl.ops`): roles, RLS, grants, policies.

Names go through :mod:`.quote`; policy expressions are SQL that :mod:`schemactl.acl.compile`
rendered from a parsed AST.  Every statement parses with sqlglot's postgres dialect.
"""

from __future__ import annotations

from collections.abc import Callable

from ..acl.ops import (
    AlterPolicy,
    CreatePolicy,
    DisableRls,
    DropPolicy,
    EnableRls,
    EnsureRoles,
    GrantTable,
    GrantUsage,
    KeepRoles,
    RevokeTable,
    RevokeUsage,
)
from ..acl.state import Policy
from .quote import ident, qualified, string


def ensure_roles_sql(roles: tuple[str, ...]) -> list[str]:
    """A DO block per role: created NOLOGIN when missing; a concurrent creation (another
    database of the cluster applying at the same time) is not an error."""
    out = []
    for r in roles:
        out.append(
            "DO $acl$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {string(r)}) THEN "
            f"CREATE ROLE {ident(r)} NOLOGIN; END IF; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $acl$"
        )
    return out


def _ensure(op: EnsureRoles) -> list[str]:
    return ensure_roles_sql(op.roles)


def _keep(op: KeepRoles) -> list[str]:
    return []


def _enable(op: EnableRls) -> list[str]:
    t = qualified(op.namespace, op.table)
    return [
        f"REVOKE ALL ON TABLE {t} FROM PUBLIC",
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
    ]


def _disable(op: DisableRls) -> list[str]:
    t = qualified(op.namespace, op.table)
    return [f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
            f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"]  # fmt: skip


def _grant(op: GrantTable) -> list[str]:
    return [
        f"GRANT {op.privilege} ON TABLE {qualified(op.namespace, op.table)} TO {ident(op.role)}"
    ]


def _revoke(op: RevokeTable) -> list[str]:
    t = qualified(op.namespace, op.table)
    return [f"REVOKE {op.privilege} ON TABLE {t} FROM {ident(op.role)}"]


def _usage(op: GrantUsage) -> list[str]:
    return [f"GRANT USAGE ON SCHEMA {ident(op.namespace)} TO {ident(op.role)}"]


def _unusage(op: RevokeUsage) -> list[str]:
    return [f"REVOKE USAGE ON SCHEMA {ident(op.namespace)} FROM {ident(op.role)}"]


def create_policy_sql(ns: str, table: str, p: Policy) -> str:
    s = f"CREATE POLICY {ident(p.name)} ON {qualified(ns, table)}"
    s += " AS PERMISSIVE" if p.permissive else " AS RESTRICTIVE"
    s += f" FOR {p.command} TO {', '.join(ident(r) for r in p.roles)}"
    if p.using is not None:
        s += f" USING ({p.using})"
    if p.check is not None:
        s += f" WITH CHECK ({p.check})"
    return s


def _create(op: CreatePolicy) -> list[str]:
    return [create_policy_sql(op.namespace, op.table, op.policy)]


def _drop(op: DropPolicy) -> list[str]:
    return [f"DROP POLICY {ident(op.policy.name)} ON {qualified(op.namespace, op.table)}"]


def _alter(op: AlterPolicy) -> list[str]:
    n = op.new
    s = f"ALTER POLICY {ident(n.name)} ON {qualified(op.namespace, op.table)}"
    s += f" TO {', '.join(ident(r) for r in n.roles)}"
    if n.using is not None:
        s += f" USING ({n.using})"
    if n.check is not None:
        s += f" WITH CHECK ({n.check})"
    return [s]


RENDERERS: dict[type, Callable[..., list[str]]] = {
    EnsureRoles: _ensure,
    KeepRoles: _keep,
    EnableRls: _enable,
    DisableRls: _disable,
    GrantTable: _grant,
    RevokeTable: _revoke,
    GrantUsage: _usage,
    RevokeUsage: _unusage,
    CreatePolicy: _create,
    DropPolicy: _drop,
    AlterPolicy: _alter,
}
