"""Stage 3, the structural checksum of an entity (SPEC §4; exact form in docs/checksum.md).

``sha256:`` + hex SHA-256 of the UTF-8 bytes of ``json.dumps(canonical, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``.  The canonical form keeps only structure:
no descriptions, version, checksum, layout or order of keys, fields, indexes, relations
or ACL roles; types and aliases are canonical; keys at their default value are absent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from .model import Acl, Field, Index, Relation


def canonical_field(f: Field) -> dict[str, Any]:
    d: dict[str, Any] = {"type": f.type}
    if f.primary:
        d["primary"] = True
    if f.generated:
        d["generated"] = True
    if not f.nullable:
        d["notNull"] = True
    if f.unique:
        d["unique"] = True
    if f.index:
        d["index"] = True
    if f.default_now:
        d["default"] = "now"
    elif f.default is not None:
        d["default"] = _number(f.default)
    for key, value in (
        ("maxLength", f.max_length),
        ("min", f.min),
        ("max", f.max),
        ("precision", f.precision),
        ("scale", f.scale),
    ):
        if value is not None:
            d[key] = _number(value)
    if f.enum is not None:
        d["enum"] = list(f.enum)
    if f.column_override:
        d["column"] = f.column
    return d


def canonical_index(ix: Index) -> dict[str, Any]:
    d: dict[str, Any] = {"fields": list(ix.fields)}
    if ix.unique:
        d["unique"] = True
    if ix.user_named:
        d["name"] = ix.name
    return d


def canonical_relation(r: Relation) -> dict[str, Any]:
    d: dict[str, Any] = {"name": r.name, "type": r.kind, "entity": r.target}
    if r.field is not None:
        d["field"] = r.field
    if r.references is not None:
        d["references"] = r.references
    if r.on_delete not in (None, "NoAction"):
        d["onDelete"] = r.on_delete
    if r.on_update not in (None, "NoAction"):
        d["onUpdate"] = r.on_update
    if r.optional:
        d["optional"] = True
    return d


def canonical_acl(acl: Acl) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k in ("create", "read", "update", "delete"):
        roles = getattr(acl, k)
        if roles:
            d[k] = sorted(set(roles))
    if acl.row_level is not None:
        d["rowLevel"] = acl.row_level
    return d


def canonical_entity(
    name: str,
    table_override: str | None,
    fields: Iterable[Field],
    indexes: Iterable[Index],
    relations: Iterable[Relation],
    acl: Acl,
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": name,
        "fields": {f.name: canonical_field(f) for f in fields},
        "indexes": sorted((canonical_index(i) for i in indexes), key=_dump),
        "relations": sorted((canonical_relation(r) for r in relations), key=_dump),
    }
    acl_d = canonical_acl(acl)
    if acl_d:
        d["acl"] = acl_d
    if table_override is not None:
        d["table"] = table_override
    return d


def digest(canonical: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(_dump(canonical).encode("utf-8")).hexdigest()


def entity_checksum(
    name: str,
    table_override: str | None,
    fields: Iterable[Field],
    indexes: Iterable[Index],
    relations: Iterable[Relation],
    acl: Acl,
) -> str:
    return digest(canonical_entity(name, table_override, fields, indexes, relations, acl))


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _number(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
