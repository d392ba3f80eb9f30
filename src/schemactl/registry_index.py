"""The registry's byte layout and its index: how a command skips parsing an unchanged registry.

With a thousand approved migrations ``registry.json`` is tens of megabytes, and parsing it
all costs a second and hundreds of megabytes, although a ``scan`` reads little more than
each record's package, status and checksums.  So:

- ``render`` writes the registry exactly as ``registry.dumps`` does (sorted keys, two-space
  indent, final newline: a test holds them byte-identical) and notes where every baseline
  entry and migration record lies in those bytes, with its scalar fields.
- That index is stored in the user cache directory (``cache.directory()``), keyed by the
  SHA-256 of the registry's bytes and schemactl's version.  It is only ever made from bytes
  that this schemactl wrote, or that it parsed and found well-shaped.
- ``load`` finds the index for the bytes just read and returns the registry with each
  record as a ``Record``: its scalar fields at hand, the rest parsed from its own slice of
  the file the first time a caller reads it.  A record nobody touched is written back as
  the very bytes it came from.

An index that is missing, corrupt, for other bytes or from another version is ignored (the
registry is then parsed in full, as without it); ``--no-cache`` bypasses it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from .fingerprint import code

FORMAT = 1
_SALT = f"schemactl {code()} registry-index {FORMAT}"
_SCALARS = (str, int, float, bool, type(None))
_DEPTH2 = b"\n    "  # records sit two levels deep: {"baseline": {name: record}} and [record]


class Record(MutableMapping[str, Any]):
    """One record of the registry (a baseline entry or a migration), parsed lazily.

    Scalar fields come from the index; the first read of any other field parses the
    record's slice of the file.  From then on the record is plain data, and it is
    serialised afresh when the registry is written (its containers may have been changed
    in place); an untouched record is written back as its original bytes."""

    __slots__ = ("_data", "_head", "_keys", "_raw")

    def __init__(self, raw: memoryview, keys: list[str], head: dict[str, Any]) -> None:
        self._raw: memoryview | None = raw
        self._keys = keys
        self._head = head
        self._data: dict[str, Any] | None = None

    def _full(self) -> dict[str, Any]:
        if self._data is None:
            assert self._raw is not None
            self._data = loads_record(self._raw)
            self._raw = None
        return self._data

    def peek(self) -> dict[str, Any]:
        """The whole record, parsed for a look without being kept (a pristine record
        stays lazy and cheap; do not change what this returns)."""
        if self._data is not None:
            return self._data
        assert self._raw is not None
        return loads_record(self._raw)

    def __getitem__(self, key: str) -> Any:
        if self._data is None:
            if key in self._head:
                return self._head[key]
            if key not in self._keys:
                raise KeyError(key)
        return self._full()[key]

    def __contains__(self, key: object) -> bool:
        return key in (self._keys if self._data is None else self._data)

    def __setitem__(self, key: str, value: Any) -> None:
        self._full()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._full()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys if self._data is None else self._data))

    def __len__(self) -> int:
        return len(self._keys if self._data is None else self._data)

    def __repr__(self) -> str:
        state = "parsed" if self._data is not None else "lazy"
        return f"<Record {state} {dict(self._head)!r}>"

    def pristine(self) -> memoryview | None:
        """The record's original bytes while nobody has read past its scalars."""
        return self._raw


_BIG = 2.0**63
# orjson reads integers from -2**63 to 2**64 - 1 exactly; only text like this can be below
_NEGATIVE_BIG = re.compile(rb"-[0-9]{19}")


def may_be_lossy(raw: bytes | memoryview) -> bool:
    """Cheap test on the JSON text: could orjson have read an integer inexactly?"""
    return _NEGATIVE_BIG.search(raw) is not None


def _big(v: Any) -> bool:
    return type(v) is float and not -_BIG < v < _BIG


def lossy(record: Any) -> bool:
    """Whether orjson may have read an integer beyond 64 bits in ``record`` (a decimal
    default or bound in an entity definition) as a float: then it must be read again with
    the stdlib, which keeps it exact.  Tolerates any shape (a hand edit is checked later)."""
    if not isinstance(record, dict):
        return False
    defs = [record.get("definition")]
    target = record.get("target")
    if isinstance(target, dict):
        defs += [e.get("definition") for e in target.values() if isinstance(e, dict)]
    for d in defs:
        if not isinstance(d, dict):
            continue
        fields, checks = d.get("fields"), d.get("checks")
        for f in fields if isinstance(fields, list) else ():
            if isinstance(f, dict) and any(_big(f.get(k)) for k in ("default", "min", "max")):
                return True
        for c in checks if isinstance(checks, list) else ():
            values = c.get("values") if isinstance(c, dict) else None
            if isinstance(values, list) and any(_big(v) for v in values):
                return True
    return False


def loads_record(raw: bytes | memoryview) -> Any:
    """One record's JSON, integers exact."""
    import orjson

    data = orjson.loads(raw)
    if may_be_lossy(raw) and lossy(data):
        data = json.loads(bytes(raw))
    return data


def peek(record: Any) -> Any:
    """A record's full content without keeping a lazy record parsed."""
    return record.peek() if isinstance(record, Record) else record


def lossy_registry(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    base, ms = data.get("baseline"), data.get("migrations")
    return any(lossy(e) for e in (base.values() if isinstance(base, dict) else ())) or any(
        lossy(m) for m in (ms if isinstance(ms, list) else ())
    )


# ----------------------------------------------------------------------------- writing


def _dumps(value: Any) -> bytes:
    """Sorted keys, two-space indent (orjson: the stdlib's indenting encoder is pure Python
    and ten times slower)."""
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits: the stdlib (floats in Python's repr)
        return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False).encode("utf-8")


def _record_bytes(rec: Any) -> bytes | memoryview:
    if isinstance(rec, Record):
        raw = rec.pristine()
        if raw is not None:
            return raw
        rec = rec._full()
    return _dumps(rec).replace(b"\n", _DEPTH2)


def _summary(rec: Any) -> tuple[list[str], dict[str, Any]]:
    if isinstance(rec, Record) and rec.pristine() is not None:
        return rec._keys, rec._head
    keys = sorted(rec)
    return keys, {k: v for k in keys if isinstance(v := rec[k], _SCALARS)}


def pack(rec: dict[str, Any]) -> tuple[bytes, list[str], dict[str, Any]]:
    """A record as its bytes and summary: cheap to send from a worker process."""
    return bytes(_record_bytes(rec)), *_summary(rec)


def unpack(packed: tuple[bytes, list[str], dict[str, Any]]) -> Record:
    raw, keys, head = packed
    return Record(memoryview(raw), keys, head)


class Rendered:
    """The registry's bytes, as the pieces they are assembled from (an untouched record is
    a view of the file it was read from, not a copy), and, when its top level is the usual
    one, its index."""

    def __init__(self, parts: list[bytes | memoryview], size: int, index: dict[str, Any] | None):
        self.parts = parts
        self.size = size
        self.index = index

    @property
    def text(self) -> bytes:
        return b"".join(self.parts)

    def digest(self) -> str:
        h = hashlib.sha256()
        for part in self.parts:
            h.update(part)
        return h.hexdigest()

    def equals(self, raw: bytes) -> bool:
        if len(raw) != self.size:
            return False
        view, pos = memoryview(raw), 0
        for part in self.parts:
            if view[pos : pos + len(part)] != part:
                return False
            pos += len(part)
        return True


def render(data: dict[str, Any]) -> Rendered:
    """``registry.dumps(data)`` as bytes, assembled record by record, with the index."""
    parts: list[bytes | memoryview] = [b"{"]
    pos = 1
    base_idx: list[Any] = []
    mig_idx: list[Any] = []
    indexable = isinstance(data.get("baseline"), dict) and isinstance(data.get("migrations"), list)

    def add(b: bytes | memoryview) -> None:
        nonlocal pos
        parts.append(b)
        pos += len(b)

    keys = sorted(data)
    for n, key in enumerate(keys):
        value = data[key]
        add(b"\n  " + _dumps(key) + b": ")
        if key == "baseline" and indexable and value:
            add(b"{")
            for i, name in enumerate(sorted(value)):
                add((b"\n    " if i == 0 else b",\n    ") + _dumps(name) + b": ")
                rec = value[name]
                body = _record_bytes(rec)
                base_idx.append([name, pos, pos + len(body), *_summary(rec)])
                add(body)
            add(b"\n  }")
        elif key == "migrations" and indexable and value:
            add(b"[")
            for i, rec in enumerate(value):
                add(b"\n    " if i == 0 else b",\n    ")
                body = _record_bytes(rec)
                mig_idx.append([pos, pos + len(body), *_summary(rec)])
                add(body)
            add(b"\n  ]")
        else:
            add(_dumps(value).replace(b"\n", b"\n  "))
        if n < len(keys) - 1:
            add(b",")
    add(b"\n}\n" if keys else b"}\n")
    index = None
    if indexable:
        top = {k: data[k] for k in keys if k not in ("baseline", "migrations")}
        if all(isinstance(v, _SCALARS) for v in top.values()):
            index = {"top": top, "baseline": base_idx, "migrations": mig_idx, "size": pos}
    return Rendered(parts, pos, index)


# ----------------------------------------------------------------------------- reading


_REC_END = b"\n    }"


def split(raw: bytes) -> tuple[dict[str, Any], list[tuple[str, int, int]], list[tuple[int, int]]]:
    """Where the records of a registry laid out as ``render`` writes it lie: the top-level
    scalars, (name, start, end) of each baseline entry, (start, end) of each migration.
    Raises ValueError for any other layout (the caller then parses the file whole).  The
    caller still parses every record: this only finds them, without building the whole
    file in memory at once."""
    import orjson

    view = memoryview(raw)
    top: dict[str, Any] = {}
    base: list[tuple[str, int, int]] = []
    migs: list[tuple[int, int]] = []
    if not raw.startswith(b'{\n  "baseline": ') or not raw.endswith(b"\n}\n"):
        raise ValueError("not the usual layout")
    pos = len(b'{\n  "baseline": ')
    if raw.startswith(b"{}", pos):
        pos += 2
    else:
        if not raw.startswith(b"{\n    ", pos):
            raise ValueError("baseline")
        pos += 6
        while True:
            head = raw.find(b'": {\n', pos)  # a key holds no raw newline: its end
            if head < 0 or raw[pos] != 0x22:
                raise ValueError("baseline key")
            name = orjson.loads(view[pos : head + 1])
            end = _record_end(raw, head + 3)
            base.append((name, head + 3, end))
            pos, more = _after(raw, end, b"\n  }")
            if not more:
                break
    # the scalars between the baseline and the migrations, one per line
    while raw.startswith(b',\n  "', pos) and not raw.startswith(b',\n  "migrations": ', pos):
        line_end = raw.find(b",\n", pos + 2)  # the comma before the next key ends the line
        key, sep, value = bytes(view[pos + 4 : line_end]).partition(b": ")
        if line_end < 0 or not sep or b"\n" in value:
            raise ValueError("top level")
        top[orjson.loads(key)] = orjson.loads(value)
        pos = line_end
    if not raw.startswith(b',\n  "migrations": ', pos):
        raise ValueError("migrations")
    pos += len(b',\n  "migrations": ')
    if raw.startswith(b"[]", pos):
        pos += 2
    else:
        if not raw.startswith(b"[\n    {\n", pos):
            raise ValueError("migrations list")
        pos += 6
        while True:
            end = _record_end(raw, pos)
            migs.append((pos, end))
            pos, more = _after(raw, end, b"\n  ]")
            if not more:
                break
    if pos != len(raw) - 3:  # "\n}\n"
        raise ValueError("trailing text")
    return top, base, migs


def _record_end(raw: bytes, start: int) -> int:
    """The end of the record starting at ``start``: its closing brace is the first line
    of four spaces and a brace (deeper lines are indented more; strings hold no newline)."""
    end = raw.find(_REC_END, start)
    if end < 0:
        raise ValueError("a record without its end")
    return end + len(_REC_END)


def _after(raw: bytes, end: int, close: bytes) -> tuple[int, bool]:
    """Where the next item starts (and True), or where the list closed (and False)."""
    if raw.startswith(b",\n    ", end):
        return end + 6, True
    if raw.startswith(close, end):
        return end + len(close), False
    raise ValueError("unexpected text after a record")


def canonical(record: Any, raw: bytes | memoryview) -> bool:
    """Whether ``raw`` is exactly how ``render`` writes ``record`` (two levels deep)."""
    return _dumps(record).replace(b"\n", _DEPTH2) == raw


def record_of(raw: memoryview, record: dict[str, Any]) -> Record:
    """A lazy record over ``raw``, summarised from its parsed content."""
    keys, head = _summary(record)
    return Record(raw, keys, head)


# ----------------------------------------------------------------------------- the index


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _path(key: str) -> Path:
    from .cache import directory

    return directory() / "registry" / f"{key}.json"


def store(key: str, index: dict[str, Any]) -> None:
    """Keep the index of the registry whose bytes hash to ``key``; never fails."""
    import orjson

    from .cache import prune, sealed, write_atomic

    try:
        path = _path(key)
        if write_atomic(path, sealed(_SALT, key, orjson.dumps(index))):
            prune(path.parent, KEEP, spare=path)
    except (RuntimeError, TypeError):  # no home directory; a number JSON cannot hold
        pass


KEEP = 8  # indexes kept per cache directory: a few branches' registries


def has(key: str) -> bool:
    try:
        return _path(key).exists()
    except RuntimeError:
        return False


def load(raw: bytes, key: str) -> dict[str, Any] | None:
    """The registry in ``raw`` built from its stored index (None when there is none usable)."""
    from .cache import touch, unseal

    try:
        path = _path(key)
        index = unseal(path.read_bytes(), _SALT, key)
        if index is None or index["size"] != len(raw):
            return None
        view = memoryview(raw)
        baseline: dict[str, Any] = {}
        for name, start, end, keys, head in index["baseline"]:
            baseline[name] = _record(view, start, end, keys, head)
        migrations = [_record(view, *item) for item in index["migrations"]]
        data: dict[str, Any] = dict(index["top"])
        data["baseline"] = baseline
        data["migrations"] = migrations
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError):
        return None
    touch(path)  # pruning keeps the most recently used
    return data


def _record(
    view: memoryview, start: int, end: int, keys: list[str], head: dict[str, Any]
) -> Record:
    if not (0 < start < end <= len(view)) or view[start] != 0x7B or view[end - 1] != 0x7D:
        raise ValueError("index does not fit the registry")  # "{" ... "}"
    return Record(view[start:end], keys, head)
