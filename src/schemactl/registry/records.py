"""Migration records as data: statuses, checksums, seals and the states they chain.

A record is a plain JSON object (SPEC §7).  What it binds:

- ``sql_checksum``: SHA-256 over the up and the down SQL, the exact text `apply` runs;
- ``base_state`` / ``target_state``: the package's entity checksums before and after, as one
  hash (:func:`state_of`); approved records of one package chain ``base_state`` to the
  previous ``target_state``, which is how a mixed history is recognised;
- ``record_hash``: SHA-256 of the record's content without the hash itself and without its
  ``signatures`` (a signature is added to an approved record without changing it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

PENDING, APPROVED, REJECTED, SUPERSEDED = "pending", "approved", "rejected", "superseded"
STATUSES = (PENDING, APPROVED, REJECTED, SUPERSEDED)
UNSEALED = ("record_hash", "signatures")  # keys the record hash does not cover


def state_of(sums: Mapping[str, str]) -> str:
    """Identity of a package state: its entity names and checksums."""
    raw = json.dumps(dict(sums), sort_keys=True)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


EMPTY_STATE = state_of({})


def effective_sum(checksum: str, security: Any) -> str:
    """An entity's checksum with a digest of its compiled ACL security (SPEC §13) appended
    when it has one: a change of grants or policies is a change of the package's state."""
    if not security:
        return checksum
    raw = json.dumps(security, sort_keys=True, separators=(",", ":"))
    return checksum + "+acl:" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def entry_sums(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Entity name -> effective sum of baseline entries (what package states hash)."""
    return {k: effective_sum(v["checksum"], v.get("security")) for k, v in entries.items()}


def sql_checksum(up: str, down: str) -> str:
    h = hashlib.sha256()
    h.update(up.encode("utf-8"))
    h.update(b"\0")
    h.update(down.encode("utf-8"))
    return "sha256:" + h.hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k not in UNSEALED}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def seal(record: dict[str, Any]) -> None:
    record["record_hash"] = record_hash(record)


def tampered(record: Mapping[str, Any]) -> bool:
    """A sealed record whose content or SQL no longer matches its seal or checksum."""
    if record.get("record_hash") != record_hash(record):
        return True
    sql = record["sql"]
    return record["sql_checksum"] != sql_checksum(sql["up"], sql["down"])


def summary(m: Mapping[str, Any]) -> dict[str, Any]:
    """The SPEC §10 ``migrations`` item of a record."""
    return {
        "id": m["id"],
        "package": m["package"],
        "status": m["status"],
        "destructive": m["destructive"],
        "changes": m["changes"],
        "approved_by": m.get("approved_by"),
        "approved_at": m.get("approved_at"),
    }


def created(m: Mapping[str, Any]) -> list[str]:
    """The entities a record creates (in its package)."""
    return [c["entity"] for c in m["changes"] if c["action"] == "create"]


def dropped(m: Mapping[str, Any]) -> list[str]:
    return [c["entity"] for c in m["changes"] if c["action"] == "drop"]
