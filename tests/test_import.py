"""``schemactl import`` (issue 14, SPEC §16 first part) against a real PostgreSQL.

- a legacy film-rental database (tests/import_data/legacy.sql, in the style of the
  Sakila/Pagila sample): the round trip import -> scan -> approve -> generate -> apply to
  an empty database gives the same catalog; everything the format cannot say is a
  warning naming the object; ``--baseline`` makes apply a no-op, status drift-free and
  check green;
- examples/ and the real corpus: applied, imported back, every entity's checksum equals
  the original's modulo the documented renames (docs/import.md), and the imported files
  applied again give the same catalog;
- bad input: unreachable database (3), unknown schema (2), existing package (1, nothing
  written), names that are not identifiers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from deploy_util import cli, cli_json, codes, prepare
from foundation_util import tree_hash
from import_util import diff, expected_canonical, snapshot, strip_header
from pg import PgServer
from schemactl.checksum import digest
from schemactl.config import load_config
from schemactl.project import load_project

LEGACY_SQL = (Path(__file__).parent / "import_data" / "legacy.sql").read_text(encoding="utf-8")
CLEAN = ["inventory", "sales"]
ENTITIES = "seed/schema/entities.yaml"


@pytest.fixture
def legacy(pg_server: PgServer) -> Any:
    with pg_server.fresh_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(LEGACY_SQL)  # type: ignore[arg-type]
        yield url


def app_users(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.app_users (id text PRIMARY KEY, email text NOT NULL)")


def messages(doc: dict[str, Any], code: str) -> list[str]:
    return [d["message"] for d in doc["diagnostics"] if d["code"] == code]


def ok(root: Path, *args: str) -> None:
    proc = cli(root, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def adopt(root: Path, target: str) -> None:
    """scan, approve, generate, apply to ``target``: the imported files in use."""
    ok(root, "scan")
    ok(root, "approve", "all", "--by", "t")
    ok(root, "generate")
    ok(root, "apply", "--database-url", target)


# ----------------------------------------------------------------------------- legacy


def test_legacy_round_trip_gives_the_same_catalog(
    legacy: str, pg_server: PgServer, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    code, doc, _ = cli_json(
        root, "import", "--database-url", legacy, "--schema", "inventory", "--schema", "sales"
    )
    assert code == 0, doc
    assert doc["imported"] == CLEAN
    # the view, the function and the trigger are named, not dropped silently
    assert any("view inventory.film_list" in m for m in messages(doc, "SC750"))
    assert any("trigger film_touch on inventory.film" in m for m in messages(doc, "SC751"))
    assert any("inventory.touch_last_update()" in m for m in messages(doc, "SC752"))
    assert not [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert all(d["file"] == f"packages/{d['package']}/{ENTITIES}" for d in doc["diagnostics"])
    # the outside foreign keys target an [external] entry
    config = load_config(root)
    [ext] = config.externals
    assert (ext.name, ext.namespace, ext.table, ext.key, ext.type) == (
        "AppUser",
        "public",
        "app_users",
        "id",
        "string",
    )
    assert doc["externals"] == [
        {"name": "AppUser", "table": "public.app_users", "key": "id", "type": "string"}
    ]
    with pg_server.fresh_database() as target:
        app_users(target)
        adopt(root, target)
        # the one documented difference: a unique index comes back as a unique constraint
        # (of the same name and columns; `--baseline` converts it in place)
        want = snapshot(legacy, CLEAN)
        want["sales.customer"]["constraints"].append(
            ("u", "customer_name_uidx", "UNIQUE (last_name, first_name)")
        )
        want["sales.customer"]["constraints"].sort()
        assert diff(snapshot(target, CLEAN), want) == []
        # and importing the copy gives the same files: the mapping is a fixpoint
        again = tmp_path / "again"
        again.mkdir()
        code, doc2, _ = cli_json(
            again, "import", "--database-url", target, "--schema", "inventory", "--schema", "sales"
        )
        assert code == 0
        for s in CLEAN:
            a = (root / "packages" / s / ENTITIES).read_text(encoding="utf-8")
            b = (again / "packages" / s / ENTITIES).read_text(encoding="utf-8")
            assert strip_header(a) == strip_header(b)
        # the copy has schemactl's names already: nothing left to rename
        assert not messages(doc2, "SC761")


def test_legacy_import_reports_everything_it_cannot_say(
    legacy: str, pg_server: PgServer, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    code, doc, _ = cli_json(root, "import", "--database-url", legacy)
    assert code == 0, doc
    assert doc["imported"] == ["inventory", "legacy", "public", "sales"]  # never schemactl's
    expected = {
        "SC753": [
            "legacy.actor.first_name: character varying(45) becomes text with a length check",
            "legacy.actor.age: smallint becomes integer",
            "legacy.actor.actor_id is serial",
            "legacy.actor.last_update: timestamp without time zone becomes timestamp with",
            "domain legacy.year becomes its base type integer",
            "enum type legacy.mpaa_rating becomes text with a CHECK",
            "legacy.actor.tags: array type text[] becomes json",
            "legacy.actor.fulltext: type tsvector has no entities.yaml type",
        ],
        "SC757": ["legacy.actor.token: DEFAULT (md5"],
        "SC755": ["index idx_actor_last_name_lower", "index idx_actor_recent"],
        "SC754": ["check film_actor_distinct on legacy.film_actor"],
        "SC756": ["foreign key pair_ref_a_b_fkey on legacy.pair_ref is not imported: a composite"],
        "SC758": [
            "table legacy.no_key is not imported: it has no primary key",
            "table 'legacy.Weird Table' is not imported",
        ],
        "SC759": ["column 'legacy.actor.Nick Name' is not imported"],
        "SC760": ["table legacy.payment_p is partitioned", "legacy.payment_p2022"],
        "SC750": ["materialized view legacy.actor_count", "view inventory.film_list"],
        "SC763": ["domain legacy.year is not imported", "enum type legacy.mpaa_rating"],
        "SC761": ["primary key film_pkey on inventory.film: schemactl names it pk_film"],
        "SC762": ["primary key film_actor_pkey on legacy.film_actor is (film_id, actor_id)"],
    }
    for code_, parts in expected.items():
        got = messages(doc, code_)
        for part in parts:
            assert any(part in m for m in got), (code_, part, got)
    # what cannot be named in YAML is reported, and what can is quoted safely
    text = (root / "packages" / "legacy" / ENTITIES).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    order = next(e for e in data["entities"] if e["name"] == "Order")
    assert set(order["fields"]) == {"id", "user", "on", "yes", "note"}
    assert order["fields"]["note"]["description"] == (
        'Two lines:\nsecond "quoted" line, it\'s fine: {yaml: [no]}'
    )
    assert (
        order["description"] == "Orders \U0001f600, a line\u2028separator, a\ttab and a back\\slash"
    )
    assert not any(e.get("table") == "Weird Table" for e in data["entities"])
    # the files validate with schemactl's own reader, and they work
    proc = cli(root, "validate")
    assert proc.returncode == 0, proc.stdout
    with pg_server.fresh_database() as target:
        adopt(root, target)
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute('INSERT INTO legacy."order" (id, "on", "user") VALUES (1, true, \'x\')')


def test_baseline_adopts_the_database(legacy: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    with psycopg.connect(legacy, autocommit=True) as conn:
        conn.execute("INSERT INTO public.app_users VALUES ('u1', 'a@example.com')")
        conn.execute("INSERT INTO inventory.language (name) VALUES ('English')")
    code, doc, _ = cli_json(
        root,
        "import",
        "--database-url",
        legacy,
        "--schema",
        "inventory",
        "--schema",
        "sales",
        "--baseline",
        "--by",
        "admin@example.com",
    )
    assert code == 0, doc
    assert len(doc["baseline"]["recorded"]) == 2
    assert (
        "primary key film_pkey on inventory.film renamed to pk_film" in doc["baseline"]["renamed"]
    )
    with psycopg.connect(legacy, autocommit=True) as conn:
        rows = conn.execute("SELECT package FROM schemactl.history ORDER BY id").fetchall()
        assert sorted(r[0] for r in rows) == CLEAN
        names = {r[0] for r in conn.execute("SELECT conname FROM pg_constraint").fetchall()}
        kinds = dict(conn.execute("SELECT conname, contype::text FROM pg_constraint").fetchall())
        assert {"pk_film", "fk_film_language_id", "ck_film_rating_enum"} <= names
        assert "film_pkey" not in names
        assert kinds["customer_name_uidx"] == "u"  # the unique index became a constraint
        # the data is untouched
        assert conn.execute("SELECT name FROM inventory.language").fetchall() == [("English",)]
    code, doc, _ = cli_json(root, "apply", "--database-url", legacy)
    assert code == 0 and doc["applied_now"] == [], doc
    code, doc, _ = cli_json(root, "status", "--database-url", legacy)
    assert code == 0, doc
    assert not [c for c in codes(doc) if c in ("SC701", "SC702", "SC703")]
    assert all(m["applied"] for m in doc["migrations"])
    code, doc, _ = cli_json(root, "check")
    assert code == 0, doc
    # running it again records nothing twice
    code, doc, _ = cli_json(
        root,
        "import",
        "--database-url",
        legacy,
        "--schema",
        "inventory",
        "--schema",
        "sales",
        "--baseline",
        "--force",
    )
    assert code == 0, doc
    assert doc["baseline"]["recorded"] == []
    code, _, _ = cli_json(root, "status", "--database-url", legacy)
    assert code == 0
    # schemactl's own schema (the history) is never imported
    other = tmp_path / "other"
    other.mkdir()
    code, doc, _ = cli_json(other, "import", "--database-url", legacy)
    assert code == 0 and "schemactl" not in doc["imported"] and "sales" in doc["imported"]


def test_baseline_refuses_an_import_drift_would_see(legacy: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    before = tree_hash(root)
    code, doc, _ = cli_json(root, "import", "--database-url", legacy, "--baseline")
    assert code == 1
    assert "SC767" in codes(doc)
    assert tree_hash(root) == before
    with psycopg.connect(legacy, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('schemactl.history')").fetchone() == (None,)
        names = {r[0] for r in conn.execute("SELECT conname FROM pg_constraint").fetchall()}
        assert "film_pkey" in names


# ----------------------------------------------------------------------------- bad input


def test_existing_package_is_not_overwritten_without_force(legacy: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    user_toml = '# my settings\npackages = ["packages/*"]\n\n[naming]\ntables = "snake_plural"\n'
    (root / "schemactl.toml").write_text(user_toml, encoding="utf-8")
    code, _, _ = cli_json(root, "import", "--database-url", legacy, "--schema", "sales")
    assert code == 0
    toml = (root / "schemactl.toml").read_text(encoding="utf-8")
    assert toml.startswith(user_toml)  # appended, never rewritten
    assert "[external.AppUser]" in toml and "[external.Store]" in toml
    mine = root / "packages" / "sales" / ENTITIES
    mine.write_text("entities: []\n", encoding="utf-8")
    before = tree_hash(root)
    code, doc, _ = cli_json(
        root, "import", "--database-url", legacy, "--schema", "sales", "--schema", "inventory"
    )
    assert code == 1
    [d] = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert d["code"] == "SC764" and "packages/sales" in d["message"] and "--force" in d["hint"]
    assert tree_hash(root) == before  # not even the inventory package
    code, doc, _ = cli_json(
        root,
        "import",
        "--database-url",
        legacy,
        "--schema",
        "sales",
        "--schema",
        "inventory",
        "--force",
    )
    assert code == 0, doc
    assert "Customer" in mine.read_text(encoding="utf-8")
    # Store is imported now: the entity takes the name of the [external] it replaces (the
    # configuration is never rewritten: a note says the entry can go)
    assert "[external.Store]" in (root / "schemactl.toml").read_text(encoding="utf-8")
    data = yaml.safe_load((root / "packages" / "inventory" / ENTITIES).read_text("utf-8"))
    assert "Store" in {e["name"] for e in data["entities"]}
    assert any(
        "[external.Store] entry, which the entity now replaces" in m for m in messages(doc, "SC770")
    )
    assert cli(root, "validate").returncode == 0


def test_foreign_keys_to_an_existing_package_target_its_entity(legacy: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    code, _, _ = cli_json(root, "import", "--database-url", legacy, "--schema", "inventory")
    assert code == 0
    code, doc, _ = cli_json(root, "import", "--database-url", legacy, "--schema", "sales")
    assert code == 0, doc
    assert [x["name"] for x in doc["externals"]] == []  # AppUser came with inventory
    data = yaml.safe_load((root / "packages" / "sales" / ENTITIES).read_text(encoding="utf-8"))
    customer = next(e for e in data["entities"] if e["name"] == "Customer")
    store = next(r for r in customer["relations"] if r["field"] == "storeId")
    assert store["entity"] == "Store"
    toml = (root / "schemactl.toml").read_text(encoding="utf-8")
    assert "[external.Store]" not in toml and toml.count("[external.AppUser]") == 1
    assert cli(root, "validate").returncode == 0


def test_unreachable_database_exits_3(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = tree_hash(tmp_path)
    proc = cli(tmp_path, "import", "--database-url", f"postgresql://u:secret@127.0.0.1:{port}/x")
    assert proc.returncode == 3
    assert "cannot connect" in proc.stderr and "secret" not in proc.stderr
    assert tree_hash(tmp_path) == before


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ("sale", ["'sale'", "did you mean 'sales'"]),
        ("schemactl", ["'schemactl'", "never"]),
        ("pg_catalog", ["'pg_catalog'", "never"]),
    ],
)
def test_unknown_or_system_schema_exits_2(
    legacy: str, tmp_path: Path, schema: str, words: list[str]
) -> None:
    code, doc, _ = cli_json(tmp_path, "import", "--database-url", legacy, "--schema", schema)
    assert code == 2
    [d] = doc["diagnostics"]
    text = d["message"] + " " + (d["hint"] or "")
    assert all(w in text for w in words), text
    assert not (tmp_path / "packages").exists()


# ----------------------------------------------------------------------------- the property


def _checksums_survive(root: Path, imported: Path) -> None:
    """Every entity of ``root``, imported back into ``imported``, has the checksum of its
    documented renames (tests/import_util.expected_canonical)."""
    orig = load_project(root).project
    back = load_project(imported).project
    owned = [e for p in orig.packages for e in p.owned_entities()]
    targets = {e.name: e for e in owned}
    ext_tables = {x.name: (x.namespace, x.table) for x in orig.externals}
    back_ext = {(x.namespace, x.table): x for x in back.externals}
    externals = {name: back_ext[t] for name, t in ext_tables.items() if t in back_ext}
    by_table = {(e.namespace, e.table): e for p in back.packages for e in p.owned_entities()}
    assert len(by_table) == len(owned)
    bad = []
    for e in owned:
        got = by_table[(e.namespace, e.table)]
        want = expected_canonical(e, targets, externals)
        if digest(want) != got.checksum:
            data = yaml.safe_load((imported / got.loc.file).read_text(encoding="utf-8"))
            have = next(x for x in data["entities"] if x["name"] == got.name)
            bad.append((e.name, json.dumps(want, sort_keys=True), json.dumps(have)))
    assert not bad, bad


def test_examples_import_back_with_their_checksums(
    project: Path, pg_server: PgServer, tmp_path: Path
) -> None:
    with pg_server.fresh_database() as url, pg_server.fresh_database() as copy:
        prepare(url)
        ok(project, "apply", "--database-url", url)
        namespaces = sorted({p.namespace for p in load_project(project).project.packages})
        back = tmp_path / "back"
        back.mkdir()
        args = [a for ns in namespaces for a in ("--schema", ns)]
        code, doc, _ = cli_json(back, "import", "--database-url", url, *args)
        assert code == 0, doc
        assert not messages(doc, "SC761")  # schemactl's own names: nothing to rename
        assert not [d for d in doc["diagnostics"] if d["severity"] != "note"], doc
        _checksums_survive(project, back)
        prepare(copy)
        adopt(back, copy)
        assert diff(snapshot(copy, namespaces), snapshot(url, namespaces)) == []


CORPUS_CONFIG = """\
[external.User]
table = "public.users"
key = "id"
type = "string"

[external.Tenant]
table = "public.tenants"
key = "id"
type = "string"
"""


def test_corpus_imports_back_with_its_checksums(
    corpus_dir: Path, pg_server: PgServer, tmp_path: Path
) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(corpus_dir, root / "packages", symlinks=True)
    # the one real conflict of the corpus (tests/test_corpus.py): leave that package out
    shutil.rmtree(root / "packages" / "json_script_example")
    (root / "schemactl.toml").write_text(CORPUS_CONFIG, encoding="utf-8")
    adopt_args: list[str] = []
    with pg_server.fresh_database() as url, pg_server.fresh_database() as copy:
        for target in (url, copy):
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute("CREATE TABLE public.users (id text PRIMARY KEY)")
                conn.execute("CREATE TABLE public.tenants (id text PRIMARY KEY)")
        adopt(root, url)
        namespaces = sorted({p.namespace for p in load_project(root).project.packages})
        back = tmp_path / "back"
        back.mkdir()
        adopt_args = [a for ns in namespaces for a in ("--schema", ns)]
        code, doc, _ = cli_json(back, "import", "--database-url", url, *adopt_args)
        assert code == 0, doc
        assert not [d for d in doc["diagnostics"] if d["severity"] != "note"], doc
        _checksums_survive(root, back)
        adopt(back, copy)
        assert diff(snapshot(copy, namespaces), snapshot(url, namespaces)) == []


EDGE_SQL = """
CREATE SCHEMA edge;
CREATE TABLE edge.bad_key ("Id" integer PRIMARY KEY);
CREATE TABLE edge.odd_default (
  id integer PRIMARY KEY,
  kind text DEFAULT 'zzz' CHECK (kind IN ('a', 'b')),
  qty integer DEFAULT -5 CHECK (qty >= 0)
);
CREATE TABLE edge.dup_ix (id integer PRIMARY KEY, email text CONSTRAINT dup_ix_email_u UNIQUE);
CREATE INDEX idx_dup_ix_email ON edge.dup_ix (email);
CREATE TABLE edge.people (id bigint PRIMARY KEY, boss_id bigint REFERENCES edge.people);
CREATE TABLE edge.staff (id integer PRIMARY KEY, person_id integer REFERENCES edge.people);
"""


def test_edge_cases_become_warnings_never_invalid_files(pg_db: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute(EDGE_SQL)
    code, doc, _ = cli_json(tmp_path, "import", "--database-url", pg_db)
    assert code == 0, doc
    assert any(
        "edge.bad_key is not imported: its primary key column Id is not" in m
        for m in messages(doc, "SC758")
    )
    dropped = messages(doc, "SC757")
    assert any(
        "edge.odd_default.kind: DEFAULT 'zzz' is not one of the values" in m for m in dropped
    )
    assert any("edge.odd_default.qty: DEFAULT -5 is below its minimum 0" in m for m in dropped)
    # a foreign key whose column type differs from the key's is named, not written
    assert any(
        "person_id is integer but the key it references is bigint" in m
        for m in messages(doc, "SC756")
    )
    data = yaml.safe_load((tmp_path / "packages" / "edge" / ENTITIES).read_text("utf-8"))
    by_name = {e["name"]: e for e in data["entities"]}
    assert set(by_name) == {"OddDefault", "DupIx", "Person", "Staff"}
    assert by_name["Person"]["relations"] == [
        {"name": "boss", "type": "belongsTo", "entity": "Person", "field": "bossId"}
    ]
    assert "table" not in by_name["Person"]  # people is Person's plural
    # the unique constraint and the plain index on the same column both survive
    assert sorted(ix["name"] for ix in by_name["DupIx"]["indexes"]) == [
        "dup_ix_email_u",
        "idx_dup_ix_email",
    ]
    assert cli(tmp_path, "validate").returncode == 0


def test_baseline_that_fails_changes_nothing_and_can_run_again(legacy: str, tmp_path: Path) -> None:
    """The safety nets of --baseline: a statement the database refuses, or drift left after
    the renames, roll the whole transaction back (SC768); running it again finishes."""
    from schemactl.importer import baseline
    from schemactl.importer.mapping import Conform

    root = tmp_path / "p"
    root.mkdir()
    code, _, _ = cli_json(
        root, "import", "--database-url", legacy, "--schema", "inventory", "--schema", "sales"
    )
    assert code == 0
    config = load_config(root)
    bogus = Conform(
        "inventory", "film", 'ALTER TABLE inventory.film RENAME CONSTRAINT "nope" TO "x"', "bogus"
    )
    out = baseline.run(config, legacy, CLEAN, [bogus], by="t")
    assert [d.code for d in out.diagnostics if d.severity == "error"] == ["SC768"]
    assert out.recorded == [] and len(out.approved) == 2
    # without the renames the names differ: drift, and again nothing is left behind
    out = baseline.run(config, legacy, CLEAN, [], by="t")
    errors = {d.code for d in out.diagnostics if d.severity == "error"}
    assert "SC768" in errors and errors & {"SC701", "SC702"}
    assert out.approved == []  # approved the first time already
    with psycopg.connect(legacy, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('schemactl.history')").fetchone() == (None,)
        names = {r[0] for r in conn.execute("SELECT conname FROM pg_constraint").fetchall()}
        assert "film_pkey" in names and "pk_film" not in names
    code, doc, _ = cli_json(
        root,
        "import",
        "--database-url",
        legacy,
        "--schema",
        "inventory",
        "--schema",
        "sales",
        "--baseline",
        "--force",
    )
    assert code == 0, doc
    assert len(doc["baseline"]["recorded"]) == 2 and doc["baseline"]["approved"] == []
    code, _, _ = cli_json(root, "status", "--database-url", legacy)
    assert code == 0


def test_externals_go_where_the_configuration_lives(legacy: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    pyproject = '[project]\nname = "app"\n\n[tool.schemactl]\npackages = ["packages/*"]\n'
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    code, doc, _ = cli_json(root, "import", "--database-url", legacy, "--schema", "sales")
    assert code == 0, doc
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(pyproject) and "[tool.schemactl.external.AppUser]" in text
    assert not (root / "schemactl.toml").exists()
    assert {x.name for x in load_config(root).externals} == {"AppUser", "Inventory", "Store"}
    assert cli(root, "validate").returncode == 0


def test_a_configuration_that_cannot_take_externals_stops_everything(
    legacy: str, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "schemactl.toml").write_text("external = {}\n", encoding="utf-8")
    before = tree_hash(root)
    code, doc, _ = cli_json(root, "import", "--database-url", legacy, "--schema", "sales")
    assert code == 1
    assert "SC769" in codes(doc)
    assert tree_hash(root) == before


def test_overrides_follow_the_configured_naming(legacy: str, tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    config = '[naming]\ntables = "snake"\ncolumns = "preserve"\n'
    (root / "schemactl.toml").write_text(config, encoding="utf-8")
    code, doc, _ = cli_json(root, "import", "--database-url", legacy, "--schema", "inventory")
    assert code == 0, doc
    data = yaml.safe_load((root / "packages" / "inventory" / ENTITIES).read_text("utf-8"))
    film = next(e for e in data["entities"] if e["name"] == "Film")
    assert "table" not in film  # "snake" names Film's table film
    assert "language_id" in film["fields"] and "column" not in film["fields"]["language_id"]
    assert [r["name"] for r in film["relations"]] == ["language"]
    assert cli(root, "validate").returncode == 0


def test_drift_reads_integer_in_lists() -> None:
    """Found by the import round trip: drift read `= ANY (ARRAY[1, 2])` as an empty list,
    so every integer enum schemactl created showed as drift."""
    from schemactl.drift import parse_check

    assert parse_check("CHECK ((attempt = ANY (ARRAY[1, 2, 3])))") == (
        "enum",
        "attempt",
        ("1", "2", "3"),
    )
    assert parse_check("CHECK ((n = ANY (ARRAY[(1)::bigint, (-2)::bigint])))") == (
        "enum",
        "n",
        ("1", "-2"),
    )
    assert parse_check("CHECK ((s = ANY (ARRAY['a'::text, 'b''c'::text])))") == (
        "enum",
        "s",
        ("a", "b'c"),
    )
