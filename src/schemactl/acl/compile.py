"""One entity's ACL compiled into its ``TableSecurity``: grants and row-level policies.

Rules (SPEC §13, docs/security.md):
- ``create``/``read``/``update``/``delete`` grant INSERT/SELECT/UPDATE/DELETE to the
  PostgreSQL role each ACL role maps to, with one permissive policy per command and
  PostgreSQL role; several ACL roles on one PostgreSQL role are OR-ed into its policy.
- ``none`` grants nothing.  ``owner``/``self`` are the ``user`` role on owned rows: the
  entity's ``rowLevel``, else its first ``owner_fields`` field = ``$user.id``.
- A row role is its base role plus its ``when`` (row roles based on row roles AND them).
- A table with the tenant field gets the restrictive ``acl_tenant`` policy for every
  granted role except those of ``cross_tenant``.

Expressions are rendered here from the AST of :mod:`.expr`; every identifier and literal
goes through :mod:`schemactl.sql.quote`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from ..model import Entity, External, Field
from ..sql.columns import pg_type
from ..sql.quote import ident, literal, qualified, string
from . import expr as E
from .settings import AclConfig, row_role_chain
from .state import Policy, TableSecurity

COMMANDS = (("create", "INSERT"), ("read", "SELECT"), ("update", "UPDATE"), ("delete", "DELETE"))
TENANT_POLICY = "acl_tenant"

Lookup = Callable[[str], Entity | External | None]


class AclCompileError(Exception):
    """A problem in an entity's ACL.  ``path`` locates it in the entity's YAML
    (``("acl", "rowLevel")``, ``("acl", "read", "owner")``); ``offset`` is inside an
    expression, or None."""

    def __init__(self, code: str, message: str, path: tuple[str, ...],
                 offset: int | None = None, hint: str | None = None):  # fmt: skip
        super().__init__(message)
        self.code, self.message, self.path, self.offset, self.hint = (
            code, message, path, offset, hint)  # fmt: skip


def setting_sql(name: str, pgtype: str = "text") -> str:
    """The setting, read once per statement (an initplan), NULL when unset or empty."""
    return f"(select nullif(current_setting({string(name)}, true), '')::{pgtype})"


def policy_name(command: str, role: str) -> str:
    name = f"acl_{command.lower()}_{role}"
    if len(name.encode()) <= 63:
        return name
    h = hashlib.sha256(name.encode()).hexdigest()[:8]
    return name[:54] + "_" + h


# ----------------------------------------------------------------------------- rendering

_NUMERIC = frozenset({"int", "bigint", "float", "decimal"})
_STRINGY = frozenset({"string", "text", "cuid", "uuid", "date", "datetime"})


class _Ctx:
    def __init__(self, e: Entity, cfg: AclConfig, lookup: Lookup, path: tuple[str, ...]):
        self.e, self.cfg, self.lookup, self.path = e, cfg, lookup, path
        self.parents: list[tuple[Entity, int]] = []  # tables a relation path reads

    def fail(
        self, msg: str, offset: int, hint: str | None = None, code: str = "SC813"
    ) -> AclCompileError:
        return AclCompileError(code, msg, self.path, offset, hint)

    def field(self, entity: Entity, name: str, pos: int) -> Field:
        f = entity.field_named(name)
        if f is None:
            from ..diagnostics import did_you_mean

            guess = did_you_mean(name, [x.name for x in entity.fields])
            raise self.fail(f"unknown field {name!r} of {entity.name}", pos,
                            f"did you mean {guess!r}?" if guess else None)  # fmt: skip
        if f.type in ("json", "bytes"):
            raise self.fail(f"field {name!r} is {f.type}: it cannot be compared in an ACL", pos)
        return f


@dataclass(frozen=True, slots=True)
class _Val:
    sql: str
    ftype: str | None  # canonical field type when a column, else None
    kind: str  # column, var, lit
    value: object = None
    pos: int = 0


def render(node: E.Node, ctx: _Ctx) -> str:
    if isinstance(node, E.BoolOp):
        return "(" + f" {node.op} ".join(render(x, ctx) for x in node.items) + ")"
    if isinstance(node, E.Not):
        return "(NOT " + render(node.item, ctx) + ")"
    rel = _relation_in(node)
    if rel is not None:
        return _exists(node, rel, ctx)
    return _predicate(node, ctx, None)


def _relation_in(node: E.Node) -> E.RelRef | None:
    ops: list[E.Operand]
    if isinstance(node, E.Cmp):
        ops = [node.left, node.right]
    elif isinstance(node, E.In):
        ops = [node.operand, *node.items]
    elif isinstance(node, E.IsNull | E.Truth):
        ops = [node.operand]
    else:
        return None
    rels = [o for o in ops if isinstance(o, E.RelRef)]
    if len({(r.relation) for r in rels}) > 1:
        raise AclCompileError("SC813", "one condition can follow one relation only",
                              (), rels[1].pos)  # fmt: skip
    return rels[0] if rels else None


def _exists(node: E.Node, rel: E.RelRef, ctx: _Ctx) -> str:
    e = ctx.e
    r = next((x for x in e.relations if x.name == rel.relation), None)
    if r is None:
        from ..diagnostics import did_you_mean

        guess = did_you_mean(rel.relation, [x.name for x in e.relations])
        hint = f"did you mean {guess!r}?" if guess else "declare it under relations:"
        raise ctx.fail(f"unknown relation {rel.relation!r} of {e.name}", rel.pos, hint)
    if r.kind != "belongsTo":
        raise ctx.fail(f"relation {r.name!r} is {r.kind}: a path must follow a belongsTo",
                       rel.pos)  # fmt: skip
    fk = next((k for k in e.foreign_keys if k.relation == r.name), None)
    target = ctx.lookup(r.target)
    if fk is None or target is None:
        raise ctx.fail(f"relation {r.name!r} has no resolved target", rel.pos)
    if isinstance(target, External):
        if rel.field not in (target.key, "id"):
            raise ctx.fail(f"{r.target} is external: only its key {target.key!r} is known",
                           rel.field_pos)  # fmt: skip
        # the parent's key is this row's foreign key column
        return _predicate(node, ctx, ("local", fk.columns[0], rel))
    pf = ctx.field(target, rel.field, rel.field_pos)
    ctx.parents.append((target, rel.pos))
    if pf.column in fk.ref_columns and len(fk.columns) == 1:
        return _predicate(node, ctx, ("local", fk.columns[0], rel))
    alias = "acl_parent"
    join = " AND ".join(
        f"{ident(alias)}.{ident(rc)} = {qualified(e.namespace, e.table)}.{ident(c)}"
        for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
    )
    inner = _predicate(node, ctx, ("parent", alias, rel, target))
    return (f"(EXISTS (SELECT 1 FROM {qualified(fk.ref_namespace, fk.ref_table)} AS "
            f"{ident(alias)} WHERE {join} AND {inner}))")  # fmt: skip


def _predicate(node: E.Node, ctx: _Ctx, via: tuple[object, ...] | None) -> str:
    def val(o: E.Operand) -> _Val:
        return _operand(o, ctx, via)

    if isinstance(node, E.Cmp):
        a, b = val(node.left), val(node.right)
        for x, y in ((a, b), (b, a)):
            if x.kind == "lit" and x.value is None:
                raise ctx.fail("comparing with null is never true", x.pos,
                               "use IS NULL / IS NOT NULL", code="SC813")  # fmt: skip
            _compatible(x, y, ctx)
        op = "<>" if node.op == "!=" else node.op
        return f"({_typed(a, b, ctx)} {op} {_typed(b, a, ctx)})"
    if isinstance(node, E.In):
        a = val(node.operand)
        items = [val(i) for i in node.items]
        for i in items:
            if i.kind == "lit" and i.value is None:
                raise ctx.fail("null in an IN list never matches", i.pos, "use IS NULL")
            _compatible(i, a, ctx)
        neg = "NOT IN" if node.negated else "IN"
        return f"({_typed(a, items[0], ctx)} {neg} ({', '.join(_typed(i, a, ctx) for i in items)}))"
    if isinstance(node, E.IsNull):
        a = val(node.operand)
        return f"({_typed(a, a, ctx)} IS {'NOT ' if node.negated else ''}NULL)"
    if isinstance(node, E.Truth):
        a = val(node.operand)
        if a.kind == "lit" and isinstance(a.value, bool):
            return "true" if a.value else "false"
        if a.ftype != "boolean":
            raise ctx.fail("a condition needs a comparison here (only a boolean field stands "
                           "alone)", a.pos, code="SC813")  # fmt: skip
        return a.sql
    raise AssertionError(node)


def _operand(o: E.Operand, ctx: _Ctx, via: tuple[object, ...] | None) -> _Val:
    e = ctx.e
    if isinstance(o, E.FieldRef):
        f = ctx.field(e, o.name, o.pos)
        col = ident(f.column)
        if via is not None and via[0] == "parent":
            col = qualified(e.namespace, e.table) + "." + col
        return _Val(col, f.type, "column", f, o.pos)
    if isinstance(o, E.RelRef):
        assert via is not None
        if via[0] == "local":
            local = next(x for x in e.fields if x.column == via[1])
            return _Val(ident(local.column), local.type, "column", local, o.pos)
        alias, target = via[1], via[3]
        assert isinstance(alias, str) and isinstance(target, Entity)
        pf = ctx.field(target, o.field, o.field_pos)
        return _Val(f"{ident(alias)}.{ident(pf.column)}", pf.type, "column", pf, o.pos)
    if isinstance(o, E.Var):
        setting = ctx.cfg.user_setting if o.name == "$user.id" else ctx.cfg.tenant_setting
        return _Val(setting, None, "var", None, o.pos)
    value = o.value
    if value is None:
        return _Val("NULL", None, "lit", None, o.pos)
    return _Val(literal(value), None, "lit", value, o.pos)


def _typed(v: _Val, other: _Val, ctx: _Ctx) -> str:
    """A variable renders as the setting subselect cast to the other side's column type."""
    if v.kind != "var":
        return v.sql
    pgtype = "text"
    if other.kind == "column" and isinstance(other.value, Field):
        pgtype = pg_type(other.value)
    return setting_sql(v.sql, pgtype)


def _compatible(x: _Val, col: _Val, ctx: _Ctx) -> None:
    if x.kind != "lit" or col.kind != "column" or x.value is None:
        return
    t = col.ftype or ""
    v = x.value
    ok = (
        (isinstance(v, bool) and t == "boolean")
        or (not isinstance(v, bool) and isinstance(v, int | float) and t in _NUMERIC)
        or (isinstance(v, str) and t in _STRINGY)
    )
    if not ok:
        raise ctx.fail(f"literal {v!r} does not fit the {t} field", x.pos, code="SC813")


# ----------------------------------------------------------------------------- entities


Parents = list[tuple[Entity, int]]


def owner_condition(
    e: Entity, cfg: AclConfig, lookup: Lookup, parents: Parents | None = None
) -> tuple[str | None, str]:
    """The owned-rows condition (SQL) and where it came from ("rowLevel" / a field name)."""
    if e.acl.row_level is not None:
        path = ("acl", "rowLevel")
        return expression_sql(e.acl.row_level, e, cfg, lookup, path, parents), "rowLevel"
    for name in cfg.owner_fields:
        f = e.field_named(name)
        if f is not None:
            return f"({ident(f.column)} = {setting_sql(cfg.user_setting, pg_type(f))})", name
    return None, ""


def expression_sql(text: str, e: Entity, cfg: AclConfig, lookup: Lookup,
                   path: tuple[str, ...],
                   parents: list[tuple[Entity, int]] | None = None) -> str:  # fmt: skip
    """The SQL of an expression; the parent tables its relation paths read go to ``parents``."""
    ctx = _Ctx(e, cfg, lookup, path)
    if parents is not None:
        ctx.parents = parents
    try:
        node = E.parse(text)
    except E.ExprError as x:
        raise AclCompileError(x.code, x.message, path, x.offset, x.hint) from None
    try:
        return render(node, ctx)
    except AclCompileError as x:
        if not x.path:
            x.path = path
        raise


def compile_entity(e: Entity, cfg: AclConfig, lookup: Lookup) -> TableSecurity:
    """The grants and policies of ``e``; raises ``AclCompileError``."""
    from ..diagnostics import did_you_mean

    owned: str | None = None
    owner_parents: list[tuple[Entity, int]] = []
    if e.acl.row_level is not None:
        owned, _ = owner_condition(e, cfg, lookup, owner_parents)
    grants: set[tuple[str, str]] = set()
    policies: list[Policy] = []
    for op, command in COMMANDS:
        conds: dict[str, list[str | None]] = {}
        for role in getattr(e.acl, op):
            path = ("acl", op, role)
            if role == "none":
                continue
            if role in ("owner", "self"):
                pg = cfg.pg_role("user")
                if pg is None:
                    raise AclCompileError("SC815", f"ACL role {role!r} needs [acl.roles] user",
                                          path, None, 'map it: user = "app_user"')  # fmt: skip
                if owned is None:
                    owned, _ = owner_condition(e, cfg, lookup, owner_parents)
                if owned is None:
                    raise AclCompileError(
                        "SC816",
                        f"{role!r} on {e.name}, which has neither rowLevel nor an owner field "
                        f"({', '.join(cfg.owner_fields)})",
                        path,
                        None,
                        "add rowLevel, or a field named in [acl] owner_fields",
                    )
                _check_parents(owner_parents, pg, cfg, ("acl", "rowLevel"))
                conds.setdefault(pg, []).append(owned)
                continue
            rr = cfg.row_role(role)
            if rr is not None:
                base, chain = row_role_chain(cfg, role)
                pg = cfg.pg_role(base)
                assert pg is not None
                parts = []
                for link in chain:
                    try:
                        via: list[tuple[Entity, int]] = []
                        parts.append(expression_sql(link.when, e, cfg, lookup, path, via))
                        _check_parents(via, pg, cfg, path)
                    except AclCompileError as x:
                        x.message = f"row role {link.name!r} (when = {link.when!r}): {x.message}"
                        x.offset = None
                        raise
                conds.setdefault(pg, []).append(" AND ".join(parts) if len(parts) > 1 else parts[0])
                continue
            pg = cfg.pg_role(role)
            if pg is None:
                guess = did_you_mean(role, cfg.known_roles())
                raise AclCompileError(
                    "SC814",
                    f"ACL role {role!r} is not mapped in [acl.roles] or [acl.row_roles]",
                    path,
                    None,
                    f"did you mean {guess!r}?" if guess else f'add it: [acl.roles] {role} = "..."',
                )
            conds.setdefault(pg, []).append(None)
        for pg in sorted(conds):
            grants.add((pg, command))
            cs = conds[pg]
            cond = "true" if None in cs else _or(sorted(set(c for c in cs if c)))
            using = cond if command in ("SELECT", "UPDATE", "DELETE") else None
            check = cond if command in ("INSERT", "UPDATE") else None
            policies.append(Policy(policy_name(command, pg), command, True, (pg,), using, check))
    tf = e.field_named(cfg.tenant_field)
    if tf is not None:
        free = set()
        for r in cfg.cross_tenant:
            base = row_role_chain(cfg, r)[0] if cfg.row_role(r) else r
            pg = cfg.pg_role(base)
            if pg:
                free.add(pg)
        bound = sorted({g for g, _ in grants} - free)
        if bound:
            cond = f"({ident(tf.column)} = {setting_sql(cfg.tenant_setting, pg_type(tf))})"
            policies.append(Policy(TENANT_POLICY, "ALL", False, tuple(bound), cond, cond))
    return TableSecurity(e.namespace, e.table, tuple(sorted(grants)),
                         tuple(sorted(policies, key=lambda p: p.name)))  # fmt: skip


def _or(conds: list[str]) -> str:
    return conds[0] if len(conds) == 1 else "(" + " OR ".join(conds) + ")"


def readers(e: Entity, cfg: AclConfig) -> set[str]:
    """The PostgreSQL roles that ``e``'s ``read`` list grants SELECT."""
    out: set[str] = set()
    for role in e.acl.read:
        if role in ("owner", "self"):
            role = "user"
        elif cfg.row_role(role) is not None:
            role = row_role_chain(cfg, role)[0]
        pg = cfg.pg_role(role)
        if pg is not None:
            out.add(pg)
    return out


def _check_parents(parents: list[tuple[Entity, int]], pg: str, cfg: AclConfig,
                   path: tuple[str, ...]) -> None:  # fmt: skip
    """A relation path reads the parent as the current role: that role needs read on it,
    or every statement would fail with "permission denied" instead of filtering rows."""
    for parent, pos in parents:
        if pg not in readers(parent, cfg):
            raise AclCompileError(
                "SC817",
                f"the relation path to {parent.name} is evaluated as {pg}, which may not read "
                f"{parent.name} (its read: [{', '.join(parent.acl.read)}])",
                path,
                pos if path[-1] == "rowLevel" else None,
                f"let that role read {parent.name}, or test a field of this entity instead",
            )
