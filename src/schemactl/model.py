"""The normalised model: frozen dataclasses that every stage after validation consumes.

`validate` turns YAML documents into these objects; `checksum`, `conflicts`, `plan`,
`sql`, `registry` and `apply` only ever read them.  Nothing here does I/O.

Names:
- ``Field.name`` is the name the user wrote (``tenantId``); ``Field.column`` the SQL
  column (``tenant_id`` or the ``column:`` override).
- ``Entity.table`` is the SQL table name (derived or ``table:`` override) and
  ``Entity.namespace`` the PostgreSQL schema of the package that owns the table.
- Every constraint and index carries its final, collision-checked SQL name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Literal, overload

Scalar = str | int | float | bool

# Canonical field types (SPEC §3).  Aliases are resolved by `validate`.
FIELD_TYPES: tuple[str, ...] = (
    "string",
    "text",
    "int",
    "bigint",
    "float",
    "decimal",
    "boolean",
    "cuid",
    "uuid",
    "json",
    "datetime",
    "date",
    "bytes",
)

RelationKind = Literal["belongsTo", "hasOne", "hasMany", "manyToMany"]
Action = Literal["Cascade", "SetNull", "Restrict", "NoAction", "SetDefault"]


@dataclass(frozen=True, slots=True)
class Loc:
    """A place in a source file: path relative to the project root, 1-based line/column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    column: str
    type: str  # one of FIELD_TYPES
    primary: bool = False
    generated: bool = False
    nullable: bool = True  # effective: False when primary or required
    unique: bool = False
    index: bool = False
    default: Scalar | None = None  # already checked against the type
    default_now: bool = False  # datetime `default: now`
    max_length: int | None = None
    min: int | float | None = None
    max: int | float | None = None
    enum: tuple[str, ...] | None = None
    precision: int | None = None
    scale: int | None = None
    description: str | None = None
    renamed_from: str | None = None
    column_override: bool = False
    loc: Loc = dc_field(default=Loc(""), compare=False)

    @property
    def has_default(self) -> bool:
        return self.default is not None or self.default_now


@dataclass(frozen=True, slots=True)
class Check:
    """A CHECK constraint derived from enum, min/max or maxLength of one column."""

    name: str
    column: str
    kind: Literal["enum", "min", "max", "max_length"]
    values: tuple[Scalar, ...]  # the enum values, or the single bound


@dataclass(frozen=True, slots=True)
class Index:
    """An index, or a UNIQUE constraint when ``unique`` (PostgreSQL backs it with an index)."""

    name: str
    fields: tuple[str, ...]  # field names, in index order
    columns: tuple[str, ...]  # SQL column names, in index order
    unique: bool = False
    user_named: bool = False
    loc: Loc = dc_field(default=Loc(""), compare=False)


@dataclass(frozen=True, slots=True)
class Relation:
    name: str
    kind: RelationKind
    target: str  # entity name
    field: str | None  # belongsTo: local field; hasOne/hasMany: field on the target
    references: str | None  # explicit referenced field, else the target's primary key
    on_delete: Action | None = None
    on_update: Action | None = None
    optional: bool = False
    loc: Loc = dc_field(default=Loc(""), compare=False)


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A resolved belongsTo relation: columns here reference columns of another table."""

    name: str
    relation: str
    columns: tuple[str, ...]
    ref_namespace: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: Action | None = None
    on_update: Action | None = None
    ref_entity: str = ""
    ref_package: str | None = None  # None for an [external] target


@dataclass(frozen=True, slots=True)
class Acl:
    create: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    row_level: str | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    name: str
    package: str  # packageId that declared this copy
    namespace: str
    table: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]  # field names
    pk_name: str
    indexes: tuple[Index, ...]
    checks: tuple[Check, ...]
    relations: tuple[Relation, ...]
    foreign_keys: tuple[ForeignKey, ...]
    acl: Acl
    checksum: str
    description: str | None = None
    version: str | None = None
    pinned_checksum: str | None = None
    table_override: bool = False
    loc: Loc = dc_field(default=Loc(""), compare=False)

    def field_named(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def pk_columns(self) -> tuple[str, ...]:
        by_name = {f.name: f.column for f in self.fields}
        return tuple(by_name[n] for n in self.primary_key)


@dataclass(frozen=True, slots=True)
class External:
    """An entity no package defines, declared in config ``[external.<Name>]``."""

    name: str
    namespace: str
    table: str
    key: str  # referenced column
    type: str  # canonical field type of the key


class LazyEntities(Sequence[Entity]):
    """A package's entities, built on first use by ``load`` (the project snapshot hands
    these out for packages that did not change, most of which a command never reads)."""

    __slots__ = ("_items", "_load")

    def __init__(self, load: Callable[[], tuple[Entity, ...]]) -> None:
        self._load: Callable[[], tuple[Entity, ...]] | None = load
        self._items: tuple[Entity, ...] | None = None

    def _get(self) -> tuple[Entity, ...]:
        if self._items is None:
            assert self._load is not None
            self._items = self._load()
            self._load = None
        return self._items

    @property
    def loaded(self) -> bool:
        return self._items is not None

    def build(self) -> tuple[Entity, ...]:
        """The entities, without keeping them when they are not loaded yet: for a caller
        that reads each of many packages once, so that it holds one package at a time."""
        if self._items is not None:
            return self._items
        assert self._load is not None
        return self._load()

    @overload
    def __getitem__(self, i: int) -> Entity: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Entity, ...]: ...
    def __getitem__(self, i: int | slice) -> Entity | tuple[Entity, ...]:
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[Entity]:
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyEntities):
            other = other._get()
        return self._get() == other

    def __hash__(self) -> int:
        return hash(self._get())

    def __repr__(self) -> str:
        return repr(self._items) if self._items is not None else "LazyEntities(<not loaded>)"


EntitySummary = tuple[str, str, str]  # name, table, checksum


@dataclass(frozen=True, slots=True)
class Package:
    id: str
    namespace: str
    path: str  # package directory, relative to root
    file: str  # entities file, relative to root
    entities: Sequence[Entity]  # in file order; includes duplicates owned elsewhere
    owned: tuple[str, ...] = ()  # entity names whose table this package creates
    metadata_file: str | None = None
    # (name, table, checksum) per entity in file order, known without building entities
    summary: tuple[EntitySummary, ...] | None = None
    # (namespace, table) each foreign key of its owned entities references, in file order,
    # known without building entities (a first scan orders packages by them); or what
    # gives them when called (a ValueError: work them out from the entities)
    fk_refs: tuple[tuple[str, str], ...] | Callable[[], tuple[tuple[str, str], ...]] | None = None

    def owned_entities(self) -> tuple[Entity, ...]:
        owned = set(self.owned)
        return tuple(e for e in self.entities if e.name in owned)

    def entity_summary(self) -> tuple[EntitySummary, ...]:
        if self.summary is not None:
            return self.summary
        return tuple((e.name, e.table, e.checksum) for e in self.entities)

    def references(self) -> tuple[tuple[str, str], ...]:
        refs = self.fk_refs
        if callable(refs):
            with suppress(ValueError):
                return refs()
        elif refs is not None:
            return refs
        return tuple(
            (fk.ref_namespace, fk.ref_table) for e in self.owned_entities() for fk in e.foreign_keys
        )

    def owned_checksums(self) -> dict[str, str]:
        owned = set(self.owned)
        return {name: checksum for name, _, checksum in self.entity_summary() if name in owned}


@dataclass(frozen=True, slots=True)
class Project:
    root: str
    packages: tuple[Package, ...]
    externals: tuple[External, ...] = ()

    _by_id: dict[str, Package] = dc_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # a lookup table, so that asking for each of 1,000 packages is not quadratic
        object.__setattr__(self, "_by_id", {p.id: p for p in self.packages})

    def package(self, package_id: str) -> Package | None:
        return self._by_id.get(package_id)

    def entity_owner(self, name: str) -> Entity | None:
        for p in self.packages:
            for e in p.owned_entities():
                if e.name == name:
                    return e
        return None
