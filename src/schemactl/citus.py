"""Citus as a target (SPEC §15): the ``[citus]`` configuration, the foreign keys and keys
Citus would reject (validation, SC850-SC859), and the distribution statements added to a
migration's SQL.

Two modes:

- ``mode = "schema"`` (Citus 12 schema-based sharding): every package's schema is
  distributed with ``citus_schema_distribute`` right after ``CREATE SCHEMA``, so each
  table created in it afterwards is a tenant table of that schema.  Packages listed in
  ``reference`` keep a regular schema and each of their tables becomes a reference table
  (``create_reference_table``).  A foreign key may point only into its own schema, or at
  a reference table.
- ``mode = "row"``: every table with the tenant field (``[acl] tenant_field``, default
  ``tenantId``) is distributed on its column (``create_distributed_table``, colocated);
  the other tables become reference tables.  Keys and foreign keys between distributed
  tables must include the tenant column; a reference table may not point at a
  distributed one.

External tables (``[external.X]``) are not managed here: a distributed table may
reference one only when ``reference`` lists it by its qualified name (``"public.users"``),
i.e. the operator made it a reference table.

Without ``[citus]`` nothing here runs and the SQL is byte-identical.  The statements are
added after each table's ``CREATE TABLE`` (and its comments), before any index or foreign
key, which is the order Citus needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic, did_you_mean
from .errors import ConfigError

if TYPE_CHECKING:
    from .model import Entity, ForeignKey, Loc, Package, Project
    from .ops import Op

MODES = ("schema", "row")
KEYS = ("mode", "reference", "colocate_with")
DEFAULT_TENANT_FIELD = "tenantId"


@dataclass(frozen=True)
class CitusConfig:
    mode: str
    reference: tuple[str, ...] = ()  # packageIds, or qualified external tables
    tenant_field: str = DEFAULT_TENANT_FIELD
    colocate_with: str = "default"

    @property
    def reference_packages(self) -> frozenset[str]:
        return frozenset(r for r in self.reference if "." not in r)

    @property
    def reference_tables(self) -> frozenset[str]:
        return frozenset(r for r in self.reference if "." in r)


# ----------------------------------------------------------------------------- config


def _bad(source: str, key: str, msg: str, hint: str | None = None) -> ConfigError:
    return ConfigError(f"{source}: '{key}' {msg}", hint=hint, code="SC860")


def parse(source: str, table: Any, acl: Any = None) -> CitusConfig:
    """``[citus]`` of the configuration (``acl``: the ``[acl]`` table, read only for its
    ``tenant_field``)."""
    if not isinstance(table, dict):
        raise _bad(source, "citus", "must be a table: [citus]")
    for k in table:
        if k not in KEYS:
            guess = did_you_mean(k, KEYS)
            raise ConfigError(
                f"{source}: unknown key 'citus.{k}'",
                hint=f"did you mean 'citus.{guess}'?" if guess else f"allowed: {', '.join(KEYS)}",
                code="SC860",
            )
    mode = table.get("mode")
    if mode not in MODES:
        raise _bad(source, "citus.mode", f"is {mode!r}", 'one of: "schema", "row"')
    ref = table.get("reference", [])
    if not isinstance(ref, list) or not all(isinstance(r, str) and r for r in ref):
        raise _bad(source, "citus.reference", "must be a list of packageIds (or schema.table)")
    colocate = table.get("colocate_with", "default")
    if not isinstance(colocate, str) or not colocate:
        raise _bad(source, "citus.colocate_with", "must be a table name or 'default'")
    tenant = DEFAULT_TENANT_FIELD
    if isinstance(acl, dict) and isinstance(acl.get("tenant_field"), str) and acl["tenant_field"]:
        tenant = acl["tenant_field"]
    return CitusConfig(mode=mode, reference=tuple(ref), tenant_field=tenant, colocate_with=colocate)


# ----------------------------------------------------------------------------- validation


def _loc_of(e: Entity, fk: ForeignKey | None = None) -> tuple[str | None, int | None, int | None]:
    loc = e.loc
    if fk is not None:
        for r in e.relations:
            if r.name == fk.relation and r.loc.line:
                loc = r.loc
                break
    return (loc.file or None, loc.line or None, loc.column or None)


def _diag(
    code: str,
    e: Entity,
    msg: str,
    hint: str,
    fk: ForeignKey | None = None,
    loc: Loc | None = None,
) -> Diagnostic:
    where: tuple[str | None, int | None, int | None] = _loc_of(e, fk)
    if loc is not None and loc.line:
        where = (loc.file or None, loc.line, loc.column or None)
    file, line, col = where
    return Diagnostic(
        "error", code, msg, file, line, col, package=e.package, entity=e.name, hint=hint
    )


def _owned(project: Project) -> list[Entity]:
    return [e for p in project.packages for e in p.owned_entities()]


def validate(project: Project, cfg: CitusConfig) -> list[Diagnostic]:
    """What Citus would reject, as errors at validation time."""
    out: list[Diagnostic] = []
    ids = [p.id for p in project.packages]
    for r in sorted(cfg.reference_packages):
        if r not in ids:
            guess = did_you_mean(r, ids)
            out.append(
                Diagnostic(
                    "error",
                    "SC853",
                    f"[citus] reference names {r!r}, which is not a package",
                    hint=f"did you mean {guess!r}?" if guess else "list packageIds",
                )
            )
    entities = _owned(project)
    by_table = {(e.namespace, e.table): e for e in entities}
    if cfg.mode == "schema":
        out += _validate_schema(entities, by_table, cfg)
    else:
        out += _validate_row(entities, by_table, cfg)
    return out


def _external(fk: ForeignKey) -> str:
    return f"{fk.ref_namespace}.{fk.ref_table}"


def _external_problem(e: Entity, fk: ForeignKey, cfg: CitusConfig, what: str) -> Diagnostic:
    ext = _external(fk)
    return _diag(
        "SC851",
        e,
        f"foreign key {fk.name} of {what} {e.namespace}.{e.table} references {ext}, a table "
        "schemactl does not manage: Citus accepts it only if it is a reference table",
        f"make {ext} a reference table (SELECT create_reference_table('{ext}')) and add \"{ext}\" "
        "to [citus] reference, or drop the relation",
        fk,
    )


def _validate_schema(
    entities: list[Entity], by_table: dict[tuple[str, str], Entity], cfg: CitusConfig
) -> list[Diagnostic]:
    out = []
    refs = cfg.reference_packages
    for e in entities:
        distributed = e.package not in refs
        for fk in e.foreign_keys:
            target = by_table.get((fk.ref_namespace, fk.ref_table))
            if target is None:
                if distributed and _external(fk) not in cfg.reference_tables:
                    out.append(_external_problem(e, fk, cfg, "the distributed schema table"))
                continue
            target_distributed = target.package not in refs
            if distributed and target_distributed and target.namespace != e.namespace:
                out.append(
                    _diag(
                        "SC850",
                        e,
                        f"foreign key {fk.name} from {e.namespace}.{e.table} to "
                        f"{target.namespace}.{target.table} crosses two distributed schemas: "
                        "Citus rejects it (each schema lives on its own node)",
                        f"add package {target.package!r} to [citus] reference (its tables "
                        "become reference tables), or drop the relation and keep the id "
                        "as a plain column",
                        fk,
                    )
                )
            elif not distributed and target_distributed:
                out.append(
                    _diag(
                        "SC852",
                        e,
                        f"foreign key {fk.name} from reference table {e.namespace}.{e.table} "
                        f"to {target.namespace}.{target.table} in a distributed schema: "
                        "Citus rejects a reference table pointing at a distributed one",
                        f"add package {target.package!r} to [citus] reference too, or drop "
                        "the relation",
                        fk,
                    )
                )
    return out


def tenant_column(e: Entity, cfg: CitusConfig) -> str | None:
    """The column a row-mode table is distributed on, or None for a reference table."""
    f = e.field_named(cfg.tenant_field)
    return f.column if f is not None else None


def _validate_row(
    entities: list[Entity], by_table: dict[tuple[str, str], Entity], cfg: CitusConfig
) -> list[Diagnostic]:
    from .sql.columns import pg_type

    out = []
    types: dict[str, list[Entity]] = {}
    for e in entities:
        col = tenant_column(e, cfg)
        if col is None:
            continue
        f = e.field_named(cfg.tenant_field)
        assert f is not None
        types.setdefault(pg_type(f), []).append(e)
        pk_cols = {fld.column for fld in e.fields if fld.name in e.primary_key}
        if col not in pk_cols:
            out.append(
                _diag(
                    "SC855",
                    e,
                    f"distributed table {e.namespace}.{e.table}: its primary key "
                    f"({', '.join(sorted(pk_cols))}) does not include the tenant column {col}; "
                    "Citus cannot enforce it across shards",
                    f"make {cfg.tenant_field} part of the primary key (primary: true on both "
                    "fields)",
                )
            )
        for ix in e.indexes:
            if ix.unique and col not in ix.columns:
                out.append(
                    _diag(
                        "SC856",
                        e,
                        f"distributed table {e.namespace}.{e.table}: unique key {ix.name} "
                        f"({', '.join(ix.columns)}) does not include the tenant column {col}",
                        f"add {cfg.tenant_field} to the index fields (a `unique: true` field "
                        f"becomes a unique index on [{cfg.tenant_field}, ...])",
                        loc=ix.loc,
                    )
                )
    if len(types) > 1:
        first = sorted(types)
        e = types[first[1]][0]
        out.append(
            _diag(
                "SC859",
                e,
                f"the tenant field {cfg.tenant_field} has different types ("
                + ", ".join(f"{t} in {types[t][0].namespace}.{types[t][0].table}" for t in first)
                + "): tables distributed on different types cannot be colocated",
                f"give {cfg.tenant_field} the same type everywhere",
            )
        )
    for e in entities:
        col = tenant_column(e, cfg)
        for fk in e.foreign_keys:
            target = by_table.get((fk.ref_namespace, fk.ref_table))
            if target is None:
                if _external(fk) not in cfg.reference_tables:
                    what = "distributed table" if col else "reference table"
                    out.append(_external_problem(e, fk, cfg, what))
                continue
            tcol = tenant_column(target, cfg)
            if col is None and tcol is not None:
                out.append(
                    _diag(
                        "SC858",
                        e,
                        f"foreign key {fk.name} from reference table {e.namespace}.{e.table} "
                        f"to distributed table {target.namespace}.{target.table}: Citus "
                        "rejects a reference table pointing at a distributed one",
                        f"give {e.name} the tenant field {cfg.tenant_field} (it becomes "
                        "distributed), or drop the relation",
                        fk,
                    )
                )
            elif col is not None and tcol is not None:
                pairs = dict(zip(fk.columns, fk.ref_columns, strict=False))
                if pairs.get(col) != tcol:
                    out.append(
                        _diag(
                            "SC857",
                            e,
                            f"foreign key {fk.name} from {e.namespace}.{e.table} to "
                            f"{target.namespace}.{target.table} joins distributed tables "
                            f"on ({', '.join(fk.columns)}) -> ({', '.join(fk.ref_columns)}), "
                            f"without the tenant column {col} -> {tcol}: Citus needs it "
                            "to keep both rows on one shard",
                            f"reference a key that includes {cfg.tenant_field} on both sides "
                            f"(`references` a unique [{cfg.tenant_field}, ...] of the target)",
                            fk,
                        )
                    )
    return out


# ----------------------------------------------------------------------------- SQL


def _literal(text: str) -> str:
    from .sql.quote import string

    return string(text)


def _qualified(ns: str, table: str) -> str:
    from .sql.quote import qualified

    return qualified(ns, table)


def statements_for(op: Op, cfg: CitusConfig, package: str) -> list[str]:
    """The Citus statements that follow ``op``'s own statements in a migration of
    ``package`` (none for most operations)."""
    from .ops import CreateSchema, CreateTable

    reference = package in cfg.reference_packages
    if isinstance(op, CreateSchema):
        if cfg.mode == "schema" and not reference:
            return [f"SELECT citus_schema_distribute({_literal(op.namespace)})"]
        return []
    if not isinstance(op, CreateTable):
        return []
    e = op.entity
    rel = _literal(_qualified(e.namespace, e.table))
    if cfg.mode == "schema":
        # a table created in a distributed schema is a tenant table of it already
        return [f"SELECT create_reference_table({rel})"] if reference else []
    col = tenant_column(e, cfg)
    if col is None:
        return [f"SELECT create_reference_table({rel})"]
    return [
        f"SELECT create_distributed_table({rel}, {_literal(col)}, "
        f"colocate_with => {_literal(cfg.colocate_with)})"
    ]


def render(ops: Sequence[Op], cfg: CitusConfig, package: str) -> str:
    """``render_up(ops)`` with the Citus statements inserted after the statements of the
    operation each belongs to."""
    from .sql.render import render_statements

    full = render_statements(ops)
    out: list[str] = []
    pos = 0
    for op in ops:
        extra = statements_for(op, cfg, package)
        if not extra:
            continue
        idx = _find(full, render_statements([op]), pos)
        out += full[pos:idx]
        out += extra
        pos = idx
    out += full[pos:]
    return "".join(s + ";\n" for s in out)


def _find(full: list[str], own: list[str], start: int) -> int:
    """The index just after ``own``'s last statement within ``full[start:]``."""
    i = start
    for stmt in own:
        while i < len(full) and full[i] != stmt:
            i += 1
        i += 1
    return min(i, len(full))


def migration_sql(ops: Sequence[Op], cfg: CitusConfig, package: str) -> tuple[str, str]:
    """(up, down) of one package's migration, with the Citus statements."""
    down_ops = [op.reverse() for op in reversed(ops)]
    return render(ops, cfg, package), render(down_ops, cfg, package)


def preview_sql(pkg: Package, cfg: CitusConfig) -> str:
    """``preview PACKAGE``: the package's full DDL (as ``sql.render_create`` builds it)
    with the Citus statements."""
    from .plan import PackageOps, full_create, order_migrations

    plans = [PackageOps(pkg.namespace, full_create(pkg.owned_entities(), pkg.namespace))]
    ops = [op for plan in order_migrations(plans) for op in plan.ops]
    return render(ops, cfg, pkg.id)
