"""The SQL on a real PostgreSQL: it applies, and migrations reach what a fresh create makes.

The golden rule: applying v1, then the migration v1 -> v2, then v2 -> v3 gives the same
catalog (columns with types, nullability, defaults, identity and comments; constraints;
indexes) as creating v3 from nothing, and each down.sql gives back the catalog before its
migration.
"""

from __future__ import annotations

import dataclasses
import itertools

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evolution_cases import CASES, EXTERNAL_DDL, Version
from factories import (
    Ref,
    apply_sql,
    belongs_to,
    catalog,
    diff_catalogs,
    drop_schemas,
    entity,
    evolve,
    field,
    packages,
)
from schemactl.model import FIELD_TYPES, Entity
from schemactl.plan import PackageOps, full_create, order_migrations, plan_package
from schemactl.sql import parse_check, render_create, render_down, render_up
from schemactl.sql.columns import default_sql, is_identity, pg_type
from schemactl.sql.render import render_statements

pytestmark = pytest.mark.postgres


def _externals(url: str) -> None:
    apply_sql(url, EXTERNAL_DDL)


def _migration(old: Version, new: Version) -> list[PackageOps]:
    namespaces = sorted(old.keys() | new.keys())
    return order_migrations(
        [
            PackageOps(ns, plan_package(old.get(ns, []), new.get(ns, []), namespace=ns))
            for ns in namespaces
        ]
    )


def _apply_up(url: str, plans: list[PackageOps]) -> None:
    for p in plans:
        script = render_up(p.ops)
        parse_check(script)
        apply_sql(url, render_statements(p.ops))


def _apply_down(url: str, plans: list[PackageOps]) -> None:
    for p in reversed(plans):
        script = render_down(p.ops)
        parse_check(script)
        apply_sql(url, script)  # the whole script at once, as a file would be run


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_rule(pg_db: str, case: str) -> None:
    versions = CASES[case]()
    _externals(pg_db)
    empty: Version = {}
    previous = empty
    before = catalog(pg_db)
    for version in versions:
        plans = _migration(previous, version)
        assert any(p.ops for p in plans), "each version of a case changes something"
        _apply_up(pg_db, plans)
        after = catalog(pg_db)
        # down.sql restores the previous catalog, and up applies again on top of it
        _apply_down(pg_db, plans)
        assert diff_catalogs(catalog(pg_db), before) == []
        _apply_up(pg_db, plans)
        assert diff_catalogs(catalog(pg_db), after) == []
        previous, before = version, after

    # A fresh create of the last version gives the same catalog as the chain.
    chained = catalog(pg_db)
    drop_schemas(pg_db, previous)
    fresh = [PackageOps(ns, full_create(es, ns)) for ns, es in previous.items()]
    _apply_up(pg_db, order_migrations(fresh))
    assert diff_catalogs(catalog(pg_db), chained) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_migrations_keep_rows(pg_db: str, case: str) -> None:
    """v1 -> v2 on tables holding rows: renames keep data, types convert where safe."""
    versions = CASES[case]()
    _externals(pg_db)
    _apply_up(pg_db, _migration({}, versions[0]))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        for ns, entities in versions[0].items():
            for e in entities:
                if e.foreign_keys:
                    continue
                cols = [f for f in e.fields if default_sql(f) is None and not is_identity(f)]
                values = [_sample(f.type) for f in cols]
                names = ", ".join(f'"{f.column}"' for f in cols)
                marks = ", ".join("%s" for _ in cols)
                sql = f'INSERT INTO "{ns}"."{e.table}" ({names}) VALUES ({marks})'
                if not cols:
                    sql = f'INSERT INTO "{ns}"."{e.table}" DEFAULT VALUES'
                conn.execute(sql, values)  # type: ignore[arg-type]
    if case == "types":  # text -> int of 'x' cannot work: that change is flagged destructive
        plans = _migration(versions[0], versions[1])
        assert any(op.destructive for p in plans for op in p.ops)
        return
    _apply_up(pg_db, _migration(versions[0], versions[1]))


def _sample(t: str) -> object:
    return {
        "string": "abc",
        "text": "abc",
        "cuid": "c1",
        "int": 1,
        "bigint": 2,
        "float": 1.5,
        "decimal": 2,
        "boolean": True,
        "uuid": "00000000-0000-0000-0000-000000000002",
        "json": '{"a": 1}',
        "datetime": "2021-01-01T00:00:00Z",
        "date": "2021-01-01",
        "bytes": b"\x01",
    }[t]


def test_every_type_change_applies(pg_db: str) -> None:
    """ALTER COLUMN TYPE ... USING works for every pair of field types (empty table)."""
    ns = "retype"
    pairs = [(a, b) for a, b in itertools.product(FIELD_TYPES, FIELD_TYPES) if a != b]
    old = entity(
        "Matrix",
        [field("id", "int", primary=True)]
        + [
            field(f"c{i}", a, precision=6 if a == "decimal" else None)
            for i, (a, _) in enumerate(pairs)
        ],
        namespace=ns,
    )
    new = entity(
        "Matrix",
        [field("id", "int", primary=True)]
        + [
            field(f"c{i}", b, precision=6 if b == "decimal" else None)
            for i, (_, b) in enumerate(pairs)
        ],
        namespace=ns,
    )
    apply_sql(pg_db, render_statements(full_create([old], ns)))
    ops = plan_package([old], [new], namespace=ns)
    apply_sql(pg_db, render_statements(ops))
    cols = catalog(pg_db, schemas=[ns])["columns"]
    for i in range(len(pairs)):
        want = pg_type(new.fields[i + 1]).replace("timestamptz", "timestamp with time zone")
        assert cols[(ns, new.table, f"c{i}")][0] == want.replace(", ", ",")


SAFE_VALUES = {
    ("int", "bigint"): (5, 5),
    ("int", "float"): (5, 5.0),
    ("string", "int"): ("42", 42),
    ("int", "boolean"): (1, True),
    ("boolean", "bigint"): (True, 1),
    ("float", "boolean"): (0.0, False),
    ("string", "json"): ('{"a": [1]}', {"a": [1]}),
    ("json", "string"): ('"plain"', "plain"),
    ("json", "int"): ("7", 7),
    ("int", "json"): (3, 3),
    ("date", "datetime"): ("2020-05-06", None),
    ("string", "uuid"): ("00000000-0000-0000-0000-000000000003", None),
}


@pytest.mark.parametrize("pair", sorted(SAFE_VALUES))
def test_type_change_converts_rows(pg_db: str, pair: tuple[str, str]) -> None:
    a, b = pair
    before, after = SAFE_VALUES[pair]
    ns = "conv"
    old = entity("Row", [field("id", "int", primary=True), field("v", a)], namespace=ns)
    new = entity("Row", [field("id", "int", primary=True), field("v", b)], namespace=ns)
    apply_sql(pg_db, render_statements(full_create([old], ns)))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute('INSERT INTO "conv"."rows" VALUES (1, %s)', [before])
    apply_sql(pg_db, render_up(plan_package([old], [new], namespace=ns)))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        row = conn.execute('SELECT "v" FROM "conv"."rows"').fetchone()
    assert row is not None
    if after is not None:
        assert row[0] == after


def test_fk_cycle_across_namespaces(pg_db: str) -> None:
    """a.x -> b.y and b.y -> a.x: each package's migration in its own transaction."""
    a0 = entity(
        "Alpha",
        [field("id", "int", primary=True), field("betaId", "int")],
        namespace="a",
        package="a",
    )
    b0 = entity(
        "Beta",
        [field("id", "int", primary=True), field("alphaId", "int")],
        namespace="b",
        package="b",
    )
    alpha = entity(
        "Alpha",
        list(a0.fields),
        namespace="a",
        package="a",
        relations=[belongs_to("beta", "betaId", b0, on_delete="SetNull")],
    )
    beta = entity(
        "Beta",
        list(b0.fields),
        namespace="b",
        package="b",
        relations=[belongs_to("alpha", "alphaId", a0, on_delete="Cascade")],
    )
    plans = order_migrations(
        [PackageOps("a", full_create([alpha], "a")), PackageOps("b", full_create([beta], "b"))]
    )
    _apply_up(pg_db, plans)
    cons = catalog(pg_db)["constraints"]
    assert ("a", "alphas", "fk_alphas_beta_id") in cons
    assert ("b", "betas", "fk_betas_alpha_id") in cons
    _apply_down(pg_db, plans)
    assert catalog(pg_db)["schemas"] == ["public"]

    # The same as one script (preview / render_create).
    script = render_create([("b", [beta]), ("a", [alpha])])
    parse_check(script)
    apply_sql(pg_db, script)
    assert ("b", "betas", "fk_betas_alpha_id") in catalog(pg_db)["constraints"]


def test_self_reference_and_cycle_within_package(pg_db: str) -> None:
    ns = "tree"
    node0 = entity("Node", [field("id", "uuid", primary=True, generated=True)], namespace=ns)
    leaf0 = entity("Leaf", [field("id", "int", primary=True, generated=True)], namespace=ns)
    node = entity(
        "Node",
        [
            field("id", "uuid", primary=True, generated=True),
            field("parentId", "uuid"),
            field("leafId", "int"),
        ],
        namespace=ns,
        relations=[
            belongs_to("parent", "parentId", "Node", on_delete="Cascade"),
            belongs_to("leaf", "leafId", leaf0, on_delete="SetNull"),
        ],
    )
    leaf = entity(
        "Leaf",
        [field("id", "int", primary=True, generated=True), field("nodeId", "uuid", required=True)],
        namespace=ns,
        relations=[belongs_to("node", "nodeId", node0, on_delete="Restrict")],
    )
    ops = full_create([node, leaf], ns)
    apply_sql(pg_db, render_up(ops))
    cons = catalog(pg_db, schemas=[ns])["constraints"]
    kinds = sorted(v[0] for v in cons.values())
    assert kinds == ["f", "f", "f", "p", "p"]
    apply_sql(pg_db, render_down(ops))
    assert catalog(pg_db, schemas=[ns])["tables"] == {}


def test_generated_values_and_defaults_work(pg_db: str) -> None:
    ns = "gen"
    e = entity(
        "Thing",
        [
            field("id", "bigint", primary=True, generated=True),
            field("token", "uuid", generated=True, required=True),
            field("at", "datetime", default_now=True, required=True),
            field("kind", default="basic", enum=("basic", "pro")),
            field("data", "json", default='{"k": "it\'s"}'),
            field("n", "int", default=-3, min=-5, max=5),
            field("label", max_length=3),
        ],
        namespace=ns,
    )
    apply_sql(pg_db, render_up(full_create([e], ns)))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute('INSERT INTO "gen"."things" DEFAULT VALUES')
        row = conn.execute('SELECT id, token, kind, data, n FROM "gen"."things"').fetchone()
        assert row is not None
        assert row[0] == 1 and row[1] is not None and row[2] == "basic"
        assert row[3] == {"k": "it's"} and row[4] == -3
        for bad in ("kind = 'gold'", "n = 6", "label = 'abcd'"):
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(f'UPDATE "gen"."things" SET {bad}')  # type: ignore[arg-type]


def test_external_fk_and_reserved_names(pg_db: str) -> None:
    _externals(pg_db)
    user = Ref("User", "public", "users", "id")
    e = entity(
        "Select",
        [field("user", primary=True), field("order", required=True)],
        namespace="order",
        table="user",
        relations=[belongs_to("owner", "order", user, on_delete="Cascade")],
    )
    apply_sql(pg_db, render_up(full_create([e], "order")))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("INSERT INTO public.users VALUES ('u1')")
        conn.execute("""INSERT INTO "order"."user" VALUES ('x', 'u1')""")
        conn.execute("DELETE FROM public.users")
        assert conn.execute('SELECT count(*) FROM "order"."user"').fetchone() == (0,)


def test_renamed_table_entity_keeps_rows(pg_db: str) -> None:
    ns = "ren"
    v1 = entity(
        "Item", [field("id", "int", primary=True), field("title", required=True)], namespace=ns
    )
    v2 = dataclasses.replace(
        entity(
            "Item",
            [field("id", "int", primary=True), field("name", required=True, renamed_from="title")],
            namespace=ns,
            table="things",
        )
    )
    apply_sql(pg_db, render_up(full_create([v1], ns)))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("INSERT INTO ren.items VALUES (1, 'kept')")
    ops = plan_package([v1], [v2], namespace=ns)
    assert not any(op.destructive for op in ops)
    apply_sql(pg_db, render_up(ops))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        assert conn.execute("SELECT name FROM ren.things").fetchall() == [("kept",)]


def _entities(version: Version) -> list[Entity]:
    return [e for es in version.values() for e in es]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(packages(), packages(), st.integers(0, 1000))
def test_golden_rule_random_edits(
    pg_db: str, v1: list[Entity], v2: list[Entity], seed: int
) -> None:
    """Random packages and random edits between them (type changes, renames from hints,
    new/dropped entities, fields, checks, indexes, FKs): the migration reaches the fresh
    create of v2, and its down.sql gives back v1."""
    v2 = evolve(v1, v2, seed)
    ns = "hyp"
    drop_schemas(pg_db, [ns])
    _externals(pg_db)
    apply_sql(pg_db, render_statements(full_create(v1, ns)))
    first = catalog(pg_db, schemas=[ns])
    ops = plan_package(v1, v2, namespace=ns)
    parse_check(render_up(ops))
    apply_sql(pg_db, render_statements(ops))
    migrated = catalog(pg_db, schemas=[ns])
    apply_sql(pg_db, render_down(ops))
    assert diff_catalogs(catalog(pg_db, schemas=[ns]), first) == []
    drop_schemas(pg_db, [ns])
    apply_sql(pg_db, render_statements(full_create(v2, ns)))
    assert diff_catalogs(catalog(pg_db, schemas=[ns]), migrated) == []


def test_identity_added_to_a_populated_column_continues_after_its_values(pg_db: str) -> None:
    ns = "ident"
    v1 = entity("Ticket", [field("id", "int", primary=True), field("title")], namespace=ns)
    v2 = entity(
        "Ticket", [field("id", "int", primary=True, generated=True), field("title")], namespace=ns
    )
    apply_sql(pg_db, render_up(full_create([v1], ns)))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("INSERT INTO ident.tickets VALUES (1, 'a'), (7, 'b')")
    ops = plan_package([v1], [v2], namespace=ns)
    apply_sql(pg_db, render_up(ops))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        row = conn.execute("INSERT INTO ident.tickets (title) VALUES ('c') RETURNING id")
        assert row.fetchone() == (8,)
    apply_sql(pg_db, render_down(ops))
    apply_sql(pg_db, render_up(ops))  # again, with the sequence recreated
    with psycopg.connect(pg_db, autocommit=True) as conn:
        row = conn.execute("INSERT INTO ident.tickets (title) VALUES ('d') RETURNING id")
        assert row.fetchone() == (9,)
