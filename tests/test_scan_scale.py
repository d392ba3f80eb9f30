"""A first scan of a large project holds one package at a time (SPEC §12, memory budget):
its two passes (``scan._plan_and_record``) give exactly the registry of planning every
package at once, and the staged registry files are all-or-nothing."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemactl import cache, scan
from schemactl.model import LazyEntities
from schemactl.plan import PackageOps, footprint, order_migrations, plan_package
from schemactl.project import load_project
from schemactl.registry import layout
from schemactl.sql import render_down, render_up

BENCH = Path(__file__).resolve().parent.parent / "bench"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
N = 200  # more than parallel.MIN_ITEMS, and past package 96, whose foreign keys form a cycle


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH / "generate.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scale") / "repo"
    _generator().generate(root, N, drizzle=False)
    return root


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _registry(root: Path) -> dict[str, bytes]:
    folder = root / ".schemactl" / "registry"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def fixed_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(scan, "now", lambda: WHEN)
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("jobs,lean", [("1", True), ("3", True), ("3", False)])
def test_a_first_scan_equals_planning_every_package_at_once(
    generated: Path,
    tmp_path: Path,
    fixed_time: None,
    monkeypatch: pytest.MonkeyPatch,
    jobs: str,
    lean: bool,
) -> None:
    import schemactl.project as project_mod

    if lean:  # as in a large project: no package's drafts or entities held
        monkeypatch.setattr(project_mod, "LEAN_BYTES", 0)
    monkeypatch.setenv("SCHEMACTL_JOBS", jobs)
    monkeypatch.setattr(cache, "enabled", True)
    root = _copy(generated, tmp_path / "repo")
    res = scan.scan(root)
    assert not [d for d in res.diagnostics if d.severity == "error"]
    files = _registry(root)
    assert len(files) == N
    if lean:  # nothing was kept: no package's entities were built into the project
        pr = load_project(root)
        assert all(isinstance(p.entities, LazyEntities) for p in pr.project.packages)

    # the straightforward way: every package's plan in memory, ordered at once
    monkeypatch.setattr(cache, "enabled", False)
    pr = load_project(root)
    plans = [
        PackageOps(p.id, plan_package([], p.owned_entities(), namespace=p.namespace))
        for p in sorted(pr.project.packages, key=lambda p: p.id)
    ]
    ordered = order_migrations(plans)
    records = [json.loads(files[f"{po.package}.json"])["migrations"][0] for po in ordered]
    assert [r["package"] for r in records] == [po.package for po in ordered]
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)  # application order
    for po, rec in zip(ordered, records, strict=True):
        assert rec["sql"] == {"up": render_up(po.ops), "down": render_down(po.ops)}, po.package
    # the cycle's forward foreign keys moved into the later migration, as order_migrations does
    moved = [po for po in ordered if any(getattr(op, "existing_table", False) for op in po.ops)]
    assert moved
    # byte for byte: the registry of the other job count, without the cache, lean or not
    other = _copy(generated, tmp_path / "other")
    monkeypatch.setenv("SCHEMACTL_JOBS", "3" if jobs == "1" else "1")
    monkeypatch.setattr(project_mod, "LEAN_BYTES", 1 << 40 if lean else 0)
    scan.scan(other)
    assert _registry(other) == files


def test_a_new_packages_footprint_comes_from_its_summary(generated: Path, fixed_time: None) -> None:
    pr = load_project(generated)
    for p in pr.project.packages:
        quick = scan._created(pr, p.id)
        full = footprint(plan_package([], p.owned_entities(), namespace=p.namespace))
        assert [sorted(x) for x in quick] == [sorted(x) for x in full], p.id


def test_a_failed_scan_leaves_no_staged_file(
    generated: Path, tmp_path: Path, fixed_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _copy(generated, tmp_path / "repo")
    calls = 0
    real = layout.dumps

    def failing(data: object) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 150:  # well into the scan: many files are staged already
            raise RuntimeError("disk full")
        return real(data)  # type: ignore[arg-type]

    monkeypatch.setenv("SCHEMACTL_JOBS", "1")
    monkeypatch.setattr(layout, "dumps", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        scan.scan(root)
    folder = root / ".schemactl" / "registry"
    assert not folder.exists() or not any(folder.iterdir())  # neither files nor temporaries
    monkeypatch.setattr(layout, "dumps", real)
    scan.scan(root)
    assert len(_registry(root)) == N
    assert not list(folder.glob(".*.tmp"))


def test_every_staged_file_is_fsynced_before_it_is_put_in_place(
    generated: Path, tmp_path: Path, fixed_time: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staged files are fsynced by a background thread (``store._Syncs``), in this
    process and in the forked worker alike; every one is fsynced before ``write`` renames
    it, and no thread is left when the scan is done (a later fork must not copy one)."""
    import os
    import threading

    from schemactl import parallel

    root = _copy(generated, tmp_path / "repo")
    monkeypatch.setenv("SCHEMACTL_JOBS", "2")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    log = tmp_path / "fsynced.log"  # appended to by this process and the worker
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        real_fsync(fd)
        with open(log, "a") as fh:
            fh.write(os.readlink(f"/proc/self/fd/{fd}") + "\n")

    renamed: list[tuple[str, bool]] = []

    def replace(src: str, dst: str) -> None:
        synced = set(log.read_text().splitlines()) if log.exists() else set()
        renamed.append((os.fspath(src), os.fspath(src) in synced))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    before = threading.active_count()
    scan.scan(root)
    assert threading.active_count() == before
    folder = os.fspath(root / ".schemactl" / "registry")
    staged = [(src, synced) for src, synced in renamed if src.startswith(folder)]
    assert len(staged) == N
    assert [src for src, synced in staged if not synced] == []


def test_a_dry_run_stages_nothing(generated: Path, tmp_path: Path, fixed_time: None) -> None:
    root = _copy(generated, tmp_path / "repo")
    res = scan.scan(root, dry_run=True)
    assert len(res.migrations) == N
    assert not (root / ".schemactl" / "registry").exists() or not any(
        (root / ".schemactl" / "registry").iterdir()
    )


# --------------------------------------------------------------------------- re-scan


@pytest.fixture
def approved(generated: Path, tmp_path: Path, fixed_time: None) -> Path:
    from foundation_util import run_cli

    root = _copy(generated, tmp_path / "approved")
    assert run_cli(root, "scan").exit_code == 0
    assert run_cli(root, "approve", "all", "--by", "test").exit_code == 0
    return root


def _parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = layout.parse

    def counting(path: Path, raw: bytes, rel: str) -> object:
        seen.append(path.name)
        return real(path, raw, rel)

    monkeypatch.setattr(layout, "parse", counting)
    return seen


def test_a_rescan_parses_only_the_registry_file_it_changes(
    approved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "enabled", True)
    before = _registry(approved)
    _generator().touch_package(approved, 7, n=N, salt=1)
    seen = _parsed(monkeypatch)
    res = scan.scan(approved)
    assert [m["package"] for m in res.migrations] == ["pkg_00007"]
    assert seen == ["pkg_00007.json"]  # the other 199 were known by their briefs
    after = _registry(approved)
    assert {k for k in after if after[k] != before[k]} == {"pkg_00007.json"}
    assert json.loads(after["pkg_00007.json"])["migrations"][-1]["id"] > max(
        m["id"] for raw in before.values() for m in json.loads(raw)["migrations"]
    )  # the newest id still comes after every id, briefed or parsed
    seen.clear()
    again = scan.scan(approved)  # nothing changed since: nothing parsed but what is pending
    assert [m["package"] for m in again.migrations] == ["pkg_00007"]
    assert _registry(approved) == after
    assert seen == ["pkg_00007.json"]


def test_a_registry_file_changed_behind_schemactls_back_is_parsed_again(
    approved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "enabled", True)
    scan.scan(approved)  # the briefs of every file are kept
    f = approved / ".schemactl" / "registry" / "pkg_00011.json"
    data = json.loads(f.read_bytes())
    entity = sorted(data["baseline"])[0]
    data["baseline"][entity]["checksum"] = "0" * 64  # as if the baseline were older
    f.write_bytes(layout.dumps(data))
    seen = _parsed(monkeypatch)
    res = scan.scan(approved)
    assert "pkg_00011.json" in seen
    assert [m["package"] for m in res.migrations] == ["pkg_00011"]  # planned, not skipped
    f.write_bytes(b"{ not json")
    with pytest.raises(Exception, match="pkg_00011"):
        scan.scan(approved)


def test_without_the_cache_every_registry_file_is_parsed(
    approved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "enabled", True)
    scan.scan(approved)
    monkeypatch.setattr(cache, "enabled", False)
    seen = _parsed(monkeypatch)
    res = scan.scan(approved)
    assert len(seen) == N
    assert res.migrations == []


def _age(root: Path, seconds: int = 3600) -> None:
    """Move every file's mtime an hour back: old enough for its stamp to be trusted."""
    import os
    import time

    then = int((time.time() - seconds) * 1e9)
    for p in root.rglob("*"):
        if (p.is_file() and ".schemactl" in p.parts) or p.name == "entities.yaml":
            os.utime(p, ns=(then, then))


def _read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The registry files a command reads (``Registry.read``'s reads, and those it parses
    on demand)."""
    from schemactl.registry import store

    seen: list[str] = []
    real_read, real_bytes = store._read, Path.read_bytes

    def reading(path: Path, now: int) -> object:
        seen.append(path.name)
        return real_read(path, now)

    def read_bytes(self: Path) -> bytes:
        if self.parent.name == "registry":
            seen.append(self.name)
        return real_bytes(self)

    monkeypatch.setattr(store, "_read", reading)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    return seen


def test_an_old_registry_file_with_its_stamp_unchanged_is_not_even_read(
    approved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "enabled", True)
    _age(approved)
    scan.scan(approved)  # reads every file once, and stamps them (they are old)
    _generator().touch_package(approved, 7, n=N, salt=1)
    seen = _read(monkeypatch)
    res = scan.scan(approved)
    assert [m["package"] for m in res.migrations] == ["pkg_00007"]
    assert seen == ["pkg_00007.json"]  # parsed because it changes; the others: stamps


def test_a_registry_file_rewritten_in_the_same_tick_is_still_read(
    approved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Git's racy-clean case: a file stamped within 2 s of being written gets no stamp,
    so a same-size rewrite that keeps its mtime is still caught by its bytes."""
    import os

    monkeypatch.setattr(cache, "enabled", True)
    scan.scan(approved)  # the files are seconds old: briefs, but no stamps
    f = approved / ".schemactl" / "registry" / "pkg_00011.json"
    st = f.stat()
    data = json.loads(f.read_bytes())
    entity = sorted(data["baseline"])[0]
    old = data["baseline"][entity]["checksum"]
    data["baseline"][entity]["checksum"] = ("0" if old[0] != "0" else "1") + old[1:]
    f.write_bytes(layout.dumps(data))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    res = scan.scan(approved)
    assert [m["package"] for m in res.migrations] == ["pkg_00011"]  # planned, not skipped


def test_an_entities_file_with_its_stamp_unchanged_is_not_read(
    approved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setattr(cache, "enabled", True)
    _age(approved)
    scan.scan(approved)  # stamps every entities file
    _generator().touch_package(approved, 7, n=N, salt=1)
    opened: list[str] = []
    real_fstat = os.fstat

    def fstat(fd: int) -> os.stat_result:  # every read of an entities file fstats it
        opened.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fstat(fd)

    monkeypatch.setattr(os, "fstat", fstat)
    res = scan.scan(approved)
    assert [m["package"] for m in res.migrations] == ["pkg_00007"]
    read = {Path(p).parts[-4] for p in opened if p.endswith("entities.yaml")}
    assert read == {"pkg_00007"}  # the other 199 known by their stamps
