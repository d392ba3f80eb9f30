"""`schemactl upgrade`: a format-1 registry (one ``registry.json``) to format 2.

Format 1 kept every package in one file, copied each migration's full target definitions
into its record and ordered migrations with a registry-wide ``order`` sequence (one scan's
ids shared a timestamp).  The conversion

- refuses a registry with a record edited by hand (its old seal fails): upgrading must not
  launder a tampered record;
- splits the baseline by package, each entry keeping its definition and its migration;
- drops from each record what format 2 keeps only once (``base``, ``target``) or derives
  (``order``), and re-seals approved and rejected records, keeping every decision;
- gives a record a new id where its old one would not sort in application order, keeping
  the old one in ``renamed_from`` so that databases that applied it under that id see it
  as applied, and renames its folder under ``migrations/``;
- writes the package files, then removes ``registry.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..errors import OperationalError
from . import layout
from .records import APPROVED, REJECTED, seal, state_of
from .store import Registry, locked

STAMP = "%Y%m%d%H%M%S"


@dataclass
class Upgraded:
    packages: list[str] = field(default_factory=list)
    records: int = 0
    renamed: dict[str, str] = field(default_factory=dict)  # old id -> new id
    moved_folders: list[str] = field(default_factory=list)
    legacy: str = ""
    refused: list[Diagnostic] = field(default_factory=list)  # records edited by hand


def upgrade(directory: Path, root: Path, migrations_dir: Path) -> Upgraded | None:
    """Convert the format-1 registry beside ``directory``; None when there is none."""
    legacy = layout.legacy_file(directory)
    with locked(directory):
        if not legacy.is_file():
            return None
        reg = Registry(directory, root)
        rel = reg.rel(legacy)
        old = _read_legacy(legacy, rel)
        if any(directory.glob("*" + layout.SUFFIX)):
            raise OperationalError(
                f"both {rel} and package files in {reg.rel(directory)} exist",
                hint=f"keep one: remove {reg.rel(directory)} to convert {rel} again, or "
                f"remove {rel} if the conversion was already committed",
                code="SC610",
            )
        out = Upgraded(legacy=rel, refused=_check_seals(old, rel))
        if out.refused:
            return out
        records = sorted(old["migrations"], key=lambda m: (m.get("order", 0), m["id"]))
        out.renamed = _new_ids(records)
        for m in records:
            new = {k: v for k, v in m.items() if k not in ("base", "target", "order")}
            if "target_state" not in new:
                target = m.get("target", {})
                new["target_state"] = state_of({k: v["checksum"] for k, v in target.items()})
            if m["id"] in out.renamed:
                new["id"] = out.renamed[m["id"]]
                new["renamed_from"] = [*m.get("renamed_from", []), m["id"]]
            if new["status"] in (APPROVED, REJECTED):
                seal(new)
            reg.package(new["package"])["migrations"].append(new)
            out.records += 1
        for name, entry in old["baseline"].items():
            mid = entry.get("migration", "")
            reg.package(entry["package"])["baseline"][name] = {
                "checksum": entry["checksum"],
                "definition": entry["definition"],
                "migration": out.renamed.get(mid, mid),
            }
        for data in reg.files.values():
            problem = layout.shape_problem(data)
            if problem:
                raise OperationalError(
                    f"{rel} cannot be converted: package {data['package']} {problem}",
                    hint="restore it from git; nothing was written",
                    code="SC000",
                )
        reg.write()
        out.packages = reg.packages()
        out.moved_folders = _move_folders(migrations_dir, out.renamed, root)
        os.unlink(legacy)
    return out


def _read_legacy(path: Path, rel: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise OperationalError(
            f"{rel} is unreadable: {e}",
            hint="restore it from git before upgrading; nothing was written",
            code="SC000",
        ) from None
    ok = (
        isinstance(data, dict)
        and data.get("format") == layout.LEGACY_FORMAT
        and isinstance(data.get("baseline"), dict)
        and isinstance(data.get("migrations"), list)
        and all(
            isinstance(e, dict) and isinstance(e.get("package"), str) and "definition" in e
            for e in data["baseline"].values()
        )
        and all(
            isinstance(m, dict)
            and isinstance(m.get("id"), str)
            and isinstance(m.get("package"), str)
            for m in data["migrations"]
        )
    )
    if not ok:
        raise OperationalError(
            f"{rel} is not a format-{layout.LEGACY_FORMAT} registry",
            hint="restore it from git before upgrading; nothing was written",
            code="SC000",
        )
    return data


def _check_seals(old: dict[str, Any], rel: str) -> list[Diagnostic]:
    """Format 1 sealed records the same way: SHA-256 over everything but the seal."""
    bad = []
    for m in old["migrations"]:
        if m.get("status") not in (APPROVED, REJECTED):
            continue
        body = {k: v for k, v in m.items() if k != "record_hash"}
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if m.get("record_hash") != "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest():
            bad.append(
                Diagnostic(
                    "error",
                    "SC602",
                    f"migration {m['id']} was edited by hand since it was {m['status']}; "
                    "not upgrading",
                    rel,
                    package=m["package"],
                    hint=f"restore {rel} from git, then run `schemactl upgrade`",
                )
            )
    return bad


def _new_ids(records: list[dict[str, Any]]) -> dict[str, str]:
    """Ids that sort in application order: each record's timestamp at least one second
    after the one before it.  Only records whose id must change are returned."""
    renamed: dict[str, str] = {}
    taken = {m["id"] for m in records}
    prev: datetime | None = None
    for m in records:
        stamp = _stamp(m["id"])
        if stamp is None:
            stamp = prev + timedelta(seconds=1) if prev else datetime(1970, 1, 1, tzinfo=UTC)
        if prev is not None and stamp <= prev:
            stamp = prev + timedelta(seconds=1)
        new = f"{stamp.strftime(STAMP)}_{m['package']}"
        if new != m["id"]:
            n = 2
            while new in taken:
                new = f"{stamp.strftime(STAMP)}_{m['package']}_{n}"
                n += 1
            taken.add(new)
            renamed[m["id"]] = new
        prev = stamp
    return renamed


def _stamp(mid: str) -> datetime | None:
    try:
        return datetime.strptime(mid[:14], STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def _move_folders(migrations_dir: Path, renamed: dict[str, str], root: Path) -> list[str]:
    moved = []
    for old, new in sorted(renamed.items()):
        src, dst = migrations_dir / old, migrations_dir / new
        if src.is_dir() and not dst.exists():
            src.rename(dst)
            moved.append(
                f"{src.relative_to(root).as_posix()} -> {dst.relative_to(root).as_posix()}"
            )
    return moved
