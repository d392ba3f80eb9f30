"""Entities to and from plain JSON data, for the registry baseline and migration targets.

The form is the model's fields by name (``loc`` dropped), tuples as lists; reading it back
gives an ``Entity`` equal to the original, so the planner can diff a stored baseline
against the current files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import MISSING, fields
from functools import cache
from typing import Any

from .model import Acl, Check, Entity, Field, ForeignKey, Index, Relation

_NESTED: dict[str, type] = {
    "fields": Field,
    "indexes": Index,
    "checks": Check,
    "relations": Relation,
    "foreign_keys": ForeignKey,
}


@cache
def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


_SCALARS = frozenset({str, int, float, bool, type(None)})
_encoders: dict[type, Callable[[Any], dict[str, Any]]] = {}


def to_data(value: Any) -> Any:
    """Plain JSON data; dataclass fields at their default value are left out (compact)."""
    cls: type = type(value)
    if cls in _SCALARS:
        return value
    if cls is tuple or cls is list:
        return [v if type(v) in _SCALARS else to_data(v) for v in value]
    enc = _encoders.get(cls)
    if enc is None:
        if not hasattr(cls, "__dataclass_fields__"):
            return value
        enc = _encoders[cls] = _encoder(cls)
    return enc(value)


def _encoder(cls: type) -> Callable[[Any], dict[str, Any]]:
    """``to_data`` for one dataclass, written out field by field (``loc`` left out): the
    serialisation of every entity in a cold scan, so a generic loop here is felt."""
    env: dict[str, Any] = {"S": _SCALARS, "to_data": to_data}
    lines = ["def enc(o):", "    d = {}"]
    for k, f in enumerate(fields(cls)):
        if f.name == "loc":
            continue
        put = f"d[{f.name!r}] = v if type(v) in S else to_data(v)"
        lines.append(f"    v = o.{f.name}")
        if f.default is MISSING:
            lines.append(f"    {put}")
        else:
            env[f"D{k}"] = f.default
            lines.append(f"    if not v == D{k}:")
            lines.append(f"        {put}")
    lines.append("    return d")
    exec("\n".join(lines), env)
    enc: Callable[[Any], dict[str, Any]] = env["enc"]
    return enc


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = _names(cls)
    kw = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in data.items()
        if k in names  # a field a newer version added is ignored rather than fatal
    }
    return cls(**kw)


_NEGATIVE_BIG = re.compile(rb"-[0-9]{19}")


def may_be_lossy(raw: bytes | memoryview) -> bool:
    """Cheap test on JSON text: could orjson have read an integer inexactly?  It reads a
    negative integer beyond 64 bits as a float (the stdlib keeps it exact)."""
    return _NEGATIVE_BIG.search(raw) is not None


def entity_from_data(data: dict[str, Any]) -> Entity:
    """The ``Entity`` a registry definition describes.  A definition of the wrong shape (a
    hand edit, a bad merge) is an operational error, exit 3, never a crash later on."""
    problem = definition_problem(data)
    try:
        if problem is None:
            return _entity(data)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        problem = str(e)
    from .errors import OperationalError

    name = data.get("name") if isinstance(data, dict) else None
    package = data.get("package") if isinstance(data, dict) else None
    raise OperationalError(
        f"the registry holds a malformed definition of entity {name!r}: {problem}",
        hint=f"restore the registry file of package {package} from git",
        code="SC000",
    )


_STR = (str,)
_DEF: dict[str, tuple[type, ...]] = {
    "name": _STR,
    "package": _STR,
    "namespace": _STR,
    "table": _STR,
    "pk_name": _STR,
    "checksum": _STR,
    "primary_key": (list,),
}
_DEF_LISTS: dict[str, dict[str, tuple[type, ...]]] = {
    "fields": {"name": _STR, "column": _STR, "type": _STR},
    "indexes": {"name": _STR, "fields": (list,), "columns": (list,)},
    "checks": {"name": _STR, "column": _STR, "kind": _STR, "values": (list,)},
    "relations": {"name": _STR, "kind": _STR, "target": _STR},
    "foreign_keys": {
        "name": _STR,
        "relation": _STR,
        "columns": (list,),
        "ref_namespace": _STR,
        "ref_table": _STR,
        "ref_columns": (list,),
    },
}


def _missing(obj: dict[str, Any], shape: dict[str, tuple[type, ...]]) -> str | None:
    for k, types in shape.items():
        if not isinstance(obj.get(k), types):
            return k
    return None


def definition_problem(d: Any) -> str | None:
    """What makes ``d`` unusable as an entity definition (None when usable): every field
    the commands read, type-checked."""
    from .model import FIELD_TYPES

    if not isinstance(d, dict):
        return "not an object"
    key = _missing(d, _DEF)
    if key:
        return f"a missing or malformed {key!r}"
    for key, shape in _DEF_LISTS.items():
        items = d.get(key, [])
        if not isinstance(items, list) or not all(
            isinstance(x, dict) and _missing(x, shape) is None for x in items
        ):
            return f"a malformed {key!r}"
    if not all(f["type"] in FIELD_TYPES for f in d.get("fields", [])):
        return "a field of unknown type"
    if not isinstance(d.get("acl", {}), dict):
        return "a malformed 'acl'"
    return None


def _entity(data: dict[str, Any]) -> Entity:
    kw = dict(data)
    for key, cls in _NESTED.items():
        kw[key] = [_build(cls, item) for item in data.get(key, [])]
    for key in _NESTED:
        kw[key] = tuple(kw[key])
    kw["acl"] = _build(Acl, data.get("acl", {}))
    entity: Entity = _build(Entity, kw)
    return entity
