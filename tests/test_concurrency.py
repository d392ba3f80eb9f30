"""The registry under concurrency and crashes (SPEC §7), with real `schemactl` processes.

- 12 `approve` processes at once lose no approval;
- SIGKILL at random moments of a `scan` leaves the old or the complete new file, never a
  torn one, and never a lock that blocks the next run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from registry_util import (
    SCHEMACTL,
    entities,
    entity,
    migrations,
    project,
    registry_data,
    registry_files,
    registry_path,
    run,
)

KILL_ITERATIONS = int(os.environ.get("SCHEMACTL_TEST_KILLS", "20"))
SEED = int(os.environ.get("SCHEMACTL_TEST_SEED", "20240607"))


def _popen(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [SCHEMACTL, "--no-color", "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _canonical(text: str) -> bool:
    return text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in registry_path(root).iterdir() if p.suffix == ".tmp")


def _restore(root: Path, files: dict[str, bytes]) -> None:
    """Put the registry folder back to exactly ``files``."""
    shutil.rmtree(registry_path(root))
    registry_path(root).mkdir()
    for name, raw in files.items():
        (registry_path(root) / name).write_bytes(raw)


# ----------------------------------------------------------------------------- approvals


def test_twelve_concurrent_approvals_lose_nothing(tmp_path: Path) -> None:
    n = 12
    packages = {
        f"pkg{i:02d}": entities(
            entity(
                f"Thing{i:02d}",
                {"id": "type: cuid, primary: true", "name": "type: string, required: true"},
            )
        )
        for i in range(n)
    }
    root = project(tmp_path, packages)
    assert run(root, "scan").returncode == 0
    pending = {m["package"]: m["id"] for m in migrations(root, "pending")}
    assert len(pending) == n

    # Hold the lock while the processes start, so that they all queue on it and then race
    # for it at once: each one's read-modify-write must see the others' approvals.
    env = {"SCHEMACTL_LOCK_TIMEOUT": "120"}
    with FileLock(str(registry_path(root)) + ".lock"):
        procs = {
            pkg: _popen(root, "approve", mid, "--by", f"{pkg}@example.com", env=env)
            for pkg, mid in sorted(pending.items())
        }
        time.sleep(3)
        assert all(p.poll() is None for p in procs.values()), "they wait for the lock"
    outs = {pkg: p.communicate(timeout=180) for pkg, p in procs.items()}
    for pkg, p in procs.items():
        assert p.returncode == 0, (pkg, outs[pkg])

    assert all(_canonical(raw.decode("utf-8")) for raw in registry_files(root).values())
    recs = {m["id"]: m for m in registry_data(root)["migrations"]}
    assert len(recs) == n
    for pkg, mid in pending.items():
        assert recs[mid]["status"] == "approved"
        assert recs[mid]["approved_by"] == f"{pkg}@example.com"
    assert set(registry_data(root)["baseline"]) == {f"Thing{i:02d}" for i in range(n)}
    assert _leftovers(root) == []
    proc = run(root, "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_concurrent_approvals_without_a_head_start(tmp_path: Path) -> None:
    """The same race as it happens naturally: all processes started together."""
    n = 12
    packages = {
        f"p{i:02d}": entities(entity(f"Item{i:02d}", {"id": "type: uuid, primary: true"}))
        for i in range(n)
    }
    root = project(tmp_path, packages)
    assert run(root, "scan").returncode == 0
    ids = [m["id"] for m in migrations(root, "pending")]
    procs = [_popen(root, "approve", mid, "--by", "a@example.com") for mid in ids]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, out + err
    assert {m["status"] for m in migrations(root)} == {"approved"}
    assert len(registry_data(root)["baseline"]) == n


def test_scan_and_approve_racing_keep_both(tmp_path: Path) -> None:
    """A scan of one package and approvals of others at the same time."""
    packages = {
        f"p{i}": entities(entity(f"Row{i}", {"id": "type: cuid, primary: true"})) for i in range(6)
    }
    root = project(tmp_path, packages)
    assert run(root, "scan").returncode == 0
    ids = {m["package"]: m["id"] for m in migrations(root, "pending")}
    (root / "packages" / "p0" / "seed" / "schema" / "entities.yaml").write_text(
        entities(entity("Row0", {"id": "type: cuid, primary: true", "x": "type: int"}))
    )
    with FileLock(str(registry_path(root)) + ".lock"):
        procs = [_popen(root, "scan")] + [
            _popen(root, "approve", ids[f"p{i}"], "--by", "a@b") for i in range(1, 6)
        ]
        time.sleep(2)
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, out + err
    recs = migrations(root)
    assert sum(m["status"] == "approved" for m in recs) == 5
    (p0,) = [m for m in recs if m["package"] == "p0" and m["status"] == "pending"]
    assert p0["id"] != ids["p0"]
    assert {m["id"]: m["status"] for m in recs}[ids["p0"]] == "superseded"


# ----------------------------------------------------------------------------- crashes


def _big_project(root: Path, packages: int = 30, per_package: int = 4) -> Path:
    """Enough work that a `scan` takes roughly 0.3-1 s and writes a few MB."""
    pkgs: dict[str, str] = {}
    for i in range(packages):
        ents = []
        for j in range(per_package):
            fields = {"id": "type: cuid, primary: true"}
            fields |= {f"f{k}": f"type: string, maxLength: {k + 10}" for k in range(15)}
            fields["amount"] = "type: int, min: 0"
            ents.append(
                entity(f"E{i:03d}n{j}", fields, extra="    indexes:\n      - fields: [f1, f2]\n")
            )
        pkgs[f"p{i:03d}"] = entities(*ents)
    return project(root, pkgs)


def _change_every_package(root: Path) -> None:
    for f in sorted(root.glob("packages/*/seed/schema/entities.yaml")):
        f.write_text(f.read_text().replace("      f0: ", "      g0: "))


def _complete(name: str, raw: bytes, old: dict[str, bytes], reference: dict[str, str]) -> bool:
    """``raw`` is a whole package file that a finished scan of the changed files wrote."""
    text = raw.decode("utf-8")
    if not _canonical(text):
        return False
    data = json.loads(text)
    old_ids = {m["id"] for m in json.loads(old[name])["migrations"]}
    if not old_ids <= {m["id"] for m in data["migrations"]}:
        return False
    pending = [m["target_state"] for m in data["migrations"] if m["status"] == "pending"]
    return pending == [reference[data["package"]]]


def _all_complete(root: Path, old: dict[str, bytes], reference: dict[str, str]) -> bool:
    files = registry_files(root)
    return set(files) == set(old) and all(
        _complete(n, raw, old, reference) for n, raw in files.items()
    )


def test_sigkill_during_scan_never_tears_a_file_or_leaves_a_stale_lock(
    tmp_path: Path,
) -> None:
    """Each package file is written atomically: after a kill at any moment every file is
    its old or its new self, and the next scan finishes the job."""
    root = _big_project(tmp_path / "big")
    assert run(root, "scan").returncode == 0
    old = registry_files(root)
    _change_every_package(root)

    # A reference: what a scan of the changed files that finishes writes, and how long it
    # takes (the second time, as in the loop below: the validation cache is warm).
    durations = []
    for _ in range(2):
        _restore(root, old)
        t0 = time.monotonic()
        assert run(root, "scan").returncode == 0
        durations.append(time.monotonic() - t0)
    duration = min(durations)
    reference = {m["package"]: m["target_state"] for m in migrations(root, "pending")}
    assert len(reference) == 30
    assert _all_complete(root, old, reference)

    rng = random.Random(SEED)
    outcomes = {"old": 0, "new": 0, "mixed": 0, "killed": 0, "killed_mid_write": 0}
    env = {"SCHEMACTL_LOCK_TIMEOUT": "10"}
    for i in range(KILL_ITERATIONS):
        _restore(root, old)  # back to before the change
        # anywhere in the run, and every other time near its end, where the writes happen
        low = 0.02 if i % 2 else 0.6 * duration
        delay = rng.uniform(low, duration)
        proc = _popen(root, "scan", env=env)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            outcomes["killed"] += 1
        proc.communicate(timeout=60)
        outcomes["killed_mid_write"] += bool(_leftovers(root))

        files = registry_files(root)
        assert set(files) == set(old), f"iteration {i}: a file vanished"
        new = 0
        for name, raw in files.items():
            if raw != old[name]:
                assert _complete(name, raw, old, reference), f"iteration {i}: {name} torn"
                new += 1
        outcomes["old" if new == 0 else "new" if new == len(old) else "mixed"] += 1

        # the next run is not blocked by a lock left behind, and finishes the job
        t0 = time.monotonic()
        nxt = run(root, "scan", env=env, timeout=60)
        assert nxt.returncode == 0, f"iteration {i} (delay {delay:.3f}s): {nxt.stderr}"
        if new == 0:  # a full scan: follow the machine's current speed
            duration = (duration + time.monotonic() - t0) / 2
        assert _all_complete(root, old, reference)
        assert _leftovers(root) == [], "the next writer removes temporary files"

    print(f"seed {SEED}, scan {duration:.2f}s: {outcomes}", file=sys.stderr)
    assert outcomes["killed"] >= KILL_ITERATIONS // 2, outcomes
    assert outcomes["old"] + outcomes["new"] + outcomes["mixed"] == KILL_ITERATIONS


def test_a_writer_killed_while_holding_the_lock_does_not_block(tmp_path: Path) -> None:
    """Deterministic: a process takes the registry lock, then dies by SIGKILL."""
    root = project(tmp_path, {"a": entities(entity("A", {"id": "type: cuid, primary: true"}))})
    lock = str(registry_path(root)) + ".lock"
    registry_path(root).parent.mkdir(parents=True)  # .schemactl/
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; "
            f"lock = FileLock({lock!r}); lock.acquire(); print('held', flush=True); "
            "time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    blocked = run(root, "scan", env={"SCHEMACTL_LOCK_TIMEOUT": "0.3"})
    assert blocked.returncode == 3, "the lock is really held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    assert Path(lock).exists(), "the lock file stays behind ..."
    proc = run(root, "scan", env={"SCHEMACTL_LOCK_TIMEOUT": "2"})
    assert proc.returncode == 0, proc.stderr  # ... but does not block anyone
    assert [m["package"] for m in migrations(root, "pending")] == ["a"]
