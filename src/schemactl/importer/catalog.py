"""Reading an existing database for ``import``: one query per kind of object.

The tables, columns, constraints and indexes come from :func:`schemactl.introspect.
read_catalog` (the same reader drift uses, so import and drift see the same names);
this module adds what import needs besides: which schemas exist, the type behind each
column (domain, enum, array, base type), comments, partitioning, and the objects the
format cannot hold (views, triggers, functions, types, sequences, policies), so that each
can be reported.  Every query covers all the requested schemas at once.

Read-only: SELECTs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..introspect import Catalog, read_catalog

if TYPE_CHECKING:
    import psycopg

# Schemas never imported: PostgreSQL's own and schemactl's history.
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast", "schemactl"})


@dataclass(frozen=True, slots=True)
class ColumnType:
    """What stands behind a column's type."""

    kind: str  # pg_type.typtype: b base, d domain, e enum, c composite, r range, m multirange
    array: bool
    base: str  # format_type of the base type (domain: its base type; array: element type)
    labels: tuple[str, ...] = ()  # enum labels in sort order
    type_name: str = ""  # schema-qualified name of a domain or enum type


@dataclass(frozen=True, slots=True)
class Other:
    """An object the format cannot hold: a view, trigger, function, type, sequence..."""

    kind: str
    schema: str
    name: str
    table: str | None = None  # for triggers and policies
    detail: str = ""


@dataclass
class ImportCatalog:
    schemas: list[str]  # every non-system schema of the database, sorted
    catalog: Catalog  # tables of the read schemas
    relkind: dict[tuple[str, str], str] = field(default_factory=dict)  # r or p
    partitions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    partition_key: dict[tuple[str, str], str] = field(default_factory=dict)
    table_comments: dict[tuple[str, str], str] = field(default_factory=dict)
    column_comments: dict[tuple[str, str, str], str] = field(default_factory=dict)
    column_types: dict[tuple[str, str, str], ColumnType] = field(default_factory=dict)
    index_plain: dict[tuple[str, str, str], bool] = field(default_factory=dict)
    owned_sequences: dict[tuple[str, str, str], str] = field(default_factory=dict)
    others: list[Other] = field(default_factory=list)


SCHEMAS_SQL = """
SELECT n.nspname FROM pg_catalog.pg_namespace n
WHERE left(n.nspname, 3) <> 'pg_' AND n.nspname <> ALL(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_namespace'::regclass
                    AND d.objid = n.oid AND d.deptype = 'e')
ORDER BY n.nspname
"""

RELATIONS_SQL = """
SELECT n.nspname, c.relname, c.relkind::text, c.relispartition,
       pn.nspname, pc.relname,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
       pg_catalog.obj_description(c.oid, 'pg_class'),
       c.relrowsecurity,
       EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
               WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                 AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_class'::regclass
                    AND d.objid = c.oid AND d.deptype = 'e')
"""

COLUMNS_SQL = """
SELECT n.nspname, c.relname, a.attname, t.typtype::text, t.typcategory = 'A',
       pg_catalog.format_type(
         CASE WHEN t.typtype = 'd' THEN t.typbasetype
              WHEN t.typcategory = 'A' THEN t.typelem ELSE a.atttypid END,
         CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END),
       CASE WHEN t.typtype IN ('d', 'e') THEN tn.nspname || '.' || t.typname END,
       CASE WHEN t.typtype = 'e' THEN t.oid END,
       ds.description
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_description ds
  ON ds.objoid = c.oid AND ds.classoid = 'pg_catalog.pg_class'::regclass
 AND ds.objsubid = a.attnum
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
"""

ENUM_LABELS_SQL = """
SELECT e.enumtypid, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_catalog.pg_enum e WHERE e.enumtypid = ANY(%s::oid[]) GROUP BY e.enumtypid
"""

# the sequence a serial column owns (pg_depend 'a'; an identity's is 'i' and not listed)
OWNED_SEQUENCES_SQL = """
SELECT n.nspname, c.relname, a.attname, s.relname
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_catalog.pg_class c ON c.oid = d.refobjid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_catalog.pg_class'::regclass
  AND d.refclassid = 'pg_catalog.pg_class'::regclass
  AND d.deptype = 'a' AND n.nspname = ANY(%s)
"""

# An index the format can say: btree, key columns only (no INCLUDE), no expressions,
# default operator classes and collations, ascending, nulls last.
INDEX_SHAPE_SQL = """
SELECT n.nspname, c.relname, ic.relname,
       i.indexprs IS NULL AND i.indnatts = i.indnkeyatts
       AND NOT EXISTS (SELECT 1 FROM unnest(i.indoption::int2[]) o WHERE o <> 0)
       AND NOT EXISTS (SELECT 1 FROM unnest(i.indclass::oid[]) oc
                       JOIN pg_catalog.pg_opclass op ON op.oid = oc WHERE NOT op.opcdefault)
       AND NOT EXISTS (SELECT 1 FROM unnest(i.indcollation::oid[]) WITH ORDINALITY AS k(coll, ord)
                       JOIN pg_catalog.pg_attribute a
                         ON a.attrelid = i.indrelid AND a.attnum = (i.indkey::int2[])[k.ord - 1]
                       WHERE k.coll <> 0 AND k.coll <> a.attcollation)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

TRIGGERS_SQL = """
SELECT n.nspname, c.relname, t.tgname, pg_catalog.pg_get_triggerdef(t.oid)
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND NOT t.tgisinternal
ORDER BY 1, 2, 3
"""

FUNCTIONS_SQL = """
SELECT n.nspname, p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
       CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
                      WHEN 'w' THEN 'window function' ELSE 'function' END
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_proc'::regclass
                    AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""

TYPES_SQL = """
SELECT n.nspname, t.typname,
       CASE t.typtype WHEN 'd' THEN 'domain' WHEN 'e' THEN 'enum type'
                      WHEN 'r' THEN 'range type' WHEN 'm' THEN 'multirange type'
                      ELSE 'composite type' END
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
WHERE n.nspname = ANY(%s) AND t.typtype IN ('d', 'e', 'r', 'm', 'c')
  AND (t.typtype <> 'c' OR c.relkind = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_type'::regclass
                    AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""

POLICIES_SQL = """
SELECT n.nspname, c.relname, p.polname
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s)
ORDER BY 1, 2, 3
"""


def list_schemas(conn: psycopg.Connection[Any]) -> list[str]:
    """Every schema an import may read: not PostgreSQL's, not schemactl's, not an
    extension's."""
    return [r[0] for r in conn.execute(SCHEMAS_SQL, (sorted(SYSTEM_SCHEMAS),)).fetchall()]


def read(
    conn: psycopg.Connection[Any], schemas: list[str], all_schemas: list[str]
) -> ImportCatalog:
    """The catalog of ``schemas`` (the ones imported), plus the tables of other schemas
    that their foreign keys reference (an ``[external]`` entry needs the key's type)."""
    names = sorted(set(schemas))
    out = ImportCatalog(all_schemas, read_catalog(conn, names))
    # tables of other schemas are read only when a foreign key targets them
    refs = {
        (c.ref_schema, c.ref_table)
        for t in out.catalog.tables.values()
        for c in t.constraints.values()
        if c.type == "f" and c.ref_schema not in names
    }
    if refs:
        more = read_catalog(conn, sorted({s for s, _ in refs if s}))
        out.catalog.tables.update({k: t for k, t in more.tables.items() if k in refs})
    for row in conn.execute(RELATIONS_SQL, (names,)).fetchall():
        ns, rel, kind, is_part, pns, prel, partkey, comment, rls, owned = row
        key = (ns, rel)
        if kind in ("r", "p") and is_part:
            out.partitions.setdefault((pns, prel), []).append(f"{ns}.{rel}")
            continue
        if kind in ("r", "p"):
            out.relkind[key] = kind
            if partkey:
                out.partition_key[key] = partkey
            if comment is not None:
                out.table_comments[key] = comment
            if rls:
                out.others.append(Other("row-level security", ns, rel, rel))
        elif kind == "v":
            out.others.append(Other("view", ns, rel))
        elif kind == "m":
            out.others.append(Other("materialized view", ns, rel))
        elif kind == "f":
            out.others.append(Other("foreign table", ns, rel))
        elif kind == "S" and not owned:  # a serial's sequence is reported with its column
            out.others.append(Other("sequence", ns, rel))
    rows = conn.execute(COLUMNS_SQL, (names,)).fetchall()
    enum_oids = sorted({r[7] for r in rows if r[7] is not None})
    labels: dict[int, tuple[str, ...]] = {}
    if enum_oids:
        for oid, values in conn.execute(ENUM_LABELS_SQL, (enum_oids,)).fetchall():
            labels[int(oid)] = tuple(values)
    for ns, rel, col, typtype, is_array, base, tname, enum_oid, comment in rows:
        out.column_types[(ns, rel, col)] = ColumnType(
            typtype,
            bool(is_array),
            base,
            labels.get(int(enum_oid), ()) if enum_oid is not None else (),
            tname or "",
        )
        if comment is not None:
            out.column_comments[(ns, rel, col)] = comment
    for ns, rel, col, seq in conn.execute(OWNED_SEQUENCES_SQL, (names,)).fetchall():
        out.owned_sequences[(ns, rel, col)] = seq
    for ns, rel, idx, plain in conn.execute(INDEX_SHAPE_SQL, (names,)).fetchall():
        out.index_plain[(ns, rel, idx)] = bool(plain)
    for ns, rel, name, definition in conn.execute(TRIGGERS_SQL, (names,)).fetchall():
        out.others.append(Other("trigger", ns, name, rel, definition))
    for ns, name, kind in conn.execute(FUNCTIONS_SQL, (names,)).fetchall():
        out.others.append(Other(kind, ns, name))
    for ns, name, kind in conn.execute(TYPES_SQL, (names,)).fetchall():
        out.others.append(Other(kind, ns, name))
    for ns, rel, name in conn.execute(POLICIES_SQL, (names,)).fetchall():
        out.others.append(Other("policy", ns, name, rel))
    return out
