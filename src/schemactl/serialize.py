"""Entities to and from plain JSON data, for the registry baseline and migration targets.

The form is the model's fields by name (``loc`` dropped), tuples as lists; reading it back
gives an ``Entity`` equal to the original, so the planner can diff a stored baseline
against the current files.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from functools import cache
from operator import attrgetter
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
def _layout(cls: type) -> tuple[tuple[tuple[str, Any], ...], Any]:
    """(name, default) of each dataclass field but ``loc`` (MISSING when it has none), and
    a getter returning all their values at once."""
    layout = tuple((f.name, f.default) for f in fields(cls) if f.name != "loc")
    names = [name for name, _ in layout]
    if len(names) == 1:  # attrgetter of one name returns the value, not a 1-tuple
        return layout, lambda obj: (getattr(obj, names[0]),)
    return layout, attrgetter(*names)


@cache
def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_data(value: Any) -> Any:
    """Plain JSON data; dataclass fields at their default value are left out (compact)."""
    cls: type = type(value)
    if cls in _SCALARS:
        return value
    if cls is tuple or cls is list:
        return [v if type(v) in _SCALARS else to_data(v) for v in value]
    if not hasattr(cls, "__dataclass_fields__"):
        return value
    layout, getter = _layout(cls)
    out = {}
    for (name, default), v in zip(layout, getter(value), strict=True):
        if default is not MISSING and v == default:
            continue
        out[name] = v if type(v) in _SCALARS else to_data(v)
    return out


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = _names(cls)
    kw = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in data.items()
        if k in names  # a field a newer version added is ignored rather than fatal
    }
    return cls(**kw)


def entity_from_data(data: dict[str, Any]) -> Entity:
    """The ``Entity`` a registry definition describes.  A definition that does not build
    one (a hand edit the shape check let through) is an operational error, exit 3."""
    try:
        return _entity(data)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        from .errors import OperationalError

        name = data.get("name") if isinstance(data, dict) else None
        raise OperationalError(
            f"the registry holds a malformed definition of entity {name!r}: {e}",
            hint="restore .schemactl/registry.json from git",
            code="SC000",
        ) from None


def _entity(data: dict[str, Any]) -> Entity:
    kw = dict(data)
    for key, cls in _NESTED.items():
        kw[key] = [_build(cls, item) for item in data.get(key, [])]
    for key in _NESTED:
        kw[key] = tuple(kw[key])
    kw["acl"] = _build(Acl, data.get("acl", {}))
    entity: Entity = _build(Entity, kw)
    return entity
