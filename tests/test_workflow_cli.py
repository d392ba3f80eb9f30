"""The approval queue through the CLI, as a developer, CI and an admin use it (SPEC §7, §10).

scan -> list/show -> approve/reject -> check, on small projects written into tmp_path and on
a copy of the bundled examples.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry_util import (
    CHANGE_KEYS,
    ENTITIES,
    ID_RE,
    MIGRATION_KEYS,
    REGISTRY,
    cli,
    cli_json,
    codes,
    entities,
    entity,
    migrations,
    pending_id,
    post,
    product,
    project,
    registry_bytes,
    registry_data,
    registry_path,
    write_package,
    write_registry,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SHA = re.compile(r"sha256:[0-9a-f]{64}\Z")


def approved_project(tmp_path: Path, packages: dict[str, str] | None = None) -> Path:
    """A project whose packages are scanned and approved (the baseline is the files)."""
    root = project(tmp_path / "proj", packages or {"shop": product(), "blog": post()})
    assert cli(root, "scan").exit_code == 0
    res = cli(root, "approve", "all", "--by", "admin@example.com")
    assert res.exit_code == 0, res.output
    return root


def check_codes(root: Path) -> tuple[int, list[str]]:
    code, doc = cli_json(root, "check")
    assert doc["exit_code"] == code
    return code, codes(doc, "error")


# ----------------------------------------------------------------------------- scan


def test_scan_queues_one_pending_migration_per_package(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product(), "blog": post()})
    code, doc = cli_json(root, "scan")
    assert code == 0, doc
    assert {p["id"] for p in doc["packages"]} == {"shop", "blog"}
    ms = doc["migrations"]
    assert sorted(m["package"] for m in ms) == ["blog", "shop"]
    for m in ms:
        assert set(m) == MIGRATION_KEYS
        assert re.fullmatch(ID_RE.format(pkg=m["package"]), m["id"])
        assert m["status"] == "pending"
        assert m["destructive"] is False
        assert m["approved_by"] is None and m["approved_at"] is None
        (change,) = m["changes"]
        assert set(change) == CHANGE_KEYS
        assert change["action"] == "create" and change["from"] is None
        assert SHA.match(change["to"])

    # the stored record carries everything SPEC §7 lists
    stored = {m["id"]: m for m in migrations(root)}
    assert set(stored) == {m["id"] for m in ms}
    for rec in stored.values():
        assert rec["status"] == "pending"
        datetime.fromisoformat(rec["created_at"])
        assert rec["ops"], "the planned operations are stored"
        assert "CREATE TABLE" in rec["sql"]["up"]
        assert "DROP TABLE" in rec["sql"]["down"]
        assert SHA.match(rec["sql_checksum"])


def test_migrations_planned_together_carry_their_dependency_order(tmp_path: Path) -> None:
    """alpha's Invoice references zeta's Account: zeta's migration must run first."""
    account = entities(entity("Account", {"id": "type: cuid, primary: true"}))
    invoice = entities(
        entity(
            "Invoice",
            {"id": "type: cuid, primary: true", "accountId": "type: cuid, required: true"},
            extra="    relations:\n"
            "      - { name: account, type: belongsTo, entity: Account, field: accountId }\n",
        )
    )
    root = project(tmp_path, {"alpha": invoice, "zeta": account})
    assert cli(root, "scan").exit_code == 0
    recs = {m["package"]: m for m in migrations(root)}
    assert recs["zeta"]["id"] < recs["alpha"]["id"], "ids sort in application order"
    stamps = [datetime.strptime(recs[p]["id"][:14], "%Y%m%d%H%M%S") for p in ("zeta", "alpha")]
    assert (stamps[1] - stamps[0]).total_seconds() == 1, "one scan's ids are a second apart"
    assert [m["package"] for m in migrations(root)] == ["zeta", "alpha"], "application order"
    assert 'REFERENCES "zeta"."accounts"' in recs["alpha"]["sql"]["up"]
    # a later scan's migrations come after, in ids and in order
    write_package(root, "zeta", account.replace("primary: true", "primary: true, unique: true"))
    cli(root, "scan")
    later = pending_id(root, "zeta")
    newest = {m["id"]: m for m in migrations(root)}[later]
    assert later > max(r["id"] for r in recs.values())
    assert newest["status"] == "pending"


def test_scan_reports_checksums_that_match_validate(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    _, v = cli_json(root, "validate")
    _, s = cli_json(root, "scan")
    assert s["packages"] == v["packages"]
    (m,) = s["migrations"]
    (ent,) = v["packages"][0]["entities"]
    assert m["changes"][0]["to"] == ent["checksum"]


def test_scan_twice_without_change_writes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product(), "blog": post()})
    assert cli(root, "scan").exit_code == 0
    before = registry_bytes(root)
    st = registry_path(root).stat()
    res = cli(root, "scan")
    assert res.exit_code == 0
    assert "no changes" in res.stdout
    assert registry_bytes(root) == before
    st2 = registry_path(root).stat()
    assert (st2.st_ino, st2.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), "file was rewritten"
    # scan --json again still reports the pending migrations it kept
    _, doc = cli_json(root, "scan")
    assert sorted(m["package"] for m in doc["migrations"]) == ["blog", "shop"]
    assert registry_bytes(root) == before


def test_a_newer_plan_supersedes_the_pending_one(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product(price=False)})
    cli(root, "scan")
    first = pending_id(root, "shop")
    write_package(root, "shop", product(price=True))
    code, doc = cli_json(root, "scan")
    assert code == 0
    (new,) = doc["migrations"]
    assert new["id"] != first and new["status"] == "pending"

    by_id = {m["id"]: m for m in migrations(root)}
    assert by_id[first]["status"] == "superseded", "the old record stays, marked superseded"
    assert by_id[new["id"]]["status"] == "pending"
    assert len(migrations(root, "pending")) == 1
    assert new["id"] > first, "ids sort in creation order"

    _, pending = cli_json(root, "list")
    assert [m["id"] for m in pending["migrations"]] == [new["id"]]
    _, everything = cli_json(root, "list", "--all")
    assert {m["id"]: m["status"] for m in everything["migrations"]} == {
        first: "superseded",
        new["id"]: "pending",
    }
    # the superseded plan can no longer be approved
    code, doc = cli_json(root, "approve", first, "--by", "a@b")
    assert code == 1
    assert codes(doc) == ["SC604"]


def test_a_package_back_at_its_baseline_loses_its_pending_plan(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    write_package(root, "shop", product(sku=True))
    cli(root, "scan")
    planned = pending_id(root, "shop")
    write_package(root, "shop", product())  # reverted
    res = cli(root, "scan")
    assert res.exit_code == 0
    assert migrations(root, "pending") == []
    assert {m["id"]: m["status"] for m in migrations(root)}[planned] == "superseded"
    assert check_codes(root) == (0, [])


def test_a_new_package_whose_files_vanish_loses_its_pending_plan(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    write_package(root, "extra", post().replace("Post", "Extra"))
    cli(root, "scan")
    planned = pending_id(root, "extra")
    shutil.rmtree(root / "packages" / "extra")
    assert cli(root, "scan").exit_code == 0
    assert {m["id"]: m["status"] for m in migrations(root)}[planned] == "superseded"
    assert check_codes(root) == (0, [])


def test_scan_with_validation_errors_writes_nothing(tmp_path: Path) -> None:
    bad = entities(entity("Broken", {"id": "type: cuid, requried: true"}))
    root = project(tmp_path, {"shop": product(), "bad": bad})
    code, doc = cli_json(root, "scan")
    assert code == 1
    assert "SC201" in codes(doc, "error")
    assert not registry_path(root).exists(), "no registry is created"

    root2 = approved_project(tmp_path / "b")
    before = registry_bytes(root2)
    write_package(root2, "shop", product(sku=True))  # a real change ...
    write_package(root2, "bad", bad)  # ... but another package is invalid
    code, doc = cli_json(root2, "scan")
    assert code == 1
    assert doc["migrations"] == []
    assert registry_bytes(root2) == before


def test_scan_dry_run_plans_but_writes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    code, doc = cli_json(root, "scan", "--dry-run")
    assert code == 0
    assert [m["package"] for m in doc["migrations"]] == ["shop"]
    assert not registry_path(root).exists()


# ----------------------------------------------------------------------------- reject


def test_a_rejected_plan_is_not_queued_again(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    write_package(root, "shop", product(sku=True))
    cli(root, "scan")
    mid = pending_id(root, "shop")
    res = cli(root, "reject", mid, "--by", "lead@example.com", "--reason", "use a barcode")
    assert res.exit_code == 0, res.output
    assert mid in res.stdout

    rec = {m["id"]: m for m in migrations(root)}[mid]
    assert rec["status"] == "rejected"
    assert rec["rejected_by"] == "lead@example.com"
    datetime.fromisoformat(rec["rejected_at"])
    assert rec["reason"] == "use a barcode"
    assert rec.get("approved_by") is None

    before = registry_bytes(root)
    code, doc = cli_json(root, "scan")
    assert code == 0  # reported, not an error
    (diag,) = [d for d in doc["diagnostics"] if d["code"] == "SC603"]
    assert diag["severity"] == "warning"
    assert mid in diag["message"] and "use a barcode" in diag["message"]
    assert diag["package"] == "shop"
    assert diag["file"] == f"packages/shop/{ENTITIES}"
    assert migrations(root, "pending") == []
    assert registry_bytes(root) == before
    # text output reports it too
    res = cli(root, "scan")
    assert "SC603" in res.stdout

    # the change is still not approved: CI says so
    assert check_codes(root) == (1, ["SC600"])

    # a different change is planned again
    write_package(root, "shop", product(sku=True, price=False))
    cli(root, "scan")
    newer = pending_id(root, "shop")
    assert newer != mid
    # going back to the rejected content drops the newer plan and reports SC603
    write_package(root, "shop", product(sku=True))
    code, doc = cli_json(root, "scan")
    assert "SC603" in codes(doc)
    assert migrations(root, "pending") == []


def test_reject_shows_in_list_and_show(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    cli(root, "scan")
    mid = pending_id(root, "shop")
    assert cli(root, "reject", mid, "--by", "r@x", "--reason", "not now").exit_code == 0
    _, doc = cli_json(root, "list")
    assert doc["migrations"] == []
    _, doc = cli_json(root, "list", "--all")
    (m,) = doc["migrations"]
    assert set(m) == MIGRATION_KEYS
    assert m["status"] == "rejected" and m["approved_by"] is None
    res = cli(root, "show", mid)
    assert res.exit_code == 0
    assert "rejected" in res.stdout and "r@x" in res.stdout and "not now" in res.stdout


def test_reject_only_pending_and_unknown_ids(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    before = registry_bytes(root)
    approved = migrations(root, "approved")[0]["id"]
    res = cli(root, "reject", approved, "--by", "r@x")
    assert res.exit_code == 2
    assert "approved" in res.stderr
    res = cli(root, "reject", approved[:-1] + "X", "--by", "r@x")
    assert res.exit_code == 2
    assert "did you mean" in res.stderr and approved in res.stderr
    assert registry_bytes(root) == before


# ----------------------------------------------------------------------------- list / show


def test_list_and_show_text_and_json(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product(), "blog": post()})
    res = cli(root, "list")
    assert res.exit_code == 0
    assert "no pending migrations" in res.stdout
    cli(root, "scan")
    shop, blog = pending_id(root, "shop"), pending_id(root, "blog")

    res = cli(root, "list")
    assert res.exit_code == 0
    for mid, pkg, ent in ((shop, "shop", "Product"), (blog, "blog", "Post")):
        (line,) = [ln for ln in res.stdout.splitlines() if mid in ln]
        assert "pending" in line and pkg in line and f"create {ent}" in line

    code, doc = cli_json(root, "list")
    assert code == 0
    assert doc["diagnostics"] == []
    assert [m["id"] for m in doc["migrations"]] == sorted([shop, blog])
    for m in doc["migrations"]:
        assert set(m) == MIGRATION_KEYS

    res = cli(root, "show", shop)
    assert res.exit_code == 0
    out = res.stdout
    assert shop in out and "shop" in out and "pending" in out
    assert "create  Product" in out or "create Product" in out
    assert "destructive: no" in out
    assert 'CREATE TABLE "shop"."products"' in out
    assert "-- down" in out and 'DROP TABLE "shop"."products"' in out

    code, doc = cli_json(root, "show", shop)
    assert code == 0
    (m,) = doc["migrations"]
    assert set(m) == MIGRATION_KEYS
    assert m["id"] == shop and m["package"] == "shop" and m["status"] == "pending"
    # the full record (operations, SQL) is in the document too, under `migration`
    detail = doc["migration"]
    assert detail["id"] == shop and detail["namespace"] == "shop"
    assert 'CREATE TABLE "shop"."products"' in detail["sql"]["up"]
    assert any(op["op"] == "create_table" for op in detail["ops"])
    stored = {m["id"]: m for m in migrations(root)}[shop]
    assert detail["sql"] == stored["sql"] and detail["sql_checksum"] == stored["sql_checksum"]


def test_show_after_approval_names_the_approver(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    mid = migrations(root, "approved")[0]["id"]
    res = cli(root, "show", mid)
    assert "approved" in res.stdout and "admin@example.com" in res.stdout
    _, doc = cli_json(root, "list", "--all")
    for m in doc["migrations"]:
        assert set(m) == MIGRATION_KEYS
        assert m["status"] == "approved"
        assert m["approved_by"] == "admin@example.com"
        assert datetime.fromisoformat(m["approved_at"]).utcoffset() is not None


def test_show_unknown_id_is_a_usage_error_with_a_suggestion(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    cli(root, "scan")
    mid = pending_id(root, "shop")
    typo = mid.replace("shop", "shpo")
    res = cli(root, "show", typo)
    assert res.exit_code == 2
    assert f"did you mean '{mid}'" in res.stderr
    assert "Traceback" not in res.output
    code, doc = cli_json(root, "show", typo)
    assert code == 2 and doc["exit_code"] == 2
    assert mid in doc["diagnostics"][0]["hint"]


# ----------------------------------------------------------------------------- approve


def test_approve_moves_the_baseline(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product(), "blog": post()})
    cli(root, "scan")
    code, doc = cli_json(root, "approve", "all", "--by", "admin@example.com")
    assert code == 0, doc
    assert sorted(m["package"] for m in doc["migrations"]) == ["blog", "shop"]
    for m in doc["migrations"]:
        assert set(m) == MIGRATION_KEYS
        assert m["status"] == "approved" and m["approved_by"] == "admin@example.com"

    _, v = cli_json(root, "validate")
    checksums = {e["name"]: e["checksum"] for p in v["packages"] for e in p["entities"]}
    base = registry_data(root)["baseline"]
    assert set(base) == {"Product", "Post"}
    assert {n: b["checksum"] for n, b in base.items()} == checksums
    assert base["Product"]["package"] == "shop" and base["Post"]["package"] == "blog"
    assert base["Product"]["definition"], "the canonical definition is kept"

    before = registry_bytes(root)
    code, doc = cli_json(root, "scan")
    assert code == 0 and doc["migrations"] == []
    assert registry_bytes(root) == before
    assert check_codes(root) == (0, [])
    res = cli(root, "check")
    assert res.exit_code == 0 and "check passed" in res.stdout


def test_approve_refuses_a_stale_plan(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    cli(root, "scan")
    mid = pending_id(root, "shop")
    write_package(root, "shop", product(sku=True))  # changed after the scan
    before = registry_bytes(root)
    code, doc = cli_json(root, "approve", mid, "--by", "a@b")
    assert code == 1
    assert codes(doc) == ["SC604"]
    assert "stale" in doc["diagnostics"][0]["message"]
    assert doc["migrations"] == []
    assert registry_bytes(root) == before
    res = cli(root, "approve", mid, "--by", "a@b")
    assert res.exit_code == 1 and "SC604" in res.stdout and "scan" in res.stdout
    # after a new scan the new plan is approvable
    cli(root, "scan")
    assert cli(root, "approve", pending_id(root, "shop"), "--by", "a@b").exit_code == 0


def test_approve_refuses_destructive_without_the_flag(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    write_package(root, "shop", product(price=False))  # drops a column
    code, doc = cli_json(root, "scan")
    (m,) = doc["migrations"]
    assert m["destructive"] is True
    mid = m["id"]
    res = cli(root, "show", mid)
    assert "destructive: yes" in res.stdout and "price" in res.stdout
    assert 'DROP COLUMN "price"' in res.stdout
    res = cli(root, "list")
    assert "DESTRUCTIVE" in res.stdout

    before = registry_bytes(root)
    code, doc = cli_json(root, "approve", mid, "--by", "a@b")
    assert code == 1
    assert codes(doc) == ["SC605"]
    assert "--allow-destructive" in doc["diagnostics"][0]["hint"]
    assert registry_bytes(root) == before

    code, doc = cli_json(root, "approve", mid, "--by", "a@b", "--allow-destructive")
    assert code == 0, doc
    assert doc["migrations"][0]["status"] == "approved"
    assert "price" not in json.dumps(registry_data(root)["baseline"]["Product"]["definition"])
    assert check_codes(root) == (0, [])


def test_approve_all_reports_per_migration(tmp_path: Path) -> None:
    root = approved_project(
        tmp_path, {"shop": product(), "blog": post(), "wiki": post().replace("Post", "Page")}
    )
    write_package(root, "shop", product(price=False))  # destructive
    write_package(root, "blog", post(body=True))  # fine
    write_package(root, "wiki", post(body=True).replace("Post", "Page"))  # will be stale
    cli(root, "scan")
    ids = {p: pending_id(root, p) for p in ("shop", "blog", "wiki")}
    write_package(root, "wiki", post().replace("Post", "Page").replace("title", "name"))

    code, doc = cli_json(root, "approve", "all", "--by", "a@b")
    assert code == 1
    assert [m["id"] for m in doc["migrations"]] == [ids["blog"]]
    by_pkg = {d["package"]: d["code"] for d in doc["diagnostics"]}
    assert by_pkg == {"shop": "SC605", "wiki": "SC604"}
    status = {m["id"]: m["status"] for m in migrations(root)}
    assert status[ids["blog"]] == "approved", "the good one is kept"
    assert status[ids["shop"]] == status[ids["wiki"]] == "pending"

    res = cli(root, "approve", "all", "--by", "a@b")
    assert ids["shop"] in res.stdout and ids["wiki"] in res.stdout


def test_approve_all_with_nothing_pending(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    before = registry_bytes(root)
    res = cli(root, "approve", "all", "--by", "a@b")
    assert res.exit_code == 0
    assert "nothing to approve" in res.stdout
    assert registry_bytes(root) == before


def test_approve_unknown_id_changes_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product(), "blog": post()})
    cli(root, "scan")
    shop = pending_id(root, "shop")
    before = registry_bytes(root)
    typo = shop[:-1]
    res = cli(root, "approve", shop, typo, "--by", "a@b")
    assert res.exit_code == 2
    assert f"did you mean '{shop}'" in res.stderr
    assert registry_bytes(root) == before, "no approval when one id is unknown"
    res = cli(root, "approve", "--by", "a@b")
    assert res.exit_code == 2


def test_approve_twice_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    cli(root, "scan")
    mid = pending_id(root, "shop")
    assert cli(root, "approve", mid, "--by", "a@b").exit_code == 0
    before = registry_bytes(root)
    code, doc = cli_json(root, "approve", mid, "--by", "other@b")
    assert code == 1 and "approved" in doc["diagnostics"][0]["message"]
    assert registry_bytes(root) == before


def _git_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(home.parent),
        "LOGNAME": "loginname",
        "USER": "loginname",
        "LNAME": "loginname",
        "USERNAME": "loginname",
    }


def test_by_defaults_to_git_user_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = _git_env(home)
    root = project(tmp_path / "repo", {"shop": product(), "blog": post()})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    git_config = ["git", "-C", str(root), "config", "user.email", "dev@example.com"]
    subprocess.run(git_config, check=True)
    (home / ".gitconfig").write_text("[user]\n\temail = global@example.com\n")
    cli(root, "scan")

    monkeypatch.chdir(root)
    res = cli(root, "approve", pending_id(root, "shop"), env=env)
    assert res.exit_code == 0, res.output
    assert "dev@example.com" in res.stdout
    assert migrations(root, "approved")[0]["approved_by"] == "dev@example.com"

    # run from elsewhere with --root: the project's repository decides, not the cwd
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli(root, "reject", pending_id(root, "blog"), env=env).exit_code == 0
    (rec,) = migrations(root, "rejected")
    assert rec["rejected_by"] == "dev@example.com"


def test_by_defaults_to_the_global_git_email_outside_a_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\temail = global@example.com\n")
    root = project(tmp_path / "proj", {"shop": product()})
    monkeypatch.chdir(root)
    cli(root, "scan")
    assert cli(root, "approve", "all", env=_git_env(home)).exit_code == 0
    assert migrations(root, "approved")[0]["approved_by"] == "global@example.com"


def test_by_defaults_to_the_login_name_without_git_email(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    root = project(tmp_path / "proj", {"shop": product(), "blog": post()})
    monkeypatch.chdir(root)
    env = _git_env(home)
    cli(root, "scan")
    assert cli(root, "approve", pending_id(root, "shop"), env=env).exit_code == 0
    assert cli(root, "reject", pending_id(root, "blog"), env=env).exit_code == 0
    recs = {m["package"]: m for m in migrations(root)}
    assert recs["shop"]["approved_by"] == "loginname"
    assert recs["blog"]["rejected_by"] == "loginname"


# ----------------------------------------------------------------------------- check


def test_check_passes_on_an_approved_project(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    assert check_codes(root) == (0, [])
    res = cli(root, "--format", "github", "check")
    assert res.exit_code == 0
    assert "::error" not in res.stdout


def test_check_fails_on_validation_errors(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    write_package(root, "shop", product().replace("primary: true", "primary: true, size: 3"))
    before = registry_bytes(root)
    code, errs = check_codes(root)
    assert code == 1
    assert errs == ["SC201"]
    assert registry_bytes(root) == before


def test_check_fails_on_an_unscanned_change(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    write_package(root, "shop", product(sku=True))
    code, doc = cli_json(root, "check")
    assert code == 1
    (d,) = doc["diagnostics"]
    assert d["code"] == "SC600" and d["severity"] == "error"
    assert d["package"] == "shop" and d["file"] == f"packages/shop/{ENTITIES}"
    assert "Product" in d["message"]
    res = cli(root, "check")
    assert res.exit_code == 1
    assert f"packages/shop/{ENTITIES}" in res.stdout and "error SC600" in res.stdout


def test_check_fails_on_a_project_never_scanned(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product(), "blog": post()})
    code, doc = cli_json(root, "check")
    assert code == 1
    assert sorted((d["code"], d["package"]) for d in doc["diagnostics"]) == [
        ("SC600", "blog"),
        ("SC600", "shop"),
    ]
    assert not registry_path(root).exists(), "check writes nothing"


def test_check_fails_on_a_removed_package_not_yet_scanned(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"shop": product(), "blog": post()},
        config='packages = ["packages/*"]\n[namespaces]\nblog = "journal"\n',
    )
    cli(root, "scan")
    assert cli(root, "approve", "all", "--by", "a@b").exit_code == 0
    shutil.rmtree(root / "packages" / "blog")
    code, doc = cli_json(root, "check")
    assert code == 1
    (d,) = doc["diagnostics"]
    assert d["code"] == "SC600" and d["package"] == "blog" and "Post" in d["message"]
    # scanning plans the drop, which is then pending (and destructive)
    _, doc = cli_json(root, "scan")
    (m,) = doc["migrations"]
    assert m["package"] == "blog" and m["destructive"] is True
    assert m["changes"][0]["action"] == "drop"
    res = cli(root, "show", m["id"])
    assert 'DROP TABLE "journal"."posts"' in res.stdout
    assert "(schema journal)" in res.stdout
    assert check_codes(root) == (1, ["SC601"])
    assert cli(root, "approve", "all", "--by", "a@b", "--allow-destructive").exit_code == 0
    assert "Post" not in registry_data(root)["baseline"]
    assert check_codes(root) == (0, [])


def test_check_fails_on_a_pending_migration(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    write_package(root, "shop", product(sku=True))
    cli(root, "scan")
    mid = pending_id(root, "shop")
    code, doc = cli_json(root, "check")
    assert code == 1
    (d,) = doc["diagnostics"]
    assert d["code"] == "SC601" and mid in d["message"] and d["package"] == "shop"


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda m: m.__setitem__("approved_by", "mallory@example.com"), id="by"),
        pytest.param(lambda m: m.__setitem__("approved_at", "2000-01-01T00:00:00+00:00"), id="at"),
        pytest.param(
            lambda m: m["sql"].__setitem__("up", m["sql"]["up"] + "DROP SCHEMA public;\n"),
            id="sql",
        ),
        pytest.param(lambda m: m.__setitem__("destructive", True), id="destructive"),
        pytest.param(lambda m: m.pop("record_hash"), id="no-seal"),
    ],
)
def test_check_catches_a_hand_edited_approved_record(tmp_path: Path, edit: object) -> None:
    root = approved_project(tmp_path)
    data = registry_data(root)
    rec = next(m for m in data["migrations"] if m["package"] == "shop")
    edit(rec)  # type: ignore[operator]
    write_registry(root, data)
    code, doc = cli_json(root, "check")
    assert code == 1
    (d,) = doc["diagnostics"]
    assert d["code"] == "SC602" and rec["id"] in d["message"]
    assert d["file"] == f"{REGISTRY}/shop.json"
    res = cli(root, "--format", "github", "check")
    assert res.exit_code == 1
    assert f"::error file={REGISTRY}/shop.json,title=SC602::" in res.stdout


def test_check_catches_a_hand_edited_rejected_record(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    cli(root, "scan")
    mid = pending_id(root, "shop")
    cli(root, "reject", mid, "--by", "r@x", "--reason", "no")
    data = registry_data(root)
    data["migrations"][0]["reason"] = "yes"
    write_registry(root, data)
    _, errs = check_codes(root)
    assert "SC602" in errs


def test_check_catches_a_hand_edited_baseline(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    data = registry_data(root)
    data["baseline"]["Product"]["checksum"] = "sha256:" + "0" * 64
    write_registry(root, data)
    _, errs = check_codes(root)
    assert "SC602" in errs


def test_check_catches_an_approval_forged_in_a_pending_record(tmp_path: Path) -> None:
    """A developer who marks their own pending plan approved by hand is caught."""
    root = project(tmp_path, {"shop": product()})
    cli(root, "scan")
    data = registry_data(root)
    rec = data["migrations"][0]
    rec.update(status="approved", approved_by="admin@example.com", approved_at=rec["created_at"])
    data["baseline"] = {n: {**t, "migration": rec["id"]} for n, t in rec.get("target", {}).items()}
    write_registry(root, data)
    _, errs = check_codes(root)
    assert "SC602" in errs


def test_check_github_format(tmp_path: Path) -> None:
    root = approved_project(tmp_path)
    write_package(root, "shop", product(sku=True))
    write_package(root, "blog", post(body=True))
    cli(root, "scan")
    write_package(root, "shop", product(sku=True, price=False))  # not scanned again
    res = cli(root, "--format", "github", "check")
    assert res.exit_code == 1
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("::")]
    assert len(lines) == 3, res.stdout  # shop: unscanned + its stale plan, blog: pending
    for ln in lines:
        assert re.match(r"::error file=packages/(shop|blog)/seed/schema/entities\.yaml,", ln)
    assert sum("title=SC600" in ln for ln in lines) == 1
    assert sum("title=SC601" in ln for ln in lines) == 2


def test_check_github_format_with_line_numbers(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop": product()})
    bad = product().replace("type: int", "type: integr")
    write_package(root, "shop", bad)
    res = cli(root, "--format", "github", "check")
    assert res.exit_code == 1
    (ln,) = [ln for ln in res.stdout.splitlines() if ln.startswith("::error")]
    assert ln.startswith(f"::error file=packages/shop/{ENTITIES},line=6,")
    assert "title=SC203" in ln


# ----------------------------------------------------------------------------- examples


def test_the_examples_go_through_the_whole_queue(tmp_path: Path) -> None:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".schemactl", "migrations"))
    code, doc = cli_json(root, "check")
    assert code == 1 and set(codes(doc)) == {"SC600"}
    code, doc = cli_json(root, "scan")
    assert code == 0, doc
    pkgs = {p["id"] for p in doc["packages"]}
    assert {m["package"] for m in doc["migrations"]} == pkgs
    assert len(pkgs) == 8
    assert set(codes(cli_json(root, "check")[1])) == {"SC601"}
    code, doc = cli_json(root, "approve", "all", "--by", "admin@example.com")
    assert code == 0, doc
    assert len(doc["migrations"]) == 8
    assert check_codes(root) == (0, [])
    before = registry_bytes(root)
    assert cli(root, "scan").exit_code == 0
    assert registry_bytes(root) == before


def test_ids_sort_in_creation_order_within_one_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two scans in the same second: the second one's ids still sort after the first's."""
    from datetime import UTC

    import schemactl.scan

    frozen = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    monkeypatch.setattr(schemactl.scan, "now", lambda: frozen)
    root = project(tmp_path, {"zeta": product()})
    cli(root, "scan")
    first = pending_id(root, "zeta")
    write_package(root, "alpha", post())
    cli(root, "scan")
    second = pending_id(root, "alpha")
    assert first.startswith("20300102030405_")
    assert second > first, (first, second)
    ids = [m["id"] for m in migrations(root)]
    assert ids == sorted(ids)


# ----------------------------------------------------------------------------- layout


_CUSTOMER: dict[str, dict[str, object]] = {
    "id": {"type": ["cuid"], "primary": True},
    "email": {"type": ["string", "String"], "required": True, "unique": True},
    "age": {"type": ["int", "Int", "integer"], "min": 0},
    "active": {"type": ["boolean", "Boolean", "bool"], "default": True},
    "createdAt": {
        "type": ["datetime", "DateTime", "timestamp"],
        "default": "now",
        "required": True,
    },
}
_ORDER: dict[str, dict[str, object]] = {
    "id": {"type": ["uuid"], "primary": True, "generated": True},
    "customerId": {"type": ["cuid"], "required": True},
    "total": {"type": ["decimal"], "precision": 10, "scale": 2},
    "note": {"type": ["text"], "nullable": True},
}


def _layout(draw: st.DrawFn) -> str:
    """The shop package in a drawn layout: key, field, list and entity order, map or list
    shape of fields, type aliases, relation key aliases, descriptions."""

    def fields(spec: dict[str, dict[str, object]]) -> object:
        out = []
        for name in draw(st.permutations(list(spec))):
            keys = draw(st.permutations(list(spec[name])))
            f: dict[str, object] = {}
            for k in keys:
                v = spec[name][k]
                f[k] = draw(st.sampled_from(v)) if isinstance(v, list) else v  # type spellings
            if draw(st.booleans()):
                f["description"] = draw(st.sampled_from(["a", "b c", "ü"]))
            out.append((name, f))
        if draw(st.booleans()):
            return {n: f for n, f in out}
        return [{"name": n, **f} if draw(st.booleans()) else {**f, "name": n} for n, f in out]

    def ordered(d: dict[str, object]) -> dict[str, object]:
        return {k: d[k] for k in draw(st.permutations(list(d)))}

    relation = ordered(
        {
            "name": "customer",
            "type": "belongsTo",
            draw(st.sampled_from(["entity", "target"])): "Customer",
            draw(st.sampled_from(["field", "foreignKey"])): "customerId",
            "onDelete": "Cascade",
        }
    )
    customer = ordered(
        {
            "name": "Customer",
            "fields": fields(_CUSTOMER),
            "indexes": draw(
                st.permutations([{"fields": ["email", "age"]}, {"fields": ["active"]}])
            ),
            "acl": ordered(
                {
                    "read": draw(st.permutations(["public", "user"])),
                    "update": draw(st.permutations(["self", "admin"])),
                }
            ),
            "description": draw(st.sampled_from(["Customers", "People who buy"])),
            "version": draw(st.sampled_from(["1.0", "2.0"])),
        }
    )
    order = ordered(
        {
            "name": "Order",
            "fields": fields(_ORDER),
            "relations": [relation],
            "indexes": [{"fields": ["customerId"]}],
        }
    )
    ents = draw(st.permutations([customer, order]))
    return yaml.safe_dump({"entities": ents}, sort_keys=False, allow_unicode=True)


@st.composite
def _layouts(draw: st.DrawFn) -> str:
    return _layout(draw)


def test_layout_changes_plan_nothing(tmp_path: Path) -> None:
    """Key order, field order, list order, shapes, aliases and descriptions are not changes:
    after approving one layout, any other scans to nothing and passes check."""
    root = project(tmp_path / "proj", {"shop": _layout_fixed()})
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", "all", "--by", "a@b").exit_code == 0
    before = registry_bytes(root)

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
    )
    @given(_layouts())
    def prop(text: str) -> None:
        write_package(root, "shop", text)
        code, doc = cli_json(root, "scan")
        assert code == 0, (doc["diagnostics"], text)
        assert doc["migrations"] == [], text
        assert registry_bytes(root) == before
        assert check_codes(root) == (0, [])

    prop()


def _layout_fixed() -> str:
    return entities(
        entity(
            "Customer",
            {
                "id": "type: cuid, primary: true",
                "email": "type: string, required: true, unique: true",
                "age": "type: int, min: 0",
                "active": "type: boolean, default: true",
                "createdAt": "type: datetime, default: now, required: true",
            },
            extra="    indexes:\n      - { fields: [email, age] }\n      - { fields: [active] }\n"
            "    acl: { read: [public, user], update: [self, admin] }\n",
        ),
        entity(
            "Order",
            {
                "id": "type: uuid, primary: true, generated: true",
                "customerId": "type: cuid, required: true",
                "total": "type: decimal, precision: 10, scale: 2",
                "note": "type: text, nullable: true",
            },
            extra="    relations:\n"
            "      - { name: customer, type: belongsTo, entity: Customer, field: customerId,"
            " onDelete: Cascade }\n"
            "    indexes:\n      - { fields: [customerId] }\n",
        ),
    )


# ----------------------------------------------------------------------------- moves


def _move_project(tmp_path: Path) -> tuple[Path, str, str]:
    """Thing moves from package alpha to package zeta; returns (root, alpha id, zeta id)."""
    key = {"id": "type: cuid, primary: true"}
    root = approved_project(
        tmp_path,
        {
            "alpha": entities(entity("Thing", key), entity("Keep", key)),
            "zeta": entities(entity("Other", key)),
        },
    )
    write_package(root, "alpha", entities(entity("Keep", key)))
    write_package(root, "zeta", entities(entity("Other", key), entity("Thing", key)))
    cli(root, "scan")
    return root, pending_id(root, "alpha"), pending_id(root, "zeta")


def _moved(root: Path, alpha: str, zeta: str) -> None:
    status = {m["id"]: m["status"] for m in migrations(root)}
    assert status[alpha] == status[zeta] == "approved"
    assert registry_data(root)["baseline"]["Thing"]["package"] == "zeta"
    assert check_codes(root) == (0, [])
    before = registry_bytes(root)
    assert cli(root, "scan").exit_code == 0
    assert registry_bytes(root) == before


@pytest.mark.parametrize("order", ["alpha-first", "zeta-first"])
def test_an_entity_moving_between_packages_is_approved_in_either_order(
    tmp_path: Path, order: str
) -> None:
    root, alpha, zeta = _move_project(tmp_path)
    ids = [alpha, zeta] if order == "alpha-first" else [zeta, alpha]
    res = cli(root, "approve", *ids, "--by", "a@b", "--allow-destructive")
    assert res.exit_code == 0, res.output
    _moved(root, alpha, zeta)


def test_an_entity_cannot_be_taken_over_before_its_old_package_drops_it(tmp_path: Path) -> None:
    """Approving the create alone would orphan alpha's table: its drop would turn stale."""
    root, alpha, zeta = _move_project(tmp_path)
    before = registry_bytes(root)
    code, doc = cli_json(root, "approve", zeta, "--by", "a@b")
    assert code == 1
    (d,) = doc["diagnostics"]
    assert d["code"] == "SC607" and d["entity"] == "Thing" and alpha in d["hint"]
    assert registry_bytes(root) == before
    assert cli(root, "approve", alpha, "--by", "a@b", "--allow-destructive").exit_code == 0
    assert cli(root, "approve", zeta, "--by", "a@b").exit_code == 0
    _moved(root, alpha, zeta)


def test_approve_all_orders_a_move(tmp_path: Path) -> None:
    root, alpha, zeta = _move_project(tmp_path)
    res = cli(root, "approve", "all", "--by", "a@b", "--allow-destructive")
    assert res.exit_code == 0, res.output
    _moved(root, alpha, zeta)


def test_approve_refuses_a_migration_whose_foreign_key_needs_an_unapproved_table(
    tmp_path: Path,
) -> None:
    """SC608: forum references auth's Tenant; approving forum alone would make `apply`
    fail, so it waits until auth is approved (or both are approved together)."""
    root = tmp_path / "ex"
    shutil.copytree(
        Path(__file__).resolve().parent.parent / "examples",
        root,
        ignore=shutil.ignore_patterns(".schemactl", "migrations"),
    )
    assert cli(root, "scan").exit_code == 0
    code, doc = cli_json(root, "list")
    ids = {m["package"]: m["id"] for m in doc["migrations"]}
    code, doc = cli_json(root, "approve", ids["forum"], "--by", "a@b")
    assert code == 1
    errs = [d for d in doc["diagnostics"] if d["code"] == "SC608"]
    assert errs and errs[0]["package"] == "forum"
    assert ids["auth"] in errs[0]["hint"] or ids["storage"] in errs[0]["hint"]
    # approved together, in any order, it goes through
    code, doc = cli_json(root, "approve", "all", "--by", "a@b")
    assert code == 0, doc["diagnostics"]
    assert {m["package"] for m in doc["migrations"]} == set(ids)
