"""Build model objects by hand for planner/SQL/Prisma tests (no YAML, no validator).

Names follow SPEC §6 through ``schemactl.naming`` (``pk_/idx_/uq_/fk_/ck_`` + table +
columns), the way the validator derives them.

    user = entity("Member", [field("id", "uuid", primary=True, generated=True),
                             field("email", required=True, unique=True)])
    post = entity("Post", [field("id", "cuid", primary=True),
                           field("authorId", required=True)],
                  relations=[belongs_to("author", "authorId", user, on_delete="Cascade")])
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any

from schemactl.model import Acl, Check, Entity, Field, ForeignKey, Index, Relation
from schemactl.naming import column_name, derived, table_name


def field(
    name: str,
    type: str = "string",
    *,
    primary: bool = False,
    required: bool = False,
    nullable: bool | None = None,
    column: str | None = None,
    **kw: Any,
) -> Field:
    """A field; NOT NULL when primary or required (SPEC §3)."""
    eff_nullable = not (primary or required) if nullable is None else nullable
    return Field(
        name=name,
        column=column or column_name(name, "snake"),
        type=type,
        primary=primary,
        nullable=eff_nullable,
        column_override=column is not None,
        **kw,
    )


@dataclasses.dataclass(frozen=True)
class Ref:
    """A relation target that is not built with `entity` (an external table)."""

    name: str
    namespace: str
    table: str
    key: str
    type: str = "string"


@dataclasses.dataclass(frozen=True)
class BelongsTo:
    name: str
    field: str
    target: Entity | Ref | str  # str: this entity (self-reference)
    references: str | None = None
    on_delete: str | None = None
    on_update: str | None = None
    optional: bool = False


def belongs_to(name: str, field: str, target: Entity | Ref | str, **kw: Any) -> BelongsTo:
    return BelongsTo(name, field, target, **kw)


def entity(
    name: str,
    fields: Sequence[Field],
    *,
    namespace: str = "app",
    package: str | None = None,
    table: str | None = None,
    indexes: Iterable[tuple[Sequence[str], bool] | tuple[Sequence[str], bool, str]] = (),
    relations: Iterable[BelongsTo | Relation] = (),
    description: str | None = None,
) -> Entity:
    """An entity with derived names, checks, indexes (field flags + explicit) and FKs."""
    tbl = table or table_name(name, "snake_plural")
    by_name = {f.name: f for f in fields}
    pk = tuple(f.name for f in fields if f.primary)
    checks: list[Check] = []
    for f in fields:
        if f.enum is not None:
            checks.append(Check(derived("ck", tbl, (f.column, "enum")), f.column, "enum", f.enum))
        if f.min is not None:
            checks.append(Check(derived("ck", tbl, (f.column, "min")), f.column, "min", (f.min,)))
        if f.max is not None:
            checks.append(Check(derived("ck", tbl, (f.column, "max")), f.column, "max", (f.max,)))
        if f.max_length is not None:
            checks.append(
                Check(
                    derived("ck", tbl, (f.column, "max_length")),
                    f.column,
                    "max_length",
                    (f.max_length,),
                )
            )
    idx: dict[tuple[tuple[str, ...], bool], Index] = {}

    def add_index(names: Sequence[str], unique: bool, given: str | None = None) -> None:
        cols = tuple(by_name[n].column for n in names)
        key = (cols, unique)
        if key in idx:
            return
        prefix = "uq" if unique else "idx"
        idx[key] = Index(
            given or derived(prefix, tbl, cols), tuple(names), cols, unique, given is not None
        )

    for f in fields:
        if f.unique and not f.primary:
            add_index([f.name], True)
        if f.index and not f.primary:
            add_index([f.name], False)
    for spec in indexes:
        add_index(spec[0], spec[1], spec[2] if len(spec) > 2 else None)  # type: ignore[misc]

    rels: list[Relation] = []
    fks: list[ForeignKey] = []
    for r in relations:
        if isinstance(r, Relation):
            rels.append(r)
            continue
        col = by_name[r.field].column
        if isinstance(r.target, str):  # self-reference
            ref_ns, ref_tbl, ref_entity = namespace, tbl, name
            ref_col = by_name[r.references or pk[0]].column
            ref_pkg: str | None = package or namespace
        elif isinstance(r.target, Ref):
            ref_ns, ref_tbl, ref_entity = r.target.namespace, r.target.table, r.target.name
            ref_col, ref_pkg = r.target.key, None
        else:
            t = r.target
            ref_ns, ref_tbl, ref_entity = t.namespace, t.table, t.name
            rf = t.field_named(r.references) if r.references else None
            ref_col = rf.column if rf else t.pk_columns[0]
            ref_pkg = t.package
        rels.append(
            Relation(
                r.name,
                "belongsTo",
                ref_entity,
                r.field,
                r.references,
                r.on_delete,  # type: ignore[arg-type]
                r.on_update,  # type: ignore[arg-type]
                r.optional,
            )
        )
        fks.append(
            ForeignKey(
                name=derived("fk", tbl, (col,)),
                relation=r.name,
                columns=(col,),
                ref_namespace=ref_ns,
                ref_table=ref_tbl,
                ref_columns=(ref_col,),
                on_delete=r.on_delete,  # type: ignore[arg-type]
                on_update=r.on_update,  # type: ignore[arg-type]
                ref_entity=ref_entity,
                ref_package=ref_pkg,
            )
        )
    return Entity(
        name=name,
        package=package or namespace,
        namespace=namespace,
        table=tbl,
        fields=tuple(fields),
        primary_key=pk,
        pk_name=derived("pk", tbl, ()),
        indexes=tuple(idx.values()),
        checks=tuple(checks),
        relations=tuple(rels),
        foreign_keys=tuple(fks),
        acl=Acl(),
        checksum="sha256:" + "0" * 64,
        description=description,
        table_override=table is not None,
    )


def shuffled(e: Entity, seed: int) -> Entity:
    """The same entity with fields, indexes, checks, relations and FKs in another order."""
    import random

    rnd = random.Random(seed)

    def mix(xs: tuple[Any, ...]) -> tuple[Any, ...]:
        ys = list(xs)
        rnd.shuffle(ys)
        return tuple(ys)

    return dataclasses.replace(
        e,
        fields=mix(e.fields),
        indexes=mix(e.indexes),
        checks=mix(e.checks),
        relations=mix(e.relations),
        foreign_keys=mix(e.foreign_keys),
    )


# --------------------------------------------------------------------------- PostgreSQL

Catalog = dict[str, Any]

_SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast')"


def apply_sql(url: str, script_or_statements: str | Sequence[str]) -> None:
    """Run a migration in one transaction, as `apply` does (a script, or statement by
    statement so that a failure names the statement)."""
    import psycopg

    with psycopg.connect(url) as conn, conn.transaction():
        if isinstance(script_or_statements, str):
            conn.execute(script_or_statements)  # type: ignore[arg-type]
        else:
            for stmt in script_or_statements:
                try:
                    conn.execute(stmt)  # type: ignore[arg-type]
                except psycopg.Error as exc:
                    raise AssertionError(f"statement failed: {stmt}\n{exc}") from exc


def catalog(
    url: str, *, schemas: Iterable[str] | None = None, rename: dict[str, str] | None = None
) -> Catalog:
    """What PostgreSQL stores for the user schemas: tables, columns (type, NOT NULL,
    default, identity, comment), constraints (kind, definition, validated), indexes and
    comments.  Column order and implicit sequence names are left out on purpose (added
    columns go last; a renamed table keeps its identity sequence name).

    ``rename`` maps schema names, to compare a schema with a copy under another name.
    """
    import psycopg

    rn = rename or {}
    where = f"n.nspname NOT IN {_SYSTEM_SCHEMAS} AND n.nspname NOT LIKE 'pg_temp%%'"
    where += " AND n.nspname NOT LIKE 'pg_toast%%'"
    params: list[Any] = []
    if schemas is not None:
        where += " AND n.nspname = ANY(%s)"
        params.append(list(schemas))

    def ns(x: str) -> str:
        return rn.get(x, x)

    def fix(text: str | None) -> str | None:
        if text is None:
            return None
        for a, b in rn.items():
            text = text.replace(f"{a}.", f"{b}.").replace(f'"{a}".', f'"{b}".')
        return text

    out: Catalog = {}
    with psycopg.connect(url, autocommit=True) as conn:
        out["schemas"] = sorted(
            ns(r[0])
            for r in conn.execute(
                f"SELECT n.nspname FROM pg_namespace n WHERE {where}", params
            ).fetchall()
        )
        out["tables"] = {
            (ns(r[0]), r[1]): r[2]
            for r in conn.execute(
                "SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class')"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                f" WHERE c.relkind = 'r' AND {where}",
                params,
            ).fetchall()
        }
        out["columns"] = {
            (ns(r[0]), r[1], r[2]): (r[3], r[4], fix(r[5]), r[6], r[7])
            for r in conn.execute(
                "SELECT n.nspname, c.relname, a.attname,"
                " format_type(a.atttypid, a.atttypmod), a.attnotnull,"
                " pg_get_expr(d.adbin, d.adrelid), a.attidentity,"
                " col_description(c.oid, a.attnum)"
                " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                f" WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND {where}",
                params,
            ).fetchall()
        }
        out["constraints"] = {
            (ns(r[0]), r[1], r[2]): (r[3], fix(r[4]), r[5])
            for r in conn.execute(
                "SELECT n.nspname, c.relname, k.conname, k.contype,"
                " pg_get_constraintdef(k.oid), k.convalidated"
                " FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                # PostgreSQL 18 records NOT NULL as constraints ('n') named after the table
                # they were created in (a renamed table keeps the old name): nullability is
                # compared through pg_attribute.attnotnull above, as introspect.py does.
                f" WHERE k.contype <> 'n' AND {where}",
                params,
            ).fetchall()
        }
        out["indexes"] = {
            (ns(r[0]), r[1]): (r[2], fix(r[3]))
            for r in conn.execute(
                "SELECT n.nspname, i.relname, t.relname, pg_get_indexdef(i.oid)"
                " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                " JOIN pg_class t ON t.oid = x.indrelid"
                " JOIN pg_namespace n ON n.oid = i.relnamespace"
                f" WHERE {where}",
                params,
            ).fetchall()
        }
    return out


def drop_schemas(url: str, schemas: Iterable[str]) -> None:
    import psycopg

    from schemactl.sql.quote import ident

    with psycopg.connect(url, autocommit=True) as conn:
        for s in schemas:
            conn.execute(f"DROP SCHEMA IF EXISTS {ident(s)} CASCADE")  # type: ignore[arg-type]


def diff_catalogs(a: Catalog, b: Catalog) -> list[str]:
    """Human-readable differences (empty when equal)."""
    out: list[str] = []
    for part in sorted(a.keys() | b.keys()):
        x, y = a.get(part), b.get(part)
        if x == y:
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(x.keys() | y.keys(), key=repr):
                if x.get(k) != y.get(k):
                    out.append(f"{part} {k}: {x.get(k)!r} != {y.get(k)!r}")
        else:
            out.append(f"{part}: {x!r} != {y!r}")
    return out


# --------------------------------------------------------------------------- hypothesis

_FIELD_POOL = ("alpha", "beta", "gamma", "delta", "order", "user", "timestamp")
_ENTITY_POOL = ("Node", "Edge", "Select")
_PK_KINDS = ("int", "bigint", "cuid", "uuid", "string")


def _pk_field(kind: str) -> Field:
    generated = kind in ("int", "bigint", "uuid")
    return field("id", kind, primary=True, generated=generated)


def packages(namespace: str = "hyp") -> Any:
    """A hypothesis strategy for one package's entities: random fields of every type with
    defaults, checks, indexes, descriptions, table overrides and FKs within the package
    (self-references included) and to an external users table."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> list[Entity]:
        names = draw(st.lists(st.sampled_from(_ENTITY_POOL), min_size=1, max_size=3, unique=True))
        pk_kind = {n: draw(st.sampled_from(_PK_KINDS)) for n in names}
        table = {n: draw(st.sampled_from([None, None, f"t_{n.lower()}"])) for n in names}
        bases: dict[str, Entity] = {}
        specs: dict[str, tuple[list[Field], list[Any], list[BelongsTo], str | None]] = {}
        for n in names:
            fields = [_pk_field(pk_kind[n])]
            for fname in draw(st.lists(st.sampled_from(_FIELD_POOL), max_size=4, unique=True)):
                fields.append(draw(_field(fname)))
            idx = []
            plain = [f.name for f in fields[1:]]
            if plain:
                for _ in range(draw(st.integers(0, 2))):
                    cols = draw(
                        st.lists(st.sampled_from(plain), min_size=1, max_size=2, unique=True)
                    )
                    idx.append((cols, draw(st.booleans())))
            desc = draw(st.sampled_from([None, "Some text", "it's; -- \\ data"]))
            specs[n] = (fields, idx, [], desc)
            bases[n] = entity(n, fields, namespace=namespace, table=table[n])
        for n in names:
            fields, idx, rels, desc = specs[n]
            for target in draw(
                st.lists(st.sampled_from([*names, "User"]), max_size=2, unique=True)
            ):
                required = draw(st.booleans())
                on_delete = draw(
                    st.sampled_from(
                        ["Cascade", "Restrict", "NoAction", None]
                        + ([] if required else ["SetNull"])
                    )
                )
                ref_type = "string" if target == "User" else pk_kind[target]
                ref_type = "string" if ref_type == "cuid" else ref_type
                fname = f"{target.lower()}Ref"
                fields.append(field(fname, ref_type, required=required))
                tgt: Entity | Ref | str
                if target == "User":
                    tgt = Ref("User", "public", "users", "id")
                elif target == n:
                    tgt = n
                else:
                    tgt = bases[target]
                rels.append(belongs_to(target.lower(), fname, tgt, on_delete=on_delete))
        return [
            entity(
                n,
                specs[n][0],
                namespace=namespace,
                table=table[n],
                indexes=specs[n][1],
                relations=specs[n][2],
                description=specs[n][3],
            )
            for n in names
        ]

    return build()


def _field(name: str) -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> Field:
        t = draw(
            st.sampled_from(
                [
                    "string",
                    "text",
                    "int",
                    "bigint",
                    "float",
                    "decimal",
                    "boolean",
                    "uuid",
                    "json",
                    "datetime",
                    "date",
                    "bytes",
                ]
            )
        )
        kw: dict[str, Any] = {}
        required = draw(st.booleans())
        if t == "string":
            enum = draw(st.sampled_from([None, ("a", "b"), ("a", "b", "it's")]))
            if enum:
                kw["enum"] = enum
            if draw(st.booleans()):
                kw["max_length"] = draw(st.sampled_from([10, 20]))
            if draw(st.booleans()):
                kw["default"] = enum[0] if enum else draw(st.sampled_from(["x", "", "o'k"]))
        elif t in ("int", "bigint"):
            if draw(st.booleans()):
                kw["min"] = 0
            if draw(st.booleans()):
                kw["max"] = 100
            if draw(st.booleans()):
                kw["default"] = draw(st.integers(0, 100))
        elif t in ("float", "decimal"):
            if t == "decimal" and draw(st.booleans()):
                kw["precision"], kw["scale"] = draw(st.sampled_from([(10, 2), (12, 4)]))
            if draw(st.booleans()):
                kw["default"] = draw(st.sampled_from([0.5, 1.25, -2.0]))
        elif t == "boolean":
            if draw(st.booleans()):
                kw["default"] = draw(st.booleans())
        elif t == "uuid":
            kw["generated"] = draw(st.booleans())
        elif t == "json":
            if draw(st.booleans()):
                kw["default"] = draw(st.sampled_from(["{}", '{"a": [1, "b"]}']))
        elif t == "datetime":
            kw["default_now"] = draw(st.booleans())
        elif t == "date" and draw(st.booleans()):
            kw["default"] = "2024-02-29"
        if draw(st.booleans()):
            kw["description"] = draw(st.sampled_from(["note", "with 'quote'"]))
        kw["unique"] = draw(st.booleans()) and draw(st.booleans())
        kw["index"] = draw(st.booleans()) and draw(st.booleans())
        return field(name, t, required=required, **kw)

    return build()


def evolve(old: Sequence[Entity], new: list[Entity], seed: int) -> list[Entity]:
    """Give some fields of ``new`` a ``renamed_from`` hint naming a vanished old field."""
    import random

    rnd = random.Random(seed)
    old_by = {e.name: e for e in old}
    out: list[Entity] = []
    for e in new:
        o = old_by.get(e.name)
        if o is None or rnd.random() < 0.5:
            out.append(e)
            continue
        gone = [f.name for f in o.fields if e.field_named(f.name) is None and not f.primary]
        fields = list(e.fields)
        for i, f in enumerate(fields):
            if gone and o.field_named(f.name) is None and not f.primary and rnd.random() < 0.7:
                fields[i] = dataclasses.replace(f, renamed_from=gone.pop(0))
        out.append(dataclasses.replace(e, fields=tuple(fields)))
    return out


# --------------------------------------------------------------------------- sqlglot

# Statements sqlglot 30 accepts only as a generic Command (it has no AST for them).
COMMAND_FORMS = re.compile(
    r'^ALTER TABLE "[^"]+(?:""[^"]*)*"\."(?:[^"]|"")+" '
    r"(?:VALIDATE CONSTRAINT|RENAME CONSTRAINT|ALTER COLUMN \"(?:[^\"]|\"\")+\" "
    r"(?:ADD GENERATED BY DEFAULT AS IDENTITY|DROP IDENTITY IF EXISTS))"
)


def assert_parses(script: str) -> list[str]:
    """Every statement of a script parses with sqlglot's postgres dialect; the few it only
    accepts as a generic Command must be of the forms it has no AST for."""
    import sqlglot
    from sqlglot import exp

    from schemactl.sql import split_statements

    statements = split_statements(script)
    for stmt in statements:
        tree = sqlglot.parse_one(stmt, read="postgres")
        if isinstance(tree, exp.Command):
            assert COMMAND_FORMS.match(stmt), f"sqlglot did not parse: {stmt}"
    return statements
