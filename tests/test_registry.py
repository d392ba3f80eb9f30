"""The registry file (SPEC §7): deterministic format, versioning, unreadable files, the lock.

An unreadable registry stops every command with exit 3, the path and the parse error, and
is never overwritten.  Everything runs through the CLI.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from registry_util import (
    REGISTRY,
    cli,
    cli_json,
    entities,
    entity,
    pending_id,
    post,
    product,
    project,
    registry_bytes,
    registry_data,
    registry_path,
    run,
    write_package,
)


def scanned(tmp_path: Path) -> Path:
    """shop approved, blog approved then changed and pending, wiki rejected."""
    root = project(
        tmp_path / "proj",
        {"shop": product(), "blog": post(), "wiki": post().replace("Post", "Page")},
    )
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", pending_id(root, "shop"), "--by", "a@example.com").exit_code == 0
    assert cli(root, "approve", pending_id(root, "blog"), "--by", "a@example.com").exit_code == 0
    res = cli(root, "reject", pending_id(root, "wiki"), "--by", "Jörg", "--reason", "zu früh ✓")
    assert res.exit_code == 0
    write_package(root, "blog", post(body=True))
    assert cli(root, "scan").exit_code == 0
    return root


def canonical(text: str) -> str:
    return json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in registry_path(root).parent.iterdir() if p.suffix == ".tmp")


# ----------------------------------------------------------------------------- format


def test_the_file_is_deterministic_json(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    raw = registry_bytes(root)
    text = raw.decode("utf-8")  # UTF-8
    assert text == canonical(text), "sorted keys, two-space indent"
    assert text.endswith("}\n") and not text.endswith("\n\n"), "one final newline"
    assert text.splitlines()[1].startswith('  "baseline": {')
    assert "\r" not in text
    assert "zu früh ✓" in text and "Jörg" in text, "non-ASCII stays readable in diffs"
    data = json.loads(text)
    assert data["format"] == 1
    assert set(data) >= {"format", "baseline", "migrations"}
    statuses = {m["package"]: m["status"] for m in data["migrations"] if m["package"] != "blog"}
    assert statuses == {"shop": "approved", "wiki": "rejected"}
    blog = sorted((m["id"], m["status"]) for m in data["migrations"] if m["package"] == "blog")
    assert [s for _, s in blog] == ["approved", "pending"]


def test_baseline_entries_hold_definition_checksum_and_owner(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    _, v = cli_json(root, "validate")
    base = registry_data(root)["baseline"]
    assert set(base) == {"Product", "Post"}, "rejected and pending plans are not baseline"
    product_now = next(e for p in v["packages"] for e in p["entities"] if e["name"] == "Product")
    assert base["Product"]["checksum"] == product_now["checksum"]
    assert base["Product"]["package"] == "shop"
    assert base["Product"]["definition"]["table"] == "products"
    approved = {m["id"] for m in registry_data(root)["migrations"] if m["status"] == "approved"}
    assert base["Product"]["migration"] in approved


def test_decided_records_are_sealed(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    for m in registry_data(root)["migrations"]:
        if m["status"] in ("approved", "rejected"):
            assert m["record_hash"].startswith("sha256:") and len(m["record_hash"]) == 71


def test_approval_keeps_exactly_the_stored_sql(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    mid = pending_id(root, "blog")
    before = next(m for m in registry_data(root)["migrations"] if m["id"] == mid)
    assert cli(root, "approve", mid, "--by", "a@b").exit_code == 0
    after = next(m for m in registry_data(root)["migrations"] if m["id"] == mid)
    assert after["sql"] == before["sql"]
    assert after["sql_checksum"] == before["sql_checksum"]
    assert after["ops"] == before["ops"] and after["changes"] == before["changes"]


@pytest.mark.parametrize(
    "args",
    [
        ["scan"],
        ["scan", "--dry-run"],
        ["list"],
        ["list", "--all"],
        ["approve", "all", "--by", "a@b"],
        ["check"],
        ["validate"],
    ],
)
def test_commands_that_change_nothing_do_not_rewrite_the_file(
    tmp_path: Path, args: list[str]
) -> None:
    root = scanned(tmp_path)
    assert cli(root, "approve", "all", "--by", "a@b").exit_code == 0
    before = registry_bytes(root)
    st = registry_path(root).stat()
    res = cli(root, *args)
    assert res.exit_code == (1 if args == ["check"] else 0), res.output  # wiki was rejected
    st2 = registry_path(root).stat()
    assert registry_bytes(root) == before
    assert (st2.st_ino, st2.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)


def test_the_registry_path_is_configurable(tmp_path: Path) -> None:
    root = project(
        tmp_path, {"shop": product()}, config='packages = ["packages/*"]\nregistry = "db/q.json"\n'
    )
    assert cli(root, "scan").exit_code == 0
    assert (root / "db" / "q.json").is_file()
    assert not (root / REGISTRY).exists()
    assert cli(root, "approve", "all", "--by", "a@b").exit_code == 0
    assert sorted(p.name for p in (root / "db").iterdir()) == ["q.json", "q.json.lock"]
    assert cli(root, "check").exit_code == 0


# ----------------------------------------------------------------------------- versions


ALL_COMMANDS: list[Callable[[Path], list[str]]] = [
    lambda r: ["scan"],
    lambda r: ["list"],
    lambda r: ["list", "--all"],
    lambda r: ["show", "20200101000000_shop"],
    lambda r: ["approve", "all", "--by", "a@b"],
    lambda r: ["approve", "20200101000000_shop", "--by", "a@b"],
    lambda r: ["reject", "20200101000000_shop", "--by", "a@b"],
    lambda r: ["check"],
]
COMMAND_IDS = ["scan", "list", "list-all", "show", "approve-all", "approve", "reject", "check"]


@pytest.mark.parametrize("argv", ALL_COMMANDS, ids=COMMAND_IDS)
def test_a_newer_format_stops_every_command_with_exit_3(
    tmp_path: Path, argv: Callable[[Path], list[str]]
) -> None:
    root = scanned(tmp_path)
    data = registry_data(root)
    data["format"] = 99
    data["something_new"] = {"a": 1}
    text = json.dumps(data, sort_keys=True, indent=2) + "\n"
    registry_path(root).write_text(text, encoding="utf-8")
    before = registry_bytes(root)

    res = cli(root, *argv(root))
    assert res.exit_code == 3
    assert "Traceback" not in res.output
    assert str(registry_path(root)) in res.stderr
    assert "format 99" in res.stderr and "upgrade schemactl" in res.stderr
    code, doc = cli_json(root, *argv(root))
    assert code == 3 and doc["exit_code"] == 3 and doc["ok"] is False
    assert "format 99" in doc["diagnostics"][0]["message"]
    assert registry_bytes(root) == before, "a newer registry is never rewritten"
    assert leftovers(root) == []


# ----------------------------------------------------------------------------- corrupt


def _truncated(text: str) -> str:
    return text[: len(text) // 2]


def _conflict(text: str) -> str:
    lines = text.splitlines(keepends=True)
    k = len(lines) // 2
    conflict = ["<<<<<<< HEAD\n", lines[k], "=======\n", lines[k], ">>>>>>> feature\n"]
    return "".join([*lines[:k], *conflict, *lines[k + 1 :]])


CORRUPTIONS: dict[str, Callable[[str], str | bytes]] = {
    "truncated": _truncated,
    "merge-conflict": _conflict,
    "empty": lambda t: "",
    "not-utf8": lambda t: t.encode("utf-8").replace(b"\xc3\xbc", b"\xfc"),
    "not-an-object": lambda t: "[]\n",
    "missing-format": lambda t: t.replace('"format": 1', '"fmt": 1'),
    "baseline-not-object": lambda t: t.replace('"baseline": {', '"baseline": [{', 1).replace(
        '\n  },\n  "format"', '\n  }],\n  "format"', 1
    ),
    "record-without-status": lambda t: t.replace('"status": "approved"', '"state": "approved"'),
    "record-not-object": lambda t: t.replace('"migrations": [', '"migrations": [\n    42,', 1),
    "unknown-status": lambda t: t.replace('"status": "approved"', '"status": "ok"', 1),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
@pytest.mark.parametrize("argv", ALL_COMMANDS, ids=COMMAND_IDS)
def test_a_corrupt_registry_stops_every_command_and_is_never_overwritten(
    tmp_path: Path, kind: str, argv: Callable[[Path], list[str]]
) -> None:
    root = scanned(tmp_path)
    broken = CORRUPTIONS[kind](registry_bytes(root).decode("utf-8"))
    if isinstance(broken, str):
        broken = broken.encode("utf-8")
    registry_path(root).write_bytes(broken)

    res = cli(root, *argv(root))
    assert res.exit_code == 3, res.output
    assert "Traceback" not in res.output
    assert str(registry_path(root)) in res.stderr
    assert registry_path(root).read_bytes() == broken, "never overwritten"
    assert leftovers(root) == []


@pytest.mark.parametrize(
    ("kind", "expect"),
    [
        ("truncated", "line "),
        ("merge-conflict", "merge-conflict markers"),
        ("empty", "line 1 column 1"),
        ("not-utf8", "not UTF-8"),
        ("record-without-status", "lacks 'status'"),
    ],
)
def test_the_error_names_the_parse_problem(tmp_path: Path, kind: str, expect: str) -> None:
    root = scanned(tmp_path)
    broken = CORRUPTIONS[kind](registry_bytes(root).decode("utf-8"))
    registry_path(root).write_bytes(broken if isinstance(broken, bytes) else broken.encode())
    code, doc = cli_json(root, "scan")
    assert code == 3
    (d,) = doc["diagnostics"]
    said = d["message"] + " " + (d["hint"] or "")
    assert expect in said
    assert str(registry_path(root)) in d["message"]
    if kind == "truncated":
        assert "column " in d["message"]
    if kind == "merge-conflict":
        assert "schemactl scan" in d["hint"]
    res = cli(root, "--format", "github", "scan")
    assert res.exit_code == 3
    assert res.stdout.startswith("::error title=SC000::registry ")


def test_a_validation_error_and_a_corrupt_registry(tmp_path: Path) -> None:
    """Whatever is reported first, nothing is written."""
    root = scanned(tmp_path)
    registry_path(root).write_bytes(b'{"format": 1, "baseline": {')
    write_package(root, "shop", "entities: [")
    res = cli(root, "scan")
    assert res.exit_code in (1, 3)
    assert registry_path(root).read_bytes() == b'{"format": 1, "baseline": {'


# ----------------------------------------------------------------------------- git


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )


def test_a_merge_conflict_in_the_registry_is_resolved_with_scan(tmp_path: Path) -> None:
    """Two branches each add a package and scan; git cannot merge the registry."""
    root = project(tmp_path / "repo", {"shop": product()})
    assert _git(root, "init", "-q", "-b", "main").returncode == 0
    _git(root, "config", "user.email", "dev@example.com")
    _git(root, "config", "user.name", "Dev")
    (root / ".gitignore").write_text(".schemactl/registry.json.lock\n.schemactl/cache/\n")
    cli(root, "scan")
    cli(root, "approve", "all", "--by", "admin@example.com")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "shop")

    _git(root, "checkout", "-qb", "feature")
    write_package(root, "blog", post())
    assert cli(root, "scan").exit_code == 0
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "blog")

    _git(root, "checkout", "-q", "main")
    write_package(root, "wiki", post().replace("Post", "Page"))
    assert cli(root, "scan").exit_code == 0
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "wiki")
    assert _git(root, "status", "--porcelain").stdout == "", "the lock file is ignored"

    merge = _git(root, "merge", "-q", "feature")
    assert merge.returncode != 0
    conflicted = registry_bytes(root)
    assert b"<<<<<<<" in conflicted

    for argv in (["scan"], ["approve", "all", "--by", "a@b"], ["check"], ["list"]):
        res = cli(root, *argv)
        assert res.exit_code == 3
        assert "merge-conflict markers" in res.stderr
        assert registry_bytes(root) == conflicted

    # resolution: take one side, then scan re-plans the other side's package from the files
    _git(root, "checkout", "--ours", REGISTRY)
    code, doc = cli_json(root, "scan")
    assert code == 0
    assert sorted(m["package"] for m in doc["migrations"]) == ["blog", "wiki"]
    pending = {m["package"] for m in registry_data(root)["migrations"] if m["status"] == "pending"}
    assert pending == {"blog", "wiki"}
    assert cli(root, "approve", "all", "--by", "admin@example.com").exit_code == 0
    assert cli(root, "check").exit_code == 0
    _git(root, "add", "-A")
    assert _git(root, "commit", "-qm", "merge").returncode == 0


# ----------------------------------------------------------------------------- lock


def test_a_held_lock_times_out_with_exit_3(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    before = registry_bytes(root)
    write_package(root, "shop", product(sku=True))
    lock = FileLock(str(registry_path(root)) + ".lock")
    with lock:
        proc = run(root, "scan", env={"SCHEMACTL_LOCK_TIMEOUT": "0.5"})
        assert proc.returncode == 3, proc.stderr
        assert "timed out waiting for the registry lock" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert registry_bytes(root) == before
        # readers do not need the lock
        assert run(root, "list").returncode == 0
    proc = run(root, "scan", env={"SCHEMACTL_LOCK_TIMEOUT": "5"})
    assert proc.returncode == 0, proc.stderr
    assert registry_bytes(root) != before


def test_a_bad_lock_timeout_is_a_usage_error(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    before = registry_bytes(root)
    write_package(root, "shop", product(sku=True))
    res = cli(root, "scan", env={"SCHEMACTL_LOCK_TIMEOUT": "soon"})
    assert res.exit_code == 2
    assert "SCHEMACTL_LOCK_TIMEOUT" in res.stderr
    assert registry_bytes(root) == before


def test_temporary_files_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    stale = registry_path(root).parent / ".registry.json.k2j3h4.tmp"
    stale.write_text('{"format": 1, "base')
    other = registry_path(root).parent / "notes.tmp"  # not ours: left alone
    other.write_text("x")
    write_package(root, "shop", product(sku=True))
    assert cli(root, "scan").exit_code == 0
    assert not stale.exists()
    assert other.exists()
    json.loads(registry_bytes(root))


def test_unusual_values_round_trip_and_stay_sealed(tmp_path: Path) -> None:
    """Floats, big integers and non-ASCII text go through the file unchanged: the seals of
    the approved record and the checksums still verify after it is read back."""
    fields = {
        "id": "type: cuid, primary: true",
        "amount": "type: float, min: 0.1, max: 1e10, default: 2.5",
        "label": "type: string, default: 'Grüße ✓ \"q\"', description: 'naïve'",
        "big": "type: bigint, default: 9007199254740993",
    }
    root = project(tmp_path, {"shop": entities(entity("Price", fields))})
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", "all", "--by", "Zoë <zoe@example.com>").exit_code == 0
    text = registry_bytes(root).decode("utf-8")
    assert text == canonical(text)
    assert "Zoë" in text and "Grüße ✓" in text and "9007199254740993" in text
    assert cli(root, "check").exit_code == 0
    before = registry_bytes(root)
    assert cli(root, "scan").exit_code == 0
    assert registry_bytes(root) == before


def test_lock_file_and_temporaries_are_ignored_by_git(tmp_path: Path) -> None:
    import subprocess

    root = project(tmp_path, {"shop": product()})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert cli(root, "scan").exit_code == 0
    assert (root / ".schemactl" / "registry.json.lock").exists()
    out = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".schemactl/registry.json\n" in out
    assert ".schemactl/.gitignore" in out
    assert "registry.json.lock" not in out


def test_an_order_too_large_for_json_is_refused_not_written(tmp_path: Path) -> None:
    """A hand-edited ``order`` of 2**64 - 1 would make the next one unwritable (review)."""
    root = project(tmp_path, {"shop": product()})
    assert cli(root, "scan").exit_code == 0
    data = json.loads(registry_bytes(root))
    data["migrations"][0]["order"] = 2**64 - 1
    (root / REGISTRY).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    before = registry_bytes(root)
    write_package(root, "shop", product(sku=True))
    res = cli(root, "scan")
    assert res.exit_code == 3
    assert "malformed 'order'" in res.output
    assert registry_bytes(root) == before
