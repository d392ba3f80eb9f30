"""The registry files (SPEC §7): one deterministic file per package, versioning, unreadable
files, the lock, ids in application order, growth, and `schemactl upgrade`.

An unreadable package file stops every command with exit 3, naming the file, and no file
is ever overwritten.  Everything runs through the CLI.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from filelock import FileLock

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
    registry_bytes,
    registry_data,
    registry_files,
    registry_path,
    run,
    write_package,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
V1 = Path(__file__).resolve().parent / "fixtures" / "registry-v1" / "registry.json"


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
    return sorted(p.name for p in registry_path(root).iterdir() if p.suffix == ".tmp")


# ----------------------------------------------------------------------------- format


def test_one_deterministic_file_per_package(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    files = registry_files(root)
    assert sorted(files) == ["blog.json", "shop.json", "wiki.json"]
    for name, raw in files.items():
        text = raw.decode("utf-8")
        assert text == canonical(text), name
        data = json.loads(text)
        assert data["format"] == 2 and data["package"] == name[: -len(".json")]
        assert all(m["package"] == data["package"] for m in data["migrations"])
        ids = [m["id"] for m in data["migrations"]]
        assert ids == sorted(ids)
    shop = json.loads(files["shop.json"])
    (entry,) = shop["baseline"].values()
    assert set(entry) == {"checksum", "definition", "migration"}
    (rec,) = shop["migrations"]
    assert "target" not in rec and "base" not in rec and "order" not in rec
    assert rec["status"] == "approved" and rec["record_hash"].startswith("sha256:")
    assert not (root / ".schemactl" / "registry.json").exists()


def test_a_scan_that_changes_one_package_writes_only_its_file(tmp_path: Path) -> None:
    root = scanned(tmp_path)
    before = registry_files(root)
    mtimes = {p.name: p.stat().st_mtime_ns for p in registry_path(root).glob("*.json")}
    write_package(root, "shop", product(sku=True))
    assert cli(root, "scan").exit_code == 0
    after = registry_files(root)
    assert [n for n in after if after[n] != before.get(n)] == ["shop.json"]
    for p in registry_path(root).glob("*.json"):
        if p.name != "shop.json":
            assert p.stat().st_mtime_ns == mtimes[p.name], f"{p.name} was rewritten"
    again = registry_bytes(root)
    assert cli(root, "scan").exit_code == 0
    assert registry_bytes(root) == again, "scanning twice with no change writes nothing"


def test_the_registry_folder_is_configurable(tmp_path: Path) -> None:
    root = project(
        tmp_path, {"shop": product()}, 'packages = ["packages/*"]\nregistry = "db/reg"\n'
    )
    assert cli(root, "scan").exit_code == 0
    assert (root / "db" / "reg" / "shop.json").is_file()
    assert not registry_path(root).exists()
    assert cli(root, "approve", "all", "--by", "a@x").exit_code == 0
    assert cli(root, "check").exit_code == 0


COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "scan": lambda r: ["scan"],
    "list": lambda r: ["list", "--all"],
    "show": lambda r: ["show", "20200101000000_shop"],
    "approve": lambda r: ["approve", "all"],
    "reject": lambda r: ["reject", "20200101000000_shop"],
    "check": lambda r: ["check"],
    "generate": lambda r: ["generate"],
    "status": lambda r: ["status"],
}


@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_newer_format_stops_every_command_with_exit_3(
    tmp_path: Path, argv: Callable[[Path], list[str]]
) -> None:
    root = scanned(tmp_path)
    path = package_file(root, "shop")
    data = json.loads(path.read_text())
    data["format"] = 3
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    before = registry_bytes(root)
    res = cli(root, *argv(root))
    assert res.exit_code == 3, res.output
    assert "upgrade schemactl" in res.stderr and "shop.json" in res.stderr
    assert registry_bytes(root) == before


@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_format_1_registry_stops_every_command_until_upgraded(
    tmp_path: Path, argv: Callable[[Path], list[str]]
) -> None:
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root)
    shutil.rmtree(registry_path(root))
    shutil.copy(V1, root / ".schemactl" / "registry.json")
    res = cli(root, *argv(root))
    assert res.exit_code == 3, res.output
    assert "format 1" in res.stderr and "schemactl upgrade" in res.stderr
    assert (root / ".schemactl" / "registry.json").read_bytes() == V1.read_bytes()
    assert not registry_path(root).exists()


CORRUPTIONS: dict[str, Callable[[str], str | bytes]] = {
    "truncated": lambda t: t[: len(t) // 2],
    "merge-conflict": lambda t: t.replace(
        '"migrations": [', '"migrations": [\n<<<<<<< HEAD\n=======\n>>>>>>> feature', 1
    ),
    "empty": lambda t: "",
    "not-utf8": lambda t: t.encode("utf-8").replace(b'"format"', b'"f\xffrmat"'),
    "not-an-object": lambda t: "[]\n",
    "missing-format": lambda t: t.replace('"format": 2', '"formet": 2'),
    "record-without-status": lambda t: t.replace('"status"', '"statut"', 1),
    "unknown-status": lambda t: t.replace('"status": "approved"', '"status": "approvd"', 1),
    "claims-another-package": lambda t: t.replace('"package": "shop"', '"package": "blog"'),
}


@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_a_corrupt_package_file_stops_every_command_and_is_never_overwritten(
    tmp_path: Path, kind: str, argv: Callable[[Path], list[str]]
) -> None:
    root = scanned(tmp_path)
    path = package_file(root, "shop")
    broken = CORRUPTIONS[kind](path.read_text(encoding="utf-8"))
    path.write_bytes(broken if isinstance(broken, bytes) else broken.encode("utf-8"))
    before = registry_bytes(root)
    write_package(root, "shop", product(sku=True))  # a change a scan would want to write
    res = cli(root, *argv(root))
    assert res.exit_code == 3, res.output
    assert "Traceback" not in res.output
    assert f"{REGISTRY}/shop.json" in res.stderr
    assert registry_bytes(root) == before, "no file is rewritten"
    assert leftovers(root) == []


@pytest.mark.parametrize(
    ("kind", "expect"),
    [
        ("truncated", "line "),
        ("merge-conflict", "merge-conflict markers"),
        ("empty", "line 1 column 1"),
        ("not-utf8", "not UTF-8"),
        ("record-without-status", "lacks 'status'"),
        ("claims-another-package", "claims package 'blog'"),
    ],
)
def test_the_error_names_the_problem(tmp_path: Path, kind: str, expect: str) -> None:
    root = scanned(tmp_path)
    path = package_file(root, "shop")
    broken = CORRUPTIONS[kind](path.read_text(encoding="utf-8"))
    path.write_bytes(broken if isinstance(broken, bytes) else broken.encode())
    code, doc = cli_json(root, "scan")
    assert code == 3
    (d,) = doc["diagnostics"]
    said = d["message"] + " " + (d["hint"] or "")
    assert expect in said
    assert f"{REGISTRY}/shop.json" in d["message"]
    if kind == "merge-conflict":
        assert d["code"] == "SC609" and "package shop" in d["message"]
        assert "git checkout --ours" in d["hint"] and "schemactl scan" in d["hint"]
    res = cli(root, "--format", "github", "scan")
    assert res.exit_code == 3
    assert res.stdout.startswith("::error title=SC")


# ----------------------------------------------------------------------------- ids


def test_ids_sort_after_every_existing_id_even_when_the_clock_is_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schemactl.scan

    root = project(tmp_path, {"shop": product()})
    monkeypatch.setattr(schemactl.scan, "now", lambda: datetime(2031, 5, 5, 5, 5, 5, tzinfo=UTC))
    assert cli(root, "scan").exit_code == 0
    first = pending_id(root, "shop")
    assert first == "20310505050505_shop"
    # another machine, its clock a year behind, scans a new package
    monkeypatch.setattr(schemactl.scan, "now", lambda: datetime(2030, 1, 1, tzinfo=UTC))
    write_package(root, "blog", post())
    assert cli(root, "scan").exit_code == 0
    assert pending_id(root, "blog") == "20310505050506_blog"


# ----------------------------------------------------------------------------- growth


def test_each_further_one_field_migration_adds_under_4_kb(tmp_path: Path) -> None:
    """SPEC §7/§12: the registry grows with the size of the changes, not of the model."""
    fields = {"id": "type: cuid, primary: true"}
    fields |= {f"f{i}": "type: string, maxLength: 80" for i in range(12)}
    root = project(tmp_path, {"shop": entities(entity("Product", fields))})
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", "all", "--by", "a@x").exit_code == 0
    sizes = [len(registry_bytes(root))]
    for i in range(10):
        fields[f"extra{i}"] = "type: int"
        write_package(root, "shop", entities(entity("Product", fields)))
        assert cli(root, "scan").exit_code == 0
        assert cli(root, "approve", "all", "--by", "a@x").exit_code == 0
        sizes.append(len(registry_bytes(root)))
    growth = [b - a for a, b in itertools.pairwise(sizes)]
    assert max(growth) < 4096, growth
    assert cli(root, "check").exit_code == 0


# ----------------------------------------------------------------------------- the lock


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
    stale = registry_path(root) / ".shop.json.k2j3h4.tmp"
    stale.write_text('{"format": 2, "base')
    other = registry_path(root).parent / "notes.tmp"  # not ours: left alone
    other.write_text("x")
    write_package(root, "shop", product(sku=True))
    assert cli(root, "scan").exit_code == 0
    assert not stale.exists()
    assert other.exists()
    assert cli(root, "list").exit_code == 0


def test_unusual_values_round_trip_and_stay_sealed(tmp_path: Path) -> None:
    """Floats, big integers and non-ASCII text go through the file unchanged: the seals of
    the approved record and the checksums still verify after it is read back."""
    fields = {
        "id": "type: cuid, primary: true",
        "amount": "type: float, min: 0.1, max: 1e10, default: 2.5",
        "label": "type: string, default: 'Grüße ✓ \"q\"', description: 'naïve'",
        "big": "type: bigint, default: 9007199254740993",
        "low": "type: bigint, default: -9223372036854775808",
    }
    root = project(tmp_path, {"shop": entities(entity("Price", fields))})
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", "all", "--by", "Zoë <zoe@example.com>").exit_code == 0
    text = package_file(root, "shop").read_text(encoding="utf-8")
    assert text == canonical(text)
    assert "Zoë" in text and "Grüße ✓" in text and "9007199254740993" in text
    assert "-9223372036854775808" in text
    assert cli(root, "check").exit_code == 0
    before = registry_bytes(root)
    assert cli(root, "scan").exit_code == 0
    assert registry_bytes(root) == before


def test_lock_file_and_temporaries_are_ignored_by_git(tmp_path: Path) -> None:
    import subprocess

    root = project(tmp_path, {"shop": product()})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert cli(root, "scan").exit_code == 0
    assert (root / ".schemactl" / "registry.lock").exists()
    (registry_path(root) / ".shop.json.abc.tmp").write_text("{")
    out = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".schemactl/registry/shop.json\n" in out
    assert ".schemactl/.gitignore" in out
    assert "registry.lock" not in out and ".tmp" not in out


# ----------------------------------------------------------------------------- upgrade


def _v1_examples(tmp_path: Path) -> Path:
    """examples/ as it was with the format-1 registry: its migration folders under the
    old ids, no registry folder."""
    root = tmp_path / "ex"
    shutil.copytree(EXAMPLES, root)
    shutil.rmtree(registry_path(root))
    shutil.rmtree(root / "migrations")
    shutil.copy(V1, root / ".schemactl" / "registry.json")
    for m in json.loads(V1.read_text())["migrations"]:
        (root / "migrations" / m["id"]).mkdir(parents=True)
        (root / "migrations" / m["id"] / "migration.sql").write_text("-- old\n")
    return root


def test_upgrade_converts_format_1_keeping_every_record_and_decision(tmp_path: Path) -> None:
    root = _v1_examples(tmp_path)
    old = json.loads(V1.read_text())
    code, doc = cli_json(root, "upgrade")
    assert code == 0, doc
    assert not (root / ".schemactl" / "registry.json").exists()
    # the committed examples registry is exactly what upgrading its format-1 file gives
    assert registry_files(root) == registry_files(EXAMPLES)
    new = registry_data(root)
    by_old = {
        m["renamed_from"][0] if m.get("renamed_from") else m["id"]: m for m in new["migrations"]
    }
    assert len(by_old) == len(old["migrations"])
    for m in old["migrations"]:
        n = by_old[m["id"]]
        for key in ("package", "status", "approved_by", "approved_at", "sql", "sql_checksum",
                    "changes", "ops", "base_state", "target_state", "destructive"):  # fmt: skip
            assert n[key] == m[key], (m["id"], key)
    for name, entry in old["baseline"].items():
        assert new["baseline"][name]["checksum"] == entry["checksum"]
        assert new["baseline"][name]["definition"] == entry["definition"]
    # ids now sort in the old application order
    in_order = sorted(old["migrations"], key=lambda m: (m["order"], m["id"]))
    assert [by_old[m["id"]]["id"] for m in in_order] == sorted(m["id"] for m in new["migrations"])
    # folders renamed and rewritten; the project passes the gate
    assert sorted(p.name for p in (root / "migrations").iterdir()) == sorted(
        by_old[i]["id"] for i in by_old
    )
    assert cli(root, "check").exit_code == 0
    assert cli(root, "generate", "--check").exit_code == 0
    res = cli(root, "upgrade")
    assert res.exit_code == 0 and "nothing to upgrade" in res.stdout


def test_upgrade_refuses_a_hand_edited_format_1_record(tmp_path: Path) -> None:
    root = _v1_examples(tmp_path)
    legacy = root / ".schemactl" / "registry.json"
    data = json.loads(legacy.read_text())
    data["migrations"][0]["approved_by"] = "mallory@example.com"
    legacy.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    before = legacy.read_bytes()
    code, doc = cli_json(root, "upgrade")
    assert code == 1
    assert [d["code"] for d in doc["diagnostics"]] == ["SC602"]
    assert legacy.read_bytes() == before
    assert not registry_path(root).exists()
