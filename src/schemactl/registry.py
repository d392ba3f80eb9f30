"""The registry file (SPEC §7): storage, locking, atomic writes and record integrity.

``.schemactl/registry.json`` is deterministic JSON (sorted keys, two-space indent, final
newline) so that git diffs review well.  Every read-modify-write runs inside
``transaction()``: an exclusive ``filelock`` lock on ``registry.json.lock`` beside it for the
whole cycle, then a write to a temporary file that is fsynced, renamed into place and the
directory fsynced.  A crash leaves the old or the new file (and perhaps a temporary file,
which the next writer removes under the lock); a killed process's lock is released by the
operating system.  A file that cannot be parsed, or whose structure is not a registry's, is
never overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from .errors import OperationalError, UsageError

T = TypeVar("T")
FORMAT = 1
LOCK_TIMEOUT = 60.0  # seconds; the environment variable SCHEMACTL_LOCK_TIMEOUT overrides it
STATUSES = ("pending", "approved", "rejected", "superseded")


def empty() -> dict[str, Any]:
    return {"format": FORMAT, "baseline": {}, "migrations": []}


def dumps(data: dict[str, Any]) -> str:
    """Sorted keys, two-space indent, UTF-8, final newline: ``registry_index.render``."""
    from .registry_index import render

    return render(data).text.decode("utf-8")


def read(
    path: Path, *, remember: bool = True, prefetched: Prefetch | None = None
) -> dict[str, Any]:
    """The registry at ``path`` (empty if absent).  Unreadable -> OperationalError (exit 3).

    Bytes this schemactl has indexed before come back with lazily parsed records
    (``registry_index``); others are parsed and shape-checked in full, and indexed when
    ``remember`` is set and they are laid out as ``dumps`` writes them."""
    from . import cache, registry_index

    got = prefetched.take(path) if prefetched is not None and cache.enabled else None
    key: str | None
    if got is not None:
        raw, key = got
    else:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return empty()
        except OSError as e:
            raise OperationalError(
                f"cannot read registry {path}: {e.strerror}", code="SC000"
            ) from None
        key = registry_index.digest(raw) if cache.enabled else None
    if key is not None:
        indexed = registry_index.load(raw, key)
        if indexed is not None:
            return indexed
    data = _stream(raw) or _parse(path, raw)
    if key is not None and remember:
        rendered = registry_index.render(data)
        if rendered.index is not None and rendered.equals(raw):
            registry_index.store(key, rendered.index)
    return data


def _stream(raw: bytes) -> dict[str, Any] | None:
    """A registry laid out exactly as schemactl writes it, read record by record: each is
    parsed, checked for its shape and its layout, summarised and let go, so the whole
    file never exists as objects at once (an 83 MB registry became 450 MB of them).
    None for anything else, even a shape problem: ``_parse`` then reads the file whole
    and says what is wrong, as it always has."""
    from .registry_index import canonical, loads_record, record_of, split

    try:
        top, base, migs = split(raw)
        fmt = top.get("format")
        if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt > FORMAT:
            return None
        names = [name for name, _, _ in base]
        if names != sorted(set(names)):  # unsorted or repeated: not our layout
            return None
        view = memoryview(raw)
        baseline: dict[str, Any] = {}
        for name, start, end in base:
            entry = loads_record(view[start:end])
            if _entry_problem(entry, with_migration=True) or not canonical(entry, view[start:end]):
                return None
            baseline[name] = record_of(view[start:end], entry)
        migrations: list[Any] = []
        for start, end in migs:
            m = loads_record(view[start:end])
            if not isinstance(m, dict) or _record_problem(m) or not canonical(m, view[start:end]):
                return None
            migrations.append(record_of(view[start:end], m))
    except ValueError:  # orjson's decode error is one
        return None
    data: dict[str, Any] = dict(top)
    data["baseline"] = baseline
    data["migrations"] = migrations
    return data


def _parse(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        import orjson

        from .registry_index import lossy_registry, may_be_lossy

        try:
            data = orjson.loads(raw)  # bytes: orjson checks the UTF-8 itself, no copy
        except orjson.JSONDecodeError:
            raw.decode("utf-8")  # a UnicodeDecodeError explains it better, if that is it
            raise
        if may_be_lossy(raw) and lossy_registry(data):  # the stdlib keeps big integers exact
            data = json.loads(raw)
    except UnicodeDecodeError as e:
        raise OperationalError(
            f"registry {path} is not UTF-8: {e.reason}",
            hint="restore it from git; it was not modified",
            code="SC000",
        ) from None
    except json.JSONDecodeError as e:  # orjson.JSONDecodeError is a subclass
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
    if not isinstance(data, dict):
        raise OperationalError(
            f"registry {path} has an unexpected shape: not an object", code="SC000"
        )
    fmt = data.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt > FORMAT:
        raise OperationalError(
            f"registry {path} has format {fmt!r}; this schemactl reads format {FORMAT}",
            hint="upgrade schemactl (the registry was written by a newer release)",
            code="SC000",
        )
    data.setdefault("baseline", {})
    data.setdefault("migrations", [])
    problem = shape_problem(data)
    if problem:
        raise OperationalError(
            f"registry {path} has an unexpected shape: {problem}",
            hint="restore it from git (a hand edit or a merge broke it); "
            "schemactl never overwrites it",
            code="SC000",
        )
    return data


def shape_problem(data: dict[str, Any]) -> str | None:
    """What makes ``data`` unusable as a registry (None when it is usable).

    Everything the commands read is checked for presence and type, down to the entity
    definitions, so that a hand edit or a bad merge stops a command with exit 3 instead of
    a crash halfway.  Content (hashes, seals) is `check`'s business."""
    base, ms = data["baseline"], data["migrations"]
    if not isinstance(base, dict):
        return "'baseline' is not an object"
    for name, entry in base.items():
        problem = _entry_problem(entry, with_migration=True)
        if problem:
            return f"baseline entry {name!r} {problem}"
    if not isinstance(ms, list):
        return "'migrations' is not a list"
    for i, m in enumerate(ms):
        if not isinstance(m, Mapping):
            return f"migrations[{i}] is not an object"
        problem = _record_problem(m)
        if problem:
            return f"migrations[{i}] ({m.get('id', '?')!s}) {problem}"
    return None


_STR, _OPT_STR, _BOOL, _INT = (str,), (str, type(None)), (bool,), (int,)
_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "id": _STR,
    "package": _STR,
    "status": _STR,
    "created_at": _STR,
    "changes": (list,),
    "ops": (list,),
    "destructive": _BOOL,
    "sql": (dict,),
    "sql_checksum": _STR,
    "base": (dict,),
    "base_state": _STR,
    "target": (dict,),
    "target_state": _STR,
}
_RECORD_OPTIONAL: dict[str, tuple[type, ...]] = {
    "namespace": _STR,
    "order": _INT,
    "destructive_reasons": (list,),
    "approved_by": _OPT_STR,
    "approved_at": _OPT_STR,
    "rejected_by": _OPT_STR,
    "rejected_at": _OPT_STR,
    "reason": _OPT_STR,
    "record_hash": _STR,
    "superseded_at": _STR,
    "signatures": (list,),  # approval signatures (approval.py); not under record_hash
}


def _typed(obj: Mapping[str, Any], required: dict[str, tuple[type, ...]],
           optional: dict[str, tuple[type, ...]] | None = None) -> str | None:  # fmt: skip
    for k, types in required.items():
        if k not in obj:
            return f"lacks {k!r}"
        if not isinstance(obj[k], types) or (types == _INT and isinstance(obj[k], bool)):
            return f"has a malformed {k!r}"
    for k, types in (optional or {}).items():
        if k in obj and not isinstance(obj[k], types):
            return f"has a malformed {k!r}"
    return None


def _record_problem(m: Mapping[str, Any]) -> str | None:
    problem = _typed(m, _RECORD_TYPES, _RECORD_OPTIONAL)
    if problem:
        return problem
    if m["status"] not in STATUSES:
        return f"has an unknown status {m['status']!r}"
    if not 0 <= m.get("order", 0) < 2**53:  # the next one must still be a JSON integer
        return "has a malformed 'order'"
    if not all(isinstance(m["sql"].get(k), str) for k in ("up", "down")):
        return "has a malformed 'sql' (needs up and down text)"
    for c in m["changes"]:
        if not isinstance(c, dict) or _typed(
            c, {"entity": _STR, "action": _STR, "from": _OPT_STR, "to": _OPT_STR}
        ):
            return "has a malformed entry in 'changes'"
    if not all(isinstance(op, dict) and isinstance(op.get("op"), str) for op in m["ops"]):
        return "has a malformed entry in 'ops'"
    if not all(isinstance(v, str) for v in m["base"].values()):
        return "has a malformed 'base'"
    if not all(isinstance(v, str) for v in m.get("destructive_reasons", [])):
        return "has a malformed 'destructive_reasons'"
    for name, entry in m["target"].items():
        problem = _entry_problem(entry, with_migration=False)
        if problem:
            return f"target {name!r} {problem}"
    return None


def _entry_problem(entry: Any, *, with_migration: bool) -> str | None:
    if not isinstance(entry, Mapping):
        return "is not an object"
    optional: dict[str, tuple[type, ...]] | None = {"migration": _STR} if with_migration else None
    problem = _typed(entry, {"package": _STR, "checksum": _STR, "definition": (dict,)}, optional)
    if problem:
        return problem
    return _definition_problem(entry["definition"])


_DEF_TYPES: dict[str, tuple[type, ...]] = {
    "name": _STR,
    "package": _STR,
    "namespace": _STR,
    "table": _STR,
    "pk_name": _STR,
    "checksum": _STR,
    "primary_key": (list,),
}
_DEF_LISTS: dict[str, dict[str, tuple[type, ...]]] = {
    "fields": {"name": _STR, "column": _STR, "type": _STR},
    "indexes": {"name": _STR, "fields": (list,), "columns": (list,)},
    "checks": {"name": _STR, "column": _STR, "kind": _STR, "values": (list,)},
    "relations": {"name": _STR, "kind": _STR, "target": _STR},
    "foreign_keys": {
        "name": _STR,
        "relation": _STR,
        "columns": (list,),
        "ref_namespace": _STR,
        "ref_table": _STR,
        "ref_columns": (list,),
    },
}


def _definition_problem(d: dict[str, Any]) -> str | None:
    from .model import FIELD_TYPES

    problem = _typed(d, _DEF_TYPES)
    if problem:
        return "definition " + problem
    for key, shape in _DEF_LISTS.items():
        items = d.get(key, [])
        if not isinstance(items, list) or not all(
            isinstance(x, dict) and _typed(x, shape) is None for x in items
        ):
            return f"definition has a malformed {key!r}"
    if not all(f["type"] in FIELD_TYPES for f in d.get("fields", [])):
        return "definition has a field of unknown type"
    if not isinstance(d.get("acl", {}), dict):
        return "definition has a malformed 'acl'"
    return None


def write(path: Path, data: dict[str, Any]) -> bool:
    """Atomically replace ``path`` with ``data``; False (and no write) when unchanged."""
    from . import cache, registry_index

    if os.environ.get("SCHEMACTL_CHECK_WRITES"):  # the test suite: our own writes are checked
        problem = shape_problem(data)
        if problem:
            raise AssertionError(f"schemactl is about to write a malformed registry: {problem}")
    rendered = registry_index.render(data)
    # the index's key, hashed while the file is written (hashlib lets go of the GIL)
    hashing = _Background(rendered.digest) if cache.enabled and rendered.index else None
    try:
        # compare only a file of the same size: reading 80 MB to learn it differs is waste
        if path.stat().st_size == rendered.size and rendered.equals(path.read_bytes()):
            key = hashing.result() if hashing else None
            if key is not None and not registry_index.has(key):
                registry_index.store(key, rendered.index or {})
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.writelines(rendered.parts)
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
    key = hashing.result() if hashing else None
    if key is not None:
        registry_index.store(key, rendered.index or {})
    return True


class _Background(Generic[T]):
    """A function running in a thread, and its result when asked for (None if it failed)."""

    def __init__(self, fn: Callable[[], T]) -> None:
        import threading

        self._out: T | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], T]) -> None:
        with contextlib.suppress(Exception):
            self._out = fn()

    def result(self) -> T | None:
        self.thread.join()
        return self._out


class Prefetch:
    """The registry's bytes and their hash, read in a thread while the caller does other
    work (hashlib and file reads let go of the GIL).  ``read`` uses them only if, with the
    lock held, the file is still the one that was read: same device, inode, size and
    modification and change times (a writer renames a new file into place)."""

    def __init__(self, path: Path) -> None:
        from .parallel import before_fork

        self._bg = _Background(partial(self._read, path))
        before_fork(self._bg.thread)

    @staticmethod
    def _read(path: Path) -> tuple[tuple[int, ...], bytes, str] | None:
        from .registry_index import digest

        before = _identity(path)
        raw = path.read_bytes()
        if _identity(path) != before:
            return None
        return before, raw, digest(raw)

    def take(self, path: Path) -> tuple[bytes, str] | None:
        got = self._bg.result()
        if got is None:
            return None
        ident, raw, key = got
        try:
            if _identity(path) != ident:
                return None
        except OSError:
            return None
        return raw, key


def _identity(path: Path) -> tuple[int, ...]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _mode(path: Path) -> int:
    """Keep the file's permissions; a new file gets the usual 0666 less the umask."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}."


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files a killed writer left beside the registry (call with the lock held)."""
    for tmp in path.parent.glob(_tmp_prefix(path) + "*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def lock_timeout() -> float:
    raw = os.environ.get("SCHEMACTL_LOCK_TIMEOUT")
    if raw is None:
        return LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise UsageError(f"SCHEMACTL_LOCK_TIMEOUT={raw!r} is not a number of seconds", code="SC000")
    return value


def _ignore_lock_in_git(path: Path) -> None:
    """In schemactl's own folder (``.schemactl/``), a .gitignore keeps the lock file and
    stray temporaries out of commits; the registry itself is meant to be committed."""
    if path.parent.name != ".schemactl":
        return
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(OSError):
            ignore.write_text(
                "# written by schemactl: commit the registry, never its lock or temporaries\n"
                f"{path.name}.lock\n{_tmp_prefix(path)}*.tmp\n",
                encoding="utf-8",
            )


@contextlib.contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    _ignore_lock_in_git(path)
    lock = FileLock(str(path) + ".lock", timeout=lock_timeout() if timeout is None else timeout)
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
def transaction(
    path: Path, *, dry_run: bool = False, prefetched: Prefetch | None = None
) -> Iterator[dict[str, Any]]:
    """Lock, read, let the caller modify, write back if changed (unless ``dry_run``)."""
    with locked(path):
        _remove_stale_temporaries(path)
        # the write indexes what it writes
        data = read(path, remember=False, prefetched=prefetched)
        yield data
        if not dry_run:
            write(path, data)


def record_hash(record: Mapping[str, Any]) -> str:
    from .registry_index import peek

    # signatures are not covered: signing an approved record changes nothing else
    body = {k: v for k, v in peek(record).items() if k not in ("record_hash", "signatures")}
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def seal(record: dict[str, Any]) -> None:
    record["record_hash"] = record_hash(record)


def tampered(record: Mapping[str, Any]) -> bool:
    return record.get("record_hash") != record_hash(record)


def sql_checksum(up: str, down: str) -> str:
    h = hashlib.sha256()
    h.update(up.encode("utf-8"))
    h.update(b"\0")
    h.update(down.encode("utf-8"))
    return "sha256:" + h.hexdigest()
