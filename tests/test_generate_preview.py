"""`generate`, `generate --check`, `generate --prisma` and `preview`, through the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from foundation_util import json_doc, run_cli, tree_hash
from prisma_check import prisma_validate
from schemactl.sql import parse_check

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def approved(tmp_path: Path) -> Path:
    """A copy of examples/ with every package scanned and approved, no migrations/ yet."""
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".schemactl", "migrations"))
    assert run_cli(root, "scan").exit_code == 0
    res = run_cli(root, "approve", "all", "--by", "admin@example.com")
    assert res.exit_code == 0, res.output
    return root


def _registry(root: Path) -> dict:
    from registry_util import registry_data

    return registry_data(root)


def test_generate_writes_every_approved_migration_with_header(approved: Path) -> None:
    res = run_cli(approved, "generate")
    assert res.exit_code == 0, res.output
    data = _registry(approved)
    ids = sorted(m["id"] for m in data["migrations"] if m["status"] == "approved")
    assert len(ids) == 8
    assert sorted(p.name for p in (approved / "migrations").iterdir()) == ids
    for m in data["migrations"]:
        folder = approved / "migrations" / m["id"]
        up = (folder / "migration.sql").read_text()
        down = (folder / "down.sql").read_text()
        assert up.startswith(f"-- schemactl migration {m['id']}\n-- package: {m['package']}")
        assert f"-- sql checksum: {m['sql_checksum']}\n" in up
        # self-contained: the exact registry SQL (what the checksum covers) in one transaction
        assert up.endswith("\nBEGIN;\n" + m["sql"]["up"] + "COMMIT;\n")
        assert down.endswith("\nBEGIN;\n" + m["sql"]["down"] + "COMMIT;\n")
        parse_check(up)
        parse_check(down)


def test_generate_is_byte_identical_and_check_detects_drift(approved: Path) -> None:
    assert run_cli(approved, "generate").exit_code == 0
    first = tree_hash(approved / "migrations")
    res = run_cli(approved, "generate")
    assert res.exit_code == 0
    assert "up to date" in res.output
    assert tree_hash(approved / "migrations") == first
    assert run_cli(approved, "generate", "--check").exit_code == 0

    victim = next((approved / "migrations").iterdir()) / "migration.sql"
    victim.write_text(victim.read_text() + "DROP TABLE x;\n")
    res = run_cli(approved, "--json", "generate", "--check")
    assert res.exit_code == 1
    doc = json_doc(res)
    assert [d["code"] for d in doc["diagnostics"]] == ["SC606"]
    assert doc["diagnostics"][0]["file"].endswith("migration.sql")
    assert "DROP TABLE x" in victim.read_text(), "--check must not rewrite anything"

    victim.unlink()
    res = run_cli(approved, "generate", "--check")
    assert res.exit_code == 1
    assert "missing" in res.output
    assert run_cli(approved, "generate").exit_code == 0
    assert tree_hash(approved / "migrations") == first


def test_generate_refuses_hand_edited_record(approved: Path) -> None:
    path = approved / ".schemactl" / "registry" / "auth.json"
    data = json.loads(path.read_text())
    data["migrations"][0]["sql"]["up"] += "DROP SCHEMA auth CASCADE;\n"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    res = run_cli(approved, "--json", "generate")
    assert res.exit_code == 1
    assert "SC602" in [d["code"] for d in json_doc(res)["diagnostics"]]
    assert not (approved / "migrations" / data["migrations"][0]["id"]).exists()


def test_generate_out_dir_and_unknown_folders(approved: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    assert run_cli(approved, "generate", "--out", str(out)).exit_code == 0
    assert len(list(out.iterdir())) == 8
    (out / "19990101000000_ghost").mkdir()
    res = run_cli(approved, "--json", "generate", "--out", str(out), "--check")
    assert res.exit_code == 0  # a stray folder is a warning, not a failure
    diags = json_doc(res)["diagnostics"]
    assert [(d["severity"], d["code"]) for d in diags] == [("warning", "SC606")]


def test_generate_prisma_fragment_validates(approved: Path) -> None:
    res = run_cli(approved, "generate", "--prisma", "prisma/schemactl.prisma")
    assert res.exit_code == 0, res.output
    text = (approved / "prisma" / "schemactl.prisma").read_text()
    assert '@@schema("forum")' in text and '@@map("forum_posts")' in text
    ok, output = prisma_validate(text)
    assert ok, output
    # byte-identical on a second run, and --check agrees
    assert run_cli(approved, "generate", "--prisma", "prisma/schemactl.prisma").exit_code == 0
    assert (approved / "prisma" / "schemactl.prisma").read_text() == text
    res = run_cli(approved, "generate", "--check", "--prisma", "prisma/schemactl.prisma")
    assert res.exit_code == 0


def test_preview_sql_and_prisma_touch_nothing(tmp_path: Path) -> None:
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root)
    before = tree_hash(root)
    res = run_cli(root, "preview", "forum")
    assert res.exit_code == 0, res.output
    assert 'CREATE SCHEMA IF NOT EXISTS "forum";' in res.stdout
    assert 'CREATE TABLE "forum"."forum_posts"' in res.stdout
    statements = parse_check(res.stdout)
    assert len(statements) > 5
    res = run_cli(root, "preview", "forum", "--format", "prisma")
    assert res.exit_code == 0
    assert "model ForumPost {" in res.stdout
    ok, output = prisma_validate(res.stdout)
    assert ok, output
    assert tree_hash(root) == before


def test_preview_unknown_package_is_a_usage_error(tmp_path: Path) -> None:
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root)
    res = run_cli(root, "preview", "foroum")
    assert res.exit_code == 2
    assert "did you mean 'forum'" in res.output
    assert "Traceback" not in res.output


def test_preview_of_invalid_files_reports_and_fails(tmp_path: Path) -> None:
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root)
    f = root / "packages" / "forum" / "seed" / "schema" / "entities.yaml"
    f.write_text(f.read_text().replace("type: String", "type: Strng", 1))
    res = run_cli(root, "--json", "preview", "forum")
    assert res.exit_code == 1
    assert "SC203" in [d["code"] for d in json_doc(res)["diagnostics"]]


def test_bundled_examples_are_fully_approved_and_generated(tmp_path: Path) -> None:
    """The committed examples/ registry, migrations/ and Prisma fragment agree with the
    files: the README's first command reports no changes and CI's gate passes."""
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root)
    before = tree_hash(root / ".schemactl")
    res = run_cli(root, "scan")
    assert res.exit_code == 0, res.output
    assert "no changes" in res.output
    assert run_cli(root, "check").exit_code == 0
    res = run_cli(root, "generate", "--check", "--prisma", "prisma/schema.prisma")
    assert res.exit_code == 0, res.output
    after = tree_hash(root / ".schemactl")
    after.pop("registry.lock", None)  # the lock file, git-ignored (filelock 4 leaves it)
    assert after == before
