"""The planner: the operations that take one package's approved entities to its current ones.

``plan_package(old, new, namespace=...)`` diffs two lists of entities of one package;
``full_create`` is the plan against nothing; ``order_migrations`` (``footprint``,
``migration_order``, ``break_cycle`` for a caller that plans in two passes) orders the plans of
several packages so that referenced tables exist first and breaks foreign-key cycles.

Rules (SPEC §8, docs/sql.md):

- Entities match by name, fields by name.  A field whose ``renamed_from`` names a field of
  the old entity that the new one no longer has is a column rename; nothing else is ever
  guessed to be a rename.  A changed table (column) name of the same entity (field) is a
  table (column) rename.
- Indexes, checks, foreign keys and the primary key are compared by their definition after
  those renames.  The same definition under a new name (derived names follow table and
  column names) is renamed in place; a changed definition is dropped and added again.
- Only what PostgreSQL stores counts: ``string`` -> ``text`` changes nothing in SQL.

Operations come in phases, so every statement finds what it needs: drops of foreign keys,
indexes, checks, primary keys, columns and tables; then renames; column alterations; then
creates of tables, columns, primary keys, checks, indexes, foreign keys; then comments.
Within a phase entities go by name and their parts by name, except columns, which keep the
order of the file.  The result depends only on the content, never on the order of fields,
indexes, relations or entities in the file.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import NamedTuple, TypeVar

from .model import Check, Entity, Field, ForeignKey, Index
from .ops import (
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
from .sql.columns import column_signature, pg_type

__all__ = ["PackageOps", "full_create", "order_migrations", "plan_package"]

# Phases, in execution order.
(
    SCHEMA,
    DROP_FK,
    DROP_INDEX,
    DROP_CHECK,
    DROP_PK,
    DROP_COLUMN,
    DROP_TABLE,
    RENAME_TABLE,
    RENAME_COLUMN,
    RENAME_OBJECT,
    ALTER_COLUMN,
    CREATE_TABLE,
    ADD_COLUMN,
    ADD_PK,
    ADD_CHECK,
    ADD_INDEX,
    ADD_FK,
    COMMENT,
) = range(18)

_TableKey = tuple[str, str]  # (namespace, table)


class _Renames(NamedTuple):
    """How an old entity's table and columns are called after this migration's renames."""

    table: str
    columns: dict[str, str]  # old column -> new column (absent: dropped)


def full_create(entities: Sequence[Entity], namespace: str) -> list[Op]:
    """Everything needed to create these entities from nothing (schema first)."""
    return plan_package((), entities, namespace=namespace)


def plan_package(old: Sequence[Entity], new: Sequence[Entity], *, namespace: str) -> list[Op]:
    """The operations that turn ``old`` (the approved entities, empty at first) into ``new``."""
    phases: list[list[Op]] = [[] for _ in range(COMMENT + 1)]
    if not old and new:
        phases[SCHEMA].append(CreateSchema(namespace))
    old_by = {e.name: e for e in old}
    new_by = {e.name: e for e in new}

    pairs = [(old_by[n], new_by[n]) for n in sorted(old_by.keys() & new_by.keys())]
    renames: dict[_TableKey, _Renames] = {}
    retyped: set[tuple[str, str, str]] = set()  # (namespace, new table, new column)
    field_pairs: dict[str, list[tuple[Field, Field]]] = {}
    for o, n in pairs:
        matched = _match_fields(o, n)
        field_pairs[n.name] = matched
        renames[(o.namespace, o.table)] = _Renames(
            n.table, {of.column: nf.column for of, nf in matched}
        )
        for of, nf in matched:
            if pg_type(of) != pg_type(nf):
                retyped.add((n.namespace, n.table, nf.column))

    for name in sorted(old_by.keys() - new_by.keys()):
        _drop_entity(old_by[name], phases)
    for o, n in pairs:
        _alter_entity(o, n, field_pairs[n.name], renames, retyped, phases)
    for name in sorted(new_by.keys() - old_by.keys()):
        _create_entity(new_by[name], phases)
    return [op for phase in phases for op in phase]


# --------------------------------------------------------------------------- entities


def _create_entity(e: Entity, phases: list[list[Op]]) -> None:
    ns, t = e.namespace, e.table
    phases[CREATE_TABLE].append(CreateTable(e))
    phases[ADD_INDEX].extend(AddIndex(ns, t, i) for i in _by_name(e.indexes))
    phases[ADD_FK].extend(AddForeignKey(ns, t, fk) for fk in _by_name(e.foreign_keys))


def _drop_entity(e: Entity, phases: list[list[Op]]) -> None:
    # Indexes and FKs are dropped explicitly so that the reverse (down) re-creates them.
    ns, t = e.namespace, e.table
    phases[DROP_FK].extend(
        DropForeignKey(ns, t, fk, existing_table=True) for fk in _by_name(e.foreign_keys)
    )
    phases[DROP_INDEX].extend(DropIndex(ns, t, i) for i in _by_name(e.indexes))
    phases[DROP_TABLE].append(DropTable(e))


def _match_fields(o: Entity, n: Entity) -> list[tuple[Field, Field]]:
    """(old, new) pairs: same name, or a ``renamed_from`` hint naming a vanished old field."""
    old_by = {f.name: f for f in o.fields}
    new_names = {f.name for f in n.fields}
    used: set[str] = set()
    pairs: list[tuple[Field, Field]] = []
    for f in n.fields:
        src = None
        if f.name in old_by:
            src = f.name
        elif (
            f.renamed_from
            and f.renamed_from in old_by
            and f.renamed_from not in new_names
            and f.renamed_from not in used
        ):
            src = f.renamed_from
        if src is not None:
            used.add(src)
            pairs.append((old_by[src], f))
    return pairs


def _alter_entity(
    o: Entity,
    n: Entity,
    matched: list[tuple[Field, Field]],
    renames: dict[_TableKey, _Renames],
    retyped: set[tuple[str, str, str]],
    phases: list[list[Op]],
) -> None:
    ns, old_t, t = n.namespace, o.table, n.table
    cmap = renames[(o.namespace, o.table)].columns
    if old_t != t:
        phases[RENAME_TABLE].append(RenameTable(ns, old_t, t))

    # Columns.
    matched_old = {of.name for of, _ in matched}
    matched_new = {nf.name for _, nf in matched}
    for f in sorted(o.fields, key=lambda f: f.name):
        if f.name not in matched_old:
            phases[DROP_COLUMN].append(DropColumn(ns, old_t, f))
    new_columns: set[str] = set()
    for f in n.fields:
        if f.name not in matched_new:
            phases[ADD_COLUMN].append(AddColumn(ns, t, f))
            new_columns.add(f.column)
    for of, nf in sorted(matched, key=lambda p: p[1].name):
        if of.column != nf.column:
            phases[RENAME_COLUMN].append(RenameColumn(ns, t, of.column, nf.column))
        if column_signature(of) != column_signature(nf):
            moved = dataclasses.replace(of, column=nf.column)
            phases[ALTER_COLUMN].append(AlterColumn(ns, t, moved, nf))
        if (of.description or None) != (nf.description or None):
            phases[COMMENT].append(
                SetColumnComment(ns, t, nf.column, of.description, nf.description)
            )

    # Primary key.
    old_pk = tuple(cmap.get(c) for c in o.pk_columns)
    if old_pk != n.pk_columns:
        phases[DROP_PK].append(DropPrimaryKey(ns, old_t, o.pk_name, o.pk_columns))
        phases[ADD_PK].append(AddPrimaryKey(ns, t, n.pk_name, n.pk_columns))
    elif o.pk_name != n.pk_name:
        phases[RENAME_OBJECT].append(RenameConstraint(ns, t, o.pk_name, n.pk_name))

    _diff_checks(o, n, cmap, new_columns, retyped, phases)
    _diff_indexes(o, n, cmap, phases)
    _diff_foreign_keys(o, n, cmap, renames, retyped, phases)

    if (o.description or None) != (n.description or None):
        phases[COMMENT].append(SetTableComment(ns, t, o.description, n.description))


def _diff_checks(
    o: Entity,
    n: Entity,
    cmap: dict[str, str],
    new_columns: set[str],
    retyped: set[tuple[str, str, str]],
    phases: list[list[Op]],
) -> None:
    """Checks match by (column, kind): each column has at most one check of each kind."""
    ns, old_t, t = n.namespace, o.table, n.table
    old_by: dict[tuple[str, str], tuple[Check, Check]] = {}
    for c in _by_name(o.checks):
        col = cmap.get(c.column)
        if col is None:
            phases[DROP_CHECK].append(DropCheck(ns, old_t, c))
        else:
            old_by[(col, c.kind)] = (c, dataclasses.replace(c, column=col))
    new_by: dict[tuple[str, str], Check] = {(c.column, c.kind): c for c in n.checks}
    for key in sorted(old_by.keys() | new_by.keys()):
        pair, nc = old_by.get(key), new_by.get(key)
        if pair is None:
            assert nc is not None
            existing = nc.column not in new_columns
            phases[ADD_CHECK].append(AddCheck(ns, t, nc, existing_column=existing))
            continue
        oc, om = pair
        if nc is None:
            phases[DROP_CHECK].append(DropCheck(ns, old_t, oc))
        elif om == nc:
            continue
        elif (ns, t, nc.column) in retyped:
            # The old check may not survive the type change: drop it first, add it after.
            phases[DROP_CHECK].append(DropCheck(ns, old_t, oc))
            phases[ADD_CHECK].append(AddCheck(ns, t, nc, existing_column=True))
        elif tuple(om.values) == tuple(nc.values):
            phases[RENAME_OBJECT].append(RenameConstraint(ns, t, om.name, nc.name))
        elif nc.kind == "max_length":
            if _num(nc.values[0]) < _num(om.values[0]):
                phases[ADD_CHECK].append(NarrowMaxLength(ns, t, om, nc))
            else:
                phases[ADD_CHECK].append(WidenMaxLength(ns, t, om, nc))
        else:
            phases[ADD_CHECK].append(AlterCheck(ns, t, om, nc))


def _diff_indexes(o: Entity, n: Entity, cmap: dict[str, str], phases: list[list[Op]]) -> None:
    ns, old_t, t = n.namespace, o.table, n.table

    def old_def(i: Index) -> Hashable | None:
        cols = tuple(cmap.get(c) for c in i.columns)
        return None if None in cols else (cols, i.unique)

    def moved(i: Index) -> Index:
        return dataclasses.replace(i, columns=tuple(cmap[c] for c in i.columns))

    _diff_named(
        o.indexes,
        n.indexes,
        old_def,
        lambda i: (i.columns, i.unique),
        drop=lambda i: phases[DROP_INDEX].append(DropIndex(ns, old_t, i)),
        add=lambda i: phases[ADD_INDEX].append(AddIndex(ns, t, i)),
        rename=lambda a, b: phases[RENAME_OBJECT].append(RenameIndex(ns, t, moved(a), b)),
    )


def _diff_foreign_keys(
    o: Entity,
    n: Entity,
    cmap: dict[str, str],
    renames: dict[_TableKey, _Renames],
    retyped: set[tuple[str, str, str]],
    phases: list[list[Op]],
) -> None:
    ns, old_t, t = n.namespace, o.table, n.table

    def touches_retyped(fk: ForeignKey) -> bool:
        return any((ns, t, c) in retyped for c in fk.columns) or any(
            (fk.ref_namespace, fk.ref_table, c) in retyped for c in fk.ref_columns
        )

    def old_def(fk: ForeignKey) -> Hashable | None:
        cols = tuple(cmap.get(c) for c in fk.columns)
        ref = renames.get((fk.ref_namespace, fk.ref_table))
        ref_table, ref_cols = fk.ref_table, fk.ref_columns
        if ref is not None:
            ref_table = ref.table
            ref_cols = tuple(ref.columns.get(c, "") for c in fk.ref_columns)
        if None in cols:
            return None
        return (cols, fk.ref_namespace, ref_table, ref_cols, *_actions(fk))

    def new_def(fk: ForeignKey) -> Hashable:
        if touches_retyped(fk):  # re-created around the type change
            return ("retyped", fk.name)
        return (fk.columns, fk.ref_namespace, fk.ref_table, fk.ref_columns, *_actions(fk))

    _diff_named(
        o.foreign_keys,
        n.foreign_keys,
        old_def,
        new_def,
        drop=lambda fk: phases[DROP_FK].append(DropForeignKey(ns, old_t, fk, existing_table=True)),
        add=lambda fk: phases[ADD_FK].append(AddForeignKey(ns, t, fk, existing_table=True)),
        rename=lambda a, b: phases[RENAME_OBJECT].append(RenameConstraint(ns, t, a.name, b.name)),
    )


def _actions(fk: ForeignKey) -> tuple[str, str]:
    return (fk.on_delete or "NoAction", fk.on_update or "NoAction")


_N = TypeVar("_N", Index, ForeignKey)
_T = TypeVar("_T")


def _diff_named(
    old: Iterable[_N],
    new: Iterable[_N],
    old_def: Callable[[_N], Hashable | None],
    new_def: Callable[[_N], Hashable],
    *,
    drop: Callable[[_N], None],
    add: Callable[[_N], None],
    rename: Callable[[_N, _N], None],
) -> None:
    """Same name and definition: nothing.  A vanished name whose definition reappears under
    a new name: rename.  Everything else that differs: drop the old, add the new.

    ``old_def`` gives the old definition after this migration's renames, None when it can
    no longer exist (one of its columns is dropped).
    """
    old_by = {x.name: x for x in old}
    new_by = {x.name: x for x in new}
    kept: set[str] = set()
    for name, x in old_by.items():
        y = new_by.get(name)
        d = old_def(x)
        if y is not None and d is not None and d == new_def(y):
            kept.add(name)
    gone = [old_by[n] for n in sorted(old_by) if n not in kept]
    came = [new_by[n] for n in sorted(new_by) if n not in kept]
    pool: dict[Hashable, list[_N]] = defaultdict(list)
    for x in gone:
        d = old_def(x)
        if x.name not in new_by and d is not None:
            pool[d].append(x)
    renamed: set[str] = set()
    for y in came:
        if y.name in old_by:
            continue
        candidates = pool.get(new_def(y))
        if candidates:
            x = candidates.pop(0)
            rename(x, y)
            renamed.add(x.name)
            renamed.add(y.name)
    for x in gone:
        if x.name not in renamed:
            drop(x)
    for y in came:
        if y.name not in renamed:
            add(y)


def _by_name(items: Iterable[_T]) -> list[_T]:
    return sorted(items, key=lambda x: x.name)  # type: ignore[attr-defined]


def _num(value: object) -> float:
    return float(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- packages


class PackageOps(NamedTuple):
    """One package's migration: its id and its operations."""

    package: str
    ops: list[Op]


class Footprint(NamedTuple):
    """What ordering needs of one migration: the tables it creates (or renames into) and
    drops, and the tables its added and dropped foreign keys point at (in op order)."""

    creates: tuple[_TableKey, ...]
    drops: tuple[_TableKey, ...]
    fk_adds: tuple[_TableKey, ...]
    fk_drops: tuple[_TableKey, ...]


def footprint(ops: Sequence[Op]) -> Footprint:
    creates: list[_TableKey] = []
    drops: list[_TableKey] = []
    adds: list[_TableKey] = []
    fk_drops: list[_TableKey] = []
    for op in ops:
        if isinstance(op, CreateTable):
            creates.append((op.entity.namespace, op.entity.table))
        elif isinstance(op, RenameTable):
            creates.append((op.namespace, op.new))
        elif isinstance(op, DropTable):
            drops.append((op.entity.namespace, op.entity.table))
        elif isinstance(op, AddForeignKey):
            adds.append((op.fk.ref_namespace, op.fk.ref_table))
        elif isinstance(op, DropForeignKey):
            fk_drops.append((op.fk.ref_namespace, op.fk.ref_table))
    return Footprint(tuple(creates), tuple(drops), tuple(adds), tuple(fk_drops))


class Order(NamedTuple):
    """The application order of several migrations: groups of input indexes, each a
    single migration or a cycle (whose foreign keys ``break_cycle`` moves), and the
    table maps ``break_cycle`` needs."""

    groups: list[list[int]]
    creates: dict[_TableKey, int]
    drops: dict[_TableKey, int]


def migration_order(footprints: Sequence[Footprint]) -> Order:
    """The order of ``order_migrations`` from the migrations' footprints alone (so that
    a caller need not hold every migration's operations at once)."""
    creates: dict[_TableKey, int] = {}
    drops: dict[_TableKey, int] = {}
    for i, fp in enumerate(footprints):
        for t in fp.creates:
            creates[t] = i
        for t in fp.drops:
            drops[t] = i
    edges: dict[int, set[int]] = defaultdict(set)  # i -> j: i runs before j
    for j, fp in enumerate(footprints):
        for t in fp.fk_adds:
            src = creates.get(t)
            if src is not None and src != j:
                edges[src].add(j)
        for t in fp.fk_drops:
            src = drops.get(t)
            if src is not None and src != j:
                edges[j].add(src)
    components = _strongly_connected(len(footprints), edges)
    order = _topological(components, edges)
    return Order([sorted(comp) for comp in order], creates, drops)


def order_migrations(migrations: Sequence[PackageOps]) -> list[PackageOps]:
    """Order migrations of several packages so referenced tables exist before their FKs.

    A migration that adds a foreign key to a table another migration creates goes after it;
    one that drops a foreign key to a table another migration drops goes before it.  When
    migrations form a cycle (package a -> b -> a), they keep their input order and each
    foreign key that points forward in the cycle moves to the end of the cycle's last
    migration (and each such FK drop to the start of its first), so every table exists
    first.  Input order breaks ties; the result is deterministic.
    """
    items = [PackageOps(m.package, list(m.ops)) for m in migrations]
    order = migration_order([footprint(m.ops) for m in items])
    result: list[PackageOps] = []
    for members in order.groups:
        if len(members) > 1:
            break_cycle(items, members, order.creates, order.drops)
        result.extend(items[i] for i in members)
    return result


def break_cycle(
    items: Mapping[int, PackageOps] | Sequence[PackageOps],
    members: list[int],
    creates: dict[_TableKey, int],
    drops: dict[_TableKey, int],
) -> None:
    pos = {m: k for k, m in enumerate(members)}
    first, last = members[0], members[-1]
    tail: list[Op] = []
    head: list[Op] = []
    for m in members:
        keep: list[Op] = []
        for op in items[m].ops:
            if isinstance(op, AddForeignKey):
                src = creates.get((op.fk.ref_namespace, op.fk.ref_table))
                if src in pos and pos[src] > pos[m]:
                    tail.append(dataclasses.replace(op, existing_table=True))
                    continue
            elif isinstance(op, DropForeignKey):
                src = drops.get((op.fk.ref_namespace, op.fk.ref_table))
                if src in pos and pos[src] < pos[m]:
                    head.append(op)
                    continue
            keep.append(op)
        items[m].ops[:] = keep
    items[last].ops.extend(tail)
    items[first].ops[:0] = head


def _strongly_connected(n: int, edges: dict[int, set[int]]) -> list[frozenset[int]]:
    """Tarjan's algorithm, iterative."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[frozenset[int]] = []
    counter = 0
    for root in range(n):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                out.append(frozenset(comp))
    return out


def _topological(
    components: list[frozenset[int]], edges: dict[int, set[int]]
) -> list[frozenset[int]]:
    """Kahn's algorithm on the condensation; ready components go by their smallest member."""
    import heapq

    comp_of = {v: c for c, comp in enumerate(components) for v in comp}
    succ: dict[int, set[int]] = defaultdict(set)
    indeg = [0] * len(components)
    for i, js in edges.items():
        for j in js:
            a, b = comp_of[i], comp_of[j]
            if a != b and b not in succ[a]:
                succ[a].add(b)
                indeg[b] += 1
    ready = [(min(components[c]), c) for c in range(len(components)) if indeg[c] == 0]
    heapq.heapify(ready)
    order: list[frozenset[int]] = []
    while ready:
        _, c = heapq.heappop(ready)
        order.append(components[c])
        for d in succ[c]:
            indeg[d] -= 1
            if indeg[d] == 0:
                heapq.heappush(ready, (min(components[d]), d))
    return order
