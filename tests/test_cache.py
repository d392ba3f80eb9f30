"""The incremental cache: never changes an answer, ignores what it cannot trust."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import orjson
import pytest

from foundation_util import run_cli, tree_hash
from schemactl import cache

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user-cache"
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(path))
    return path


@pytest.fixture
def project(tmp_path: Path, corpus_dir: Path, cache_dir: Path) -> Path:
    """The corpus (with its one conflict) plus examples' packages: many files, some bad."""
    root = tmp_path / "p"
    shutil.copytree(corpus_dir, root / "packages")
    for pkg in (EXAMPLES / "packages").iterdir():
        shutil.copytree(pkg, root / "packages" / f"ex_{pkg.name}")
    (root / "schemactl.toml").write_text(
        '[external.User]\ntable = "public.users"\n[external.Tenant]\ntable = "public.tenants"\n'
    )
    return root


def _outputs(root: Path, *extra: str) -> list[str]:
    return [
        run_cli(root, *extra, "--json", "validate").stdout,
        run_cli(root, *extra, "validate").stdout,
        run_cli(root, *extra, "--format", "github", "validate").stdout,
    ]


def test_cached_and_uncached_runs_print_the_same(project: Path, cache_dir: Path) -> None:
    before = tree_hash(project)
    uncached = _outputs(project, "--no-cache")
    assert not cache_dir.exists(), "--no-cache must not write"
    cold = _outputs(project)  # fills the cache
    entries = list(cache_dir.rglob("*.json"))
    assert len(entries) >= 20
    warm = _outputs(project)  # reads it
    assert uncached == cold == warm
    assert '"SC400"' in warm[0]  # the corpus conflict survives the cache
    assert tree_hash(project) == before, "validate writes nothing in the project"


def test_an_unwritable_cache_is_not_used(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = project.parent / "not-a-dir"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(blocker / "cache"))
    assert _outputs(project) == _outputs(project, "--no-cache")


def test_a_changed_file_is_validated_again(project: Path) -> None:
    run_cli(project, "validate")
    f = project / "packages" / "audit_log" / "seed" / "schema" / "entities.yaml"
    f.write_text(f.read_text().replace("type: string", "type: strng", 1))
    res = run_cli(project, "--json", "validate")
    assert '"SC203"' in res.stdout
    assert "audit_log/seed/schema/entities.yaml" in res.stdout


@pytest.mark.parametrize(
    "damage",
    [b"", b"{not json", b'{"key": "other", "drafts": [], "diagnostics": []}', b"\xff\xfe"],
)
def test_corrupt_or_foreign_entries_are_ignored(project: Path, damage: bytes) -> None:
    expected = _outputs(project, "--no-cache")
    _outputs(project)
    entries = list(cache.directory().rglob("*.json"))
    assert len(entries) >= 20
    for entry in entries:
        entry.write_bytes(damage)
    assert _outputs(project) == expected
    # and the entries were rebuilt
    assert all(e.read_bytes() != damage for e in entries)


def test_entries_that_lie_are_caught_by_the_key(project: Path) -> None:
    """An entry is only used for the exact bytes it was made from: editing the file
    changes the key, so a stale entry can never answer for new content."""
    run_cli(project, "validate")
    f = project / "packages" / "forum_forge" / "seed" / "schema" / "entities.yaml"
    found_key_before = {e.name for e in cache.directory().rglob("*.json")}
    f.write_text(f.read_text() + "\n# a comment changes the bytes, not the meaning\n")
    run_cli(project, "validate")
    after = {e.name for e in cache.directory().rglob("*.json")}
    assert len(after - found_key_before) == 1


def test_key_depends_on_naming_and_version(project: Path) -> None:
    from schemactl.discover import Found

    f = Found("a", "a", "packages/a", "packages/a/x.yaml", "/x")
    k1 = cache.key(f, b"entities: []", ("snake_plural", "snake"))
    assert k1 != cache.key(f, b"entities: []", ("snake", "snake"))
    assert k1 != cache.key(f, b"entities: [] ", ("snake_plural", "snake"))
    assert k1 != cache.key(
        Found("a", "b", "packages/a", "packages/a/x.yaml", "/x"),
        b"entities: []",
        ("snake_plural", "snake"),
    )
    assert k1 == cache.key(f, b"entities: []", ("snake_plural", "snake"))


def test_parallel_and_serial_validation_agree(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from schemactl import parallel

    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setenv("SCHEMACTL_JOBS", "2")
    parallel = _outputs(project, "--no-cache")
    monkeypatch.setenv("SCHEMACTL_JOBS", "1")
    serial = _outputs(project, "--no-cache")
    assert parallel == serial


@pytest.mark.parametrize("n,jobs", [(0, 2), (1, 2), (7, 3), (64, 4), (1000, 2), (5, 1)])
def test_work_is_cut_into_runs_that_cover_each_index_once(n: int, jobs: int) -> None:
    from schemactl.parallel import RUNS_PER_JOB, runs

    cut = runs(n, jobs)
    assert [i for run in cut for i in run] == list(range(n))
    assert all(run for run in cut)
    if n >= jobs * RUNS_PER_JOB:
        assert jobs * RUNS_PER_JOB // 2 <= len(cut) <= jobs * RUNS_PER_JOB


def test_a_slower_process_takes_fewer_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs are taken from a shared counter, not dealt up front: when this process is
    slow, the worker takes most of the work, and every index is still done exactly once
    and comes back in order (``finish`` applied to the worker's results only)."""
    import os
    import time

    from schemactl import parallel

    monkeypatch.setenv("SCHEMACTL_JOBS", "2")
    me = os.getpid()

    def work(indexes: list[int], in_worker: bool) -> list[tuple[int, int]]:
        if not in_worker:
            time.sleep(0.02 * len(indexes))
        return [(i, os.getpid()) for i in indexes]

    out = parallel.fork_map(240, work, finish=lambda r: (r[0], -r[1]))
    assert [i for i, _ in out] == list(range(240))
    here = sum(1 for _, pid in out if pid == me)
    there = sum(1 for _, pid in out if pid < 0)
    assert here + there == 240
    assert there > 3 * here, (here, there)


def _commands(root: Path, *extra: str) -> list[tuple[int, str]]:
    """Every command that needs no database, as --json and as text, on ``root``."""
    import json

    mid = json.loads(run_cli(root, "--no-cache", "--json", "list", "--all").stdout)
    first = mid["migrations"][0]["id"]
    out = []
    for args in (
        ["validate"],
        ["scan", "--dry-run"],
        ["list", "--all"],
        ["show", first],
        ["check"],
        ["generate", "--check"],
        ["preview", "forum"],
        ["preview", "forum", "--format", "prisma"],
    ):
        for fmt in (["--json"], []):
            res = run_cli(root, *extra, *fmt, *args)
            # a planned id carries the clock's second: the only thing allowed to differ
            stamp = (
                re.sub(r"\b\d{14}_forum\b", "<now>_forum", res.stdout)
                if args[0] == "scan"
                else None
            )
            out.append((res.exit_code, stamp or res.stdout))
    return out


def test_every_command_answers_the_same_with_and_without_the_cache(
    tmp_path: Path, cache_dir: Path
) -> None:
    import json

    """The validation entries and the project snapshot (both written by the first cached
    round and read by the second) change no answer, on a
    project whose files have moved on from its registry."""
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    forum = root / "packages/forum/seed/schema/entities.yaml"
    forum.write_text(forum.read_text().replace("required: true", "required: false", 1))
    uncached = _commands(root, "--no-cache")
    assert not cache_dir.exists()
    cold = _commands(root)
    assert {p.name for p in cache_dir.iterdir()} >= {"projects"}
    warm = _commands(root)
    assert uncached == cold == warm
    scan = json.loads(uncached[2][1])  # scan --dry-run plans forum's change
    assert [m["package"] for m in scan["migrations"]] == ["forum"]
    assert any(code == 1 for code, _ in uncached)  # check fails: forum is not approved


def test_stand_ins_decoded_from_an_entry_are_those_of_its_drafts(project: Path) -> None:
    """``cache.targets`` reads an entry's stand-ins without building its drafts (the
    neighbours of a changed package, on a re-scan): they equal ``target_of`` of each."""
    from schemactl.config import load_config
    from schemactl.discover import discover
    from schemactl.project import read_package
    from schemactl.standins import target_of

    config = load_config(project)
    found, _ = discover(config)
    keys = 0
    for f in found:
        diags: list = []
        drafts = read_package(f, config, diags)
        doc = orjson.loads(orjson.dumps(cache.encode(drafts, diags)))  # as stored
        assert cache.targets(doc) == [target_of(d) for d in drafts], f.id
        keys += sum(len(t.keys) for t in cache.targets(doc))
    assert len(found) >= 10 and keys > len(found)  # real files, with key fields


@pytest.mark.parametrize("where", ["worker", "here"])
def test_a_failure_in_any_process_is_raised_here(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    import time

    from schemactl import parallel

    monkeypatch.setenv("SCHEMACTL_JOBS", "2")

    def work(indexes: list[int], in_worker: bool) -> list[int]:
        if (where == "worker") == in_worker:
            raise ValueError(f"a run failed in the {where} process")
        time.sleep(0.01 * len(indexes))  # this process is slow: the worker takes runs
        return indexes

    with pytest.raises(ValueError, match=f"failed in the {where} process"):
        parallel.fork_map(200, work)


def test_a_killed_worker_is_an_error_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal
    import time
    from concurrent.futures.process import BrokenProcessPool

    from schemactl import parallel

    monkeypatch.setenv("SCHEMACTL_JOBS", "2")

    def work(indexes: list[int], in_worker: bool) -> list[int]:
        if in_worker:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.01 * len(indexes))
        return indexes

    with pytest.raises(BrokenProcessPool):
        parallel.fork_map(200, work)


@pytest.mark.parametrize("where", ["worker", "here"])
def test_a_failure_after_large_results_is_raised_not_a_hang(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Results larger than a pipe's buffer are waiting when one process fails: the other
    is not left blocked on a full pipe (the review found such a hang in a version that
    streamed results through a queue of its own)."""
    import time

    from schemactl import parallel

    monkeypatch.setenv("SCHEMACTL_JOBS", "2")
    calls = {"n": 0}

    def work(indexes: list[int], in_worker: bool) -> list[bytes]:
        if (where == "worker") == in_worker:
            calls["n"] += 1
            if calls["n"] == 3:
                raise ValueError(f"a run failed in the {where} process")
        time.sleep(0.02)
        return [b"x" * 50_000 for _ in indexes]

    started = time.monotonic()
    with pytest.raises(ValueError, match=f"failed in the {where} process"):
        parallel.fork_map(400, work)
    assert time.monotonic() - started < 60
