"""`schemactl status` and drift (SPEC §9, issue 5) on real PostgreSQL, through the CLI.

Proven: without a database, status lists per package the baseline, approved and pending
migrations; with one, which are applied; a column dropped and an index added by hand are
reported (exit 1), as is every other kind of drift, each with its code; a database that
has applied only some approved migrations is compared with the state they produce (no
false drift); every field type and kind of default round-trips through PostgreSQL's
catalog spelling without a false finding, in any session time zone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import psycopg
import pytest

from deploy_util import (
    REPO,
    approved,
    approved_ids,
    cli,
    cli_json,
    codes,
    env,
    messages,
    prepare,
    rewind,
    scan_and_approve,
)
from schemactl.drift import canon_type, literal_value, parse_check


@pytest.fixture
def applied_db(project: Path, db_url: str) -> str:
    proc = cli(project, "apply", "--database-url", db_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return db_url


def sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for s in statements:
            conn.execute(s.encode())


def findings(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((d["code"], d["message"]) for d in doc["diagnostics"])


# ----------------------------------------------------------------------------- no database


def test_status_without_a_database_lists_baseline_approved_and_pending(project: Path) -> None:
    forum = project / "packages/forum/seed/schema/entities.yaml"
    text = forum.read_text(encoding="utf-8")
    anchor = "    fields:\n"
    assert anchor in text  # the list shape
    forum.write_text(
        text.replace(anchor, anchor + "      - name: pinnedNote\n        type: text\n", 1),
        encoding="utf-8",
    )
    assert cli(project, "scan").returncode == 0

    rc, doc, _ = cli_json(project, "status")
    assert rc == 0
    assert doc["diagnostics"] == []
    by_id = {p["id"]: p for p in doc["packages"]}
    assert set(by_id) == {
        "auth",
        "audit_log",
        "credits",
        "forum",
        "my_package",
        "notifications",
        "settings",
        "storage",
    }
    forum_pkg = by_id["forum"]
    for key in ("id", "namespace", "path", "entities", "baseline", "approved", "pending"):
        assert key in forum_pkg
    assert forum_pkg["namespace"] == "forum" and forum_pkg["path"] == "packages/forum"
    assert set(forum_pkg["baseline"]) == {"ForumCategory", "ForumPost", "ForumThread"}
    assert all(c.startswith("sha256:") for c in forum_pkg["baseline"].values())
    assert len(forum_pkg["approved"]) == 1 and len(forum_pkg["pending"]) == 1
    assert forum_pkg["applied"] is None  # no database
    assert by_id["storage"]["namespace"] == "file_storage"

    statuses = sorted({m["status"] for m in doc["migrations"]})
    assert statuses == ["approved", "pending"]
    for m in doc["migrations"]:
        for key in ("id", "package", "status", "destructive", "changes", "approved_by"):
            assert key in m
        assert m["applied"] is None

    text_out = cli(project, "status")
    assert text_out.returncode == 0
    assert "package forum (schema forum)" in text_out.stdout
    assert f"pending:  {forum_pkg['pending'][0]} (awaiting approval)" in text_out.stdout
    assert "no database: pass --database-url" in text_out.stdout


# ----------------------------------------------------------------------------- with a database


def test_status_with_a_database_shows_what_is_applied(project: Path, applied_db: str) -> None:
    rc, doc, _ = cli_json(project, "status", "--database-url", applied_db)
    assert rc == 0 and doc["diagnostics"] == []
    assert all(m["applied"] is True and m["applied_at"] for m in doc["migrations"])
    assert all(p["applied"] == p["approved"] for p in doc["packages"])
    text = cli(project, "status", DATABASE_URL=applied_db)  # DATABASE_URL works too
    assert text.returncode == 0
    assert "8 of 8 approved migration(s) applied; no drift" in text.stdout


def test_status_reports_a_column_dropped_and_an_index_added_by_hand(
    project: Path, applied_db: str
) -> None:
    sql(
        applied_db,
        'ALTER TABLE forum.forum_posts DROP COLUMN "content"',
        "CREATE INDEX by_hand ON forum.forum_posts (edited_at)",
    )
    rc, doc, _ = cli_json(project, "status", "--database-url", applied_db)
    assert rc == 1
    assert findings(doc) == [
        ("SC701", "drift: check ck_forum_posts_content_len on forum.forum_posts is missing"),
        ("SC701", "drift: column forum.forum_posts.content is missing (expected text NOT NULL)"),
        (
            "SC702",
            "drift: index by_hand on forum.forum_posts is not in the model "
            "(CREATE INDEX by_hand ON forum.forum_posts USING btree (edited_at))",
        ),
    ]
    for d in doc["diagnostics"]:
        assert d["package"] == "forum" and d["entity"] == "ForumPost"
        assert d["file"] == "packages/forum/seed/schema/entities.yaml"
        assert d["severity"] == "error" and d["hint"]
    text = cli(project, "status", "--database-url", applied_db)
    assert text.returncode == 1
    assert "error SC701 drift: column forum.forum_posts.content is missing" in text.stdout
    assert "1 drift finding" not in text.stdout and "3 drift finding(s)" in text.stdout


def test_status_reports_every_kind_of_drift(project: Path, applied_db: str) -> None:
    sql(
        applied_db,
        "ALTER TABLE forum.forum_posts ALTER COLUMN edited_at TYPE timestamp",
        "ALTER TABLE forum.forum_posts ALTER COLUMN author_id SET NOT NULL",
        "ALTER TABLE forum.forum_posts ALTER COLUMN like_count SET DEFAULT 5",
        "ALTER TABLE forum.forum_posts ADD COLUMN extra int",
        "ALTER TABLE forum.forum_posts ADD CONSTRAINT ck_extra CHECK (extra > 0)",
        "DROP INDEX forum.idx_forum_posts_author_id",
        "ALTER TABLE forum.forum_posts DROP CONSTRAINT ck_forum_posts_like_count_min",
        "ALTER TABLE forum.forum_posts ADD CONSTRAINT ck_forum_posts_like_count_min"
        " CHECK (like_count >= 1)",
        "CREATE TABLE forum.scratch (x int)",
        "DROP TABLE notifications.notification_preferences",
    )
    rc, doc, _ = cli_json(project, "status", "--database-url", applied_db)
    assert rc == 1
    got = findings(doc)
    want = [
        (
            "SC701",
            "drift: index idx_forum_posts_author_id on forum.forum_posts (author_id) is missing",
        ),
        ("SC701", "drift: table notifications.notification_preferences is missing"),
        ("SC702", "drift: check ck_extra on forum.forum_posts is not in the model"),
        ("SC702", "drift: column forum.forum_posts.extra (integer) is not in the model"),
        ("SC702", "drift: table forum.scratch is not in the model"),
        ("SC703", "drift: check ck_forum_posts_like_count_min on forum.forum_posts is"),
        ("SC703", "drift: column forum.forum_posts.author_id is NOT NULL, the model allows NULL"),
        ("SC703", "drift: column forum.forum_posts.edited_at has type timestamp without time"),
        ("SC703", "drift: column forum.forum_posts.like_count has default 5, the model says"),
    ]
    assert len(got) == len(want), got
    for (code, msg), (want_code, want_start) in zip(got, want, strict=True):
        assert code == want_code and msg.startswith(want_start), (code, msg)
    scratch = next(d for d in doc["diagnostics"] if "forum.scratch" in d["message"])
    assert scratch["package"] == "forum"  # an extra table belongs to its schema's package


def test_status_compares_with_the_migrations_the_database_applied(
    project: Path, applied_db: str
) -> None:
    later = rewind(applied_db, project, 5)
    rc, doc, _ = cli_json(project, "status", "--database-url", applied_db)
    assert rc == 0, doc["diagnostics"]  # not applied is not drift
    applied = {m["id"]: m["applied"] for m in doc["migrations"]}
    assert [mid for mid, a in applied.items() if not a] == [m["id"] for m in later]
    text = cli(project, "status", "--database-url", applied_db)
    assert "5 of 8 approved migration(s) applied; no drift" in text.stdout
    assert f"approved: {later[0]['id']}  NOT APPLIED" in text.stdout


def test_status_reports_a_tampered_history_checksum(project: Path, applied_db: str) -> None:
    first = approved_ids(project)[0]
    sql(applied_db, f"UPDATE schemactl.history SET sql_checksum = 'sha256:x' WHERE id = '{first}'")
    rc, doc, _ = cli_json(project, "status", "--database-url", applied_db)
    assert rc == 1 and codes(doc) == ["SC700"] and first in messages(doc, "SC700")[0]


# ----------------------------------------------------------------------------- every type

KITCHEN_CONFIG = """\
[external.User]
table = "public.users"
key = "id"
type = "string"
"""

KITCHEN = r"""
entities:
  - name: Sink
    description: "Every type and every kind of default"
    fields:
      id: { type: bigint, primary: true, generated: true }
      uid: { type: uuid, generated: true, required: true, unique: true }
      fixedUid: { type: uuid, default: "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11" }
      label: { type: string, default: "it's a \\ back'slash", maxLength: 80 }
      body: { type: text, default: "" }
      token: { type: cuid, default: "c1" }
      count: { type: int, default: -1, min: -5, max: 1000 }
      big: { type: bigint, default: 9007199254740993 }
      ratio: { type: float, default: -1.5, min: -2.5 }
      whole: { type: float, default: 3 }
      price: { type: decimal, precision: 10, scale: 2, default: 12.5, max: 99999.99 }
      loose: { type: decimal, default: "0.10" }
      active: { type: boolean, required: true, default: true }
      disabled: { type: boolean, default: false }
      meta: { type: json, default: '{"b": [1, 2], "a": {"x": null}}' }
      word: { type: json, default: '"hi"' }
      createdAt: { type: datetime, required: true, default: now }
      fixedAt: { type: datetime, default: "2024-01-31T10:00:00+02:00" }
      localAt: { type: datetime, default: "2024-01-31 10:00:00" }
      day: { type: date, default: "2024-02-29" }
      blob: { type: bytes }
      state: { type: string, default: draft, enum: [draft, "o'neil", live] }
      solo: { type: string, enum: [only] }
      order: { type: int }
      ownerId: { type: string }
    indexes:
      - { fields: [state, createdAt] }
      - { fields: [token, day], unique: true }
    relations:
      - name: owner
        type: belongsTo
        entity: User
        field: ownerId
        onDelete: SetNull
        onUpdate: Cascade
  - name: Counter
    fields:
      id: { type: int, primary: true, generated: true }
      sinkId: { type: bigint, required: true, index: true }
      slot: { type: int, required: true }
    relations:
      - { name: sink, type: belongsTo, entity: Sink, field: sinkId, onDelete: Restrict }
"""


@pytest.fixture
def kitchen(tmp_path: Path) -> Path:
    root = tmp_path / "kitchen"
    schema = root / "packages/kitchen/seed/schema"
    schema.mkdir(parents=True)
    (root / "schemactl.toml").write_text(KITCHEN_CONFIG, encoding="utf-8")
    (schema / "entities.yaml").write_text(KITCHEN, encoding="utf-8")
    return scan_and_approve(root)


def test_every_type_and_default_round_trips_without_false_drift(kitchen: Path, pg_db: str) -> None:
    prepare(pg_db)
    assert cli(kitchen, "apply", "--database-url", pg_db).returncode == 0
    for tz in ("UTC", "Asia/Tokyo", "America/St_Johns"):  # +9, and a -3:30 offset
        rc, doc, _ = cli_json(kitchen, "status", "--database-url", pg_db, PGTZ=tz)
        assert rc == 0, (tz, doc["diagnostics"])

    sql(
        pg_db,
        "ALTER TABLE kitchen.sinks ALTER COLUMN local_at SET DEFAULT '2024-01-31 10:07:00+00'",
        "ALTER TABLE kitchen.sinks ALTER COLUMN meta SET DEFAULT '{\"b\": [1, 2]}'",
        "ALTER TABLE kitchen.sinks ALTER COLUMN label SET DEFAULT 'x'",
        "ALTER TABLE kitchen.sinks ALTER COLUMN price SET DEFAULT 12.51",
        "ALTER TABLE kitchen.sinks ALTER COLUMN fixed_uid"
        " SET DEFAULT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'",
        "ALTER TABLE kitchen.sinks ALTER COLUMN count DROP DEFAULT",
        "ALTER TABLE kitchen.sinks ALTER COLUMN id SET GENERATED ALWAYS",
        "ALTER TABLE kitchen.sinks DROP CONSTRAINT ck_sinks_state_enum",
        "ALTER TABLE kitchen.sinks ADD CONSTRAINT ck_sinks_state_enum"
        " CHECK (state IN ('draft', 'live'))",
        "ALTER TABLE kitchen.counters DROP CONSTRAINT fk_counters_sink_id",
        "ALTER TABLE kitchen.counters ADD CONSTRAINT fk_counters_sink_id FOREIGN KEY (sink_id)"
        " REFERENCES kitchen.sinks (id) ON DELETE CASCADE NOT VALID",
        "ALTER TABLE kitchen.sinks DROP CONSTRAINT uq_sinks_uid",
        "CREATE UNIQUE INDEX uq_sinks_uid ON kitchen.sinks (uid)",
    )
    rc, doc, _ = cli_json(kitchen, "status", "--database-url", pg_db)
    assert rc == 1
    got = [m for _, m in findings(doc)]
    expected_fragments = [
        "sinks.local_at has default",
        "sinks.meta has default",
        "sinks.label has default",
        "sinks.price has default 12.51, the model says default 12.5",
        "sinks.fixed_uid has default",
        "sinks.count has no default, the model says default -1",
        "sinks.id is GENERATED ALWAYS AS IDENTITY",
        "check ck_sinks_state_enum on kitchen.sinks is CHECK",
        "fk_counters_sink_id on kitchen.counters is ON DELETE CASCADE, the model says ON DELETE"
        " RESTRICT",
        "fk_counters_sink_id on kitchen.counters is NOT VALID",
        "uq_sinks_uid is a unique index, the model says a UNIQUE constraint",
    ]
    assert len(got) == len(expected_fragments), got
    for frag in expected_fragments:
        assert any(frag in m for m in got), (frag, got)


# ----------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("'user'::text", ("user", True)),
        ("'it''s'::text", ("it's", True)),
        ("'-1'::integer", ("-1", True)),
        ("(0)::double precision", ("0", False)),
        ("12.50::numeric(10,2)", ("12.50", False)),
        ("'{\"a\": 1}'::jsonb", ('{"a": 1}', True)),
        ("'2024-01-31 10:00:00+00'::timestamp with time zone", ("2024-01-31 10:00:00+00", True)),
        ("'x'::text::character varying", ("x", True)),
        ("true", ("true", False)),
        ("now()", None),
        ("nextval('s'::regclass)", None),
    ],
)
def test_literal_value(expr: str, want: tuple[str, bool] | None) -> None:
    assert literal_value(expr) == want


@pytest.mark.parametrize(
    ("definition", "want"),
    [
        ("CHECK ((b >= (0)::double precision))", ("min", "b", ("0",))),
        ("CHECK ((a >= '-1'::integer))", ("min", "a", ("-1",))),
        ("CHECK ((c <= 99.5)) NOT VALID", ("max", "c", ("99.5",))),
        ("CHECK ((char_length(i) <= 100))", ("max_length", "i", ("100",))),
        (
            "CHECK ((i = ANY (ARRAY['x'::text, 'y''z'::text])))",
            ("enum", "i", ("x", "y'z")),
        ),
        ("CHECK ((\"Sel\" = 'a'::text))", ("enum", "Sel", ("a",))),
        ("CHECK ((\"order\" = ANY (ARRAY['a'::text])))", ("enum", "order", ("a",))),
        ("CHECK ((a > 0))", None),
        ("CHECK ((lower(a) = a))", None),
    ],
)
def test_parse_check(definition: str, want: tuple[str, str, tuple[str, ...]] | None) -> None:
    assert parse_check(definition) == want


def test_canon_type() -> None:
    assert canon_type("numeric(10, 2)") == canon_type("NUMERIC(10,2)") == "numeric(10,2)"
    assert canon_type("timestamptz") == "timestamp with time zone"
    assert canon_type("int4") == canon_type("integer")
    assert canon_type("double precision") == "double precision"


# ----------------------------------------------------------------------------- baselining


def _doc_snippet(heading: str) -> str:
    """The first ```bash block after ``heading`` in docs/deploy.md."""
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    start = section.index("```bash\n") + len("```bash\n")
    return textwrap.dedent(section[start : section.index("```", start)])


def test_baselining_an_existing_database_as_documented(project: Path, pg_db: str) -> None:
    if shutil.which("psql") is None or shutil.which("bash") is None:
        pytest.skip("the documented procedure needs bash and psql")
    prepare(pg_db)
    # An existing database: the tables exist, made by another tool (here: the same SQL).
    with psycopg.connect(pg_db, autocommit=True) as conn:
        for m in approved(project):
            conn.execute(m["sql"]["up"].encode())
    rc, doc, _ = cli_json(project, "status", "--database-url", pg_db)
    assert rc == 1 and set(codes(doc)) == {"SC702"}  # schemactl did not create them

    script = _doc_snippet("## Baselining an existing database")
    assert "psql" in script and "apply --dry-run" in script
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=project,
        env=env(
            DATABASE_URL=pg_db,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rc, doc, _ = cli_json(project, "status", "--database-url", pg_db)
    assert rc == 0 and doc["diagnostics"] == []
    rc, doc, _ = cli_json(project, "apply", "--database-url", pg_db)
    assert rc == 0 and doc["applied_now"] == []
    with psycopg.connect(pg_db) as conn:
        by = conn.execute("SELECT DISTINCT applied_by FROM schemactl.history").fetchall()
    assert by == [("baseline",)]
