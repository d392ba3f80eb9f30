"""The migration files as other tools use them (SPEC §7, §8), on a real PostgreSQL:

- ``for f in migrations/*/migration.sql; psql -f $f`` in name order builds the approved
  model, as `apply` does;
- each file is all or nothing under ``psql -v ON_ERROR_STOP=1 -f``, with its
  ``lock_timeout`` in effect;
- a database that applied migrations under the ids `schemactl upgrade` renamed counts them
  as applied.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from deploy_util import cli, expected_tables, tables
from pg import skip_or_fail
from registry_util import write_package

pytestmark = pytest.mark.postgres

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
V1 = Path(__file__).resolve().parent / "fixtures" / "registry-v1" / "registry.json"


def psql() -> str:
    from schemactl.shadow import embedded_bindir, find_pg_bindir

    found = shutil.which("psql")
    if found:
        return found
    for bindir in (find_pg_bindir(), embedded_bindir()):  # the system's, else the wheel's
        if bindir is not None and (bindir / "psql").exists():
            return str(bindir / "psql")
    skip_or_fail("psql is not installed")


def run_file(url: str, path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def folders(root: Path) -> list[Path]:
    return sorted(p for p in (root / "migrations").iterdir() if p.is_dir())


def test_psql_in_folder_order_builds_the_approved_model(project: Path, db_url: str) -> None:
    assert cli(project, "generate").returncode == 0
    for folder in folders(project):
        proc = run_file(db_url, folder / "migration.sql")
        assert proc.returncode == 0, (folder.name, proc.stderr)
        assert "WARNING" not in proc.stderr, proc.stderr  # SET LOCAL inside a transaction
    want = expected_tables(project)
    assert tables(db_url, set(want)) == want
    # no drift against the approved model: the same database `apply` builds
    from schemactl import drift, introspect, registry
    from schemactl.config import load_config
    from schemactl.generate import baseline_entities

    config = load_config(project)
    entities = baseline_entities(registry.read(config))
    with psycopg.connect(db_url, autocommit=True) as conn:
        catalog = introspect.read_catalog(conn, set(want))
    found = drift.compare(
        entities,
        catalog,
        schemas=set(want),
        ignore_tables={(x.namespace, x.table) for x in config.externals},
    )
    assert found == []
    # and down.sql in reverse order takes it all away again
    for folder in reversed(folders(project)):
        proc = run_file(db_url, folder / "down.sql")
        assert proc.returncode == 0, (folder.name, proc.stderr)
    assert tables(db_url, set(want)) == {}


def test_a_file_that_fails_half_way_leaves_nothing(project: Path, db_url: str) -> None:
    assert cli(project, "generate").returncode == 0
    target = next(f for f in folders(project) if f.name.endswith("_credits"))
    for folder in folders(project):
        if folder == target:
            break
        assert run_file(db_url, folder / "migration.sql").returncode == 0
    text = (target / "migration.sql").read_text()
    assert text.index('CREATE TABLE "credits"."credit_balances"') < text.index(
        'CREATE TABLE "credits"."credit_transactions"'
    )
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA credits; CREATE TABLE credits.credit_transactions (x int)")
    proc = run_file(db_url, target / "migration.sql")
    assert proc.returncode == 3, proc.stderr  # psql: a script error under ON_ERROR_STOP
    assert 'relation "credit_transactions" already exists' in proc.stderr
    assert tables(db_url, {"credits"}) == {"credits": {"credit_transactions"}}, "all or nothing"


def test_the_files_lock_timeout_is_in_effect(project: Path, db_url: str) -> None:
    assert cli(project, "generate").returncode == 0
    for folder in folders(project):
        assert run_file(db_url, folder / "migration.sql").returncode == 0
    # a change that alters an existing table
    ent = project / "packages" / "settings" / "seed" / "schema" / "entities.yaml"
    text = ent.read_text()
    field = "      value:\n        type: json\n        required: true\n"
    assert field in text
    write_package(
        project, "settings", text.replace(field, field + "      note:\n        type: text\n")
    )
    assert cli(project, "scan").returncode == 0
    assert cli(project, "approve", "all", "--by", "a@x", "--allow-destructive").returncode == 0
    assert cli(project, "generate").returncode == 0
    newest = folders(project)[-1]
    assert newest.name.endswith("_settings")
    sql = (newest / "migration.sql").read_text()
    assert "SET LOCAL lock_timeout" in sql and "ALTER TABLE" in sql
    with psycopg.connect(db_url) as holder:
        holder.execute(
            "LOCK TABLE settings.feature_flags, settings.system_configs IN ACCESS EXCLUSIVE MODE"
        )
        t0 = time.monotonic()
        proc = run_file(db_url, newest / "migration.sql", timeout=60)
        waited = time.monotonic() - t0
        holder.rollback()
    assert proc.returncode == 3, proc.stderr
    assert "lock timeout" in proc.stderr
    assert waited < 30, "the file's lock_timeout, not an endless wait"


def test_history_under_ids_that_upgrade_renamed_counts_as_applied(
    project: Path, db_url: str
) -> None:
    assert cli(project, "apply", "--database-url", db_url).returncode == 0
    renamed = {
        m["id"]: m["renamed_from"][0]
        for f in (project / ".schemactl" / "registry").glob("*.json")
        for m in json.loads(f.read_text())["migrations"]
        if m.get("renamed_from")
    }
    assert renamed, "examples/ was upgraded from format 1: some ids were renamed"
    with psycopg.connect(db_url, autocommit=True) as conn:
        for new, old in renamed.items():
            conn.execute("UPDATE schemactl.history SET id = %s WHERE id = %s", (old, new))
    proc = cli(project, "--json", "apply", "--database-url", db_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc.get("applied_now", doc.get("data", {}).get("applied_now")) == [], doc
    proc = cli(project, "status", "--database-url", db_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
