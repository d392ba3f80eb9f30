"""The suite installs the node packages it needs (npm_deps.py): ``npm ci`` when node_modules
is missing or was installed from another lockfile, once, also with parallel processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import npm_deps
from npm_deps import PRISMA_DIR, STAMP, ensure_npm_deps, up_to_date
from pg import skip_or_fail

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def npm_project(tmp_path: Path) -> Path:
    """A package with a lockfile and no dependencies: `npm ci` needs no network."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        skip_or_fail("node/npm are not on PATH")
    d = tmp_path / "pkg"
    d.mkdir()
    (d / "package.json").write_text(json.dumps({"name": "t", "version": "1.0.0"}))
    lock = {
        "name": "t",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {"": {"name": "t", "version": "1.0.0"}},
    }
    (d / "package-lock.json").write_text(json.dumps(lock, indent=2))
    return d


def test_missing_node_modules_is_installed_then_left_alone(
    npm_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not up_to_date(npm_project)
    assert ensure_npm_deps(npm_project) is None
    assert (npm_project / "node_modules" / STAMP).is_file()
    assert up_to_date(npm_project)
    # Up to date: npm is not even looked for.
    monkeypatch.setenv("PATH", "")
    assert npm_deps._install(npm_project) is None


def test_a_changed_lockfile_reinstalls(npm_project: Path) -> None:
    assert ensure_npm_deps(npm_project) is None
    lock = npm_project / "package-lock.json"
    lock.write_text(lock.read_text() + "\n")
    assert not up_to_date(npm_project)
    assert npm_deps._install(npm_project) is None
    assert up_to_date(npm_project)


def test_a_failing_npm_ci_is_reported_not_raised(npm_project: Path) -> None:
    (npm_project / "package-lock.json").write_text("{ not json")
    problem = ensure_npm_deps(npm_project)
    assert problem is not None and "`npm ci`" in problem and "failed" in problem
    assert ensure_npm_deps(npm_project) == problem  # remembered, not retried


def test_parallel_processes_install_once(npm_project: Path) -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(TESTS)!r}); import npm_deps; "
        f"print(npm_deps.ensure_npm_deps(__import__('pathlib').Path({str(npm_project)!r})))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert outs == ["None"] * 3
    assert up_to_date(npm_project)


def test_the_suite_installed_the_prisma_packages() -> None:
    """The session fixture ran before this test: tests/prisma matches its lockfile."""
    if shutil.which("npm") is None:
        skip_or_fail("node/npm are not on PATH")
    assert up_to_date(PRISMA_DIR)
    assert (PRISMA_DIR / "node_modules" / "@prisma" / "prisma-schema-wasm").is_dir()
