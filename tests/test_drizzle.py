"""Drizzle output (issue 15): drizzle-kit generating from the modules creates, on a real
PostgreSQL, the same tables as schemactl's own SQL; the modules pass ``tsc --noEmit``
(strict); the output is deterministic; and the CLI writes and checks it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drizzle_check import assert_same_tables, tsc_check
from factories import Ref, belongs_to, entity, field, packages
from foundation_util import json_doc, run_cli, tree_hash
from pg import PgServer
from schemactl.drizzle import module_name, render_drizzle
from schemactl.model import Entity, Package, Project

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
USER = Ref("User", "public", "users", "id")
ACCOUNT = Ref("Account", "core", "accounts", "account_id")


def _project(*entities: Entity) -> Project:
    by_pkg: dict[str, list[Entity]] = {}
    for e in entities:
        by_pkg.setdefault(e.package, []).append(e)
    return Project(
        "/x",
        tuple(
            Package(
                pid,
                es[0].namespace,
                f"packages/{pid}",
                f"packages/{pid}/e.yaml",
                tuple(es),
                tuple(e.name for e in es),
            )
            for pid, es in by_pkg.items()
        ),
    )


def _shop() -> list[Entity]:
    """Every column type, default form, check kind and FK action, a composite key, a
    cycle between two packages, names that collide with drizzle's imports, and
    references to external tables in public and in another schema."""
    customer = entity(
        "Customer",
        [
            field("id", "bigint", primary=True, generated=True),
            field("email", required=True, unique=True, max_length=320),
            field("status", enum=("new", "it's", "back\\slash`${x}"), default="new"),
            field("note", "text", default="tab\there `tick` ${not} \\n"),
            field("accountId", "string", required=True),
            field("favouriteItemId", "int"),
            field("score", "float", min=-1.5, max=99.25, default=1e16),
            field("visits", "int", min=0, max=2_000_000_000, default=-7),
            field("big", "bigint", default=9_007_199_254_740_993),
            field("small", "bigint", default=42),
            field("balance", "decimal", precision=12, scale=4, default=0.1),
            field("ratio", "decimal", default=2.5),
            field("active", "boolean", required=True, default=True),
            field("token", "uuid", default="00000000-0000-4000-8000-000000000001"),
            field("key", "uuid", generated=True, required=True),
            field("prefs", "json", default='{"a": [1, "b\\\\c"], "q": "it\'s"}'),
            field("tags", "json", default="[]"),
            field("born", "date", default="2024-02-29"),
            field("seenAt", "datetime", default="2024-01-01T00:00:00Z"),
            field("createdAt", "datetime", required=True, default_now=True),
            field("photo", "bytes", description="raw */ bytes\nsecond line"),
            field("order", "int", column="order", index=True),
        ],
        namespace="sales",
        package="sales",
        indexes=[(["email", "visits"], True, "customer_email_visits"), (["born"], False)],
        relations=[belongs_to("account", "accountId", ACCOUNT, on_delete="Restrict")],
        description="A customer `with` ${odd} text",
    )
    text_table = entity(
        "Text",
        [
            field("id", "cuid", primary=True),
            field("customerId", "bigint", required=True),
            field("parentId", "cuid"),
            field("ownerId"),
        ],
        namespace="sales",
        package="sales",
        table="text",
        relations=[
            belongs_to("customer", "customerId", customer, on_delete="Cascade"),
            belongs_to("parent", "parentId", "Text", on_delete="SetNull", on_update="Cascade"),
            belongs_to("owner", "ownerId", USER, on_delete="SetDefault", on_update="NoAction"),
        ],
    )
    item = entity(
        "Item",
        [
            field("id", "int", primary=True, generated=True),
            field("customerId", "bigint"),
            field("textId", "cuid", required=True),
        ],
        namespace="catalog",
        package="catalog",
        table="customers",  # the same table name as sales.customers: an import alias
        relations=[
            belongs_to("customer", "customerId", customer, on_delete="NoAction"),
            belongs_to("text", "textId", text_table),
        ],
    )
    link = entity(
        "Link",
        [
            field("customerId", "bigint", primary=True),
            field("itemId", "int", primary=True),
            field("position", "int", required=True, default=0),
        ],
        namespace="catalog",
        package="catalog",
        table="t",
        indexes=[(["position", "itemId"], False, "link_position")],
        relations=[
            belongs_to("customer", "customerId", customer, on_delete="Cascade"),
            belongs_to("item", "itemId", item, on_delete="Cascade", on_update="Restrict"),
        ],
    )
    # sales.customers.favourite_item_id -> catalog.customers: a cycle between packages
    fav = belongs_to("favouriteItem", "favouriteItemId", item, on_delete="SetNull")
    customer = entity(
        "Customer",
        list(customer.fields),
        namespace="sales",
        package="sales",
        indexes=[(["email", "visits"], True, "customer_email_visits"), (["born"], False)],
        relations=[belongs_to("account", "accountId", ACCOUNT, on_delete="Restrict"), fav],
        description=customer.description,
    )
    # PostgreSQL shortens a long identity sequence name; drizzle-kit must be told
    long_name = entity(
        "Ledger",
        [
            field("entryNumberWithAVeryLongName", "bigint", primary=True, generated=True),
            field("seq", "int", generated=True, required=True),
        ],
        namespace="catalog",
        package="catalog",
        table="ledger_entries_kept_for_the_auditors_of_the_company",
    )
    return [customer, text_table, item, link, long_name]


# --------------------------------------------------------------------------- the proof


def _tsc(modules: dict[str, str]) -> None:
    ok, output = tsc_check(modules)
    assert ok, output


def test_shop_gives_the_same_tables_and_type_checks(pg_server: PgServer) -> None:
    modules = assert_same_tables(pg_server, _project(*_shop()))
    _tsc(modules)


def _load(root: Path) -> Project:
    from schemactl.project import load_project

    result = load_project(root)
    assert result.ok, [str(d) for d in result.diagnostics]
    return result.project


def test_examples_give_the_same_tables(pg_server: PgServer) -> None:
    project = _load(EXAMPLES)
    modules = assert_same_tables(pg_server, project)
    assert sorted(modules) == sorted(f"{p.id}.ts" for p in project.packages if p.owned)
    _tsc(modules)


def test_corpus_gives_the_same_tables(
    pg_server: PgServer, tmp_path: Path, corpus_dir: Path
) -> None:
    # json_script_example defines ValidationRule differently from package_validator (the
    # corpus's one real conflict, see test_corpus.py): the project is loaded without it.
    root = tmp_path / "corpus"
    shutil.copytree(corpus_dir, root / "packages")
    shutil.rmtree(root / "packages" / "json_script_example")
    (root / "schemactl.toml").write_text(
        '[external.User]\ntable = "public.users"\nkey = "id"\ntype = "string"\n\n'
        '[external.Tenant]\ntable = "public.tenants"\nkey = "id"\ntype = "string"\n'
    )
    project = _load(root)
    assert sum(len(p.owned) for p in project.packages) >= 50
    modules = assert_same_tables(pg_server, project)
    _tsc(modules)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.tuples(*(packages(f"hyp{i}") for i in range(6))))
def test_random_packages_give_the_same_tables(
    pg_server: PgServer, drawn: tuple[list[Entity], ...]
) -> None:
    project = Project(
        "/x",
        tuple(
            Package(
                f"hyp{i}",
                f"hyp{i}",
                f"p/{i}",
                f"p/{i}/e.yaml",
                tuple(es),
                tuple(e.name for e in es),
            )
            for i, es in enumerate(drawn)
        ),
    )
    _tsc(assert_same_tables(pg_server, project))


# --------------------------------------------------------------------------- the text


def test_module_shape() -> None:
    modules = render_drizzle(_project(*_shop()))
    assert sorted(modules) == ["catalog.ts", "sales.ts"]
    sales, cat = modules["sales.ts"], modules["catalog.ts"]
    assert 'export const salesSchema = pgSchema("sales");' in sales
    assert "export const customers = salesSchema.table(" in sales
    assert "export const textTable = salesSchema.table(" in sales  # `text` is an import
    assert "export const tTable = catalogSchema.table(" in cat  # `t` is the callback's
    assert 'id: bigint("id", { mode: "number" }).notNull().generatedByDefaultAsIdentity(),' in sales
    assert 'key: uuid("key").notNull().defaultRandom(),' in sales
    assert 'createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),' in (
        sales
    )
    assert 'balance: numeric("balance", { precision: 12, scale: 4 }).default(sql`0.1`),' in sales
    assert 'photo: bytea("photo"),' in sales and 'return "bytea";' in sales
    assert 'small: bigint("small", { mode: "number" }).default(42),' in sales
    assert 'big: bigint("big", { mode: "number" }).default(sql`9007199254740993`),' in sales
    assert 'primaryKey({ name: "pk_t", columns: [t.customerId, t.itemId] }),' in cat
    assert 'unique("customer_email_visits").on(t.email, t.visits),' in sales
    assert 'index("link_position").on(t.position, t.itemId),' in cat
    assert "check(\"ck_customers_status_enum\", sql`\"status\" IN ('new', 'it''s'," in sales
    assert (
        'foreignKey({ name: "fk_text_parent_id", columns: [t.parentId], '
        'foreignColumns: [t.id] }).onDelete("set null").onUpdate("cascade"),'
    ) in sales
    # cross-package references import the other module, aliased when the name is taken
    assert 'import { customers as salesCustomers, textTable } from "./sales";' in cat
    assert 'import { customers as catalogCustomers } from "./catalog";' in sales
    # external tables: module-private stubs, in public (pgTable) and in another schema
    assert 'const publicUsers = pgTable("users", {' in sales
    assert 'const coreSchemaStub = pgSchema("core"); // stub: not exported' in sales
    assert "export const publicUsers" not in sales and "export const coreAccounts" not in sales
    assert " * raw *\\/ bytes" in sales  # a description cannot end the comment early
    assert "export type Customer = typeof customers.$inferSelect;" in sales
    assert (
        'status: text("status", { enum: ["new", "it\'s", "back\\\\slash`${x}"] }).default("new"),'
        in (sales)
    )


def test_long_identity_sequence_gets_postgres_name() -> None:
    from schemactl.drizzle import identity_sequence

    cat = render_drizzle(_project(*_shop()))["catalog.ts"]
    name = "ledger_entries_kept_for_the_a_entry_number_with_a_very_long_seq"  # as PG names it
    assert (
        identity_sequence(
            "ledger_entries_kept_for_the_auditors_of_the_company",
            "entry_number_with_a_very_long_name",
        )
        == name
    )
    assert len(name) == 63
    assert f'.generatedByDefaultAsIdentity({{ name: "{name}" }}),' in cat
    assert 'seq: integer("seq").notNull().generatedByDefaultAsIdentity(),' in cat


def test_output_is_deterministic_and_independent_of_package_order() -> None:
    project = _project(*_shop())
    first = render_drizzle(project)
    assert render_drizzle(project) == first
    flipped = Project("/x", tuple(reversed(project.packages)))
    assert render_drizzle(flipped) == first


def test_only_one_package() -> None:
    project = _project(*_shop())
    only = render_drizzle(project, only={"catalog"})
    assert list(only) == ["catalog.ts"]
    assert only["catalog.ts"] == render_drizzle(project)["catalog.ts"]


def test_module_names_are_file_safe_and_distinct() -> None:
    assert module_name("@acme/billing") == "_acme_billing"
    assert module_name("..") == "_"
    a = entity("A", [field("id", primary=True)], namespace="a", package="x/y")
    b = entity("B", [field("id", primary=True)], namespace="b", package="x_y")
    c = entity("C", [field("id", primary=True)], namespace="c", package="X_Y")
    # distinct even on a case-insensitive file system; numbered in package id order
    assert sorted(render_drizzle(_project(a, b, c))) == ["X_Y.ts", "x_y2.ts", "x_y3.ts"]
    assert render_drizzle(_project(c, b, a)) == render_drizzle(_project(a, b, c))
    # a package id that is a reserved word in JavaScript is still a fine file name
    d = entity("D", [field("id", primary=True)], namespace="d", package="public")
    assert list(render_drizzle(_project(d))) == ["public.ts"]


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def approved(tmp_path: Path) -> Path:
    """A copy of examples/ with every package scanned and approved."""
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".schemactl", "migrations"))
    assert run_cli(root, "scan").exit_code == 0
    res = run_cli(root, "approve", "all", "--by", "admin@example.com")
    assert res.exit_code == 0, res.output
    return root


def test_generate_drizzle_writes_checks_and_removes(approved: Path) -> None:
    res = run_cli(approved, "generate", "--drizzle", "db/schema")
    assert res.exit_code == 0, res.output
    out = approved / "db" / "schema"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{p.name}.ts" for p in (approved / "packages").iterdir())
    assert render_drizzle(_load(approved)) == {n: (out / n).read_text() for n in names}
    first = tree_hash(out)
    assert run_cli(approved, "generate", "--drizzle", "db/schema").exit_code == 0
    assert tree_hash(out) == first  # byte-identical
    assert run_cli(approved, "generate", "--check", "--drizzle", "db/schema").exit_code == 0

    # a hand edit and a missing module are findings of --check; a user's own file is not
    (out / "auth.ts").write_text((out / "auth.ts").read_text() + "// edited\n")
    (out / "forum.ts").unlink()
    (out / "relations.ts").write_text("export {};\n")
    # a module generated for a package that is gone
    stale = (out / "settings.ts").read_text().replace('"settings"', '"gone"')
    (out / "gone.ts").write_text(stale)
    doc = json_doc(run_cli(approved, "--json", "generate", "--check", "--drizzle", "db/schema"))
    found = sorted((d["code"], d["file"], d["severity"]) for d in doc["diagnostics"])
    assert found == [
        ("SC606", "db/schema/auth.ts", "error"),
        ("SC606", "db/schema/forum.ts", "error"),
        ("SC870", "db/schema/gone.ts", "error"),
    ]
    res = run_cli(approved, "generate", "--check", "--drizzle", "db/schema")
    assert res.exit_code == 1
    assert "db/schema/gone.ts is a generated Drizzle module of no approved package" in res.output

    res = run_cli(approved, "generate", "--drizzle", "db/schema")
    assert res.exit_code == 0, res.output
    assert not (out / "gone.ts").exists()
    assert (out / "relations.ts").read_text() == "export {};\n"
    (out / "relations.ts").unlink()
    assert tree_hash(out) == first


def test_generate_drizzle_into_a_file_is_a_usage_error(approved: Path) -> None:
    (approved / "schema.ts").write_text("keep me\n")
    for extra in ((), ("--check",)):
        res = run_cli(approved, "generate", "--drizzle", "schema.ts", *extra)
        assert res.exit_code == 2, res.output
        assert "not a directory" in res.output and "Traceback" not in res.output
    assert (approved / "schema.ts").read_text() == "keep me\n"


def test_preview_drizzle_prints_one_module_and_touches_nothing(tmp_path: Path) -> None:
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root)
    before = tree_hash(root)
    res = run_cli(root, "preview", "forum", "--format", "drizzle")
    assert res.exit_code == 0, res.output
    assert res.stdout == render_drizzle(_load(root), only={"forum"})["forum.ts"]
    assert 'import { tenants } from "./auth";' in res.stdout
    doc = json_doc(run_cli(root, "--json", "preview", "forum", "--format", "drizzle"))
    assert doc["text"] == res.stdout
    assert tree_hash(root) == before


def test_entity_names_that_clash_with_names_the_module_uses(pg_server: PgServer) -> None:
    clash = entity(
        "Uint8Array",
        [field("id", "int", primary=True), field("data", "bytes", required=True)],
        namespace="public",
        package="blobs",
        table="bytea",
    )
    extra = entity(
        "PgTableExtraConfigValue",
        [
            field("id", "int", primary=True),
            field("sql", "text"),
            field("t", "int"),
            field("__proto__", "int", column="proto", required=True),
            field("constructor", "int"),
            field("getSQL", "text", column="get_sql"),
        ],
        namespace="public",
        package="blobs",
        table="sql",
        indexes=[(["sql", "t"], True), (["__proto__"], False)],
    )
    modules = render_drizzle(_project(clash, extra))
    text = modules["blobs.ts"]
    assert "export type Uint8ArrayRow = typeof byteaTable.$inferSelect;" in text
    assert "export type PgTableExtraConfigValueRow = typeof sqlTable.$inferSelect;" in text
    assert "export const byteaTable = pgTable(" in text  # public: no pgSchema("public")
    assert "pgSchema" not in text
    assert '__proto__Field: integer("proto").notNull(),' in text  # see drizzle._prop
    assert 'constructorField: integer("constructor"),' in text
    _tsc(modules)
    assert assert_same_tables(pg_server, _project(clash, extra)) == modules


def test_a_package_that_owns_nothing() -> None:
    """Tag is declared identically by a and b and owned by a: generate writes no module
    for b, and b's preview is a module with its schema only, which still type-checks."""
    a = entity("Tag", [field("id", primary=True)], namespace="a", package="a")
    b = entity("Tag", [field("id", primary=True)], namespace="b", package="b")
    project = Project(
        "/x",
        (
            Package("a", "a", "p/a", "p/a/e.yaml", (a,), ("Tag",)),
            Package("b", "b", "p/b", "p/b/e.yaml", (b,), ()),
        ),
    )
    assert list(render_drizzle(project)) == ["a.ts"]
    only_b = render_drizzle(project, only={"b"})
    assert list(only_b) == ["b.ts"]
    assert 'export const bSchema = pgSchema("b");' in only_b["b.ts"]
    assert ".table(" not in only_b["b.ts"]
    _tsc(only_b)
