"""Reading the catalog: what the database holds in the managed schemas.

Owns the ``pg_catalog`` queries and the plain data they produce: ordinary and
partitioned tables (not partitions), their columns with the type as ``format_type`` writes
it, nullability, the default as ``pg_get_expr`` writes it, identity and generated flags;
their constraints (primary key, unique, check, foreign key, exclusion) and their indexes,
marking those that back a constraint.  Interpretation is :mod:`schemactl.drift`'s job.

Read-only: it runs SELECTs only, so it works on a hot standby too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # format_type(), e.g. "timestamp with time zone", "numeric(10,2)"
    not_null: bool
    default: str | None  # pg_get_expr() of the default
    identity: str  # "" | "a" (ALWAYS) | "d" (BY DEFAULT)
    generated: str  # "" | "s" (stored generated column)


@dataclass(frozen=True, slots=True)
class Constraint:
    name: str
    type: str  # p u c f x (n: NOT NULL constraints of PostgreSQL 18+ are skipped)
    columns: tuple[str, ...]
    definition: str  # pg_get_constraintdef()
    validated: bool
    ref_schema: str | None = None
    ref_table: str | None = None
    ref_columns: tuple[str, ...] = ()
    on_delete: str | None = None  # confdeltype: a r c n d
    on_update: str | None = None


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    columns: tuple[str | None, ...]  # key columns; None for an expression
    unique: bool
    primary: bool
    valid: bool
    partial: bool
    method: str
    constraint: str | None  # the constraint it backs (primary key, unique, exclusion)
    definition: str  # pg_get_indexdef()


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)


@dataclass
class Catalog:
    schemas: set[str]  # the requested schemas that exist
    tables: dict[tuple[str, str], Table]


TABLES_SQL = """
SELECT c.oid, n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

COLUMNS_SQL = """
SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY(%s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

CONSTRAINTS_SQL = """
SELECT con.conrelid, con.conname, con.contype::text, con.convalidated,
       pg_catalog.pg_get_constraintdef(con.oid),
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
             ORDER BY k.ord),
       fn.nspname, fc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(num, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
             ORDER BY k.ord),
       con.confdeltype::text, con.confupdtype::text
FROM pg_catalog.pg_constraint con
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.conrelid = ANY(%s::oid[]) AND con.contype <> 'n'
"""

INDEXES_SQL = """
SELECT i.indrelid, ic.relname, i.indisunique, i.indisprimary, i.indisvalid,
       i.indpred IS NOT NULL, am.amname,
       ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(num, ord)
             LEFT JOIN pg_catalog.pg_attribute a
               ON a.attrelid = i.indrelid AND a.attnum = k.num AND k.num > 0
             WHERE k.ord <= i.indnkeyatts
             ORDER BY k.ord),
       (SELECT con.conname FROM pg_catalog.pg_constraint con
         WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
           AND con.contype IN ('p', 'u', 'x') LIMIT 1),
       pg_catalog.pg_get_indexdef(i.indexrelid)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY(%s::oid[])
"""


def read_catalog(conn: psycopg.Connection[Any], schemas: set[str] | list[str]) -> Catalog:
    """The tables of ``schemas`` with their columns, constraints and indexes."""
    names = sorted(set(schemas))
    present = conn.execute(
        "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY(%s)", (names,)
    ).fetchall()
    by_oid: dict[int, Table] = {}
    for oid, schema, name in conn.execute(TABLES_SQL, (names,)).fetchall():
        by_oid[int(oid)] = Table(schema, name)
    oids = list(by_oid)
    if oids:
        for rel, name, typ, notnull, default, ident, gen in conn.execute(
            COLUMNS_SQL, (oids,)
        ).fetchall():
            by_oid[int(rel)].columns[name] = Column(
                name, typ, bool(notnull), default, (ident or "").strip(), (gen or "").strip()
            )
        for row in conn.execute(CONSTRAINTS_SQL, (oids,)).fetchall():
            rel, name, typ, valid, definition, cols, rns, rtab, rcols, deltype, updtype = row
            by_oid[int(rel)].constraints[name] = Constraint(
                name,
                typ,
                tuple(cols or ()),
                definition,
                bool(valid),
                rns,
                rtab,
                tuple(rcols or ()),
                deltype if typ == "f" else None,
                updtype if typ == "f" else None,
            )
        for row in conn.execute(INDEXES_SQL, (oids,)).fetchall():
            rel, name, unique, primary, valid, partial, method, cols, con, definition = row
            by_oid[int(rel)].indexes[name] = Index(
                name,
                tuple(cols or ()),
                bool(unique),
                bool(primary),
                bool(valid),
                bool(partial),
                method,
                con,
                definition,
            )
    return Catalog(
        schemas={r[0] for r in present},
        tables={(t.schema, t.name): t for t in by_oid.values()},
    )
