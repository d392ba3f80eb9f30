"""`apply` / `status` against many databases in one command (SPEC §15, issue 13).

Real PostgreSQL: many databases on the suite's throwaway server, the CLI in a subprocess,
on the approved examples/.  What is proven here:

- 30+ targets (one URL read from an environment variable), one with a conflicting object
  and one unreachable: both fail alone, the rest apply; the broken one keeps no partial
  migration; after the fix a rerun applies only to the fixed target; no password printed;
- a failing canary leaves every other target untouched; a good canary runs before all;
- --fail-fast starts nothing after a failure; no reachable target -> exit 3;
- `kill -9` of a fleet apply part-way, then a rerun: each migration exactly once per database;
- `status --targets`: applied, pending and drift per target;
- each bad input is exit 2 before anything is touched.
"""

from __future__ import annotations

import json
import os
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

from deploy_util import (
    approved,
    approved_ids,
    cli,
    cli_json,
    command,
    env,
    expected_tables,
    history,
    prepare,
    schemas,
    tables,
    wait_for,
)
from pg import PgServer

PASSWORD = "Sup3r-s3cret-pw"


def free_port() -> int:
    """A TCP port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_password(url: str) -> str:
    """``url`` carrying a password (the throwaway server trusts local connections, so it
    is ignored by the server; it is there to prove that it is never printed)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    info = conninfo_to_dict(url)
    info["password"] = PASSWORD
    return make_conninfo(**{k: str(v) for k, v in info.items()})


class Fleet:
    """Databases on one server, each prepared as examples/ expects (public.users)."""

    def __init__(self, server: PgServer) -> None:
        self.server = server
        self.names: list[str] = []
        self.template = server.create_database()
        prepare(server.database_url(self.template))

    def create(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            name = f"{self.template}_{len(self.names)}"
            with psycopg.connect(self.server.url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(self.template)
                    )
                )
            self.names.append(name)
            out.append(self.server.database_url(name))
        return out

    def drop(self) -> None:
        for name in [*self.names, self.template]:
            self.server.drop_database(name)


@pytest.fixture
def fleet(pg_server: PgServer) -> Iterator[Fleet]:
    f = Fleet(pg_server)
    try:
        yield f
    finally:
        f.drop()


def write_targets(path: Path, entries: list[tuple[str, str]]) -> Path:
    lines = []
    for name, url in entries:
        lines += ["[[targets]]", f"name = {json.dumps(name)}", f"url = {json.dumps(url)}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in doc["targets"]}


def history_ids(url: str) -> list[str]:
    return [r[0] for r in history(url)]


def all_rows(url: str) -> list[str]:
    """Every history id, duplicates included (the primary key forbids them, but look)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('schemactl.history')").fetchone() == (None,):
            return []
        return [r[0] for r in conn.execute("SELECT id FROM schemactl.history ORDER BY id")]


# ----------------------------------------------------------------------------- the proof


def test_thirty_targets_one_conflict_one_unreachable_then_fix(
    project: Path, fleet: Fleet, tmp_path: Path
) -> None:
    ids = approved_ids(project)
    urls = [with_password(u) for u in fleet.create(32)]
    credits = next(m for m in approved(project) if m["package"] == "credits")
    position = ids.index(credits["id"])
    assert 0 < position < len(ids) - 1
    # tenant_07 has a table in the way of the credits migration (mid-way through it).
    with psycopg.connect(urls[7], autocommit=True) as conn:
        conn.execute("CREATE SCHEMA credits")
        conn.execute("CREATE TABLE credits.credit_transactions (squatter int)")
    entries = [(f"tenant_{i:02d}", u) for i, u in enumerate(urls)]
    entries[31] = ("tenant_31", "env:TENANT_31_URL")  # read from the environment
    dead = f"postgresql://deploy:{PASSWORD}@127.0.0.1:{free_port()}/nowhere"
    entries.append(("gone", dead))
    targets = write_targets(tmp_path / "targets.toml", entries)
    extra = {"TENANT_31_URL": urls[31]}

    t0 = time.monotonic()
    proc = cli(
        project,
        "--json",
        "apply",
        "--targets",
        str(targets),
        "--jobs",
        "4",
        "--connect-timeout",
        "3",
        **extra,
    )
    assert time.monotonic() - t0 < 170
    assert PASSWORD not in proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    got = by_name(doc)
    assert len(got) == 33
    assert got["tenant_07"]["status"] == "failed"
    assert got["tenant_07"]["applied"] == ids[:position]
    assert credits["id"] in got["tenant_07"]["error"]
    assert "already exists" in got["tenant_07"]["error"]
    assert got["gone"]["status"] == "failed" and got["gone"]["code"] == "SC706"
    assert "cannot connect" in got["gone"]["error"]
    for i in (*range(7), *range(8, 32)):
        t = got[f"tenant_{i:02d}"]
        assert t["status"] == "applied" and t["applied"] == ids and t["error"] is None, t
    assert set(doc["targets"][0]) >= {"name", "status", "applied", "error"}
    # stderr: one line per event, each naming its target
    assert "[tenant_31] applied" in proc.stderr and "[gone] (" in proc.stderr

    # The broken one: migrations before credits applied, credits not at all, nothing later.
    assert history_ids(urls[7]) == sorted(ids[:position])
    assert tables(urls[7], {"credits"}) == {"credits": {"credit_transactions"}}
    later = {m["namespace"] for m in approved(project)[position + 1 :]}
    assert not later & schemas(urls[7])
    for u in urls[:7] + urls[8:]:
        assert all_rows(u) == sorted(ids)
        assert tables(u, set(expected_tables(project))) == expected_tables(project)

    # Fix the cause; the rerun applies only to tenant_07 (gone is still gone).
    with psycopg.connect(urls[7], autocommit=True) as conn:
        conn.execute("DROP TABLE credits.credit_transactions")
    rc, doc, err = cli_json(
        project, "apply", "--targets", str(targets), "--connect-timeout", "3", **extra
    )
    assert PASSWORD not in json.dumps(doc) + err
    got = by_name(doc)
    assert rc == 1  # gone still fails
    assert got["tenant_07"]["status"] == "applied" and got["tenant_07"]["applied"] == ids[position:]
    assert got["gone"]["status"] == "failed"
    assert {n for n, t in got.items() if t["status"] == "current"} == {
        f"tenant_{i:02d}" for i in (*range(7), *range(8, 32))
    }
    for u in urls:
        assert all_rows(u) == sorted(ids)

    # Without the unreachable target, everything is current: exit 0.
    write_targets(targets, entries[:-1])
    rc, doc, _ = cli_json(project, "apply", "--targets", str(targets), **extra)
    assert rc == 0 and {t["status"] for t in doc["targets"]} == {"current"}

    # Text output: a summary table with one row per target, and no password.
    proc = cli(project, "apply", "--targets", str(targets), **extra)
    assert proc.returncode == 0 and PASSWORD not in proc.stdout + proc.stderr
    assert "tenant_00" in proc.stdout and "tenant_31" in proc.stdout
    assert "32 current" in proc.stdout


def test_a_failing_canary_leaves_every_other_target_untouched(
    project: Path, fleet: Fleet, tmp_path: Path
) -> None:
    urls = fleet.create(5)
    with psycopg.connect(urls[2], autocommit=True) as conn:
        conn.execute("CREATE SCHEMA auth")
        conn.execute("CREATE TABLE auth.sessions (squatter int)")
    targets = write_targets(tmp_path / "t.toml", [(f"db{i}", u) for i, u in enumerate(urls)])
    rc, doc, _ = cli_json(project, "apply", "--targets", str(targets), "--canary", "db2")
    assert rc == 1
    got = by_name(doc)
    assert got["db2"]["status"] == "failed"
    for name in ("db0", "db1", "db3", "db4"):
        assert got[name]["status"] == "skipped" and got[name]["applied"] == []
        assert "canary db2 failed" in got[name]["error"]
    for i in (0, 1, 3, 4):
        assert "schemactl" not in schemas(urls[i]) and history(urls[i]) == []
        assert tables(urls[i]) == {"public": {"users"}}


def test_a_good_canary_runs_alone_before_the_others(
    project: Path, fleet: Fleet, tmp_path: Path
) -> None:
    urls = fleet.create(4)
    targets = write_targets(tmp_path / "t.toml", [(f"db{i}", u) for i, u in enumerate(urls)])
    rc, doc, err = cli_json(
        project, "apply", "--targets", str(targets), "--canary", "db3", "--jobs", "3"
    )
    assert rc == 0 and {t["status"] for t in doc["targets"]} == {"applied"}
    lines = [ln.split("schemactl: ", 1)[1] for ln in err.splitlines() if "schemactl: " in ln]
    canary_end = next(i for i, ln in enumerate(lines) if ln.startswith("[db3] (1/4)"))
    first_other = next(i for i, ln in enumerate(lines) if ln[:5] in ("[db0]", "[db1]", "[db2]"))
    assert canary_end < first_other
    with psycopg.connect(urls[3], autocommit=True) as conn:
        canary_last = conn.execute("SELECT max(applied_at) FROM schemactl.history").fetchone()
    for u in urls[:3]:
        with psycopg.connect(u, autocommit=True) as conn:
            first = conn.execute("SELECT min(applied_at) FROM schemactl.history").fetchone()
        assert canary_last is not None and first is not None and canary_last[0] < first[0]


def test_fail_fast_starts_nothing_after_a_failure(
    project: Path, fleet: Fleet, tmp_path: Path
) -> None:
    urls = fleet.create(3)
    dead = f"postgresql://x@127.0.0.1:{free_port()}/nowhere"
    entries = [("dead", dead), *((f"db{i}", u) for i, u in enumerate(urls))]
    targets = write_targets(tmp_path / "t.toml", entries)
    rc, doc, _ = cli_json(project, "apply", "--targets", str(targets), "--jobs", "1", "--fail-fast")
    got = by_name(doc)
    assert rc == 1 and got["dead"]["status"] == "failed"
    assert [got[f"db{i}"]["status"] for i in range(3)] == ["skipped"] * 3
    assert all(history(u) == [] for u in urls)
    # Without --fail-fast the same fleet applies to the three that work.
    rc, doc, _ = cli_json(project, "apply", "--targets", str(targets), "--jobs", "1")
    assert rc == 1 and [t["status"] for t in doc["targets"]] == ["failed", *["applied"] * 3]


def test_no_reachable_target_exits_3(project: Path, tmp_path: Path) -> None:
    entries = [(f"dead{i}", f"postgresql://x@127.0.0.1:{free_port()}/db") for i in range(3)]
    targets = write_targets(tmp_path / "t.toml", entries)
    rc, doc, _ = cli_json(project, "apply", "--targets", str(targets))
    assert rc == 3 and {t["status"] for t in doc["targets"]} == {"failed"}
    rc, doc, _ = cli_json(project, "status", "--targets", str(targets))
    assert rc == 3 and {t["status"] for t in doc["targets"]} == {"failed"}


def test_an_unanswering_host_costs_seconds_not_minutes(project: Path, tmp_path: Path) -> None:
    """A listener that accepts TCP but never speaks: the connect timeout ends the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        targets = write_targets(
            tmp_path / "t.toml", [("silent", f"postgresql://x@127.0.0.1:{port}/db")]
        )
        t0 = time.monotonic()
        rc, doc, _ = cli_json(project, "apply", "--targets", str(targets), "--connect-timeout", "2")
        took = time.monotonic() - t0
    assert rc == 3 and doc["targets"][0]["status"] == "failed"
    assert "timeout" in doc["targets"][0]["error"].lower()
    assert took < 30


def test_several_database_urls_and_dry_run(project: Path, fleet: Fleet) -> None:
    a, b = fleet.create(2)
    rc, doc, _ = cli_json(project, "apply", "--database-url", a, "--database-url", b, "--dry-run")
    assert rc == 0 and [t["status"] for t in doc["targets"]] == ["pending", "pending"]
    assert doc["targets"][0]["pending"] == approved_ids(project)
    assert history(a) == [] and "schemactl" not in schemas(b)
    rc, doc, _ = cli_json(project, "apply", "--database-url", a, "--database-url", b)
    assert rc == 0 and [t["status"] for t in doc["targets"]] == ["applied", "applied"]
    assert doc["targets"][1]["name"].endswith("/" + fleet.names[1])


# ----------------------------------------------------------------------------- kill -9


def test_kill_9_part_way_then_rerun_applies_each_migration_once(
    project: Path, fleet: Fleet, tmp_path: Path
) -> None:
    ids = approved_ids(project)
    urls = fleet.create(12)
    targets = write_targets(tmp_path / "t.toml", [(f"db{i:02d}", u) for i, u in enumerate(urls)])
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            command(project, "apply", "--targets", str(targets), "--jobs", "2"),
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            # Kill once at least two targets are done and others are mid-way.
            wait_for(
                lambda: log.read_text().count(") applied ") >= 2 or proc.poll() is not None,
                timeout=150,
                what="two targets applied",
            )
            assert proc.poll() is None, "the fleet apply finished before it could be killed"
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    partial = [u for u in urls if all_rows(u) != sorted(ids)]
    assert partial, "the kill came after every target was done"

    rc, doc, _ = cli_json(project, "apply", "--targets", str(targets), "--jobs", "4")
    assert rc == 0, doc
    assert {t["status"] for t in doc["targets"]} <= {"applied", "current"}
    for u in urls:
        assert all_rows(u) == sorted(ids)  # each exactly once
        assert tables(u, set(expected_tables(project))) == expected_tables(project)


# ----------------------------------------------------------------------------- status


def test_status_per_target_applied_pending_drift(
    project: Path, fleet: Fleet, tmp_path: Path
) -> None:
    ids = approved_ids(project)
    ok, behind, drifted = fleet.create(3)
    for u in (ok, behind, drifted):
        assert cli(project, "apply", "--database-url", u).returncode == 0
    from deploy_util import rewind

    rewind(behind, project, 2)
    with psycopg.connect(drifted, autocommit=True) as conn:
        conn.execute("ALTER TABLE credits.credit_balances ADD COLUMN extra int")
    dead = f"postgresql://x:{PASSWORD}@127.0.0.1:{free_port()}/db"
    targets = write_targets(
        tmp_path / "t.toml", [("ok", ok), ("behind", behind), ("drifted", drifted), ("dead", dead)]
    )
    rc, doc, err = cli_json(project, "status", "--targets", str(targets))
    assert rc == 1 and PASSWORD not in json.dumps(doc) + err
    got = by_name(doc)
    assert got["ok"]["status"] == "current" and got["ok"]["applied"] == ids
    assert got["ok"]["pending"] == [] and got["ok"]["drift"] == []
    assert got["behind"]["status"] == "behind" and got["behind"]["pending"] == ids[2:]
    assert got["drifted"]["status"] == "drift"
    assert any("extra" in d["message"] for d in got["drifted"]["drift"])
    assert got["dead"]["status"] == "failed"
    assert doc["packages"] and doc["migrations"]
    text = cli(project, "status", "--targets", str(targets))
    assert "behind" in text.stdout and "drift" in text.stdout and PASSWORD not in text.stdout


# ----------------------------------------------------------------------------- bad input


def _untouched(url: str) -> None:
    assert "schemactl" not in schemas(url) and tables(url) == {"public": {"users"}}


def test_bad_targets_input_exits_2_before_anything_is_touched(
    project: Path, fleet: Fleet, tmp_path: Path
) -> None:
    (good,) = fleet.create(1)
    cases: list[tuple[str, list[str], str, str]] = []

    malformed = tmp_path / "malformed.toml"
    malformed.write_text(
        f'[[targets]]\nname = "a"\nurl = "{good}"\n\n[[targets]]\nname = "b\nurl = "x"\n'
    )
    cases.append(("malformed", ["--targets", str(malformed)], "SC720", f"{malformed}:6"))

    dup = write_targets(tmp_path / "dup.toml", [("a", good), ("a", good + "?application_name=x")])
    cases.append(("duplicate", ["--targets", str(dup)], "SC722", f"{dup}:6"))

    unset = write_targets(tmp_path / "unset.toml", [("a", good), ("b", "env:NO_SUCH_VAR_13")])
    cases.append(("unset env", ["--targets", str(unset)], "SC723", f"{unset}:7"))

    two = write_targets(
        tmp_path / "two.toml", [("alpha", good), ("beta", good + "?application_name=y")]
    )
    cases.append(("canary", ["--targets", str(two), "--canary", "alpah"], "SC726", "'alpha'"))

    unknown = tmp_path / "unknown.toml"
    unknown.write_text(f'[[targets]]\nname = "a"\nurll = "{good}"\n')
    cases.append(("unknown key", ["--targets", str(unknown)], "SC721", f"{unknown}:3"))

    badurl = write_targets(tmp_path / "badurl.toml", [("a", f"host=x password={PASSWORD} =")])
    cases.append(("bad url", ["--targets", str(badurl)], "SC724", f"{badurl}:3"))

    echo = write_targets(tmp_path / "echo.toml", [("a", f"postgresql//deploy:{PASSWORD}@h/db")])
    cases.append(("echoed url", ["--targets", str(echo)], "SC724", f"{echo}:3"))
    bad = f"postgresql//deploy:{PASSWORD}@h/db"
    cases.append(
        ("echoed --database-url", ["--database-url", good, "--database-url", bad], "SC724", "2")
    )

    cases.append(("missing file", ["--targets", str(tmp_path / "nope.toml")], "SC720", "nope"))
    cases.append(
        ("both", ["--targets", str(two), "--database-url", good], "SC725", "cannot be combined")
    )

    for what, args, code, needle in cases:
        for cmd in ("apply", "status"):
            if what == "canary" and cmd == "status":
                continue
            proc = cli(project, "--json", cmd, *args)
            doc = json.loads(proc.stdout)
            assert proc.returncode == 2, (what, proc.stdout)
            d = doc["diagnostics"][0]
            assert d["code"] == code, (what, d)
            assert needle in d["message"] + (d["hint"] or ""), (what, d)
            assert PASSWORD not in proc.stdout + proc.stderr
            if cmd == "apply":  # the text form once per case
                text = cli(project, cmd, *args)
                assert text.returncode == 2 and code in text.stderr
                assert PASSWORD not in text.stdout + text.stderr
        _untouched(good)


def test_rich_progress_and_summary_table(project: Path, fleet: Fleet, tmp_path: Path) -> None:
    """The terminal reporter (forced: the test has no terminal) runs through a whole fleet
    and leaves one line per finished target; stdout has the summary table."""
    urls = fleet.create(2)
    targets = write_targets(tmp_path / "t.toml", [("first", urls[0]), ("second", urls[1])])
    proc = cli(project, "apply", "--targets", str(targets), SCHEMACTL_PROGRESS="rich")
    assert proc.returncode == 0, proc.stderr
    n = len(approved_ids(project))
    assert f"first: applied {n} migration(s)" in proc.stderr
    assert f"second: applied {n} migration(s)" in proc.stderr
    header = next(ln for ln in proc.stdout.splitlines() if ln.lstrip().startswith("target"))
    assert "status" in header and "applied" in header and "error" in header
    assert "2 applied, 0 current, 0 failed, 0 skipped" in proc.stdout


@pytest.mark.parametrize(
    ("text", "by_shape"),
    [
        (f'missing "=" after "postgresql//deploy:{PASSWORD}@host/db" in connection info', True),
        (f"cannot connect to postgresql://deploy:{PASSWORD}@db.internal:5432/app", True),
        (f'end of string reached in URI: "postgres://u:{PASSWORD}@[::1/db"', True),
        (f"host=x password={PASSWORD} dbname=app", True),
        (f"host=x password='{PASSWORD}' dbname=app", True),
        (f"server said: {PASSWORD}", False),  # only the target's own password is known
    ],
)
def test_scrub_removes_passwords_from_driver_messages(text: str, by_shape: bool) -> None:
    from schemactl.targets import scrub

    out = scrub(text, PASSWORD)
    assert PASSWORD not in out and "***" in out
    if by_shape:  # a URL the driver echoes whole: removed without knowing the password
        assert PASSWORD not in scrub(text, None)


def test_scrub_leaves_ordinary_text_alone() -> None:
    from schemactl.targets import scrub

    text = "cannot connect to deploy@db.internal:5432/app: connection refused (port 5432)"
    assert scrub(text, None) == text
