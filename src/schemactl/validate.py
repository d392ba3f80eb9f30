"""Stage 2b, semantic validation: one schema-valid document -> draft entities.

Checks what a JSON Schema cannot: identifiers, the primary key, types and their
constraints (decimal precision/scale, enum, min/max, maxLength, generated), defaults that
fit their type, ``required`` + ``nullable``, indexes naming real fields, column
collisions, and the pinned checksum.  Relations are only checked for shape here; `resolve`
links them across packages once every file is read.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .checksum import entity_checksum
from .config import Config
from .diagnostics import Diagnostic, did_you_mean
from .discover import Found
from .load import YList, YMap, position
from .model import Acl, Check, Field, Index, Loc, Relation
from .naming import MAX_IDENT, canonical_type, column_name, derived, shorten, table_name

ENTITY_NAME = re.compile(r"[A-Z][A-Za-z0-9]*\Z")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
SQL_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
ROLE = re.compile(r"[A-Za-z_*][A-Za-z0-9_.:*-]*\Z")
INT_RANGE = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
NUMERIC = ("int", "bigint", "float", "decimal")
TEXTUAL = ("string", "text", "cuid")
GENERATABLE = ("cuid", "uuid", "int", "bigint")
CHECK_SUFFIX = {"enum": "enum", "min": "min", "max": "max", "max_length": "len"}


@dataclass
class Draft:
    """An entity after per-file checks, before cross-package resolution."""

    name: str
    package: str
    namespace: str
    file: str
    loc: Loc
    table: str
    table_override: bool
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    pk_name: str
    indexes: tuple[Index, ...]
    checks: tuple[Check, ...]
    relations: tuple[Relation, ...]
    acl: Acl
    checksum: str
    description: str | None
    version: str | None
    pinned: str | None
    declared: tuple[Index, ...] = ()  # indexes as written in `indexes:` (for the checksum)
    ok: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class _Ctx:
    def __init__(self, found: Found, data: Any, out: list[Diagnostic]):
        self.found = found
        self.data = data
        self.out = out
        self.entity: str | None = None
        self.failed = False

    def loc(self, path: tuple[Any, ...], *, key: bool = False) -> Loc:
        line, col = position(self.data, path, key=key)
        return Loc(self.found.file, line, col)

    def error(
        self, code: str, msg: str, path: tuple[Any, ...], hint: str | None = None, *, key=False
    ) -> None:
        self.failed = True
        self._emit("error", code, msg, path, hint, key)

    def warn(self, code: str, msg: str, path: tuple[Any, ...], hint: str | None = None) -> None:
        self._emit("warning", code, msg, path, hint, False)

    def _emit(
        self, sev: Any, code: str, msg: str, path: tuple[Any, ...], hint: str | None, key: bool
    ) -> None:
        line, col = position(self.data, path, key=key)
        self.out.append(
            Diagnostic(
                sev,
                code,
                msg,
                self.found.file,
                line,
                col,
                package=self.found.id,
                entity=self.entity,
                hint=hint,
            )
        )


def check_identifier(
    ctx: _Ctx, name: str, what: str, path: tuple[Any, ...], *, sql: bool = False, key=False
) -> bool:
    pattern = SQL_NAME if sql else IDENT
    if not pattern.match(name):
        bad = next((c for c in name if not (c.isalnum() or c == "_")), None)
        detail = f" (contains {bad!r})" if bad else ""
        suggestion = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "name"
        if sql:
            suggestion = suggestion.lower()
        if suggestion[:1].isdigit():
            suggestion = "_" + suggestion
        ctx.error(
            "SC301",
            f"{what} {name!r} is not a valid identifier{detail}",
            path,
            f"use letters, digits and _ ({'lower case, ' if sql else ''}e.g. '{suggestion}')",
            key=key,
        )
        return False
    if len(name.encode("utf-8")) > MAX_IDENT:
        ctx.error(
            "SC302",
            f"{what} {name!r} is {len(name.encode())} bytes; PostgreSQL truncates names "
            f"over {MAX_IDENT}",
            path,
            "shorten it",
            key=key,
        )
        return False
    return True


def draft_entities(found: Found, data: Any, config: Config, out: list[Diagnostic]) -> list[Draft]:
    """Per-file semantic checks; returns the drafts (``ok`` False when they had errors)."""
    ctx = _Ctx(found, data, out)
    drafts: list[Draft] = []
    seen: dict[str, int] = {}
    for i, ent in enumerate(data["entities"]):
        base = ("entities", i)
        ctx.failed = False
        name = ent["name"]
        ctx.entity = name
        if not ENTITY_NAME.match(name):
            pascal = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name) if p)
            ctx.error(
                "SC301",
                f"entity name {name!r} is not a PascalCase identifier",
                (*base, "name"),
                f"did you mean '{pascal}'?" if pascal and ENTITY_NAME.match(pascal) else None,
            )
            continue
        if name in seen:
            ctx.error(
                "SC311",
                f"entity {name} is defined twice in this file (first as entity #{seen[name] + 1})",
                (*base, "name"),
                "merge the two definitions",
            )
            continue
        seen[name] = i
        d = _draft(ctx, ent, base, config)
        if d is not None:
            d.ok = not ctx.failed
            drafts.append(d)
    ctx.entity = None
    return drafts


def _field_items(ent: YMap, base: tuple[Any, ...]) -> list[tuple[str, Any, tuple[Any, ...]]]:
    fields = ent["fields"]
    if isinstance(fields, dict):
        return [(k, v, (*base, "fields", k)) for k, v in fields.items()]
    return [(f["name"], f, (*base, "fields", j)) for j, f in enumerate(fields)]


def _draft(ctx: _Ctx, ent: YMap, base: tuple[Any, ...], config: Config) -> Draft | None:
    name: str = ent["name"]
    table_override = "table" in ent
    if table_override:
        table = ent["table"]
        check_identifier(ctx, table, "table name", (*base, "table"), sql=True)
    else:
        table = shorten(table_name(name, config.table_style))
    fields: list[Field] = []
    names: dict[str, tuple[Any, ...]] = {}
    columns: dict[str, str] = {}
    list_shape = isinstance(ent["fields"], list)
    for fname, spec, path in _field_items(ent, base):
        name_path = (*path, "name") if list_shape else path
        if not check_identifier(ctx, fname, "field name", name_path, key=not list_shape):
            continue
        if fname in names:
            ctx.error("SC311", f"field {fname} is declared twice", name_path)
            continue
        names[fname] = path
        f = _field(ctx, fname, spec, path, config)
        if f is None:
            continue
        if f.column in columns:
            ctx.error(
                "SC405",
                f"fields {columns[f.column]} and {fname} both map to column {f.column}",
                name_path,
                "rename one field or give it a different `column:`",
                key=not list_shape,
            )
            continue
        columns[f.column] = fname
        fields.append(f)
    pk = tuple(sorted(f.name for f in fields if f.primary))
    if not pk and not ctx.failed:
        guess = "id" if "id" in names else next(iter(names), "id")
        ctx.error(
            "SC300",
            f"entity {name} has no primary key",
            (*base, "fields"),
            f"mark the key field with `primary: true` (e.g. {guess})",
        )
    by_name = {f.name: f for f in fields}
    declared, indexes = _indexes(ctx, ent, base, table, by_name, names)
    checks = _checks(table, fields)
    relations = _relations(ctx, ent, base, names)
    acl = _acl(ctx, ent, base)
    checksum = entity_checksum(
        name, table if table_override else None, fields, declared, relations, acl
    )
    pinned = ent.get("checksum")
    if pinned and pinned != checksum and not ctx.failed:
        ctx.error(
            "SC312",
            f"pinned checksum of {name} does not match its definition",
            (*base, "checksum"),
            f"the computed checksum is {checksum}; pin that, or set checksum: null",
        )
    return Draft(
        name=name,
        package=ctx.found.id,
        namespace=ctx.found.namespace,
        file=ctx.found.file,
        loc=Loc(ctx.found.file, *ent.value_pos("name")),
        table=table,
        table_override=table_override,
        fields=tuple(fields),
        primary_key=pk,
        pk_name=derived("pk", table, ()),
        indexes=tuple(indexes),
        checks=tuple(checks),
        relations=tuple(relations),
        acl=acl,
        checksum=checksum,
        description=ent.get("description"),
        version=ent.get("version"),
        pinned=pinned,
        declared=tuple(declared),
    )


def _field(
    ctx: _Ctx, fname: str, spec: YMap, path: tuple[Any, ...], config: Config
) -> Field | None:
    get = spec.get
    typ = canonical_type(spec["type"])
    assert typ is not None  # the JSON Schema pattern admits only known types
    ok = True

    def bad(code: str, msg: str, key: str, hint: str | None = None) -> None:
        nonlocal ok
        ok = False
        ctx.error(code, msg, (*path, key), hint)

    primary = bool(get("primary"))
    required = bool(get("required"))
    nullable_flag = get("nullable")
    if required and nullable_flag is True:
        bad(
            "SC303",
            f"field {fname} is both required and nullable",
            "nullable",
            "remove one of `required: true` / `nullable: true`",
        )
    if primary and nullable_flag is True:
        bad("SC303", f"primary key field {fname} cannot be nullable", "nullable")
    nullable = not (primary or required or nullable_flag is False)
    generated = bool(get("generated"))
    if generated and typ not in GENERATABLE:
        bad(
            "SC306",
            f"field {fname}: `generated` works only for {', '.join(GENERATABLE)}",
            "generated",
            "remove `generated: true`, or use a default",
        )
    precision, scale = get("precision"), get("scale")
    if (precision is not None or scale is not None) and typ != "decimal":
        bad(
            "SC305",
            f"field {fname}: precision/scale apply only to decimal",
            "precision" if precision is not None else "scale",
        )
    if typ == "decimal" and scale is not None:
        if precision is None:
            bad("SC305", f"field {fname}: scale needs a precision", "scale")
        elif scale > precision:
            bad("SC305", f"field {fname}: scale {scale} exceeds precision {precision}", "scale")
    max_length = get("maxLength")
    if max_length is not None and typ not in TEXTUAL:
        bad("SC306", f"field {fname}: maxLength applies only to string fields", "maxLength")
    lo, hi = get("min"), get("max")
    for key, v in (("min", lo), ("max", hi)):
        if v is not None and typ not in NUMERIC:
            bad("SC306", f"field {fname}: {key} applies only to numeric fields", key)
        elif v is not None and typ in INT_RANGE and not float(v).is_integer():
            bad("SC306", f"field {fname}: {key} {v} is not an integer", key)
    if lo is not None and hi is not None and lo > hi:
        bad("SC306", f"field {fname}: min {lo} is greater than max {hi}", "min")
    enum = get("enum")
    if enum is not None:
        if typ in TEXTUAL:
            if not all(isinstance(x, str) for x in enum):
                bad(
                    "SC306",
                    f"field {fname}: enum values of a string field must be strings",
                    "enum",
                    "quote the values",
                )
        elif typ in INT_RANGE:
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in enum):
                bad(
                    "SC306",
                    f"field {fname}: enum values of an integer field must be integers",
                    "enum",
                )
        else:
            bad("SC306", f"field {fname}: enum applies to string and integer fields", "enum")
        if ok and max_length is not None and any(len(str(x)) > max_length for x in enum):
            bad("SC306", f"field {fname}: an enum value is longer than maxLength", "enum")
    column_override = "column" in spec
    if column_override:
        column = spec["column"]
        if not check_identifier(ctx, column, "column name", (*path, "column"), sql=True):
            ok = False
    else:
        column = shorten(column_name(fname, config.column_style))
    renamed = get("renamedFrom")
    if renamed is not None and not check_identifier(
        ctx, renamed, "renamedFrom", (*path, "renamedFrom")
    ):
        ok = False
    default = get("default")
    default_now = False
    if default is not None:
        problem, value = _check_default(typ, default, spec)
        if problem:
            bad(
                "SC304",
                f"field {fname}: default {default!r} {problem}",
                "default",
                _default_hint(typ, spec),
            )
        elif value == "now" and typ == "datetime":
            default, default_now = None, True
        else:
            default = value
    if not ok:
        return None
    enum_t = tuple(enum) if enum is not None else None
    return Field(
        name=fname,
        column=column,
        type=typ,
        primary=primary,
        generated=generated,
        nullable=nullable,
        unique=bool(get("unique")),
        index=bool(get("index")),
        default=default,
        default_now=default_now,
        max_length=max_length,
        min=_num(lo),
        max=_num(hi),
        enum=enum_t,
        precision=precision,
        scale=scale,
        description=get("description"),
        renamed_from=renamed,
        column_override=column_override,
        loc=Loc(ctx.found.file, *spec.pos),
    )


def _num(v: Any) -> int | float | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _default_hint(typ: str, spec: YMap) -> str:
    if spec.get("enum") is not None:
        return "one of its enum values: " + ", ".join(map(str, spec["enum"]))
    return {
        "int": "an integer between -2147483648 and 2147483647",
        "bigint": "a 64-bit integer",
        "float": "a number",
        "decimal": "a number",
        "boolean": "true or false",
        "uuid": "a UUID such as '00000000-0000-0000-0000-000000000000', or generated: true",
        "json": "a string holding JSON, e.g. '{}'",
        "datetime": "now, or an ISO 8601 timestamp in quotes",
        "date": "an ISO date in quotes, e.g. '2024-01-31'",
        "bytes": "bytes fields take no default",
    }.get(
        typ,
        "a string"
        + (f" of at most {spec['maxLength']} characters" if spec.get("maxLength") else ""),
    )


def _check_default(typ: str, v: Any, spec: YMap) -> tuple[str | None, Any]:
    """(problem, normalised value) for a default of field type ``typ``."""
    if isinstance(v, bool) != (typ == "boolean"):
        return f"does not fit type {typ}", v
    if typ == "boolean":
        return None, v
    if typ in INT_RANGE:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int):
            return f"is not an integer ({typ})", v
        lo, hi = INT_RANGE[typ]
        if not lo <= v <= hi:
            return f"is out of range for {typ}", v
    elif typ in ("float", "decimal"):
        if isinstance(v, str):
            try:
                v = float(v) if typ == "float" else v
                if typ == "decimal":
                    float(v)
            except ValueError:
                return f"is not a number ({typ})", v
        if isinstance(v, float) and not math.isfinite(v):
            return "is not a finite number", v
        if typ == "float" and isinstance(v, int) and abs(v) > 2**53:
            return "cannot be represented exactly as a float", v
    elif typ in TEXTUAL:
        if not isinstance(v, str):
            return f"is not a string (quote it: '{v}')", v
        ml = spec.get("maxLength")
        if ml is not None and len(v) > ml:
            return f"is longer than maxLength {ml}", v
    elif typ == "uuid":
        try:
            if not isinstance(v, str):
                raise ValueError
            uuid.UUID(v)
        except ValueError:
            return "is not a UUID", v
    elif typ == "json":
        if not isinstance(v, str):
            return "must be a string holding JSON", v
        try:
            json.loads(v)
        except ValueError:
            return "is not valid JSON", v
    elif typ == "datetime":
        if v == "now":
            return None, v
        try:
            if not isinstance(v, str):
                raise ValueError
            datetime.fromisoformat(v)
        except ValueError:
            return "is not `now` or an ISO 8601 timestamp", v
    elif typ == "date":
        try:
            if not isinstance(v, str):
                raise ValueError
            date.fromisoformat(v)
        except ValueError:
            return "is not an ISO date (YYYY-MM-DD)", v
    elif typ == "bytes":
        return "is not allowed: bytes fields take no default", v
    allowed = spec.get("enum")
    if allowed is not None and v not in allowed:
        return f"is not one of its enum values ({', '.join(map(str, allowed))})", v
    lower, upper = spec.get("min"), spec.get("max")
    if isinstance(v, int | float) and not isinstance(v, bool):
        if lower is not None and v < lower:
            return f"is below min {lower}", v
        if upper is not None and v > upper:
            return f"is above max {upper}", v
    return None, v


def _indexes(
    ctx: _Ctx,
    ent: YMap,
    base: tuple[Any, ...],
    table: str,
    by_name: dict[str, Field],
    names: dict[str, Any],
) -> tuple[list[Index], list[Index]]:
    """(indexes as declared, all indexes including field-level unique/index flags)."""
    declared: list[Index] = []
    for j, ix in enumerate(ent.get("indexes") or ()):
        path = (*base, "indexes", j)
        ok = True
        for k, fname in enumerate(ix["fields"]):
            if fname not in names:
                guess = did_you_mean(fname, list(names))
                ctx.error(
                    "SC308",
                    f"index refers to unknown field {fname!r}",
                    (*path, "fields", k),
                    f"did you mean '{guess}'?" if guess else None,
                )
                ok = False
        if len(set(ix["fields"])) != len(ix["fields"]):
            ctx.error("SC311", "index lists a field twice", (*path, "fields"))
            ok = False
        user_named = "name" in ix
        if user_named and not check_identifier(
            ctx, ix["name"], "index name", (*path, "name"), sql=True
        ):
            ok = False
        if not ok or any(f not in by_name for f in ix["fields"]):
            continue
        cols = tuple(by_name[f].column for f in ix["fields"])
        unique = bool(ix.get("unique"))
        name = ix["name"] if user_named else derived("uq" if unique else "idx", table, cols)
        loc = Loc(ctx.found.file, *ix.pos)  # = ctx.loc(path), without walking from the root
        declared.append(Index(name, tuple(ix["fields"]), cols, unique, user_named, loc))
    all_ix = list(declared)
    covered = {(ix.fields, ix.unique) for ix in declared}
    for f in by_name.values():
        one = (f.name,)
        if (
            f.unique
            and (one, True) not in covered
            and not (f.primary and len(by_name) >= 1 and _single_pk(by_name, f))
        ):
            all_ix.append(
                Index(derived("uq", table, (f.column,)), one, (f.column,), True, False, f.loc)
            )
            covered.add((one, True))
        if f.index and (one, False) not in covered and (one, True) not in covered:
            all_ix.append(
                Index(derived("idx", table, (f.column,)), one, (f.column,), False, False, f.loc)
            )
            covered.add((one, False))
    seen: dict[str, Index] = {}
    kept: list[Index] = []
    for ix in all_ix:
        if ix.name in seen:
            other = seen[ix.name]
            if (other.columns, other.unique) == (ix.columns, ix.unique) and not ix.user_named:
                ctx.warn(
                    "SC311",
                    f"index on ({', '.join(ix.fields)}) is declared twice",
                    _path_of(ctx, ent, base, ix),
                    "remove the duplicate",
                )
                continue
        seen[ix.name] = ix
        kept.append(ix)
    return declared, kept


def _single_pk(by_name: dict[str, Field], f: Field) -> bool:
    return [x.name for x in by_name.values() if x.primary] == [f.name]


def _path_of(ctx: _Ctx, ent: YMap, base: tuple[Any, ...], ix: Index) -> tuple[Any, ...]:
    """The path of the declaration ``ix`` came from (by place: its fields may repeat)."""
    for j in range(len(ent.get("indexes") or ())):
        if ctx.loc((*base, "indexes", j)) == ix.loc:
            return (*base, "indexes", j)
    return (*base, "indexes")


def _checks(table: str, fields: list[Field]) -> list[Check]:
    out: list[Check] = []
    for f in fields:
        items: list[tuple[str, tuple[Any, ...]]] = []
        if f.enum is not None:
            items.append(("enum", f.enum))
        if f.min is not None:
            items.append(("min", (f.min,)))
        if f.max is not None:
            items.append(("max", (f.max,)))
        if f.max_length is not None:
            items.append(("max_length", (f.max_length,)))
        for kind, values in items:
            name = derived("ck", table, (f.column, CHECK_SUFFIX[kind]))
            out.append(Check(name, f.column, kind, values))  # type: ignore[arg-type]
    return out


def _relations(
    ctx: _Ctx, ent: YMap, base: tuple[Any, ...], names: dict[str, Any]
) -> list[Relation]:
    out: list[Relation] = []
    seen: set[str] = set()
    for j, r in enumerate(ent.get("relations") or ()):
        path = (*base, "relations", j)
        rname = r["name"]
        if not check_identifier(ctx, rname, "relation name", (*path, "name")):
            continue
        if rname in seen:
            ctx.error("SC311", f"relation {rname} is declared twice", (*path, "name"))
            continue
        seen.add(rname)
        if "entity" in r and "target" in r:
            ctx.error(
                "SC200",
                "relation has both `entity` and `target` (they are aliases)",
                (*path, "target"),
                "keep one",
            )
            continue
        if "field" in r and "foreignKey" in r:
            ctx.error(
                "SC200",
                "relation has both `field` and `foreignKey` (they are aliases)",
                (*path, "foreignKey"),
                "keep one",
            )
            continue
        target = r.get("entity", r.get("target"))
        if target is None:
            ctx.error("SC202", f"relation {rname} needs `entity` (or `target`)", path)
            continue
        fld = r.get("field", r.get("foreignKey"))
        kind = r["type"]
        if kind == "belongsTo":
            if fld is None:
                ctx.error(
                    "SC202",
                    f"belongsTo relation {rname} needs `field` (or `foreignKey`)",
                    path,
                    f"e.g. field: {rname}Id",
                )
                continue
            if fld not in names:
                guess = did_you_mean(fld, list(names))
                key = "field" if "field" in r else "foreignKey"
                ctx.error(
                    "SC308",
                    f"relation {rname} uses unknown field {fld!r}",
                    (*path, key),
                    f"did you mean '{guess}'?" if guess else "declare the field first",
                )
                continue
        out.append(
            Relation(
                name=rname,
                kind=kind,
                target=target,
                field=fld,
                references=r.get("references"),
                on_delete=r.get("onDelete"),
                on_update=r.get("onUpdate"),
                optional=bool(r.get("optional")),
                loc=Loc(ctx.found.file, *r.pos),
            )
        )
    return out


def _acl(ctx: _Ctx, ent: YMap, base: tuple[Any, ...]) -> Acl:
    raw = ent.get("acl") or {}
    lists: dict[str, tuple[str, ...]] = {}
    for k in ("create", "read", "update", "delete"):
        roles = raw.get(k) or []
        for j, role in enumerate(roles):
            if not ROLE.match(role):
                ctx.error(
                    "SC301",
                    f"ACL role {role!r} is not a role name",
                    (*base, "acl", k, j),
                    "use letters, digits, _ . : -",
                )
        lists[k] = tuple(sorted(set(roles)))
    row = raw.get("rowLevel")
    return Acl(row_level=row, **lists)


__all__ = ["Draft", "YList", "YMap", "check_identifier", "draft_entities"]
