"""The planner: what operations a change gives, in which order, and that nothing is guessed."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from factories import Ref, belongs_to, entity, evolve, field, packages, shuffled
from schemactl.model import Entity
from schemactl.ops import (
    AddCheck,
    AddColumn,
    AddForeignKey,
    AddIndex,
    AddPrimaryKey,
    AlterCheck,
    AlterColumn,
    CreateSchema,
    CreateTable,
    DropCheck,
    DropColumn,
    DropForeignKey,
    DropIndex,
    DropPrimaryKey,
    DropTable,
    NarrowMaxLength,
    Op,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
    SetColumnComment,
    SetTableComment,
    WidenMaxLength,
)
from schemactl.plan import PackageOps, full_create, order_migrations, plan_package

NS = "app"


def _item(**kw: object) -> Entity:
    fields = [
        field("id", "cuid", primary=True),
        field("title", required=True, max_length=100),
        field("status", enum=("a", "b"), default="a"),
        field("count", "int", default=0, min=0),
    ]
    return entity("Item", fields, namespace=NS, indexes=[(["title"], False)], **kw)  # type: ignore[arg-type]


def _kinds(ops: list[Op]) -> list[str]:
    return [op.kind for op in ops]


def test_first_migration_creates_schema_tables_then_indexes_then_fks() -> None:
    parent = entity("Parent", [field("id", "int", primary=True, generated=True)], namespace=NS)
    child = entity(
        "Child",
        [field("id", "uuid", primary=True, generated=True), field("parentId", "int")],
        namespace=NS,
        indexes=[(["parentId"], False)],
        relations=[belongs_to("parent", "parentId", parent, on_delete="Cascade")],
    )
    ops = full_create([child, parent], NS)
    assert _kinds(ops) == [
        "create_schema",
        "create_table",
        "create_table",
        "add_index",
        "add_foreign_key",
    ]
    assert isinstance(ops[0], CreateSchema) and ops[0].namespace == NS
    assert [op.entity.name for op in ops if isinstance(op, CreateTable)] == ["Child", "Parent"]
    fk = ops[-1]
    assert isinstance(fk, AddForeignKey) and not fk.existing_table
    assert not any(op.destructive for op in ops)


def test_no_schema_op_for_a_later_migration() -> None:
    a = _item()
    b = entity("Other", [field("id", primary=True)], namespace=NS)
    assert _kinds(plan_package([a], [a, b], namespace=NS)) == ["create_table"]


def test_same_entities_plan_nothing() -> None:
    assert plan_package([_item()], [_item()], namespace=NS) == []


def test_descriptions_become_comment_ops() -> None:
    old = _item()
    new = dataclasses.replace(
        _item(description="Things"),
        fields=tuple(
            dataclasses.replace(f, description="The title") if f.name == "title" else f
            for f in old.fields
        ),
    )
    ops = plan_package([old], [new], namespace=NS)
    assert ops == [
        SetColumnComment(NS, "items", "title", None, "The title"),
        SetTableComment(NS, "items", None, "Things"),
    ]


def test_added_and_dropped_columns() -> None:
    old = _item()
    fields = [f for f in old.fields if f.name != "count"] + [field("note", "text")]
    new = entity("Item", fields, namespace=NS, indexes=[(["title"], False)])
    ops = plan_package([old], [new], namespace=NS)
    assert _kinds(ops) == ["drop_check", "drop_column", "add_column"]
    drop = ops[1]
    assert isinstance(drop, DropColumn) and drop.destructive
    assert isinstance(ops[2], AddColumn) and not ops[2].destructive


def test_required_column_without_default_is_destructive() -> None:
    old = _item()
    new = entity(
        "Item",
        [*old.fields, field("code", required=True)],
        namespace=NS,
        indexes=[(["title"], False)],
    )
    (op,) = plan_package([old], [new], namespace=NS)
    assert isinstance(op, AddColumn) and op.destructive
    assert "without a default" in (op.reason or "")


def test_renames_only_from_hints() -> None:
    old = _item()
    # Same type, same flags, a new name, no hint: a drop and an add, never a guess.
    unhinted = [
        f if f.name != "title" else field("name", required=True, max_length=100) for f in old.fields
    ]
    ops = plan_package([old], [entity("Item", unhinted, namespace=NS)], namespace=NS)
    assert not any(isinstance(op, RenameColumn) for op in ops)
    assert any(isinstance(op, DropColumn) for op in ops)

    hinted = [
        f
        if f.name != "title"
        else field("name", required=True, max_length=100, renamed_from="title")
        for f in old.fields
    ]
    new = entity("Item", hinted, namespace=NS, indexes=[(["name"], False)])
    ops = plan_package([old], [new], namespace=NS)
    assert ops == [
        RenameColumn(NS, "items", "title", "name"),
        RenameConstraint(NS, "items", "ck_items_title_max_length", "ck_items_name_max_length"),
        RenameIndex(
            NS,
            "items",
            dataclasses.replace(old.indexes[0], columns=("name",)),
            new.indexes[0],
        ),
    ]
    assert not any(op.destructive for op in ops)


def test_stale_hint_is_ignored() -> None:
    """A renamedFrom left in the file after the rename was applied changes nothing."""
    e = entity(
        "Item", [field("id", primary=True), field("name", renamed_from="title")], namespace=NS
    )
    assert plan_package([e], [e], namespace=NS) == []


def test_table_rename_renames_derived_names() -> None:
    old = _item()
    new = _item(table="things")
    ops = plan_package([old], [new], namespace=NS)
    assert ops[0] == RenameTable(NS, "items", "things")
    assert {type(op) for op in ops[1:]} == {RenameConstraint, RenameIndex}
    assert RenameConstraint(NS, "things", "pk_items", "pk_things") in ops


def test_alter_column_only_when_sql_changes() -> None:
    old = entity("Item", [field("id", primary=True), field("a"), field("b", "int")], namespace=NS)
    new = entity(
        "Item",
        [field("id", primary=True), field("a", "text"), field("b", "bigint", required=True)],
        namespace=NS,
    )
    ops = plan_package([old], [new], namespace=NS)
    assert len(ops) == 1 and isinstance(ops[0], AlterColumn)  # string -> text: no SQL change
    assert ops[0].new.column == "b" and ops[0].destructive  # NOT NULL on existing column


def test_check_changes() -> None:
    old = _item()

    def with_(**changes: object) -> Entity:
        fields = []
        for f in old.fields:
            if f.name in ("title", "status", "count"):
                f = dataclasses.replace(f, **changes.get(f.name, {}))  # type: ignore[arg-type]
            fields.append(f)
        return entity("Item", fields, namespace=NS, indexes=[(["title"], False)])

    narrow = plan_package([old], [with_(title={"max_length": 50})], namespace=NS)
    assert len(narrow) == 1 and isinstance(narrow[0], NarrowMaxLength) and narrow[0].destructive
    widen = plan_package([old], [with_(title={"max_length": 500})], namespace=NS)
    assert len(widen) == 1 and isinstance(widen[0], WidenMaxLength) and not widen[0].destructive
    assert isinstance(widen[0].reverse(), NarrowMaxLength)

    more = plan_package([old], [with_(status={"enum": ("a", "b", "c")})], namespace=NS)
    assert len(more) == 1 and isinstance(more[0], AlterCheck) and not more[0].destructive
    fewer = plan_package([old], [with_(status={"enum": ("a",)})], namespace=NS)
    assert isinstance(fewer[0], AlterCheck) and fewer[0].destructive

    higher_min = plan_package([old], [with_(count={"min": 5})], namespace=NS)
    assert isinstance(higher_min[0], AlterCheck) and higher_min[0].destructive
    new_max = plan_package([old], [with_(count={"max": 9})], namespace=NS)
    assert isinstance(new_max[0], AddCheck) and new_max[0].existing_column
    assert new_max[0].destructive
    no_min = plan_package([old], [with_(count={"min": None})], namespace=NS)
    assert isinstance(no_min[0], DropCheck) and not no_min[0].destructive


def test_check_on_new_column_is_not_destructive() -> None:
    old = _item()
    new = entity(
        "Item",
        [*old.fields, field("kind", enum=("x", "y"))],
        namespace=NS,
        indexes=[(["title"], False)],
    )
    ops = plan_package([old], [new], namespace=NS)
    assert _kinds(ops) == ["add_column", "add_check"]
    assert not any(op.destructive for op in ops)


def test_index_definition_change_is_drop_and_add() -> None:
    old = _item()
    new = entity(
        "Item", old.fields, namespace=NS, indexes=[(["title", "status"], False, "idx_items_title")]
    )
    ops = plan_package([old], [new], namespace=NS)
    assert _kinds(ops) == ["drop_index", "add_index"]
    uq = entity("Item", old.fields, namespace=NS, indexes=[(["title"], True)])
    ops = plan_package([old], [uq], namespace=NS)
    assert [type(op) for op in ops] == [DropIndex, AddIndex]
    assert isinstance(ops[1], AddIndex) and ops[1].index.unique


def test_type_change_recreates_checks_and_fks_around_it() -> None:
    target = entity("Target", [field("id", "int", primary=True)], namespace=NS)
    target2 = entity("Target", [field("id", "bigint", primary=True)], namespace=NS)
    src = entity(
        "Src",
        [field("id", primary=True), field("tId", "int", min=1)],
        namespace=NS,
        relations=[belongs_to("t", "tId", target)],
    )
    src2 = entity(
        "Src",
        [field("id", primary=True), field("tId", "bigint", min=2)],
        namespace=NS,
        relations=[belongs_to("t", "tId", target2)],
    )
    ops = plan_package([src, target], [src2, target2], namespace=NS)
    assert _kinds(ops) == [
        "drop_foreign_key",
        "drop_check",
        "alter_column",
        "alter_column",
        "add_check",
        "add_foreign_key",
    ]
    fk = ops[-1]
    assert isinstance(fk, AddForeignKey) and fk.existing_table
    # An unchanged check survives a type change (PostgreSQL re-checks it)
    src3 = entity(
        "Src",
        [field("id", primary=True), field("tId", "bigint", min=1)],
        namespace=NS,
        relations=[belongs_to("t", "tId", target2)],
    )
    ops = plan_package([src, target], [src3, target2], namespace=NS)
    assert "drop_check" not in _kinds(ops)


def test_primary_key_change() -> None:
    old = entity("M", [field("a", primary=True), field("b", required=True)], namespace=NS)
    new = entity("M", [field("a", primary=True), field("b", primary=True)], namespace=NS)
    ops = plan_package([old], [new], namespace=NS)
    assert [type(op) for op in ops] == [DropPrimaryKey, AddPrimaryKey]
    assert ops[1] == AddPrimaryKey(NS, "ms", "pk_ms", ("a", "b"))
    assert ops[1].destructive


def test_dropped_entity_drops_fks_and_indexes_first_so_down_restores_them() -> None:
    old = _item()
    other = entity(
        "Other",
        [field("id", primary=True), field("itemId")],
        namespace=NS,
        relations=[belongs_to("item", "itemId", old)],
    )
    ops = plan_package([old, other], [old], namespace=NS)
    assert _kinds(ops) == ["drop_foreign_key", "drop_table"]
    assert isinstance(ops[1], DropTable) and ops[1].destructive
    down = [op.reverse() for op in reversed(ops)]
    assert _kinds(down) == ["create_table", "add_foreign_key"]


def test_fk_change_on_existing_table() -> None:
    user = Ref("User", "public", "users", "id")
    old = entity(
        "Doc",
        [field("id", primary=True), field("ownerId")],
        namespace=NS,
        relations=[belongs_to("owner", "ownerId", user, on_delete="Cascade")],
    )
    new = entity(
        "Doc",
        [field("id", primary=True), field("ownerId")],
        namespace=NS,
        relations=[belongs_to("owner", "ownerId", user, on_delete="SetNull")],
    )
    ops = plan_package([old], [new], namespace=NS)
    assert [type(op) for op in ops] == [DropForeignKey, AddForeignKey]
    assert isinstance(ops[1], AddForeignKey) and ops[1].existing_table
    # NoAction spelled out or left to the default is the same constraint
    a = entity("Doc", old.fields, namespace=NS, relations=[belongs_to("owner", "ownerId", user)])
    b = entity(
        "Doc",
        old.fields,
        namespace=NS,
        relations=[belongs_to("owner", "ownerId", user, on_delete="NoAction")],
    )
    assert plan_package([a], [b], namespace=NS) == []


def test_reverse_of_reverse_is_identity() -> None:
    ops = full_create([_item()], NS) + plan_package([_item()], [_item(table="x")], namespace=NS)
    assert [op.reverse().reverse() for op in ops] == ops


def test_to_dict_is_plain_json() -> None:
    import json

    old = _item()
    new = _item(table="x", description="d")
    for op in full_create([old], NS) + plan_package([old], [new], namespace=NS):
        d = op.to_dict()
        assert d["op"] == op.kind
        json.dumps(d)


# --------------------------------------------------------------------------- ordering


def _pkg(ns: str, *refs: Entity) -> Entity:
    fields = [field("id", "int", primary=True)] + [
        field(f"{r.name.lower()}Id", "int") for r in refs
    ]
    rels = [belongs_to(r.name.lower(), f"{r.name.lower()}Id", r) for r in refs]
    return entity(ns.capitalize(), fields, namespace=ns, package=ns, relations=rels)


def test_order_migrations_puts_referenced_packages_first() -> None:
    a = _pkg("a")
    b = _pkg("b", a)
    c = _pkg("c", b, a)
    plans = [PackageOps(p.namespace, full_create([p], p.namespace)) for p in (c, b, a)]
    assert [p.package for p in order_migrations(plans)] == ["a", "b", "c"]


def test_order_migrations_breaks_cycles_after_the_tables() -> None:
    a0, b0 = _pkg("a"), _pkg("b")
    a = _pkg("a", b0)
    b = _pkg("b", a0)
    plans = order_migrations(
        [PackageOps("b", full_create([b], "b")), PackageOps("a", full_create([a], "a"))]
    )
    assert [p.package for p in plans] == ["b", "a"]
    # b's FK to a's table moved to the end of a's migration, after a's table
    assert not any(isinstance(op, AddForeignKey) for op in plans[0].ops)
    kinds = _kinds(plans[1].ops)
    assert kinds[-2:] == ["add_foreign_key", "add_foreign_key"]
    moved = plans[1].ops[-1]
    assert isinstance(moved, AddForeignKey) and moved.namespace == "b" and moved.existing_table


def test_order_migrations_drop_cycle() -> None:
    a0, b0 = _pkg("a"), _pkg("b")
    a, b = _pkg("a", b0), _pkg("b", a0)
    plans = order_migrations(
        [
            PackageOps("a", plan_package([a], [], namespace="a")),
            PackageOps("b", plan_package([b], [], namespace="b")),
        ]
    )
    first = plans[0].ops
    assert _kinds(first)[:2] == ["drop_foreign_key", "drop_foreign_key"]


def test_order_is_stable_without_dependencies() -> None:
    plans = [PackageOps(n, full_create([_pkg(n)], n)) for n in ("z", "m", "a")]
    assert [p.package for p in order_migrations(plans)] == ["z", "m", "a"]


# --------------------------------------------------------------------------- properties


def _canon(ops: list[Op]) -> list[str]:
    """Ops with entities' parts in a fixed order (CreateTable carries whole entities)."""
    out = []
    for op in ops:
        if isinstance(op, CreateTable | DropTable):
            e = op.entity
            e = dataclasses.replace(
                e,
                fields=tuple(sorted(e.fields, key=lambda f: f.name)),
                indexes=tuple(sorted(e.indexes, key=lambda i: i.name)),
                checks=tuple(sorted(e.checks, key=lambda c: c.name)),
                relations=tuple(sorted(e.relations, key=lambda r: r.name)),
                foreign_keys=tuple(sorted(e.foreign_keys, key=lambda f: f.name)),
            )
            op = type(op)(e)
        out.append(repr(op))
    return out


@settings(max_examples=150, deadline=None)
@given(packages())
def test_plan_of_unchanged_is_empty(entities: list[Entity]) -> None:
    assert plan_package(entities, entities, namespace="hyp") == []


@settings(max_examples=150, deadline=None)
@given(packages(), st.integers(0, 1000))
def test_plan_ignores_order_of_fields_indexes_relations(entities: list[Entity], seed: int) -> None:
    mixed = [shuffled(e, seed) for e in entities]
    random.Random(seed).shuffle(mixed)
    assert plan_package(entities, mixed, namespace="hyp") == []
    assert plan_package(mixed, entities, namespace="hyp") == []
    assert _canon(full_create(mixed, "hyp")) == _canon(full_create(entities, "hyp"))


@settings(max_examples=150, deadline=None)
@given(packages(), packages(), st.integers(0, 1000))
def test_plan_is_order_independent_and_deterministic(
    old: list[Entity], new: list[Entity], seed: int
) -> None:
    new = evolve(old, new, seed)
    ops = plan_package(old, new, namespace="hyp")
    assert plan_package(old, new, namespace="hyp") == ops
    mixed_old = [shuffled(e, seed) for e in reversed(old)]
    mixed_new = [shuffled(e, seed + 1) for e in reversed(new)]
    again = plan_package(mixed_old, mixed_new, namespace="hyp")
    # Only added columns keep file order (they are appended in the order the file has).
    adds = [op for op in again if isinstance(op, AddColumn)]
    rest = [op for op in again if not isinstance(op, AddColumn)]
    assert _canon(rest) == _canon([op for op in ops if not isinstance(op, AddColumn)])
    assert sorted(map(repr, adds)) == sorted(repr(op) for op in ops if isinstance(op, AddColumn))
    # and the plan back is the mirror image in kind counts of create/drop
    creates = sum(isinstance(op, CreateTable) for op in ops)
    back = plan_package(new, old, namespace="hyp")
    assert sum(isinstance(op, DropTable) for op in back) == creates
