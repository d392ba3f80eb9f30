"""What the cross-package checks need of an entity: a small stand-in for its draft.

Resolving a relation reads of its target only the target's identity (package, schema,
table), its field names (does the referenced field exist? did you mean?) and its key
fields (the primary key, unique fields, fields of a one-field unique index) with their
types.  ``load_project`` keeps a :class:`Target` per entity instead of the entity's
draft, so that the memory of a load is bounded by the largest package, not by the
project: the drafts themselves stay in the validation cache until a package is resolved
or a command reads its entities.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from .model import Field, Loc
from .validate import Draft


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    package: str
    namespace: str
    table: str
    file: str
    loc: Loc
    checksum: str
    primary_key: tuple[str, ...]
    field_names: tuple[str, ...]
    keys: tuple[Field, ...]  # the fields a foreign key may reference

    def key_field(self, name: str) -> Field | None:
        for f in self.keys:
            if f.name == name:
                return f
        return None

    def is_definition(self, d: Draft) -> bool:
        """Whether this stands for the draft ``d`` (the same definition in the same file)."""
        return self.package == d.package and self.loc == d.loc and self.name == d.name


def target_of(d: Draft) -> Target:
    unique_one = {ix.fields[0] for ix in d.indexes if ix.unique and len(ix.fields) == 1}
    keys = tuple(
        f for f in d.fields if d.primary_key == (f.name,) or f.unique or f.name in unique_one
    )
    intern = sys.intern
    return Target(
        name=d.name,
        package=d.package,
        namespace=d.namespace,
        table=d.table,
        file=d.file,
        loc=d.loc,
        checksum=d.checksum,
        primary_key=tuple(intern(n) for n in d.primary_key),
        field_names=tuple(intern(f.name) for f in d.fields),
        keys=keys,
    )
