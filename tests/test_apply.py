"""`schemactl apply` on real PostgreSQL (SPEC §9, issue 5): through the CLI, on examples/.

What is proven here: a fresh database gets every table; a rerun is a no-op; --dry-run prints
SQL that, run by hand, gives the same database and history; four concurrent applies apply
each migration exactly once; a tampered history checksum stops the run before any change;
a migration failing mid-way leaves nothing behind, earlier ones stay; a SIGKILL mid-run
leaves database and history consistent and the next apply completes; a busy lock times
out naming its holder; connection problems exit 3 with a message and no traceback.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from deploy_util import (
    approved,
    approved_ids,
    cli,
    cli_json,
    codes,
    command,
    env,
    expected_tables,
    history,
    history_full,
    messages,
    read_registry,
    rewind,
    schemas,
    tables,
    wait_for,
)
from pg import PgServer, any_bindir, skip_or_fail, start_throwaway_server
from schemactl import db
from schemactl.dblock import lock_key


def registry_checksums(root: Path) -> list[tuple[str, str, str]]:
    return [(m["id"], m["package"], m["sql_checksum"]) for m in approved(root)]


def apply_waits_for_a_lock(watcher: psycopg.Connection[Any]) -> bool:
    """Whether a ``schemactl apply`` session waits for a lock (``watcher`` must be in
    autocommit: pg_stat_activity is a snapshot per transaction)."""
    row = watcher.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name ="
        " 'schemactl apply' AND wait_event_type = 'Lock'"
    ).fetchone()
    return bool(row and row[0])


def start_apply_until_blocked(
    root: Path, url: str, watcher: psycopg.Connection[Any]
) -> subprocess.Popen[str]:
    """Start ``schemactl apply`` in the background; return once it waits for a lock."""
    proc = subprocess.Popen(
        command(root, "apply", "--database-url", url),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: apply_waits_for_a_lock(watcher), what="apply to block on the lock")
    return proc


# ----------------------------------------------------------------------------- the happy path


def test_apply_creates_every_table_and_a_second_apply_is_a_noop(project: Path, db_url: str) -> None:
    ids = approved_ids(project)
    assert len(ids) == 8

    t0 = time.monotonic()
    rc, doc, log = cli_json(project, "apply", "--database-url", db_url)
    elapsed = time.monotonic() - t0
    print(f"\napply of examples/ (8 migrations, 23 tables): {elapsed:.2f}s wall, CLI included")
    assert rc == 0, doc
    assert doc["applied_now"] == ids
    assert doc["diagnostics"] == []
    assert [m["applied"] for m in doc["migrations"]] == [True] * 8

    # Every table of every schema, read back from pg_catalog.
    want = expected_tables(project)
    assert sum(len(t) for t in want.values()) == 23
    assert tables(db_url, set(want)) == want
    assert history(db_url) == sorted(registry_checksums(project))
    # The plain log on stderr (not a terminal): one line per step.
    for mid in ids:
        assert f"applying {mid}" in log and f"applied {mid} in" in log

    rows_before = history_full(db_url)
    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url)
    assert rc == 0 and doc["applied_now"] == []
    assert history_full(db_url) == rows_before  # not even applied_at moved
    text = cli(project, "apply", "--database-url", db_url)
    assert text.returncode == 0
    assert "nothing to apply: all 8 approved migration(s) are applied" in text.stdout

    # DATABASE_URL is the default for --database-url.
    rc, doc, _ = cli_json(project, "apply", DATABASE_URL=db_url)
    assert rc == 0 and doc["applied_now"] == []


def test_history_rows_carry_what_the_spec_lists(project: Path, db_url: str) -> None:
    assert (
        cli(project, "apply", "--database-url", db_url, SCHEMACTL_ACTOR="ci@example").returncode
        == 0
    )
    with psycopg.connect(db_url) as conn:
        cols = [
            r[0]
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'schemactl.history'::regclass"
                " AND attnum > 0 ORDER BY attnum"
            )
        ]
        rows = conn.execute(
            "SELECT applied_by, duration_ms, schemactl_version, applied_at FROM schemactl.history"
        ).fetchall()
    assert cols == [
        "id",
        "package",
        "sql_checksum",
        "applied_at",
        "applied_by",
        "duration_ms",
        "schemactl_version",
    ]
    from schemactl import __version__

    for by, ms, version, at in rows:
        assert by == "ci@example" and ms >= 0 and version == __version__ and at is not None


# ----------------------------------------------------------------------------- dry run


def test_dry_run_prints_exactly_the_sql_that_apply_runs(project: Path, db_url: str) -> None:
    proc = cli(project, "apply", "--database-url", db_url, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    script = proc.stdout
    assert "dry run: 8 migration(s) would be applied" in script
    # Nothing changed: no history, no package schema.
    assert history(db_url) == []
    assert not schemas(db_url) & ({"schemactl"} | set(expected_tables(project)))

    # Run the printed SQL by hand (psql would do the same) on the database...
    sql_part = script[script.index("-- schemactl apply --dry-run") :]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql_part.encode())
    # ... and schemactl agrees that it is exactly what apply would have done: same
    # history (checksums verified), same catalog (no drift), nothing left to apply.
    assert history(db_url) == sorted(registry_checksums(project))
    rc, doc, _ = cli_json(project, "status", "--database-url", db_url)
    assert rc == 0 and doc["diagnostics"] == [], doc["diagnostics"]
    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url)
    assert rc == 0 and doc["applied_now"] == []

    # After a partial rewind, the dry run lists only what is missing, without the DDL of
    # the history table (it exists).
    later = rewind(db_url, project, 5)
    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url, "--dry-run")
    assert rc == 0 and doc["pending"] == [m["id"] for m in later]
    assert 'CREATE TABLE IF NOT EXISTS "schemactl"."history"' not in doc["sql"]
    assert doc["sql"].count("BEGIN;") == len(later) == 3


# ----------------------------------------------------------------------------- concurrency


def test_four_concurrent_applies_apply_each_migration_exactly_once(
    project: Path, db_url: str
) -> None:
    # Hold the apply lock until all four processes are polling for it, so that they
    # really contend: then let go.
    with psycopg.connect(db_url, autocommit=True) as gate:
        dbname = gate.execute("SELECT current_database()").fetchone()
        assert dbname is not None
        gate.execute("SELECT pg_advisory_lock(%s)", (lock_key(dbname[0]),))
        procs = [
            subprocess.Popen(
                command(
                    project, "--json", "apply", "--database-url", db_url, "--lock-timeout", "120"
                ),
                env=env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]

        def all_waiting() -> bool:
            row = gate.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'schemactl apply lock' AND datname = current_database()"
                " AND query LIKE '%advisory%'"  # has tried the lock (or asked who holds it)
            ).fetchone()
            return bool(row and row[0] == 4)

        wait_for(all_waiting, timeout=60, what="four applies polling for the lock")
    outs = [p.communicate(timeout=180) for p in procs]
    docs = [json.loads(out) for out, _ in outs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    applied_now = [mid for d in docs for mid in d["applied_now"]]
    assert sorted(applied_now) == sorted(approved_ids(project))  # each exactly once
    assert sum(1 for d in docs if d["applied_now"]) == 1  # one did the work, 3 waited
    assert history(db_url) == sorted(registry_checksums(project))
    assert tables(db_url, set(expected_tables(project))) == expected_tables(project)
    assert all("waiting up to 120s for the apply lock" in err for _, err in outs)


# ----------------------------------------------------------------------------- tampering


def test_tampered_history_checksum_stops_the_run_before_any_change(
    project: Path, db_url: str
) -> None:
    assert cli(project, "apply", "--database-url", db_url).returncode == 0
    later = rewind(db_url, project, 6)  # two migrations left to apply
    first = approved_ids(project)[0]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE schemactl.history SET sql_checksum = 'sha256:' || repeat('0', 64)"
            " WHERE id = %s",
            (first,),
        )
    before_rows, before_tables = history_full(db_url), tables(db_url)

    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url)
    assert rc == 1
    assert codes(doc) == ["SC700"]
    assert first in messages(doc, "SC700")[0]
    assert history_full(db_url) == before_rows
    assert tables(db_url) == before_tables
    assert not {m["namespace"] for m in later} & schemas(db_url)

    # Text output says so too, and the dry run refuses as well.
    text = cli(project, "apply", "--database-url", db_url)
    assert text.returncode == 1 and "SC700" in text.stdout and first in text.stdout
    assert cli(project, "apply", "--database-url", db_url, "--dry-run").returncode == 1


def test_applied_migration_unknown_to_the_registry_stops_the_run(
    project: Path, db_url: str
) -> None:
    assert cli(project, "apply", "--database-url", db_url).returncode == 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO schemactl.history (id, package, sql_checksum, duration_ms,"
            " schemactl_version) VALUES ('29990101000000_ghost', 'ghost', 'sha256:x', 1, 'x')"
        )
    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url)
    assert rc == 1 and codes(doc) == ["SC705"]
    assert "29990101000000_ghost" in messages(doc, "SC705")[0]


def test_hand_edited_approved_sql_is_never_applied(project: Path, db_url: str) -> None:
    data = read_registry(project)
    victim = next(m for m in data["migrations"] if m["package"] == "forum")
    victim["sql"]["up"] += 'DROP TABLE "public"."users";\n'
    from deploy_util import write_registry

    write_registry(project, data)
    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url)
    assert rc == 1 and codes(doc) == ["SC602"]
    assert history(db_url) == [] and "schemactl" not in schemas(db_url)


# ----------------------------------------------------------------------------- failure


def test_a_migration_failing_mid_way_leaves_nothing_behind(project: Path, db_url: str) -> None:
    ids = approved_ids(project)
    credits = next(m for m in approved(project) if m["package"] == "credits")
    position = ids.index(credits["id"])
    assert 0 < position < len(ids) - 1  # earlier ones to keep, later ones not to run
    # credit_transactions is the last of the three tables the migration creates, so the
    # migration fails mid-way, after creating two tables.
    up = credits["sql"]["up"]
    assert up.index('"credits"."credit_balances"') < up.index('"credits"."credit_transactions"')
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA credits")
        conn.execute("CREATE TABLE credits.credit_transactions (squatter int)")

    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url)
    assert rc == 1
    assert codes(doc) == ["SC704"]
    msg = messages(doc, "SC704")[0]
    assert credits["id"] in msg
    assert 'relation "credit_transactions" already exists' in msg
    assert 'statement: CREATE TABLE "credits"."credit_transactions"' in msg
    assert doc["applied_now"] == ids[:position]

    # No partial objects: only the squatter remains in the schema; no history row for it.
    assert tables(db_url, {"credits"}) == {"credits": {"credit_transactions"}}
    assert [r[0] for r in history(db_url)] == sorted(ids[:position])
    later_schemas = {m["namespace"] for m in approved(project)[position + 1 :]}
    assert not later_schemas & schemas(db_url)

    text = cli(project, "apply", "--database-url", db_url)
    assert text.returncode == 1 and credits["id"] in text.stdout

    # Remove the cause; the next apply resumes and the database matches the model.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DROP TABLE credits.credit_transactions")
    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url)
    assert rc == 0 and doc["applied_now"] == ids[position:]
    rc, doc, _ = cli_json(project, "status", "--database-url", db_url)
    assert rc == 0 and doc["diagnostics"] == []


def test_sigkill_mid_run_leaves_a_consistent_database(project: Path, db_url: str) -> None:
    ids = approved_ids(project)
    assert cli(project, "apply", "--database-url", db_url).returncode == 0
    rewind(db_url, project, 1)  # only auth applied; audit_log next, then 6 more
    blocker = psycopg.connect(db_url)
    watcher = psycopg.connect(db_url, autocommit=True)  # pg_stat_activity is per-transaction
    try:
        # audit_log's foreign keys to auth.tenants wait for this lock: apply blocks there,
        # in the middle of its second migration, with its tables created (uncommitted).
        blocker.execute("LOCK TABLE auth.tenants IN ACCESS EXCLUSIVE MODE")
        proc = start_apply_until_blocked(project, db_url, watcher)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        # Nothing of the interrupted migration is visible, history shows auth only.
        assert [r[0] for r in history(db_url)] == [ids[0]]
        assert "audit" not in schemas(db_url)
    finally:
        blocker.rollback()
        blocker.close()
        watcher.close()

    # The killed run's lock is gone and its transaction rolled back: the next apply runs.
    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url, "--lock-timeout", "30")
    assert rc == 0, doc
    assert doc["applied_now"] == ids[1:]
    assert history(db_url) == sorted(registry_checksums(project))
    rc, doc, _ = cli_json(project, "status", "--database-url", db_url)
    assert rc == 0 and doc["diagnostics"] == []


def test_ctrl_c_mid_migration_rolls_back_and_exits_130(project: Path, db_url: str) -> None:
    ids = approved_ids(project)
    blocker = psycopg.connect(db_url)
    watcher = psycopg.connect(db_url, autocommit=True)
    try:
        blocker.execute("LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE")  # auth's FKs wait
        proc = start_apply_until_blocked(project, db_url, watcher)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (out, err)
        assert "interrupted" in err and "Traceback" not in out + err
        # The statement was cancelled and the transaction rolled back right away, while
        # the blocker still holds its lock: nothing of the first migration exists.
        wait_for(
            lambda: not apply_waits_for_a_lock(watcher), what="the cancelled statement to go away"
        )
        assert history(db_url) == []
        assert "auth" not in schemas(db_url)
    finally:
        blocker.rollback()
        blocker.close()
        watcher.close()
    rc, doc, _ = cli_json(project, "apply", "--database-url", db_url)
    assert rc == 0 and doc["applied_now"] == ids


# ----------------------------------------------------------------------------- the lock


def test_lock_timeout_exits_3_naming_the_holder(project: Path, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True, application_name="deploy-7 holder") as holder:
        dbname = holder.execute("SELECT current_database()").fetchone()
        assert dbname is not None
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(dbname[0]),))
        pid = holder.info.backend_pid
        t0 = time.monotonic()
        proc = cli(project, "apply", "--database-url", db_url, "--lock-timeout", "1")
        waited = time.monotonic() - t0
        assert proc.returncode == 3
        assert "SC710" in proc.stderr and "timed out after 1s" in proc.stderr
        assert f"pid {pid}" in proc.stderr and "deploy-7 holder" in proc.stderr
        assert waited < 15
        rc, doc, _ = cli_json(project, "apply", "--database-url", db_url, "--lock-timeout", "0")
        assert rc == 3 and codes(doc) == ["SC710"]
    assert history(db_url) == []  # nothing happened while the lock was held
    # Released (the holder disconnected): apply runs.
    assert cli(project, "apply", "--database-url", db_url, "--lock-timeout", "5").returncode == 0


def test_lock_key_depends_on_the_database_only() -> None:
    assert lock_key("app") == lock_key("app")
    assert lock_key("app") != lock_key("app_test")
    assert -(2**63) <= lock_key("app") < 2**63


# ----------------------------------------------------------------------------- errors


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_database_exits_3_without_traceback(project: Path) -> None:
    url = f"postgresql://app:secret@127.0.0.1:{_closed_port()}/app"
    proc = cli(project, "apply", "--database-url", url)
    assert proc.returncode == 3
    assert "SC706" in proc.stderr and "cannot connect to app@127.0.0.1" in proc.stderr
    assert "secret" not in proc.stderr + proc.stdout
    proc = cli(project, "status", "--database-url", url)
    assert proc.returncode == 3 and "cannot connect" in proc.stderr
    rc, doc, _ = cli_json(project, "apply", "--database-url", url)
    assert rc == 3 and codes(doc) == ["SC706"]


def test_unknown_database_and_host_exit_3(project: Path, pg_server: PgServer) -> None:
    url = pg_server.database_url("no_such_db_here")
    proc = cli(project, "apply", "--database-url", url)
    assert proc.returncode == 3 and 'database "no_such_db_here" does not exist' in proc.stderr
    proc = cli(project, "apply", "--database-url", "postgresql://u@no-such-host.invalid/x")
    assert proc.returncode == 3 and "SC706" in proc.stderr


def test_missing_database_url_exits_3(project: Path) -> None:
    proc = cli(project, "apply")
    assert proc.returncode == 3
    assert "SC708" in proc.stderr and "no database URL" in proc.stderr
    assert "DATABASE_URL" in proc.stderr


def test_malformed_database_url_is_a_usage_error(project: Path) -> None:
    proc = cli(project, "apply", "--database-url", "hostt=x")
    assert proc.returncode == 2 and "invalid database URL" in proc.stderr


def test_server_version_check() -> None:
    assert db.version_problem(120017) is not None
    assert "PostgreSQL 12 is too old" in (db.version_problem(120017) or "")
    assert db.version_problem(130000) is None
    assert db.version_problem(170002) is None


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """A private server where role `pw` must give password `right` (scram-sha-256)."""
    if any_bindir() is None:
        skip_or_fail("no initdb/pg_ctl: cannot start a server with password authentication")
    with start_throwaway_server() as server:
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute("CREATE ROLE pw LOGIN PASSWORD 'right'")
            hba = conn.execute("SHOW hba_file").fetchone()
            assert hba is not None
            lines = [
                "local all all trust",
                "host all pw 127.0.0.1/32 scram-sha-256",
                "host all all 127.0.0.1/32 trust",
                "host all all ::1/128 trust",
            ]
            rows = sql.SQL(", ").join(sql.SQL("({})").format(sql.Literal(ln)) for ln in lines)
            conn.execute(sql.SQL("COPY (VALUES {}) TO {}").format(rows, sql.Literal(hba[0])))
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        yield server.url


def test_authentication_failure_exits_3(project: Path, password_server: str) -> None:
    host_port = password_server.split("@", 1)[1].split("/", 1)[0]
    bad = f"postgresql://pw:wrong-pass@{host_port}/postgres"
    proc = cli(project, "apply", "--database-url", bad)
    assert proc.returncode == 3, proc.stderr
    assert "SC707" in proc.stderr and "authentication failed" in proc.stderr
    assert "wrong-pass" not in proc.stderr
    rc, doc, _ = cli_json(project, "status", "--database-url", bad)
    assert rc == 3 and codes(doc) == ["SC707"]
    # The right password gets in (the server really checks passwords).
    good = f"postgresql://pw:right@{host_port}/postgres"
    with psycopg.connect(good) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("pw",)


def test_missing_privileges_exit_3_with_a_hint(project: Path, db_url: str) -> None:
    """A role without CREATE on the database cannot create schemactl.history: exit 3."""
    role = f"schemactl_weak_{secrets.token_hex(4)}"
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        proc = cli(project, "apply", "--database-url", make_conninfo(db_url, user=role))
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert "SC713" in proc.stderr and "permission denied" in proc.stderr
        assert "CREATE on the database" in proc.stderr
    finally:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
