"""Helpers for the import tests: catalog snapshots, and what import must give back.

``snapshot(url, schemas)`` reads the catalog of ``schemas`` straight from pg_catalog (not
through schemactl's introspection), as plain comparable data: per table its columns
(type, NOT NULL, default, identity), constraints and indexes.  Names of primary keys,
foreign keys and checks are left out (the format cannot say them; ``--baseline`` renames
them); unique constraints and indexes keep theirs.

``expected_canonical(entity, ...)`` is the canonical form (docs/checksum.md) that importing
the table of ``entity`` must give, written from the *model* side, independently of the
importer: the documented renames of docs/import.md applied to the original entity.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from schemactl.model import Entity, External, Field
from schemactl.naming import derived, plural, snake, table_name
from schemactl.sql.columns import is_identity

COLUMNS = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity::text
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
"""
CONSTRAINTS = """
SELECT n.nspname, c.relname, con.contype::text, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND con.contype <> 'n'
"""
INDEXES = """
SELECT n.nspname, c.relname, ic.relname, pg_get_indexdef(i.indexrelid), i.indisprimary
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s)
"""


def snapshot(url: str, schemas: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for ns, rel, col, typ, nn, default, ident in conn.execute(COLUMNS, (schemas,)):
            t = out.setdefault(f"{ns}.{rel}", {"columns": {}, "constraints": [], "indexes": {}})
            t["columns"][col] = (typ, nn, default, ident)
        for ns, rel, kind, name, definition in conn.execute(CONSTRAINTS, (schemas,)):
            t = out[f"{ns}.{rel}"]
            t["constraints"].append((kind, name if kind in ("u", "x") else "", definition))
        for ns, rel, name, definition, primary in conn.execute(INDEXES, (schemas,)):
            if not primary:  # the primary key's index is named after its constraint
                out[f"{ns}.{rel}"]["indexes"][name] = definition
    for t in out.values():
        t["constraints"].sort()
    return out


# ----------------------------------------------------------------------------- the model side


def camel(col: str) -> str:
    head, *rest = col.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def import_entity_name(table: str) -> str:
    """docs/import.md: the PascalCase singular of the table."""
    head, _, last = table.rpartition("_")
    irregular = {"people": "person", "children": "child", "statuses": "status"}
    cands = [irregular.get(last, "")]
    if last.endswith("ies"):
        cands.append(last[:-3] + "y")
    cands += [last[:-2] if last.endswith("es") else "", last[:-1] if last.endswith("s") else ""]
    word = next((c for c in cands if c and plural(c) == last), last)
    full = f"{head}_{word}" if head else word
    return "".join(p[:1].upper() + p[1:] for p in full.split("_") if p)


def _num(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _field(f: Field) -> dict[str, Any]:
    typ = "string" if f.type in ("text", "cuid") else f.type
    d: dict[str, Any] = {"type": typ}
    if f.primary:
        d["primary"] = True
    if is_identity(f) or (f.type == "uuid" and f.generated):
        d["generated"] = True
    if f.primary or (not f.nullable and not is_identity(f)):
        d["notNull"] = True
    if f.default_now:
        d["default"] = "now"
    elif f.default is not None and not is_identity(f):
        v = f.default
        if f.type in ("int", "bigint") and isinstance(v, str):
            v = int(v)
        elif f.type == "float" and isinstance(v, str):
            v = float(v)
        elif f.type in ("string", "text", "cuid") and not isinstance(v, str):
            v = str(v).lower() if isinstance(v, bool) else str(v)
        d["default"] = _num(v)
    for key, value in (
        ("maxLength", f.max_length),
        ("min", f.min),
        ("max", f.max),
        ("precision", f.precision),
        ("scale", f.scale),
    ):
        if value is not None:
            d[key] = _num(value)
    if f.enum is not None:
        d["enum"] = list(f.enum)
    return d


def expected_canonical(
    e: Entity, targets: dict[str, Entity], externals: dict[str, External]
) -> dict[str, Any]:
    """The canonical form importing ``e``'s table must give (docs/import.md's renames):
    entity and field names from the table and column names; text and cuid are string;
    cuid's `generated` has no trace in the database; identity columns carry no
    `required`; decimal defaults are text; single-column indexes and unique constraints
    with derived names are field flags, others `indexes:` entries with their name when
    it is not the derived one; relations are the belongsTo ones (hasOne, hasMany,
    manyToMany and the ACL leave nothing in the database), named after their field, with
    `references` only when it is not the target's primary key, without `optional`."""
    name = import_entity_name(e.table)
    by_name = {f.name: f for f in e.fields}
    fname = {f.name: camel(f.column) for f in e.fields}
    fields: dict[str, dict[str, Any]] = {}
    for f in e.fields:
        d = _field(f)
        if snake(fname[f.name]) != f.column:
            d["column"] = f.column
        fields[fname[f.name]] = d
    indexes: list[dict[str, Any]] = []
    sole_pk = list(e.primary_key) if len(e.primary_key) == 1 else []
    for ix in sorted(e.indexes, key=lambda i: (not i.unique, i.name)):
        cols = ix.columns
        fl = [fname[x] for x in ix.fields]
        kind = "uq" if ix.unique else "idx"
        is_derived = ix.name == derived(kind, e.table, cols)
        if ix.unique and len(fl) == 1 and is_derived and list(ix.fields) != sole_pk:
            fields[fl[0]]["unique"] = True
            continue
        if not ix.unique and len(fl) == 1 and is_derived and not fields[fl[0]].get("unique"):
            fields[fl[0]]["index"] = True
            continue
        entry: dict[str, Any] = {"fields": fl}
        if ix.unique:
            entry["unique"] = True
        if not is_derived or (not ix.unique and len(fl) == 1):
            entry["name"] = ix.name
        indexes.append(entry)
    relations = []
    for fk in e.foreign_keys:
        local = next(f for f in e.fields if f.column == fk.columns[0])
        fl = fname[local.name]
        rname = fl[:-2] if fl.endswith("Id") and len(fl) > 2 else fl + "Ref"
        if rname in fields:
            rname += "Ref"
        target = targets.get(fk.ref_entity)
        if target is not None:
            tname = import_entity_name(target.table)
            refs = None if target.pk_columns == fk.ref_columns else camel(fk.ref_columns[0])
        else:
            tname = externals[fk.ref_entity].name
            refs = None
        r: dict[str, Any] = {"name": rname, "type": "belongsTo", "entity": tname, "field": fl}
        if refs is not None:
            r["references"] = refs
        if fk.on_delete not in (None, "NoAction"):
            r["onDelete"] = fk.on_delete
        if fk.on_update not in (None, "NoAction"):
            r["onUpdate"] = fk.on_update
        relations.append(r)
    from schemactl.checksum import _dump

    out: dict[str, Any] = {
        "name": name,
        "fields": fields,
        "indexes": sorted(indexes, key=_dump),
        "relations": sorted(relations, key=_dump),
    }
    if table_name(name, "snake_plural") != e.table:
        out["table"] = e.table
    del by_name
    return out


def strip_header(text: str) -> str:
    return re.sub(r"\A(#.*\n)+", "", text)


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The differences of two snapshots, readable."""
    out = []
    for t in sorted(set(a) | set(b)):
        if t not in a or t not in b:
            out.append(f"{t}: only in {'first' if t in a else 'second'}")
            continue
        for part in ("columns", "indexes"):
            for k in sorted(set(a[t][part]) | set(b[t][part])):
                if a[t][part].get(k) != b[t][part].get(k):
                    out.append(f"{t} {part} {k}: {a[t][part].get(k)} != {b[t][part].get(k)}")
        ca, cb = a[t]["constraints"], b[t]["constraints"]
        for c in ca:
            if c not in cb:
                out.append(f"{t} constraint only in first: {c}")
        for c in cb:
            if c not in ca:
                out.append(f"{t} constraint only in second: {c}")
    return out
