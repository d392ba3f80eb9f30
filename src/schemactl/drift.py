"""Drift: the catalog (:mod:`schemactl.introspect`) compared with the expected model.

The expected model is a list of entities (the approved baseline, or the state after the
applied migrations).  What each entity must look like in PostgreSQL comes from the same
functions the SQL renderer uses (:mod:`schemactl.sql.columns`), and the catalog's text is
normalised towards the model, never the other way round:

- types: ``format_type`` spells ``timestamptz`` as ``timestamp with time zone`` and
  ``numeric(10, 2)`` as ``numeric(10,2)``; both sides go through :func:`canon_type`;
- defaults: ``pg_get_expr`` writes ``'user'::text``, ``'-1'::integer``,
  ``(0)::double precision``, a normalised jsonb or timestamp; :func:`default_matches`
  reads the constant back and compares it, by the field's type, with the model's value
  (a timestamp written without an offset matches that wall-clock time in any real UTC
  offset: the time zone of the session that applied it is not recorded);
- checks: ``pg_get_constraintdef`` writes ``IN (...)`` as ``= ANY (ARRAY[...])``;
  :func:`parse_check` reads kind, column and values back.

Findings: SC701 missing (table, column, constraint, index), SC702 extra (in a managed
schema but not in the model), SC703 different (type, nullability, default, identity,
columns of a key or index, a check's values, foreign key target and actions, NOT VALID
constraints and invalid indexes).  Comments (descriptions) are not compared.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from .diagnostics import Diagnostic
from .introspect import Catalog, Column, Constraint, Table
from .introspect import Index as CatalogIndex
from .model import Check, Entity, Field, ForeignKey, Index
from .sql.columns import column_sql, default_sql, is_identity, nullable, pg_type

MISSING, EXTRA, DIFFERS = "SC701", "SC702", "SC703"

_TYPE_ALIASES = {
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "float8": "double precision",
    "float4": "real",
    "bool": "boolean",
    "decimal": "numeric",
    "varchar": "character varying",
    "char": "character",
}

_ACTIONS = {None: "a", "NoAction": "a", "Restrict": "r", "Cascade": "c", "SetNull": "n"}
_ACTIONS["SetDefault"] = "d"
_ACTION_WORDS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}

_NUMERIC = frozenset({"int", "bigint", "float", "decimal"})
_TEXTUAL = frozenset({"string", "text", "cuid"})


# ----------------------------------------------------------------------------- normalising


def canon_type(t: str) -> str:
    """``numeric(10, 2)`` and ``NUMERIC(10,2)`` -> ``numeric(10,2)``; aliases resolved."""
    s = " ".join(t.strip().lower().split())
    s = re.sub(r"\s*\(\s*", "(", s)
    s = re.sub(r"\s*,\s*", ",", s)
    s = re.sub(r"\s*\)", ")", s)
    base, paren, rest = s.partition("(")
    base = _TYPE_ALIASES.get(base.strip(), base.strip())
    return base + paren + rest


def _strip_parens(s: str) -> str:
    s = s.strip()
    while s.startswith("(") and s.endswith(")") and _balanced(s[1:-1]):
        s = s[1:-1].strip()
    return s


def _balanced(s: str) -> bool:
    depth, quoted = 0, False
    for ch in s:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quoted


_CAST = re.compile(r"::\s*[a-z_][a-z0-9_ ]*(?:\(\s*\d+(?:\s*,\s*\d+)?\s*\))?(?:\[\])?\s*\Z")
_CAST_HEAD = re.compile(
    r"::\s*[a-z_][a-z0-9_]*(?: [a-z_][a-z0-9_]*)*(?:\(\s*\d+(?:\s*,\s*\d+)?\s*\))?(?:\[\])?"
)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\Z", re.I)


def literal_value(expr: str) -> tuple[str, bool] | None:
    """The constant an expression spells: ``('text', True)`` for a quoted string,
    ``('-1.5', False)`` for a bare number or boolean; None for anything else (a call)."""
    s = _strip_parens(expr)
    while True:
        if s[:1] == "'" or s[:2] in ("E'", "e'"):
            escaped = s[0] in "Ee"
            body = s[2:] if escaped else s[1:]
            i, out = 0, []
            while i < len(body):
                ch = body[i]
                if ch == "'":
                    if body[i + 1 : i + 2] == "'":
                        out.append("'")
                        i += 2
                        continue
                    rest = body[i + 1 :].strip()
                    while (c := _CAST_HEAD.match(rest)) is not None:
                        rest = rest[c.end() :].strip()
                    if rest:
                        return None
                    text = "".join(out)
                    if escaped:
                        text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
                    return text, True
                if escaped and ch == "\\" and i + 1 < len(body):
                    out.append(body[i : i + 2])
                    i += 2
                    continue
                out.append(ch)
                i += 1
            return None
        m = _CAST.search(s)
        if m and m.start() > 0:
            s = _strip_parens(s[: m.start()])
            continue
        break
    if _NUMBER.match(s) or s.lower() in ("true", "false"):
        return s, False
    return None


def default_matches(f: Field, actual: str | None) -> bool:
    """Does the catalog's default expression ``actual`` mean the model's default of ``f``?"""
    expected = default_sql(f)
    if expected is None or actual is None:
        return expected is None and actual is None
    if _squash(expected) == _squash(actual):
        return True
    if f.default_now:
        return _squash(actual) in ("now()", "current_timestamp", "transaction_timestamp()")
    if f.type == "uuid" and f.generated:
        return _squash(actual) == "gen_random_uuid()"
    lit = literal_value(actual)
    if lit is None:
        return False
    text, quoted = lit
    v = f.default
    try:
        if f.type in _TEXTUAL:
            return quoted and text == (v if isinstance(v, str) else str(v))
        if f.type in _NUMERIC:
            return not isinstance(v, bool) and Decimal(text) == Decimal(str(v))
        if f.type == "boolean":
            return text.lower() in ("true", "t") if v else text.lower() in ("false", "f")
        if f.type == "json":
            return bool(json.loads(text) == _json_value(v))
        if f.type == "uuid":
            return uuid.UUID(text) == uuid.UUID(str(v))
        if f.type == "date":
            return date.fromisoformat(text) == date.fromisoformat(str(v))
        if f.type == "datetime":
            return _same_timestamp(text, str(v))
    except (ValueError, ArithmeticError, InvalidOperation, TypeError):
        return False
    return False


def _json_value(v: object) -> object:
    """The JSON value of a model default, as the renderer reads it: a string holding JSON
    text is that JSON, any other value is itself."""
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _same_timestamp(actual: str, expected: str) -> bool:
    a = datetime.fromisoformat(actual)
    e = datetime.fromisoformat(expected)
    if e.tzinfo is not None and a.tzinfo is not None:
        return a == e
    if a.tzinfo is None:
        return a == e.replace(tzinfo=None)
    # A timestamp written without an offset was read in the TimeZone of the session that
    # applied it, which this session cannot know: it matches when it is that wall-clock
    # time in some real UTC offset (a whole number of quarter hours, at most 15 h).
    offset = a.utcoffset() or timedelta(0)
    applied_offset = offset - (a.replace(tzinfo=None) - e)
    quarters, rest = divmod(applied_offset, timedelta(minutes=15))
    return not rest and abs(quarters) <= 60


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s).lower()


_IDENT = r'(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)'


def _unident(s: str) -> str:
    return s[1:-1].replace('""', '"') if s.startswith('"') else s


def parse_check(definition: str) -> tuple[str, str, tuple[str, ...]] | None:
    """``CHECK ((col >= (0)::double precision))`` -> ``('min', 'col', ('0',))``; also
    ``max``, ``max_length`` (``char_length(col) <= n``) and ``enum``
    (``col = ANY (ARRAY['a'::text, ...])`` or ``col = 'a'::text``); None otherwise."""
    s = re.sub(r"\s+NOT VALID\s*\Z", "", definition.strip())
    m = re.fullmatch(r"CHECK\s*(\(.*\))", s, re.S)
    if not m:
        return None
    body = _strip_parens(m.group(1))
    m = re.fullmatch(rf"char_length\(\s*({_IDENT})\s*\)\s*<=\s*(.+)", body, re.S)
    if m:
        lit = literal_value(m.group(2))
        return ("max_length", _unident(m.group(1)), (lit[0],)) if lit else None
    m = re.fullmatch(rf"({_IDENT})\s*(>=|<=)\s*(.+)", body, re.S)
    if m:
        lit = literal_value(m.group(3))
        kind = "min" if m.group(2) == ">=" else "max"
        return (kind, _unident(m.group(1)), (lit[0],)) if lit else None
    m = re.fullmatch(rf"({_IDENT})\s*=\s*ANY\s*\(\s*ARRAY\[(.*)\]\s*\)", body, re.S)
    if m:
        values = tuple(v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", m.group(2)))
        if not values:  # an integer list: ARRAY[1, 2, 3] or ARRAY[(1)::bigint, ...]
            items = [literal_value(v) for v in m.group(2).split(",")]
            values = tuple(lit[0] for lit in items if lit is not None and not lit[1])
        return "enum", _unident(m.group(1)), values
    m = re.fullmatch(rf"({_IDENT})\s*=\s*(.+)", body, re.S)
    if m:
        lit = literal_value(m.group(2))
        return ("enum", _unident(m.group(1)), (lit[0],)) if lit and lit[1] else None
    return None


def check_matches(expected: Check, definition: str) -> bool:
    parsed = parse_check(definition)
    if parsed is None:
        return False
    kind, column, values = parsed
    if kind != expected.kind or column != expected.column:
        return False
    if kind == "enum":
        return set(values) == {str(v) for v in expected.values}
    try:
        return Decimal(values[0]) == Decimal(str(expected.values[0]))
    except (InvalidOperation, ValueError):
        return False


# ----------------------------------------------------------------------------- comparing


class _Findings:
    def __init__(self, prefix: str, hint: str | None, files: dict[str, str]) -> None:
        self.prefix = prefix
        self.hint = hint
        self.files = files
        self.out: list[Diagnostic] = []

    def add(
        self, code: str, message: str, e: Entity | None = None, package: str | None = None
    ) -> None:
        package = e.package if e is not None else package
        self.out.append(
            Diagnostic(
                "error",
                code,
                self.prefix + message,
                self.files.get(package) if package is not None else None,
                package=package,
                entity=e.name if e is not None else None,
                hint=self.hint,
            )
        )


def compare(
    entities: Iterable[Entity],
    catalog: Catalog,
    *,
    schemas: Iterable[str],
    ignore_tables: Iterable[tuple[str, str]] = (),
    files: dict[str, str] | None = None,
    schema_packages: dict[str, str] | None = None,
    prefix: str = "drift: ",
    hint: str | None = None,
) -> list[Diagnostic]:
    """Every difference between ``catalog`` and ``entities``, as diagnostics.

    ``schemas`` are the managed schemas: a table there that no entity expects is extra,
    except ``ignore_tables`` (external tables such as ``public.users``).  ``files`` maps a
    package to its entities file and ``schema_packages`` a schema to its package, to place
    each finding.
    """
    found = _Findings(prefix, hint, files or {})
    expected = {(e.namespace, e.table): e for e in entities}
    for key, e in sorted(expected.items()):
        table = catalog.tables.get(key)
        if table is None:
            found.add(
                MISSING,
                f"table {key[0]}.{key[1]} is missing (entity {e.name} of package {e.package})",
                e,
            )
            continue
        _compare_table(e, table, found)
    ignored = set(ignore_tables)
    managed = set(schemas)
    for key in sorted(catalog.tables):
        if key[0] in managed and key not in expected and key not in ignored:
            owner = (schema_packages or {}).get(key[0])
            found.add(EXTRA, f"table {key[0]}.{key[1]} is not in the model", package=owner)
    return found.out


def _compare_table(e: Entity, t: Table, found: _Findings) -> None:
    where = f"{t.schema}.{t.name}"
    for f in e.fields:
        col = t.columns.get(f.column)
        if col is None:
            found.add(
                MISSING, f"column {where}.{f.column} is missing (expected {column_sql(f)})", e
            )
            continue
        _compare_column(e, f, col, f"{where}.{f.column}", found)
    expected_cols = {f.column for f in e.fields}
    for name, col in t.columns.items():
        if name not in expected_cols:
            found.add(EXTRA, f"column {where}.{name} ({col.type}) is not in the model", e)

    cons: dict[str, tuple[str, object]] = {e.pk_name: ("p", e.pk_columns)}
    for c in e.checks:
        cons[c.name] = ("c", c)
    for ix in e.indexes:
        if ix.unique:
            cons[ix.name] = ("u", ix.columns)
    for fk in e.foreign_keys:
        cons[fk.name] = ("f", fk)
    plain = {ix.name: ix for ix in e.indexes if not ix.unique}

    for name, (kind, spec) in cons.items():
        actual = t.constraints.get(name)
        if actual is None:
            idx = t.indexes.get(name)
            if kind == "u" and idx is not None and idx.unique and idx.constraint is None:
                found.add(
                    DIFFERS,
                    f"{where}: {name} is a unique index, the model says a UNIQUE constraint",
                    e,
                )
            else:
                found.add(MISSING, f"{_KIND[kind]} {name} on {where} is missing", e)
            continue
        _compare_constraint(e, where, kind, spec, actual, found)
    for name, actual in t.constraints.items():
        if name not in cons:
            found.add(
                EXTRA,
                f"{_CONTYPE.get(actual.type, 'constraint')} {name} on {where} is not in the "
                f"model ({actual.definition})",
                e,
            )

    for name, ix in plain.items():
        idx = t.indexes.get(name)
        if idx is None:
            if name not in t.constraints:
                cols = ", ".join(ix.columns)
                found.add(MISSING, f"index {name} on {where} ({cols}) is missing", e)
            continue
        _compare_index(e, where, ix, idx, found)
    for name, idx in t.indexes.items():
        if idx.constraint is None and name not in plain and name not in cons:
            found.add(EXTRA, f"index {name} on {where} is not in the model ({idx.definition})", e)
        elif idx.constraint is not None and not idx.valid:
            found.add(DIFFERS, f"index {name} on {where} is invalid (a failed build)", e)


_KIND = {"p": "primary key", "u": "unique constraint", "c": "check", "f": "foreign key"}
_CONTYPE = {**_KIND, "x": "exclusion constraint", "t": "constraint trigger"}


def _compare_column(e: Entity, f: Field, col: Column, where: str, found: _Findings) -> None:
    want_type = canon_type(pg_type(f))
    if canon_type(col.type) != want_type:
        found.add(DIFFERS, f"column {where} has type {col.type}, the model says {want_type}", e)
    want_not_null = not nullable(f)
    if col.not_null != want_not_null:
        if col.not_null:
            found.add(DIFFERS, f"column {where} is NOT NULL, the model allows NULL", e)
        else:
            found.add(DIFFERS, f"column {where} allows NULL, the model says NOT NULL", e)
    if col.generated:
        found.add(DIFFERS, f"column {where} is a generated column, the model says a plain one", e)
    if is_identity(f):
        if col.identity != "d":
            have = "GENERATED ALWAYS AS IDENTITY" if col.identity == "a" else "not an identity"
            found.add(
                DIFFERS,
                f"column {where} is {have}, the model says GENERATED BY DEFAULT AS IDENTITY",
                e,
            )
    elif col.identity:
        found.add(DIFFERS, f"column {where} is an identity column, the model says it is not", e)
    if not col.identity and not default_matches(f, col.default):
        want = default_sql(f)
        have = f"default {col.default}" if col.default is not None else "no default"
        says = f"default {want}" if want is not None else "no default"
        found.add(DIFFERS, f"column {where} has {have}, the model says {says}", e)


def _compare_constraint(
    e: Entity, where: str, kind: str, spec: object, actual: Constraint, found: _Findings
) -> None:
    name = actual.name
    if actual.type != kind:
        found.add(
            DIFFERS,
            f"{name} on {where} is a {_CONTYPE.get(actual.type, actual.type)}, the model says "
            f"a {_KIND[kind]}",
            e,
        )
        return
    if kind in ("p", "u"):
        assert isinstance(spec, tuple)
        if tuple(actual.columns) != tuple(spec):
            found.add(
                DIFFERS,
                f"{_KIND[kind]} {name} on {where} covers ({', '.join(actual.columns)}), "
                f"the model says ({', '.join(spec)})",
                e,
            )
    elif kind == "c":
        assert isinstance(spec, Check)
        if not check_matches(spec, actual.definition):
            from .sql.render import check_expression

            found.add(
                DIFFERS,
                f"check {name} on {where} is {actual.definition}, the model says "
                f"CHECK ({check_expression(spec)})",
                e,
            )
    elif kind == "f":
        assert isinstance(spec, ForeignKey)
        _compare_fk(e, where, spec, actual, found)
    if not actual.validated:
        found.add(DIFFERS, f"{_KIND[kind]} {name} on {where} is NOT VALID (never validated)", e)


def _compare_fk(e: Entity, where: str, fk: ForeignKey, c: Constraint, found: _Findings) -> None:
    have = (tuple(c.columns), c.ref_schema, c.ref_table, tuple(c.ref_columns))
    want = (tuple(fk.columns), fk.ref_namespace, fk.ref_table, tuple(fk.ref_columns))
    if have != want:
        found.add(
            DIFFERS,
            f"foreign key {fk.name} on {where} is ({', '.join(c.columns)}) -> "
            f"{c.ref_schema}.{c.ref_table}({', '.join(c.ref_columns)}), the model says "
            f"({', '.join(fk.columns)}) -> {fk.ref_namespace}.{fk.ref_table}"
            f"({', '.join(fk.ref_columns)})",
            e,
        )
    for label, have_a, want_a in (
        ("ON DELETE", c.on_delete, _ACTIONS.get(fk.on_delete, "a")),
        ("ON UPDATE", c.on_update, _ACTIONS.get(fk.on_update, "a")),
    ):
        if have_a != want_a:
            found.add(
                DIFFERS,
                f"foreign key {fk.name} on {where} is {label} "
                f"{_ACTION_WORDS.get(have_a or '', have_a)}, the model says "
                f"{label} {_ACTION_WORDS[want_a]}",
                e,
            )


def _compare_index(e: Entity, where: str, ix: Index, idx: CatalogIndex, found: _Findings) -> None:
    problems = []
    if idx.constraint is not None:
        problems.append(f"backs constraint {idx.constraint}")
    if tuple(idx.columns) != tuple(ix.columns):
        cols = ", ".join(c if c is not None else "<expression>" for c in idx.columns)
        problems.append(f"covers ({cols}), the model says ({', '.join(ix.columns)})")
    if idx.unique:
        problems.append("is UNIQUE, the model says a plain index")
    if idx.partial:
        problems.append("is partial (WHERE ...), the model says a full index")
    if idx.method != "btree":
        problems.append(f"uses {idx.method}, the model says btree")
    if not idx.valid:
        problems.append("is invalid (a failed CREATE INDEX CONCURRENTLY?)")
    for p in problems:
        found.add(DIFFERS, f"index {ix.name} on {where} {p}", e)
