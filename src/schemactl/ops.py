"""Migration operations: plain, frozen data produced by `plan` and rendered by `sql`.

Each operation knows whether it is destructive (SPEC §8) and how to reverse itself, so a
down migration is ``[op.reverse() for op in reversed(ops)]``.  Operations carry whole
model objects (``Entity``, ``Field``, ``Index``...) rather than names where the renderer
or the reverse needs the full definition.

``to_dict`` gives the JSON form stored in the registry (``ops`` of a migration record).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from typing import Any

from .model import Check, Entity, Field, ForeignKey, Index


@dataclass(frozen=True, slots=True)
class Op:
    """Base class.  ``namespace``/``table`` locate the object the operation touches."""

    @property
    def kind(self) -> str:
        return _snake(type(self).__name__)

    @property
    def destructive(self) -> bool:
        return False

    @property
    def reason(self) -> str | None:
        """Why the operation is destructive, for humans (None when it is not)."""
        return None

    def reverse(self) -> Op:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.kind}
        for f in fields(self):
            out[f.name] = _plain(getattr(self, f.name))
        if self.destructive:
            out["destructive"] = True
            out["reason"] = self.reason
        return out


@dataclass(frozen=True, slots=True)
class CreateSchema(Op):
    namespace: str

    def reverse(self) -> Op:
        return DropSchema(self.namespace)


@dataclass(frozen=True, slots=True)
class DropSchema(Op):
    """Drops the schema only if empty (RESTRICT); emitted by reversing CreateSchema."""

    namespace: str

    def reverse(self) -> Op:
        return CreateSchema(self.namespace)


@dataclass(frozen=True, slots=True)
class CreateTable(Op):
    """Columns, primary key, checks and the comments from descriptions.

    Indexes, uniques and FKs are separate ops, so a cycle of FKs can be added after the
    tables and a DropTable's reverse restores exactly what CreateTable made.
    """

    entity: Entity

    def reverse(self) -> Op:
        return DropTable(self.entity)


@dataclass(frozen=True, slots=True)
class DropTable(Op):
    entity: Entity

    @property
    def destructive(self) -> bool:
        return True

    @property
    def reason(self) -> str | None:
        return f"drops table {self.entity.namespace}.{self.entity.table} and its data"

    def reverse(self) -> Op:
        return CreateTable(self.entity)


@dataclass(frozen=True, slots=True)
class RenameTable(Op):
    namespace: str
    old: str
    new: str

    def reverse(self) -> Op:
        return RenameTable(self.namespace, self.new, self.old)


@dataclass(frozen=True, slots=True)
class AddColumn(Op):
    """A column on an existing table (with its comment); its checks are separate AddChecks."""

    namespace: str
    table: str
    field: Field

    @property
    def destructive(self) -> bool:
        return (
            not self.field.nullable
            and not self.field.has_default
            and not (self.field.generated and self.field.type in ("int", "bigint"))
        )

    @property
    def reason(self) -> str | None:
        if self.destructive:
            return (
                f"adds required column {self.field.column} without a default: "
                "fails on a table that has rows"
            )
        return None

    def reverse(self) -> Op:
        return DropColumn(self.namespace, self.table, self.field)


@dataclass(frozen=True, slots=True)
class DropColumn(Op):
    namespace: str
    table: str
    field: Field

    @property
    def destructive(self) -> bool:
        return True

    @property
    def reason(self) -> str | None:
        return f"drops column {self.table}.{self.field.column} and its data"

    def reverse(self) -> Op:
        return AddColumn(self.namespace, self.table, self.field)


@dataclass(frozen=True, slots=True)
class RenameColumn(Op):
    namespace: str
    table: str
    old: str
    new: str

    def reverse(self) -> Op:
        return RenameColumn(self.namespace, self.table, self.new, self.old)


# Type changes PostgreSQL performs without loss (old -> new).  Anything else may fail or
# lose data and is destructive.
SAFE_TYPE_CHANGES: frozenset[tuple[str, str]] = frozenset(
    {
        ("int", "bigint"),
        ("int", "float"),
        ("int", "decimal"),
        ("bigint", "decimal"),
        ("string", "text"),
        ("text", "string"),
        ("cuid", "string"),
        ("cuid", "text"),
        ("string", "cuid"),
        ("text", "cuid"),
        ("date", "datetime"),
    }
)


@dataclass(frozen=True, slots=True)
class AlterColumn(Op):
    """Type, nullability or default of one column changes (``old`` -> ``new``).

    The column is addressed as ``new.column``.  When the column is renamed in the same
    migration the planner passes ``old`` with ``column`` already set to the new name, so
    the reverse operation (run before the rename is undone) addresses it correctly too.
    """

    namespace: str
    table: str
    old: Field
    new: Field

    @property
    def type_changed(self) -> bool:
        o, n = self.old, self.new
        return (o.type, o.precision, o.scale) != (n.type, n.precision, n.scale)

    @property
    def nullability_changed(self) -> bool:
        return self.old.nullable != self.new.nullable

    @property
    def default_changed(self) -> bool:
        o, n = self.old, self.new
        return (o.default, o.default_now, o.generated) != (n.default, n.default_now, n.generated)

    @property
    def destructive(self) -> bool:
        return self.reason is not None

    @property
    def reason(self) -> str | None:
        o, n = self.old, self.new
        lossless = (o.type, n.type) in SAFE_TYPE_CHANGES or _widens_decimal(o, n)
        if self.type_changed and not lossless:
            return f"changes type of {self.table}.{n.column} from {o.type} to {n.type}"
        if self.old.nullable and not self.new.nullable:
            return f"sets NOT NULL on existing column {self.table}.{n.column}"
        return None

    def reverse(self) -> Op:
        return AlterColumn(self.namespace, self.table, self.new, self.old)


@dataclass(frozen=True, slots=True)
class AddCheck(Op):
    """A CHECK on a column.  ``existing_column``: the column already held rows, which the
    new check may reject (adding maxLength/enum/min/max narrows the allowed values)."""

    namespace: str
    table: str
    check: Check
    existing_column: bool = False

    @property
    def destructive(self) -> bool:
        return self.existing_column

    @property
    def reason(self) -> str | None:
        if self.existing_column:
            return (
                f"adds check {self.check.name} on existing column "
                f"{self.table}.{self.check.column}: fails if existing rows violate it"
            )
        return None

    def reverse(self) -> Op:
        return DropCheck(self.namespace, self.table, self.check)


@dataclass(frozen=True, slots=True)
class DropCheck(Op):
    namespace: str
    table: str
    check: Check

    def reverse(self) -> Op:
        return AddCheck(self.namespace, self.table, self.check, existing_column=True)


@dataclass(frozen=True, slots=True)
class AlterCheck(Op):
    """Replaces an enum/min/max check of one column (maxLength has its own operations).

    Destructive when the allowed values shrink: fewer enum values, a higher min, a lower max.
    """

    namespace: str
    table: str
    old: Check
    new: Check

    @property
    def destructive(self) -> bool:
        return self.reason is not None

    @property
    def reason(self) -> str | None:
        o, n = self.old, self.new
        narrower = False
        if o.kind != n.kind:
            narrower = True
        elif n.kind == "enum":
            narrower = not set(o.values) <= set(n.values)
        elif n.kind == "min":
            narrower = _num(n.values[0]) > _num(o.values[0])
        elif n.kind == "max":
            narrower = _num(n.values[0]) < _num(o.values[0])
        if narrower:
            return (
                f"narrows the {n.kind} check of {self.table}.{n.column}: "
                "fails if existing rows violate it"
            )
        return None

    def reverse(self) -> Op:
        return AlterCheck(self.namespace, self.table, self.new, self.old)


@dataclass(frozen=True, slots=True)
class NarrowMaxLength(Op):
    """Replaces a maxLength check with a smaller bound: existing rows may violate it."""

    namespace: str
    table: str
    old: Check
    new: Check

    @property
    def destructive(self) -> bool:
        return True

    @property
    def reason(self) -> str | None:
        return (
            f"narrows maxLength of {self.table}.{self.new.column} "
            f"from {self.old.values[0]} to {self.new.values[0]}"
        )

    def reverse(self) -> Op:
        return WidenMaxLength(self.namespace, self.table, self.new, self.old)


@dataclass(frozen=True, slots=True)
class WidenMaxLength(Op):
    namespace: str
    table: str
    old: Check
    new: Check

    def reverse(self) -> Op:
        return NarrowMaxLength(self.namespace, self.table, self.new, self.old)


@dataclass(frozen=True, slots=True)
class AddIndex(Op):
    """A plain index, or a UNIQUE constraint when ``index.unique``."""

    namespace: str
    table: str
    index: Index

    def reverse(self) -> Op:
        return DropIndex(self.namespace, self.table, self.index)


@dataclass(frozen=True, slots=True)
class DropIndex(Op):
    namespace: str
    table: str
    index: Index

    def reverse(self) -> Op:
        return AddIndex(self.namespace, self.table, self.index)


@dataclass(frozen=True, slots=True)
class RenameIndex(Op):
    """Same columns and uniqueness, new name (a table or column rename changes derived names)."""

    namespace: str
    table: str
    old: Index
    new: Index

    def reverse(self) -> Op:
        return RenameIndex(self.namespace, self.table, self.new, self.old)


@dataclass(frozen=True, slots=True)
class RenameConstraint(Op):
    """A primary key, check or foreign key keeps its definition under a new name."""

    namespace: str
    table: str
    old: str
    new: str

    def reverse(self) -> Op:
        return RenameConstraint(self.namespace, self.table, self.new, self.old)


@dataclass(frozen=True, slots=True)
class AddPrimaryKey(Op):
    """The primary key of an existing table changes columns (after a DropPrimaryKey)."""

    namespace: str
    table: str
    name: str
    columns: tuple[str, ...]

    @property
    def destructive(self) -> bool:
        return True

    @property
    def reason(self) -> str | None:
        cols = ", ".join(self.columns)
        return f"sets primary key ({cols}) on existing table {self.table}: fails on duplicates"

    def reverse(self) -> Op:
        return DropPrimaryKey(self.namespace, self.table, self.name, self.columns)


@dataclass(frozen=True, slots=True)
class DropPrimaryKey(Op):
    namespace: str
    table: str
    name: str
    columns: tuple[str, ...]

    def reverse(self) -> Op:
        return AddPrimaryKey(self.namespace, self.table, self.name, self.columns)


@dataclass(frozen=True, slots=True)
class AddForeignKey(Op):
    namespace: str
    table: str
    fk: ForeignKey
    existing_table: bool = False  # NOT VALID + VALIDATE on a table that may hold rows

    def reverse(self) -> Op:
        return DropForeignKey(self.namespace, self.table, self.fk, self.existing_table)


@dataclass(frozen=True, slots=True)
class DropForeignKey(Op):
    namespace: str
    table: str
    fk: ForeignKey
    existing_table: bool = False

    def reverse(self) -> Op:
        return AddForeignKey(self.namespace, self.table, self.fk, self.existing_table)


@dataclass(frozen=True, slots=True)
class SetTableComment(Op):
    namespace: str
    table: str
    old: str | None
    new: str | None

    def reverse(self) -> Op:
        return SetTableComment(self.namespace, self.table, self.new, self.old)


@dataclass(frozen=True, slots=True)
class SetColumnComment(Op):
    namespace: str
    table: str
    column: str
    old: str | None
    new: str | None

    def reverse(self) -> Op:
        return SetColumnComment(self.namespace, self.table, self.column, self.new, self.old)


def _num(value: object) -> float:
    return float(value)  # type: ignore[arg-type]


def _widens_decimal(o: Field, n: Field) -> bool:
    if o.type != "decimal" or n.type != "decimal":
        return False
    if o.precision is None or n.precision is None:
        return n.precision is None
    os_, ns_ = o.scale or 0, n.scale or 0
    return ns_ >= os_ and (n.precision - ns_) >= (o.precision - os_)


@cache
def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value) if f.name != "loc"}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
