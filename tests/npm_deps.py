"""The node packages the tests run (tests/prisma: Prisma's schema engine, and whatever else its
lockfile lists), installed by the test suite itself, so that ``python -m pytest`` on a fresh
clone runs every test wherever node and npm exist.

:func:`ensure_npm_deps` runs ``npm ci`` in a directory when its ``node_modules`` is missing
or was installed from another ``package-lock.json`` (a stamp file in ``node_modules`` holds
the SHA-256 of the lockfile it was installed from), under a file lock so that parallel test
processes (xdist workers, two pytest runs) install once and never into each other's tree.
The conftest calls it once per session; a failure is remembered, and the tests that need the
packages skip with it (fail under CI).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from filelock import FileLock

PRISMA_DIR = Path(__file__).resolve().parent / "prisma"
STAMP = ".schemactl-lock.sha256"
TIMEOUT = 600

_problems: dict[Path, str] = {}


def _lock_digest(directory: Path) -> str:
    return hashlib.sha256((directory / "package-lock.json").read_bytes()).hexdigest()


def up_to_date(directory: Path) -> bool:
    """Whether ``node_modules`` was installed from the current lockfile."""
    stamp = directory / "node_modules" / STAMP
    try:
        return stamp.read_text(encoding="ascii").strip() == _lock_digest(directory)
    except OSError:
        return False


def ensure_npm_deps(directory: Path = PRISMA_DIR) -> str | None:
    """Install ``directory``'s locked packages if needed; ``None`` when they are there, else
    why not (no npm, no lockfile, npm failed)."""
    if directory in _problems:
        return _problems[directory]
    problem = _install(directory)
    if problem is not None:
        _problems[directory] = problem
    return problem


def _install(directory: Path) -> str | None:
    if not (directory / "package-lock.json").is_file():
        return f"{directory}/package-lock.json is missing"
    if up_to_date(directory):
        return None
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return f"node/npm are not on PATH: cannot run `npm ci` in {directory}"
    with FileLock(str(directory / ".npm-ci.lock"), timeout=TIMEOUT):
        if up_to_date(directory):  # another process installed it while we waited
            return None
        env = dict(os.environ)
        env.update(
            npm_config_audit="false", npm_config_fund="false", npm_config_update_notifier="false"
        )
        try:
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=directory,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`npm ci` in {directory} failed: {exc}"
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip()[-2000:]
            return f"`npm ci` in {directory} failed (exit {proc.returncode}):\n{tail}"
        (directory / "node_modules").mkdir(exist_ok=True)  # none when nothing is locked
        (directory / "node_modules" / STAMP).write_text(_lock_digest(directory) + "\n", "ascii")
    return None
