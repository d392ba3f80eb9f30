"""The registry file (SPEC §7): storage, locking, atomic writes and record integrity.

``.schemactl/registry.json`` is deterministic JSON (sorted keys, two-space indent, final
newline) so that git diffs review well.  Every read-modify-write runs inside
``transaction()``: an exclusive ``filelock`` lock on ``registry.json.lock`` beside it for the
whole cycle, then a write to a temporary file that is fsynced, renamed into place and the
directory fsynced.  A crash leaves the old or the new file; a killed process's lock is
released by the operating system.  A file that cannot be parsed is never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import OperationalError

FORMAT = 1
LOCK_TIMEOUT = float(os.environ.get("SCHEMACTL_LOCK_TIMEOUT", "60"))


def empty() -> dict[str, Any]:
    return {"format": FORMAT, "baseline": {}, "migrations": []}


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def read(path: Path) -> dict[str, Any]:
    """The registry at ``path`` (empty if absent).  Unreadable -> OperationalError (exit 3)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return empty()
    except OSError as e:
        raise OperationalError(f"cannot read registry {path}: {e.strerror}", code="SC000") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise OperationalError(
            f"registry {path} is not UTF-8: {e.reason}",
            hint="restore it from git; it was not modified",
            code="SC000",
        ) from None
    except json.JSONDecodeError as e:
        conflict = "<<<<<<<" in raw.decode("utf-8", "replace")
        raise OperationalError(
            f"registry {path} is unreadable: {e.msg} at line {e.lineno} column {e.colno}",
            hint=(
                "it holds git merge-conflict markers: take one side (`git checkout --theirs` "
                "or `--ours`), then run `schemactl scan` (see docs/workflow.md)"
                if conflict
                else "restore it from git; schemactl never overwrites an unreadable registry"
            ),
            code="SC000",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("migrations", []), list):
        raise OperationalError(f"registry {path} has an unexpected shape", code="SC000")
    fmt = data.get("format")
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise OperationalError(
            f"registry {path} has format {fmt!r}; this schemactl reads format {FORMAT}",
            hint="upgrade schemactl (the registry was written by a newer release)",
            code="SC000",
        )
    data.setdefault("baseline", {})
    data.setdefault("migrations", [])
    return data


def write(path: Path, data: dict[str, Any]) -> bool:
    """Atomically replace ``path`` with ``data``; False (and no write) when unchanged."""
    text = dumps(data).encode("utf-8")
    try:
        if path.read_bytes() == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".registry.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return True


def _mode(path: Path) -> int:
    """Keep the file's permissions; a new file gets the usual 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT if timeout is None else timeout)
    try:
        lock.acquire()
    except Timeout:
        raise OperationalError(
            f"timed out waiting for the registry lock {path}.lock",
            hint="another schemactl is writing the registry; try again",
            code="SC000",
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def transaction(path: Path, *, dry_run: bool = False) -> Iterator[dict[str, Any]]:
    """Lock, read, let the caller modify, write back if changed (unless ``dry_run``)."""
    with locked(path):
        data = read(path)
        yield data
        if not dry_run:
            write(path, data)


def record_hash(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "record_hash"}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def seal(record: dict[str, Any]) -> None:
    record["record_hash"] = record_hash(record)


def tampered(record: dict[str, Any]) -> bool:
    return record.get("record_hash") != record_hash(record)


def sql_checksum(up: str, down: str) -> str:
    h = hashlib.sha256()
    h.update(up.encode("utf-8"))
    h.update(b"\0")
    h.update(down.encode("utf-8"))
    return "sha256:" + h.hexdigest()
