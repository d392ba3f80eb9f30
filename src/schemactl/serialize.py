"""Entities to and from plain JSON data, for the registry baseline and migration targets.

The form is the model's fields by name (``loc`` dropped), tuples as lists; reading it back
gives an ``Entity`` equal to the original, so the planner can diff a stored baseline
against the current files.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any

from .model import Acl, Check, Entity, Field, ForeignKey, Index, Relation

_NESTED: dict[str, type] = {
    "fields": Field,
    "indexes": Index,
    "checks": Check,
    "relations": Relation,
    "foreign_keys": ForeignKey,
}


def to_data(value: Any) -> Any:
    """Plain JSON data; dataclass fields at their default value are left out (compact)."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in fields(value):
            if f.name == "loc":
                continue
            v = getattr(value, f.name)
            if f.default is not MISSING and v == f.default:
                continue
            out[f.name] = to_data(v)
        return out
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    return value


def _build(cls: type, data: dict[str, Any]) -> Any:
    kw: dict[str, Any] = {}
    names = {f.name for f in fields(cls)}
    for k, v in data.items():
        if k not in names:
            continue  # a field a newer version added; ignored rather than fatal
        kw[k] = tuple(v) if isinstance(v, list) else v
    return cls(**kw)


def entity_from_data(data: dict[str, Any]) -> Entity:
    kw = dict(data)
    for key, cls in _NESTED.items():
        kw[key] = [_build(cls, item) for item in data.get(key, [])]
    for key in _NESTED:
        kw[key] = tuple(kw[key])
    kw["acl"] = _build(Acl, data.get("acl", {}))
    entity: Entity = _build(Entity, kw)
    return entity
