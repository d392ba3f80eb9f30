"""From a database catalog to entity documents: the mapping rules of ``import``.

Input: an :class:`~.catalog.ImportCatalog`; output: an :class:`ImportPlan` holding, per
schema, the entities as plain dicts shaped exactly like ``entities.yaml``, the
``[external]`` entries foreign keys need, the findings (every object the format cannot
say exactly, with what happens to it) and the statements ``--baseline`` runs so that the
database names its constraints as schemactl does.  docs/import.md is the reference.

Names: an entity is the PascalCase singular of its table; a field the camelCase of its
column; ``table:`` / ``column:`` overrides are added wherever the configured naming rules
would not give the same name back.  Index names the format can say (``indexes[].name``)
are kept; primary key, foreign key and check names it cannot say are listed for
``--baseline`` to rename.

Each finding says whether drift would see the difference after a baseline
(``drift=True``): ``--baseline`` refuses an import with such losses, since ``status``
would report them forever and later migrations would be planned against a model the
database does not match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ..config import Config
from ..drift import literal_value, parse_check
from ..introspect import Column, Constraint, Table
from ..introspect import Index as CatIndex
from ..model import Entity, External
from ..naming import MAX_IDENT, PG_TYPES, column_name, derived, plural, table_name
from ..sql.quote import ident, qualified
from .catalog import ColumnType, ImportCatalog

SQL_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
ENTITY = re.compile(r"[A-Z][A-Za-z0-9]*\Z")
CHECK_SUFFIX = {"enum": "enum", "min": "min", "max": "max", "max_length": "len"}

# finding codes (docs/diagnostics.md)
VIEW, TRIGGER, FUNCTION, TYPE, CHECK, INDEX, FOREIGN_KEY = (
    "SC750",
    "SC751",
    "SC752",
    "SC753",
    "SC754",
    "SC755",
    "SC756",
)
DEFAULT, TABLE, COLUMN, PARTITION, RENAME, OTHER, TYPE_OBJECT = (
    "SC757",
    "SC758",
    "SC759",
    "SC760",
    "SC761",
    "SC762",
    "SC763",
)
RENAMED_ENTITY = "SC770"

_ACTIONS = {"a": None, "r": "Restrict", "c": "Cascade", "n": "SetNull", "d": "SetDefault"}
_NOW = frozenset({"now()", "current_timestamp", "transaction_timestamp()"})
_TEXTUAL = frozenset({"string", "text", "cuid"})
_INTEGER = frozenset({"int", "bigint"})
_NUMERIC = frozenset({"int", "bigint", "float", "decimal"})


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    schema: str
    message: str
    entity: str | None = None
    hint: str | None = None
    drift: bool = False  # would drift still see it after a baseline?
    severity: str = "warning"


@dataclass(frozen=True, slots=True)
class Conform:
    """A statement ``--baseline`` runs so that the database says what the model says."""

    schema: str
    table: str
    sql: str
    what: str


@dataclass(frozen=True, slots=True)
class ExternalSpec:
    name: str
    namespace: str
    table: str
    key: str
    type: str
    new: bool  # not yet in the configuration


@dataclass
class PackageDoc:
    schema: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportPlan:
    packages: list[PackageDoc]
    externals: list[ExternalSpec]
    findings: list[Finding]
    conform: list[Conform]


# ----------------------------------------------------------------------------- names


_IRREGULAR_SINGULAR = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "indexes": "index",
    "statuses": "status",
}


def singular(word: str) -> str:
    """The word whose :func:`naming.plural` is ``word`` (``categories`` -> ``category``),
    else ``word`` itself (``film`` stays ``film``: its table then needs ``table:``)."""
    head, _, last = word.rpartition("_")
    cands = []
    if last in _IRREGULAR_SINGULAR:
        cands.append(_IRREGULAR_SINGULAR[last])
    if last.endswith("ies"):
        cands.append(last[:-3] + "y")
    if last.endswith("es"):
        cands.append(last[:-2])
    if last.endswith("s"):
        cands.append(last[:-1])
    for c in cands:
        if c and plural(c) == last:
            return f"{head}_{c}" if head else c
    return word


def pascal(snake_name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in snake_name.split("_") if p)


def camel(col: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", col):
        return col
    head, *rest = col.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _valid_sql_name(name: str) -> bool:
    return bool(SQL_NAME.match(name)) and len(name.encode()) <= MAX_IDENT


# ----------------------------------------------------------------------------- types


@dataclass
class _TypeMap:
    type: str
    attrs: dict[str, Any] = field(default_factory=dict)
    loss: str | None = None  # what changes, for a warning


def map_type(fmt: str, ct: ColumnType | None) -> _TypeMap:
    """A column's ``format_type`` (and what stands behind it) as a field type."""
    if ct is not None and ct.array:
        return _TypeMap("json", loss=f"array type {fmt} becomes json (jsonb)")
    if ct is not None and ct.kind == "d":
        inner = map_type(ct.base, None)
        why = f"domain {ct.type_name} becomes its base type {ct.base}; its constraints are dropped"
        inner.loss = why + (f"; {inner.loss}" if inner.loss else "")
        return inner
    if ct is not None and ct.kind == "e":
        return _TypeMap(
            "string",
            {"enum": list(ct.labels)} if ct.labels else {},
            f"enum type {ct.type_name} becomes text with a CHECK on its labels",
        )
    t = fmt.strip().lower()
    simple = {
        "text": "string",
        "integer": "int",
        "bigint": "bigint",
        "double precision": "float",
        "numeric": "decimal",
        "boolean": "boolean",
        "uuid": "uuid",
        "jsonb": "json",
        "timestamp with time zone": "datetime",
        "date": "date",
        "bytea": "bytes",
    }
    if t in simple:
        return _TypeMap(simple[t])
    if m := re.fullmatch(r"character varying\((\d+)\)", t):
        return _TypeMap(
            "string",
            {"maxLength": int(m.group(1))},
            f"{fmt} becomes text with a length check (maxLength {m.group(1)})",
        )
    if t == "character varying":
        return _TypeMap("string", loss=f"{fmt} becomes text")
    if m := re.fullmatch(r"character\((\d+)\)", t):
        return _TypeMap(
            "string",
            {"maxLength": int(m.group(1))},
            f"{fmt} (blank-padded) becomes text with a length check (maxLength {m.group(1)})",
        )
    if m := re.fullmatch(r"numeric\((\d+),(\d+)\)", t.replace(" ", "")):
        return _TypeMap("decimal", {"precision": int(m.group(1)), "scale": int(m.group(2))})
    if t == "smallint":
        return _TypeMap("int", loss="smallint becomes integer")
    if t == "real":
        return _TypeMap("float", loss="real becomes double precision")
    if t == "json":
        return _TypeMap("json", loss="json becomes jsonb")
    if t.startswith("timestamp") and "without time zone" in t:
        return _TypeMap("datetime", loss=f"{fmt} becomes timestamp with time zone")
    if t.startswith("timestamp(") and t.endswith("with time zone"):
        return _TypeMap("datetime", loss=f"{fmt} becomes timestamp with time zone (precision 6)")
    return _TypeMap("string", loss=f"type {fmt} has no entities.yaml type; it becomes text")


def pg_type_of(typ: str, attrs: dict[str, Any]) -> str:
    """What a mapped field becomes in PostgreSQL (as ``sql.columns.pg_type`` writes it)."""
    if typ == "decimal" and "precision" in attrs:
        return f"numeric({attrs['precision']}, {attrs.get('scale', 0)})"
    return PG_TYPES[typ]


def _integral(text: str) -> int | None:
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    return int(d) if d == d.to_integral_value() and d.is_finite() else None


def _number(text: str) -> int | float | None:
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    if not d.is_finite():
        return None
    return int(d) if d == d.to_integral_value() else float(text)


_GENERATED = object()


def map_default(typ: str, expr: str) -> Any:
    """The ``default:`` value of a column default (``now``, a scalar, ``_GENERATED`` for
    ``gen_random_uuid()``), or None when the format cannot say it."""
    s = re.sub(r"\s+", "", expr).lower()
    if typ == "datetime" and s in _NOW:
        return "now"
    if typ == "uuid" and s == "gen_random_uuid()":
        return _GENERATED
    lit = literal_value(expr)
    if lit is None:
        return None
    text, quoted = lit
    if typ in _TEXTUAL:
        return text if quoted else None
    if typ in _INTEGER:
        v = _integral(text)
        if v is None:
            return None
        lim = 2**31 if typ == "int" else 2**63
        return v if -lim <= v < lim else None
    if typ == "float":
        return _number(text)
    if typ == "decimal":
        return _decimal_default(expr, text, quoted)
    if typ == "boolean":
        low = text.lower()
        return True if low in ("true", "t") else False if low in ("false", "f") else None
    if typ in ("uuid", "json", "date", "datetime"):
        return text if quoted else None
    return None


def _decimal_default(expr: str, text: str, quoted: bool) -> Any:
    """schemactl writes a number default bare (PostgreSQL shows ``0``, ``1.50`` or, for a
    negative integer, ``'-1'::integer``) and a text default cast to the column's type
    (``'9.99'::numeric(10,2)``): read each back as what it was written as."""
    if _number(text) is None:
        return None
    cast = re.search(r"::\s*([a-z ]+?)\s*(\([\d, ]*\))?\)*\s*\Z", expr)
    ctype = cast.group(1) if cast else None
    if ctype in ("integer", "bigint") or (ctype is None and not quoted):
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if repr(float(text)) == text:
            return float(text)
    return text


def parse_any_check(definition: str) -> tuple[str, str, tuple[str, ...]] | None:
    """drift's :func:`parse_check` (which reads integer IN-lists too); an IN list with
    no value it can read is not one."""
    parsed = parse_check(definition)
    if parsed is not None and parsed[0] == "enum" and not parsed[2]:
        return None
    return parsed


# ----------------------------------------------------------------------------- the plan


class _Builder:
    def __init__(
        self,
        cat: ImportCatalog,
        schemas: list[str],
        config: Config,
        known: dict[tuple[str, str], Entity],
        taken: set[str],
    ) -> None:
        self.cat = cat
        self.schemas = schemas
        self.config = config
        self.known = known  # tables of packages not being imported -> their entity
        self.taken = set(taken)  # entity names in use (other packages, externals)
        self.findings: list[Finding] = []
        self.conform: list[Conform] = []
        self.externals: dict[tuple[str, str, str], ExternalSpec] = {}
        self.entity_of: dict[tuple[str, str], str] = {}
        self.fields_of: dict[tuple[str, str], dict[str, tuple[str, dict[str, Any]]]] = {}
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}
        # an [external] on a table this import brings in is superseded: the entity takes
        # its name, so that relations of other packages to it keep resolving
        self.superseded: dict[tuple[str, str], str] = {}
        for x in config.externals:
            if x.namespace in schemas:
                self.superseded[(x.namespace, x.table)] = x.name
                continue
            self.externals[(x.namespace, x.table, x.key)] = ExternalSpec(
                x.name, x.namespace, x.table, x.key, x.type, False
            )
            self.taken.add(x.name)

    def warn(
        self,
        code: str,
        schema: str,
        message: str,
        entity: str | None = None,
        *,
        drift: bool,
        hint: str | None = None,
        severity: str = "warning",
    ) -> None:
        self.findings.append(Finding(code, schema, message, entity, hint, drift, severity))

    # -- tables and names

    def accept_tables(self) -> list[Table]:
        out = []
        for key in sorted(self.cat.catalog.tables):
            if key[0] not in self.schemas:
                continue
            t = self.cat.catalog.tables[key]
            where = f"{t.schema}.{t.name}"
            if not _valid_sql_name(t.name):
                self.warn(
                    TABLE,
                    t.schema,
                    f"table {_q(where)} is not imported: its name is not a lower-case "
                    "identifier, which `table:` cannot hold",
                    drift=True,
                    hint="rename the table (ALTER TABLE ... RENAME TO a_lower_case_name)",
                )
                continue
            pk = next((c for c in t.constraints.values() if c.type == "p"), None)
            bad_key = [c for c in pk.columns if not _valid_sql_name(c)] if pk else []
            if bad_key:
                self.warn(
                    TABLE,
                    t.schema,
                    f"table {where} is not imported: its primary key column "
                    f"{_q(bad_key[0])} is not a lower-case identifier, which `column:` "
                    "cannot hold",
                    drift=True,
                    hint="rename the column to a lower-case identifier",
                )
                continue
            if pk is None:
                self.warn(
                    TABLE,
                    t.schema,
                    f"table {where} is not imported: it has no primary key, and every "
                    "entity needs one",
                    drift=True,
                    hint="add a primary key to the table, then import again",
                )
                continue
            out.append(t)
        for t in out:
            ext = self.superseded.get((t.schema, t.name))
            if ext is not None and ext not in self.taken:
                self.taken.add(ext)
                self.entity_of[(t.schema, t.name)] = ext
                self.warn(
                    RENAMED_ENTITY,
                    t.schema,
                    f"table {t.schema}.{t.name} becomes entity {ext}, the name of its "
                    f"[external.{ext}] entry, which the entity now replaces",
                    ext,
                    drift=False,
                    severity="note",
                    hint=f"remove [external.{ext}] from the configuration",
                )
                continue
            base = pascal(singular(t.name))
            if not ENTITY.match(base):
                base = "T" + base
            name = base
            if name in self.taken:
                name = pascal(t.schema) + base
                n = 2
                while name in self.taken or not ENTITY.match(name):
                    name = f"{pascal(t.schema)}{base}{n}"
                    n += 1
                self.warn(
                    RENAMED_ENTITY,
                    t.schema,
                    f"table {t.schema}.{t.name} becomes entity {name}: {base} is taken "
                    "(entity names are unique across the project)",
                    name,
                    drift=False,
                    severity="note",
                )
            self.taken.add(name)
            self.entity_of[(t.schema, t.name)] = name
        return out

    # -- columns

    def columns(self, t: Table, ent: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """column -> (field name, field spec) for the columns the format can hold."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        used: set[str] = set()
        style = self.config.column_style
        pk = next(c for c in t.constraints.values() if c.type == "p")
        for col in t.columns.values():
            where = f"{t.schema}.{t.name}.{col.name}"
            if not _valid_sql_name(col.name):
                self.warn(
                    COLUMN,
                    t.schema,
                    f"column {_q(where)} is not imported: its name is not a lower-case "
                    "identifier, which `column:` cannot hold",
                    ent,
                    drift=True,
                    hint="rename the column to a lower-case identifier",
                )
                continue
            fname = camel(col.name) if style == "snake" else col.name
            if not IDENT.match(fname) or fname in used:
                fname = col.name
            n = 2
            while fname in used:
                fname = f"{col.name}{n}"
                n += 1
            used.add(fname)
            spec = self.field_spec(t, col, ent, where, col.name in pk.columns)
            if column_name(fname, style) != col.name:
                spec["column"] = col.name
            out[col.name] = (fname, spec)
        return out

    def field_spec(
        self, t: Table, col: Column, ent: str, where: str, primary: bool
    ) -> dict[str, Any]:
        ct = self.cat.column_types.get((t.schema, t.name, col.name))
        tm = map_type(col.type, ct)
        spec: dict[str, Any] = {"type": tm.type}
        if tm.loss:
            code = TYPE
            self.warn(code, t.schema, f"column {where}: {tm.loss}", ent, drift=True)
        if primary:
            spec["primary"] = True
        if col.identity and tm.type in _INTEGER:
            spec["generated"] = True
            if col.identity == "a":
                self.warn(
                    TYPE,
                    t.schema,
                    f"column {where}: GENERATED ALWAYS AS IDENTITY becomes GENERATED BY "
                    "DEFAULT AS IDENTITY",
                    ent,
                    drift=True,
                )
        elif col.generated:
            self.warn(
                TYPE,
                t.schema,
                f"column {where} is a generated column ({col.default}); it becomes a plain column",
                ent,
                drift=True,
            )
        elif col.default is not None:
            seq = self.cat.owned_sequences.get((t.schema, t.name, col.name))
            if col.default.startswith("nextval(") and tm.type in _INTEGER:
                spec["generated"] = True
                self.warn(
                    TYPE,
                    t.schema,
                    f"column {where} is serial (DEFAULT {col.default}); it becomes an "
                    f"identity column" + (f" and sequence {seq} is left behind" if seq else ""),
                    ent,
                    drift=True,
                )
            else:
                v = map_default(tm.type, col.default)
                if v is _GENERATED:
                    spec["generated"] = True
                elif v is None:
                    self.warn(
                        DEFAULT,
                        t.schema,
                        f"column {where}: DEFAULT {col.default} cannot be written as a "
                        "`default:`; it is dropped",
                        ent,
                        drift=True,
                    )
                else:
                    spec["default"] = v
        identity = spec.get("generated") and tm.type in _INTEGER  # NOT NULL anyway
        if col.not_null and not primary and not identity:
            spec["required"] = True
        spec.update(tm.attrs)
        comment = self.cat.column_comments.get((t.schema, t.name, col.name))
        if comment is not None:
            spec["description"] = comment
        return spec

    # -- constraints

    def constraints(
        self, t: Table, ent: str, cols: dict[str, tuple[str, dict[str, Any]]], doc: dict[str, Any]
    ) -> None:
        where = f"{t.schema}.{t.name}"
        table = doc.get("table") or t.name
        indexes: list[dict[str, Any]] = doc.setdefault("indexes", [])
        for con in sorted(t.constraints.values(), key=lambda c: c.name):
            if con.type == "p":
                self._primary(t, ent, con, cols, table)
            elif con.type == "c":
                self._check(t, ent, con, cols, table)
            elif con.type == "u":
                self._unique(t, ent, con, cols, table, indexes)
            elif con.type == "x":
                self.warn(
                    OTHER,
                    t.schema,
                    f"exclusion constraint {con.name} on {where} is not imported "
                    f"({con.definition})",
                    ent,
                    drift=True,
                )
            elif con.type != "f":
                self.warn(
                    OTHER,
                    t.schema,
                    f"constraint {con.name} on {where} is not imported ({con.definition})",
                    ent,
                    drift=True,
                )
        for ix in sorted(t.indexes.values(), key=lambda i: i.name):
            if ix.constraint is None:
                self._index(t, ent, ix, cols, table, indexes)
        if not indexes:
            doc.pop("indexes")

    def _rename(self, t: Table, ent: str, kind: str, old: str, new: str) -> None:
        if old == new:
            return
        self.conform.append(
            Conform(
                t.schema,
                t.name,
                f"ALTER TABLE {qualified(t.schema, t.name)} RENAME CONSTRAINT {ident(old)} "
                f"TO {ident(new)}",
                f"{kind} {old} on {t.schema}.{t.name} renamed to {new}",
            )
        )
        self.warn(
            RENAME,
            t.schema,
            f"{kind} {old} on {t.schema}.{t.name}: schemactl names it {new}; "
            "`import --baseline` renames it in the database (otherwise drift reports it)",
            ent,
            drift=False,
        )

    def _primary(
        self,
        t: Table,
        ent: str,
        con: Constraint,
        cols: dict[str, tuple[str, dict[str, Any]]],
        table: str,
    ) -> None:
        names = [cols[c][0] for c in con.columns if c in cols]
        if len(names) != len(con.columns):
            return  # a key column was not importable: reported with the column
        if len(names) > 1 and [cols[c][0] for c in con.columns] != sorted(names):
            order = ", ".join(sorted(con.columns, key=lambda c: cols[c][0]))
            self.warn(
                OTHER,
                t.schema,
                f"primary key {con.name} on {t.schema}.{t.name} is ({', '.join(con.columns)}); "
                f"schemactl orders a composite key by field name: ({order})",
                ent,
                drift=True,
            )
        self._rename(t, ent, "primary key", con.name, derived("pk", table, ()))
        if "DEFERRABLE" in con.definition:
            self.warn(
                OTHER,
                t.schema,
                f"primary key {con.name} on {t.schema}.{t.name} is DEFERRABLE; "
                "schemactl creates it NOT DEFERRABLE",
                ent,
                drift=False,
            )

    def _check(
        self,
        t: Table,
        ent: str,
        con: Constraint,
        cols: dict[str, tuple[str, dict[str, Any]]],
        table: str,
    ) -> None:
        where = f"{t.schema}.{t.name}"
        parsed = parse_any_check(con.definition)

        def other(why: str) -> None:
            self.warn(
                CHECK,
                t.schema,
                f"check {con.name} on {where} is not imported ({con.definition}): {why}",
                ent,
                drift=True,
                hint="the format holds IN lists (enum), length limits (maxLength) and "
                "ranges (min/max) of one column",
            )

        if parsed is None:
            other("the format cannot express it")
            return
        kind, column, values = parsed
        if column not in cols:
            other(f"column {column} is not imported")
            return
        fname, spec = cols[column]
        typ = spec["type"]
        key = {"enum": "enum", "min": "min", "max": "max", "max_length": "maxLength"}[kind]
        value: Any
        if kind == "enum":
            if typ in _TEXTUAL:
                value = list(values)
            elif typ in _INTEGER and all(_integral(v) is not None for v in values):
                value = [_integral(v) for v in values]
            else:
                other(f"an IN list on a {typ} field")
                return
            if len(set(map(str, value))) != len(value):
                other("the list repeats a value")
                return
        elif kind == "max_length":
            n = _integral(values[0])
            if typ not in _TEXTUAL or n is None or n < 1:
                other("a length limit the format cannot say")
                return
            value = n
        else:
            if typ not in _NUMERIC:
                other(f"a range on a {typ} field")
                return
            num = _integral(values[0]) if typ in _INTEGER else _number(values[0])
            if num is None:
                other("a bound the format cannot say")
                return
            value = num
        if key in spec:
            other(f"field {fname} already has {key}")
            return
        if kind in ("min", "max"):
            lo = value if kind == "min" else spec.get("min")
            hi = value if kind == "max" else spec.get("max")
            if lo is not None and hi is not None and lo > hi:
                other("min would exceed max")
                return
        spec[key] = value
        if not con.validated:
            self.warn(
                CHECK,
                t.schema,
                f"check {con.name} on {where} is NOT VALID; schemactl's check is validated",
                ent,
                drift=True,
            )
        self._rename(t, ent, "check", con.name, derived("ck", table, (column, CHECK_SUFFIX[kind])))

    def _unique(
        self,
        t: Table,
        ent: str,
        con: Constraint,
        cols: dict[str, tuple[str, dict[str, Any]]],
        table: str,
        indexes: list[dict[str, Any]],
    ) -> None:
        where = f"{t.schema}.{t.name}"
        if any(c not in cols for c in con.columns):
            self.warn(
                INDEX,
                t.schema,
                f"unique constraint {con.name} on {where} is not imported: a column is not",
                ent,
                drift=True,
            )
            return
        for word in ("DEFERRABLE", "NULLS NOT DISTINCT", "INCLUDE"):
            if word in con.definition.replace("NOT DEFERRABLE", ""):
                self.warn(
                    OTHER,
                    t.schema,
                    f"unique constraint {con.name} on {where}: {word} is dropped "
                    f"({con.definition})",
                    ent,
                    drift=word == "INCLUDE",
                )
        self._unique_entry(t, con.name, con.columns, cols, table, indexes)

    def _unique_entry(
        self,
        t: Table,
        name: str,
        columns: tuple[str, ...] | tuple[str | None, ...],
        cols: dict[str, tuple[str, dict[str, Any]]],
        table: str,
        indexes: list[dict[str, Any]],
    ) -> None:
        fields = [cols[c][0] for c in columns if c is not None]
        plain_cols = tuple(c for c in columns if c is not None)
        pk_only = [f for f, s in cols.values() if s.get("primary")] == fields
        if (
            len(fields) == 1
            and name == derived("uq", table, plain_cols)
            and not pk_only
            and not cols[plain_cols[0]][1].get("unique")
        ):
            cols[plain_cols[0]][1]["unique"] = True
            return
        entry: dict[str, Any] = {"fields": fields, "unique": True}
        if name != derived("uq", table, plain_cols):
            entry["name"] = name
        indexes.append(entry)

    def _index(
        self,
        t: Table,
        ent: str,
        ix: CatIndex,
        cols: dict[str, tuple[str, dict[str, Any]]],
        table: str,
        indexes: list[dict[str, Any]],
    ) -> None:
        where = f"{t.schema}.{t.name}"
        problems = []
        if ix.method != "btree":
            problems.append(f"it uses {ix.method}")
        if ix.partial:
            problems.append("it is partial (WHERE ...)")
        if any(c is None for c in ix.columns):
            problems.append("it indexes an expression")
        elif any(c not in cols for c in ix.columns):
            problems.append("a column is not imported")
        if not self.cat.index_plain.get((t.schema, t.name, ix.name), True) and not problems:
            problems.append("it has INCLUDE columns, sort options, operator classes or collations")
        if not ix.valid:
            problems.append("it is invalid (a failed build)")
        if problems:
            self.warn(
                INDEX,
                t.schema,
                f"index {ix.name} on {where} is not imported: {'; '.join(problems)} "
                f"({ix.definition})",
                ent,
                drift=True,
            )
            return
        columns = tuple(c for c in ix.columns if c is not None)
        if ix.unique:
            self.conform.append(
                Conform(
                    t.schema,
                    t.name,
                    f"ALTER TABLE {qualified(t.schema, t.name)} ADD CONSTRAINT {ident(ix.name)} "
                    f"UNIQUE USING INDEX {ident(ix.name)}",
                    f"unique index {ix.name} on {where} made a unique constraint",
                )
            )
            self.warn(
                RENAME,
                t.schema,
                f"unique index {ix.name} on {where}: schemactl makes a UNIQUE constraint; "
                "`import --baseline` turns the index into one (same name, no rebuild)",
                ent,
                drift=False,
            )
            self._unique_entry(t, ix.name, columns, cols, table, indexes)
            return
        fields = [cols[c][0] for c in columns]
        d = derived("idx", table, columns)
        unique_alone = cols[columns[0]][1].get("unique") or any(
            e.get("unique") and e["fields"] == fields for e in indexes
        )
        if len(fields) == 1 and ix.name == d and not unique_alone:
            cols[columns[0]][1]["index"] = True
            return
        entry: dict[str, Any] = {"fields": fields}
        if ix.name != d or len(fields) == 1:
            entry["name"] = ix.name
        indexes.append(entry)

    # -- foreign keys

    def foreign_keys(
        self, t: Table, ent: str, cols: dict[str, tuple[str, dict[str, Any]]], doc: dict[str, Any]
    ) -> None:
        where = f"{t.schema}.{t.name}"
        table = doc.get("table") or t.name
        rels: list[dict[str, Any]] = []
        used_cols: set[str] = set()
        field_names = {f for f, _ in cols.values()}
        for con in sorted(t.constraints.values(), key=lambda c: c.name):
            if con.type != "f":
                continue

            def skip(why: str, con: Constraint = con) -> None:
                self.warn(
                    FOREIGN_KEY,
                    t.schema,
                    f"foreign key {con.name} on {where} is not imported: {why} ({con.definition})",
                    ent,
                    drift=True,
                )

            if len(con.columns) != 1:
                skip("a composite foreign key has no belongsTo form")
                continue
            col = con.columns[0]
            if col not in cols:
                skip(f"column {col} is not imported")
                continue
            if col in used_cols:
                skip(f"column {col} already has a foreign key")
                continue
            target = self._target(t, con)
            if isinstance(target, str):
                skip(target)
                continue
            tname, references, ref_type = target
            fname, spec = cols[col]
            if pg_type_of(spec["type"], spec) != ref_type:
                have = pg_type_of(spec["type"], spec)
                skip(f"{col} is {have} but the key it references is {ref_type}")
                continue
            on_delete = _ACTIONS.get(con.on_delete or "a")
            on_update = _ACTIONS.get(con.on_update or "a")
            if "SetNull" in (on_delete, on_update) and (
                spec.get("required") or spec.get("primary")
            ):
                skip("SET NULL on a NOT NULL column")
                continue
            for word in ("DEFERRABLE", "MATCH FULL"):
                if word in con.definition and "NOT DEFERRABLE" not in con.definition:
                    self.warn(
                        OTHER,
                        t.schema,
                        f"foreign key {con.name} on {where}: {word} is dropped",
                        ent,
                        drift=False,
                    )
            if not con.validated:
                self.warn(
                    FOREIGN_KEY,
                    t.schema,
                    f"foreign key {con.name} on {where} is NOT VALID; schemactl's is validated",
                    ent,
                    drift=True,
                )
            used_cols.add(col)
            if fname.endswith("Id") and len(fname) > 2:
                rname = fname[:-2]
            elif fname.endswith("_id") and len(fname) > 3:
                rname = fname[:-3]
            else:
                rname = fname + "Ref"
            if rname in field_names:
                rname += "Ref"
            base, n = rname, 2
            while any(r["name"] == rname for r in rels):
                rname = f"{base}{n}"
                n += 1
            rel: dict[str, Any] = {"name": rname, "type": "belongsTo", "entity": tname}
            rel["field"] = fname
            if references is not None:
                rel["references"] = references
            if on_delete is not None:
                rel["onDelete"] = on_delete
            if on_update is not None:
                rel["onUpdate"] = on_update
            rels.append(rel)
            self._rename(t, ent, "foreign key", con.name, derived("fk", table, (col,)))
        if rels:
            doc["relations"] = rels

    def _target(self, t: Table, con: Constraint) -> tuple[str, str | None, str] | str:
        """(entity, references or None, PostgreSQL type of the key), or why not."""
        key = (con.ref_schema or "", con.ref_table or "")
        ref_col = con.ref_columns[0]
        if key[0] in self.schemas:
            name = self.entity_of.get(key)
            if name is None:
                return f"the target {key[0]}.{key[1]} is not imported"
            rcols = self.fields_of[key]
            if ref_col not in rcols:
                return f"the target column {ref_col} is not imported"
            rfield, rspec = rcols[ref_col]
            pk = [f for f, s in rcols.values() if s.get("primary")]
            if pk == [rfield]:
                return name, None, pg_type_of(rspec["type"], rspec)
            single_unique = rspec.get("unique") or any(
                ix.get("unique") and ix["fields"] == [rfield]
                for ix in self.docs[key].get("indexes", ())
            )
            if not single_unique:
                return f"{key[0]}.{key[1]}.{ref_col} is not a key the format can reference"
            return name, rfield, pg_type_of(rspec["type"], rspec)
        known = self.known.get(key)
        if known is not None:
            f = next((f for f in known.fields if f.column == ref_col), None)
            if f is None:
                return f"entity {known.name} has no column {ref_col}"
            from ..sql.columns import pg_type

            refs = None if known.pk_columns == (ref_col,) else f.name
            return known.name, refs, pg_type(f)
        rt = self.cat.catalog.tables.get(key)
        if rt is None or ref_col not in rt.columns:
            return f"the target {key[0]}.{key[1]} cannot be read"
        tm = map_type(rt.columns[ref_col].type, None)
        if tm.loss:
            return f"the key {key[0]}.{key[1]}.{ref_col} has type {rt.columns[ref_col].type}"
        ext = self.externals.get((key[0], key[1], ref_col))
        if ext is None:
            base = pascal(singular(key[1])) if SQL_NAME.match(key[1]) else "External"
            if not ENTITY.match(base):
                base = "T" + base
            name = base
            if name in self.taken:
                name = pascal(key[0]) + base
                n = 2
                while name in self.taken or not ENTITY.match(name):
                    name = f"{pascal(key[0])}{base}{n}"
                    n += 1
            self.taken.add(name)
            ext = ExternalSpec(name, key[0], key[1], ref_col, tm.type, True)
            self.externals[(key[0], key[1], ref_col)] = ext
        return ext.name, None, pg_type_of(ext.type, {})


def build(
    cat: ImportCatalog,
    schemas: list[str],
    config: Config,
    *,
    known: dict[tuple[str, str], Entity] | None = None,
    taken: Iterable[str] = (),
) -> ImportPlan:
    """The import plan of ``schemas``.  ``known`` maps (namespace, table) of entities of
    other packages of the project (foreign keys to them become relations to them);
    ``taken`` is every entity name already in use."""
    b = _Builder(cat, schemas, config, known or {}, set(taken))
    tables = b.accept_tables()
    for t in tables:
        ent = b.entity_of[(t.schema, t.name)]
        doc: dict[str, Any] = {"name": ent}
        if table_name(ent, config.table_style) != t.name:
            doc["table"] = t.name
        comment = cat.table_comments.get((t.schema, t.name))
        if comment is not None:
            doc["description"] = comment
        cols = b.columns(t, ent)
        b.fields_of[(t.schema, t.name)] = cols
        b.docs[(t.schema, t.name)] = doc
        b.constraints(t, ent, cols, doc)
        parts = cat.partitions.get((t.schema, t.name), [])
        if (t.schema, t.name) in cat.partition_key or parts:
            b.warn(
                PARTITION,
                t.schema,
                f"table {t.schema}.{t.name} is partitioned "
                f"({cat.partition_key.get((t.schema, t.name), '?')}); it is imported as a plain "
                f"table and its {len(parts)} partition(s) ({', '.join(sorted(parts)) or 'none'}) "
                "are not",
                ent,
                drift=False,
            )
    for t in tables:
        key = (t.schema, t.name)
        b.foreign_keys(t, b.entity_of[key], b.fields_of[key], b.docs[key])
    for o in cat.others:
        if o.schema not in schemas:
            continue
        where = f"{o.schema}.{o.table}" if o.table else o.schema
        if o.kind in ("view", "materialized view"):
            b.warn(VIEW, o.schema, f"{o.kind} {o.schema}.{o.name} is not imported", drift=False)
        elif o.kind == "trigger":
            b.warn(
                TRIGGER,
                o.schema,
                f"trigger {o.name} on {where} is not imported ({o.detail})",
                b.entity_of.get((o.schema, o.table or "")),
                drift=False,
            )
        elif o.kind in ("function", "procedure", "aggregate", "window function"):
            b.warn(FUNCTION, o.schema, f"{o.kind} {o.schema}.{o.name} is not imported", drift=False)
        elif o.kind.endswith("type") or o.kind == "domain":
            b.warn(
                TYPE_OBJECT, o.schema, f"{o.kind} {o.schema}.{o.name} is not imported", drift=False
            )
        elif o.kind == "foreign table":
            b.warn(
                TABLE, o.schema, f"foreign table {o.schema}.{o.name} is not imported", drift=False
            )
        elif o.kind in ("policy", "row-level security"):
            what = (
                f"row-level security on {o.schema}.{o.name}"
                if o.kind == "row-level security"
                else f"policy {o.name} on {where}"
            )
            b.warn(OTHER, o.schema, f"{what} is not imported", drift=False)
        else:
            b.warn(OTHER, o.schema, f"{o.kind} {o.schema}.{o.name} is not imported", drift=False)
    for t in tables:
        for col, (_fname, spec) in b.fields_of[(t.schema, t.name)].items():
            why = _default_conflict(spec)
            if why:
                b.warn(
                    DEFAULT,
                    t.schema,
                    f"column {t.schema}.{t.name}.{col}: DEFAULT {spec.pop('default')!r} "
                    f"{why}; it is dropped",
                    b.entity_of[(t.schema, t.name)],
                    drift=True,
                )
    packages = []
    for s in schemas:
        pkg = PackageDoc(s)
        for t in tables:
            if t.schema == s:
                doc = b.docs[(t.schema, t.name)]
                fields = {f: spec for f, spec in b.fields_of[(t.schema, t.name)].values()}
                ordered: dict[str, Any] = {"name": doc["name"]}
                for k in ("table", "description"):
                    if k in doc:
                        ordered[k] = doc[k]
                ordered["fields"] = {f: _ordered(spec) for f, spec in fields.items()}
                for k in ("indexes", "relations"):
                    if k in doc:
                        ordered[k] = doc[k]
                pkg.entities.append(ordered)
        packages.append(pkg)
    externals = sorted(b.externals.values(), key=lambda x: x.name)
    return ImportPlan(packages, externals, b.findings, b.conform)


def _default_conflict(spec: dict[str, Any]) -> str | None:
    """Why the field's own checks refuse its default (PostgreSQL only checks it on insert),
    or None."""
    if "default" not in spec or spec["default"] == "now":
        return None
    v = spec["default"]
    if "enum" in spec and v not in spec["enum"]:
        return "is not one of the values its check allows"
    if "maxLength" in spec and isinstance(v, str) and len(v) > spec["maxLength"]:
        return f"is longer than its length limit {spec['maxLength']}"
    if isinstance(v, int | float) and not isinstance(v, bool):
        if "min" in spec and v < spec["min"]:
            return f"is below its minimum {spec['min']}"
        if "max" in spec and v > spec["max"]:
            return f"is above its maximum {spec['max']}"
    return None


_FIELD_ORDER = (
    "type",
    "primary",
    "generated",
    "required",
    "unique",
    "index",
    "default",
    "maxLength",
    "min",
    "max",
    "enum",
    "precision",
    "scale",
    "column",
    "description",
)


def _ordered(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: spec[k] for k in _FIELD_ORDER if k in spec}


def _q(s: str) -> str:
    return repr(s) if not re.fullmatch(r"[A-Za-z0-9_.]*", s) else s


def externals_of(plan: ImportPlan) -> list[External]:
    return [External(x.name, x.namespace, x.table, x.key, x.type) for x in plan.externals]
