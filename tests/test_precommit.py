"""The pre-commit hooks of `.pre-commit-hooks.yaml`, run by pre-commit itself.

The manifest is loaded with pre-commit's own schema. Then a git repository (a copy of
examples/) runs the two hooks through ``pre-commit run`` with a ``repo: local`` config made
of the manifest's hooks, only with ``language: system`` (the schemactl of this venv instead
of a fresh install from the network): pre-commit's own file matching and filename passing
decide what the hooks see.  Proven: an unrelated change runs neither hook; a valid edit
passes ``validate`` and fails the ``check`` gate until scanned and approved; a broken file
fails ``validate`` with file:line:col; ``validate`` given paths validates their packages.
Finally ``pre-commit try-repo`` installs the hook as users get it (``language: python``, from
this repository, with pip) and runs it on a staged file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy_util import cli
from pg import skip_or_fail

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent

FORUM = "packages/forum/seed/schema/entities.yaml"


def _hooks() -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return hooks


def test_manifest_is_valid_for_pre_commit() -> None:
    try:
        from pre_commit.clientlib import load_manifest
    except ImportError:
        skip_or_fail("pre-commit is not installed (the test extra brings it)")
    hooks = load_manifest(str(MANIFEST))
    assert [h["id"] for h in hooks] == ["schemactl-validate", "schemactl-check"]
    by_id = {h["id"]: h for h in hooks}
    assert by_id["schemactl-validate"]["pass_filenames"] is True
    assert by_id["schemactl-check"]["pass_filenames"] is False
    assert all(h["language"] == "python" for h in hooks)  # installs this package


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=_env(repo))


def _env(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PRE_COMMIT_HOME=str(repo.parent / "pre-commit-home"),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
        NO_COLOR="1",
        SCHEMACTL_ACTOR="t",
    )
    env.pop("DATABASE_URL", None)
    return env


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        skip_or_fail("git is not on PATH")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        skip_or_fail("pre-commit is not installed (the test extra brings it)")
    root = tmp_path / "repo"
    shutil.copytree(REPO / "examples", root)
    local = []
    for hook in _hooks():
        local.append({**hook, "language": "system"})
    config = {"repos": [{"repo": "local", "hooks": local}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "examples")
    return root


def run_hook(repo: Path, hook: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(BIN / "pre-commit"), "run", hook],
        cwd=repo,
        env=_env(repo),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def test_hooks_skip_a_commit_that_touches_no_schema_file(repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    _git(repo, "add", "README.md")
    for hook in ("schemactl-validate", "schemactl-check"):
        proc = run_hook(repo, hook)
        assert proc.returncode == 0, proc.stdout
        assert "(no files to check)Skipped" in proc.stdout


def test_a_valid_edit_passes_validate_and_the_gate_wants_it_approved(repo: Path) -> None:
    path = repo / FORUM
    text = path.read_text()
    anchor = "      - name: tenantId\n        type: String\n        required: true\n"
    assert anchor in text
    extra = "      - name: subtitle\n        type: String\n        nullable: true\n"
    path.write_text(text.replace(anchor, anchor + extra, 1))
    _git(repo, "add", FORUM)
    proc = run_hook(repo, "schemactl-validate")
    assert proc.returncode == 0, proc.stdout
    assert "schemactl validate" in proc.stdout and "Passed" in proc.stdout
    gate = run_hook(repo, "schemactl-check")
    assert gate.returncode == 1, gate.stdout
    assert "forum" in gate.stdout and "Failed" in gate.stdout
    # scanned and approved, the same commit passes the gate
    assert cli(repo, "scan").returncode == 0
    assert cli(repo, "approve", "all", "--by", "t").returncode == 0
    _git(repo, "add", "-A")
    gate = run_hook(repo, "schemactl-check")
    assert gate.returncode == 0, gate.stdout


def test_a_broken_file_fails_validate_with_its_position(repo: Path) -> None:
    path = repo / FORUM
    path.write_text(path.read_text().replace("type: String", "type: Strnig", 1))
    _git(repo, "add", FORUM)
    proc = run_hook(repo, "schemactl-validate")
    assert proc.returncode == 1, proc.stdout
    assert f"{FORUM}:" in proc.stdout and "SC" in proc.stdout
    assert "did you mean" in proc.stdout.lower()


def test_validate_maps_paths_to_packages(repo: Path) -> None:
    """What the hook runs: `schemactl validate FILE...` from the git root."""
    path = repo / "packages/settings/seed/schema/entities.yaml"
    path.write_text(path.read_text().replace("type: string", "type: strnig", 1))
    proc = subprocess.run(
        [str(BIN / "schemactl"), "--json", "validate", FORUM, "packages/forum/seed/metadata.json"],
        cwd=repo,
        env=_env(repo),
        capture_output=True,
        text=True,
        check=False,
    )
    import json

    doc = json.loads(proc.stdout)
    assert proc.returncode == 0, doc  # settings is broken, but only forum was asked for
    assert [p["id"] for p in doc["packages"]] == ["forum"]
    proc = subprocess.run(
        [str(BIN / "schemactl"), "validate", FORUM, "packages/settings/seed/schema/entities.yaml"],
        cwd=repo,
        env=_env(repo),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "packages/settings/seed/schema/entities.yaml:" in proc.stdout
    outside = subprocess.run(
        [str(BIN / "schemactl"), "validate", "schemactl.toml", "README.md"],
        cwd=repo,
        env=_env(repo),
        capture_output=True,
        text=True,
        check=False,
    )
    assert outside.returncode == 2
    assert "not inside any package" in outside.stderr


def test_validate_finds_the_root_above_the_file(repo: Path, tmp_path: Path) -> None:
    """pre-commit runs in the git root, which need not be the schemactl root."""
    outer = tmp_path / "outer"
    outer.mkdir()
    shutil.move(str(repo), outer / "db")
    proc = subprocess.run(
        [str(BIN / "schemactl"), "--json", "validate", f"db/{FORUM}"],
        cwd=outer,
        env=_env(outer / "db"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    assert [p["id"] for p in json.loads(proc.stdout)["packages"]] == ["forum"]


def test_pre_commit_installs_the_hook_from_this_repository(repo: Path) -> None:
    """The hook as users get it: `language: python`, installed by pre-commit from this
    repository (`pre-commit try-repo`, the working tree as it is), run on a staged file."""
    if not (REPO / ".git").exists():
        skip_or_fail(f"{REPO} is not a git checkout: try-repo needs one")
    path = repo / FORUM
    path.write_text(path.read_text().replace("type: String", "type: Strnig", 1))
    _git(repo, "add", FORUM)
    proc = subprocess.run(
        [str(BIN / "pre-commit"), "try-repo", str(REPO), "schemactl-validate"],
        cwd=repo,
        env=_env(repo),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "schemactl validate" in out and "Failed" in out
    assert f"{FORUM}:" in out and "unknown field type 'Strnig'" in out
