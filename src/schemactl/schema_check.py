"""Stage 2a, the published JSON Schema (``schemas/entities.schema.json``, Draft 2020-12).

Every document is validated against it with ``jsonschema``.  The schema is compositional
(no constraint spans two entities or two fields), so we validate each entity shell, field,
index, relation and ACL against its own ``$defs`` sub-schema and memoise by content: the
result is exactly that of validating the whole document, at a fraction of the cost, since
real files repeat the same field shapes again and again.

The verdicts "valid" are also kept between runs, in the user cache (``verdicts``): a
re-scan that validates one edited file whose shapes were all seen before need not even
import jsonschema (a fifth of a re-scan at 1,000 packages).  An invalid instance is
always validated, so its diagnostics are jsonschema's own.

jsonschema's errors become diagnostics with the exact line/column, a stable code and a
"did you mean" for unknown keys, field types and enum values.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from . import verdicts
from .diagnostics import Diagnostic, did_you_mean
from .load import position
from .naming import TYPE_ALIASES

SCHEMA_FILE = "entities.schema.json"

# Common misspellings a fuzzy match alone would not find.
SYNONYMS = {
    "max_length": "maxLength",
    "maxlength": "maxLength",
    "length": "maxLength",
    "foreign_key": "foreignKey",
    "renamed_from": "renamedFrom",
    "on_delete": "onDelete",
    "ondelete": "onDelete",
    "on_update": "onUpdate",
    "row_level": "rowLevel",
    "pk": "primary",
    "primary_key": "primary",
    "primaryKey": "primary",
    "optional": "nullable",
    "tablename": "table",
    "table_name": "table",
    "columns": "fields",
}


def schema_text() -> str:
    return resources.files("schemactl").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")


@cache
def published_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


@cache
def _validators() -> dict[str, Any]:
    from jsonschema import Draft202012Validator

    full = published_schema()
    defs = full["$defs"]

    def sub(schema: dict[str, Any]) -> Any:
        return Draft202012Validator({**schema, "$defs": defs})

    shell = json.loads(json.dumps(defs["entity"]))
    props = shell["properties"]
    # children are validated on their own (and memoised); keep only their container shape
    props["fields"] = {
        k: v for k, v in props["fields"].items() if k not in ("items", "additionalProperties")
    }
    props["indexes"] = {"type": "array"}
    props["relations"] = {"type": "array"}
    props["acl"] = {"type": "object"}
    top = json.loads(json.dumps(full))
    top["properties"]["entities"] = {"type": "array"}
    return {
        "top": sub(top),
        "entity": sub(shell),
        "field": sub(defs["field"]),
        "namedField": sub(defs["namedField"]),
        "index": sub(defs["index"]),
        "relation": sub(defs["relation"]),
        "acl": sub(defs["acl"]),
    }


_shell_ok: dict[tuple[Any, ...], bool] = {}


def _shape(instance: Any) -> tuple[Any, ...] | None:
    """What the ``top``/``entity`` shell schemas can see of a mapping: its keys, the JSON
    type of each value, whether a container is empty, and a string or null ``checksum``
    (the only value with a pattern; any other type is invalid whatever it holds).  Two
    instances with the same shape are valid or invalid alike."""
    if not isinstance(instance, dict):
        return None
    return tuple(
        (
            k,
            type(v).__name__,
            v
            if k == "checksum" and (v is None or isinstance(v, str))
            else (bool(v) if isinstance(v, dict | list) else None),
        )
        for k, v in instance.items()
    )


def _errors(kind: str, instance: Any) -> tuple[Any, ...]:
    if kind in ("top", "entity"):
        shape = _shape(instance)
        if shape is not None and _shell_ok.get((kind, *shape)):
            return ()
        if shape is not None and verdicts.known(kind, repr(shape)):
            _shell_ok[(kind, *shape)] = True
            return ()
        errors = tuple(_validators()[kind].iter_errors(instance))
        if shape is not None:
            _shell_ok[(kind, *shape)] = not errors
            if not errors:
                verdicts.learn(kind, repr(shape))
        return errors
    key = (kind, _child_key(instance))
    valid = _valid.get(key)
    if valid is None:
        if len(_valid) > 200_000:
            _valid.clear()
        if verdicts.known(*key):
            _valid[key] = True
            return ()
        errors = tuple(_validators()[kind].iter_errors(instance))
        _valid[key] = not errors
        if not errors:
            verdicts.learn(*key)
        return errors
    if valid:
        return ()
    return tuple(_validators()[kind].iter_errors(instance))  # real errors, real values


# Keys whose sub-schema checks only the JSON type of the value (never its content): the
# memo key keeps their type and drops the text, so fields that differ only in names or
# descriptions share one validation.  Invalid instances are always re-validated as they
# are, so diagnostics quote the real values.
_TYPE_ONLY = frozenset(
    {"description", "name", "column", "renamedFrom", "default", "entity", "target", "field",
     "foreignKey", "references", "rowLevel"}
)  # fmt: skip
# Keys holding lists whose sub-schema checks the length and each item's type only.
_TYPE_ONLY_ITEMS = frozenset({"fields", "create", "read", "update", "delete"})
# Integer keys whose sub-schema checks only the type and a range: the memo key keeps
# whether the value is in range (a new maxLength is the commonest edit of all).
_INT_RANGES: dict[str, tuple[int, int | None]] = {
    "maxLength": (1, None),
    "precision": (1, 1000),
    "scale": (0, 1000),
}
_MASKED = _TYPE_ONLY | _TYPE_ONLY_ITEMS | _INT_RANGES.keys()  # the keys ``_masked`` changes
_valid: dict[tuple[str, str], bool] = {}


def _child_key(instance: Any) -> str:
    if not isinstance(instance, dict):
        return repr(instance)
    # repr() tells 1 from "1" from True and keeps the order of keys
    return repr([(k, _masked(k, v)) if k in _MASKED else (k, v) for k, v in instance.items()])


def _masked(key: str, value: Any) -> Any:
    if key in _TYPE_ONLY:
        return type(value).__name__
    if type(value) is int and key in _INT_RANGES:  # not bool, not 5.0: those keep values
        lo, hi = _INT_RANGES[key]
        return ("int", lo <= value and (hi is None or value <= hi))
    if key in _TYPE_ONLY_ITEMS and isinstance(value, list):
        return [type(v).__name__ for v in value]
    return value


def check_document(data: Any, file: str) -> list[Diagnostic]:
    """All JSON Schema violations of one loaded entities document, as diagnostics."""
    out: list[Diagnostic] = []

    def run(kind: str, instance: Any, prefix: tuple[Any, ...]) -> None:
        for e in _errors(kind, instance):
            if e.validator == "additionalProperties" and isinstance(e.instance, dict):
                out.extend(_unknown_keys(e, data, prefix, file))
            else:
                out.append(_to_diag(e, data, prefix, file))

    run("top", data, ())
    if out:
        return out
    for i, ent in enumerate(data.get("entities") or ()):
        base: tuple[Any, ...] = ("entities", i)
        if not isinstance(ent, dict):
            run("entity", ent, base)
            continue
        run("entity", ent, base)
        fields = ent.get("fields")
        if isinstance(fields, dict):
            for name, f in fields.items():
                run("field", f, (*base, "fields", name))
        elif isinstance(fields, list):
            for j, f in enumerate(fields):
                run("namedField", f, (*base, "fields", j))
        for key, kind in (("indexes", "index"), ("relations", "relation")):
            items = ent.get(key)
            if isinstance(items, list):
                for j, item in enumerate(items):
                    run(kind, item, (*base, key, j))
        if isinstance(ent.get("acl"), dict):
            run("acl", ent["acl"], (*base, "acl"))
    return out


def _unknown_keys(e: Any, data: Any, prefix: tuple[Any, ...], file: str) -> list[Diagnostic]:
    """One SC201 per unknown key (jsonschema reports them all in one error)."""
    path = (*prefix, *e.absolute_path)
    where = _describe(path)
    allowed = list(e.schema.get("properties", {}))
    out = []
    for k in (k for k in e.instance if k not in allowed):
        line, col = position(data, (*path, k), key=True)
        guess = SYNONYMS.get(k) if SYNONYMS.get(k) in allowed else did_you_mean(k, allowed)
        out.append(
            Diagnostic(
                "error",
                "SC201",
                f"unknown key '{k}' in {where}",
                file,
                line,
                col,
                hint=f"did you mean '{guess}'?" if guess else f"allowed keys: {', '.join(allowed)}",
            )
        )
    return out


def _to_diag(e: Any, data: Any, prefix: tuple[Any, ...], file: str) -> Diagnostic:
    path = (*prefix, *e.absolute_path)
    v = e.validator
    inst = e.instance
    line, col = position(data, path)
    where = _describe(path)
    if v == "required":
        missing = [r for r in e.validator_value if not isinstance(inst, dict) or r not in inst]
        return Diagnostic(
            "error",
            "SC202",
            f"{where} is missing the required key '{missing[0] if missing else '?'}'",
            file,
            line,
            col,
        )
    if v == "pattern" and path and path[-1] == "type":
        guess = did_you_mean(str(inst), sorted(TYPE_ALIASES))
        return Diagnostic(
            "error",
            "SC203",
            f"unknown field type '{inst}' in {where}",
            file,
            line,
            col,
            hint=(f"did you mean '{guess}'? " if guess else "")
            + "types: "
            + ", ".join(sorted(set(TYPE_ALIASES.values()))),
        )
    if v == "enum":
        allowed = [str(x) for x in e.validator_value]
        guess = did_you_mean(str(inst), allowed)
        return Diagnostic(
            "error",
            "SC204",
            f"{where} is {inst!r}, which is not allowed",
            file,
            line,
            col,
            hint=(f"did you mean '{guess}'? " if guess else "") + f"one of: {', '.join(allowed)}",
        )
    if v == "type" and path and path[-1] == "version" and isinstance(inst, int | float):
        return Diagnostic(
            "error",
            "SC108",
            f"version is the number {inst!r}, not a string (YAML reads 1.0 as a float)",
            file,
            line,
            col,
            hint=f'quote it: version: "{inst}"',
        )
    if v == "type":
        want = e.validator_value
        want_s = " or ".join(want) if isinstance(want, list) else want
        return Diagnostic(
            "error",
            "SC200",
            f"{where} must be {_article(want_s)}, not {_json_type(inst)}",
            file,
            line,
            col,
        )
    return Diagnostic("error", "SC200", f"{where}: {e.message}", file, line, col)


def _article(t: str) -> str:
    return ("an " if t[:1] in "aeiou" else "a ") + t


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return f"the number {v!r}"
    if isinstance(v, str):
        return f"the string {v!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def _describe(path: tuple[Any, ...]) -> str:
    if not path:
        return "the document"
    parts = []
    for p in path:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)
