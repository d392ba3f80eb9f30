"""The ACL part of a package's plan: approved ``TableSecurity`` per entity -> current.

``plan_security(ops, old, new, namespace)`` returns the structural operations with the
ACL operations around them: drops and revokes first (a policy that reads a column must go
before the column is dropped or retyped), then the structural operations, then roles,
RLS, grants, usage and policies (a policy needs its columns).  A policy whose table loses
or retypes a column in this migration is dropped and re-created; other changed policies
are altered in place.  The result depends only on the content.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..ops import AlterColumn, CreateSchema, DropColumn, Op
from .ops import (
    AlterPolicy,
    CreatePolicy,
    DisableRls,
    DropPolicy,
    EnableRls,
    EnsureRoles,
    GrantTable,
    GrantUsage,
    RevokeTable,
    RevokeUsage,
)
from .state import TableSecurity


def plan_security(
    ops: Sequence[Op],
    old: Mapping[str, TableSecurity],
    new: Mapping[str, TableSecurity],
    namespace: str,
) -> list[Op]:
    """``ops`` with the operations that take ``old`` to ``new`` (both by entity name)."""
    if not old and not new:
        return list(ops)
    reshaped = {
        (op.namespace, op.table)
        for op in ops
        if isinstance(op, DropColumn) or (isinstance(op, AlterColumn) and op.type_changed)
    }
    head: list[Op] = []
    tail: list[Op] = []
    for name in sorted(old.keys() | new.keys()):
        o, n = old.get(name), new.get(name)
        if o is not None and n is None:
            head.extend(DropPolicy(o.namespace, o.table, p) for p in o.policies)
            head.extend(RevokeTable(o.namespace, o.table, r, pr) for r, pr in o.grants)
            head.append(DisableRls(o.namespace, o.table))
            continue
        assert n is not None
        if o is None:
            tail.append(EnableRls(n.namespace, n.table))
            tail.extend(GrantTable(n.namespace, n.table, r, pr) for r, pr in n.grants)
            tail.extend(CreatePolicy(n.namespace, n.table, p) for p in n.policies)
            continue
        rebuild = (o.namespace, o.table) in reshaped or (n.namespace, n.table) in reshaped
        og, ng = set(o.grants), set(n.grants)
        head.extend(RevokeTable(o.namespace, o.table, r, pr) for r, pr in sorted(og - ng))
        tail.extend(GrantTable(n.namespace, n.table, r, pr) for r, pr in sorted(ng - og))
        op_ = {p.name: p for p in o.policies}
        np_ = {p.name: p for p in n.policies}
        for pname in sorted(op_.keys() | np_.keys()):
            a, b = op_.get(pname), np_.get(pname)
            if a is not None and (b is None or rebuild or (a.command, a.permissive)
                                  != (b.command, b.permissive)):  # fmt: skip
                head.append(DropPolicy(o.namespace, o.table, a))
                a = None
            if b is None:
                continue
            if a is None:
                tail.append(CreatePolicy(n.namespace, n.table, b))
            elif a != b:
                tail.append(AlterPolicy(n.namespace, n.table, a, b))
    old_roles = {r for s in old.values() for r in s.roles}
    new_roles = {r for s in new.values() for r in s.roles}
    head.extend(RevokeUsage(namespace, r) for r in sorted(old_roles - new_roles))
    usage = [GrantUsage(namespace, r) for r in sorted(new_roles - old_roles)]
    added: set[str] = set(new_roles - old_roles)
    for op in tail:
        if isinstance(op, GrantTable):
            added.add(op.role)
        elif isinstance(op, CreatePolicy):
            added.update(op.policy.roles)
        elif isinstance(op, AlterPolicy):
            added.update(op.new.roles)
    pre: list[Op] = [EnsureRoles(tuple(sorted(added)))] if added else []
    body = list(ops)
    k = 1 if body and isinstance(body[0], CreateSchema) else 0
    return body[:k] + pre + head + body[k:] + usage + tail
