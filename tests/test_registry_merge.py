"""Merging branches with real git (SPEC §7): changes to different packages merge without a
conflict and keep their approvals; changes to one package conflict only in its files; a
merge that git resolved silently but that mixes two histories of a package is named by
`check`."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from registry_util import (
    REGISTRY,
    cli,
    cli_json,
    entities,
    entity,
    package_file,
    pending_id,
    post,
    product,
    project,
    write_package,
)


def git(root: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def repo(tmp_path: Path) -> Path:
    """Three approved packages, committed on main."""
    root = project(
        tmp_path / "repo",
        {"shop": product(), "blog": post(), "wiki": post().replace("Post", "Page")},
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", "all", "--by", "admin@example.com").exit_code == 0
    assert cli(root, "generate").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    return root


def change(root: Path, branch: str, pkg: str, text: str, base: str = "main") -> str:
    """On a new branch: change one package, scan, approve, generate, commit."""
    git(root, "checkout", "-q", "-b", branch, base)
    write_package(root, pkg, text)
    assert cli(root, "scan").exit_code == 0
    mid = pending_id(root, pkg)
    res = cli(root, "approve", mid, "--by", f"{branch}@example.com", "--allow-destructive")
    assert res.exit_code == 0, res.output
    assert cli(root, "generate").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", f"{branch}: {pkg}")
    return mid


def test_changes_to_different_packages_merge_cleanly_with_approvals_intact(
    tmp_path: Path,
) -> None:
    root = repo(tmp_path)
    a = change(root, "feature-a", "shop", product(sku=True))
    b = change(root, "feature-b", "blog", post(body=True))
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "feature-a")
    merged = git(root, "merge", "--no-edit", "feature-b", ok=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    code, doc = cli_json(root, "check")
    assert code == 0, doc["diagnostics"]
    assert cli(root, "generate", "--check").exit_code == 0
    code, doc = cli_json(root, "list", "--all")
    status = {m["id"]: (m["status"], m["approved_by"]) for m in doc["migrations"]}
    assert status[a] == ("approved", "feature-a@example.com")
    assert status[b] == ("approved", "feature-b@example.com")
    # nothing to scan or re-approve after the merge
    assert cli(root, "scan").exit_code == 0
    assert git(root, "status", "--porcelain").stdout == ""


def test_changes_to_one_package_conflict_only_in_its_files(tmp_path: Path) -> None:
    root = repo(tmp_path)
    shop_a = entities(entity("Product", {"id": "type: cuid, primary: true", "a": "type: int"}))
    shop_b = entities(entity("Product", {"id": "type: cuid, primary: true", "b": "type: int"}))
    change(root, "feature-a", "shop", shop_a)
    change(root, "feature-b", "shop", shop_b)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "feature-a")
    merged = git(root, "merge", "--no-edit", "feature-b", ok=False)
    assert merged.returncode != 0
    conflicted = git(root, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert f"{REGISTRY}/shop.json" in conflicted
    assert all("shop" in path for path in conflicted), conflicted
    # the conflicted registry file names the package and the way out
    code, doc = cli_json(root, "check")
    assert code == 3
    (d,) = doc["diagnostics"]
    assert d["code"] == "SC609" and "package shop" in d["message"]
    assert "schemactl scan" in d["hint"]


def test_a_silent_merge_that_mixes_two_histories_is_named_by_check(tmp_path: Path) -> None:
    """git merges the file without a conflict when the two sides' hunks are apart; the
    result is valid JSON but holds two branches' approvals of one package."""
    root = repo(tmp_path)
    change(root, "feature-a", "shop", product(sku=True))
    a_file = json.loads(package_file(root, "shop").read_text())
    mid_b = change(root, "feature-b", "shop", product(price=False))
    b_file = json.loads(package_file(root, "shop").read_text())
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "feature-a")
    # what a union merge (or a careless hand resolution) of the two sides gives
    rec_b = next(m for m in b_file["migrations"] if m["id"] == mid_b)
    mixed = dict(a_file, migrations=sorted([*a_file["migrations"], rec_b], key=lambda m: m["id"]))
    package_file(root, "shop").write_text(json.dumps(mixed, indent=2, sort_keys=True) + "\n")
    code, doc = cli_json(root, "check")
    assert code == 1
    mixes = [d for d in doc["diagnostics"] if d["code"] == "SC612"]
    assert len(mixes) == 1 and mixes[0]["package"] == "shop"
    assert "package shop" in mixes[0]["message"] and mid_b in mixes[0]["message"]
    assert mixes[0]["file"] == f"{REGISTRY}/shop.json"


def test_git_merge_with_union_driver_is_caught(tmp_path: Path) -> None:
    """Teams that mark registry files ``merge=union`` get a silent textual merge: `check`
    refuses it, as unreadable or as a mixed history, naming the package's file."""
    root = repo(tmp_path)
    (root / ".gitattributes").write_text("* merge=union\n")
    git(root, "add", ".gitattributes")
    git(root, "commit", "-qm", "union")
    change(root, "feature-a", "shop", product(sku=True))
    time.sleep(1.05)
    change(root, "feature-b", "shop", product(price=False))
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-edit", "feature-a")
    merged = git(root, "merge", "--no-edit", "feature-b", ok=False)
    assert merged.returncode == 0, "the union driver merges silently"
    code, doc = cli_json(root, "check")
    assert code in (1, 3)
    bad = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert bad and all("shop" in (d["file"] or "") + d["message"] for d in bad), bad
