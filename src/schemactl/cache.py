"""The incremental cache: per entities file, the result of loading and validating it.

An entry is keyed by the SHA-256 of everything that result depends on: the file's bytes,
the package's id/namespace/path and metadata entity list, the naming config, the
schemactl version and the shape of the model classes.  Unchanged packages are then neither
parsed nor validated again.  Entries are JSON (never pickle: a cache directory can come
from anywhere), written atomically; an unreadable, foreign or corrupt entry is ignored and
rebuilt, never trusted.  ``--no-cache`` or ``SCHEMACTL_NO_CACHE=1`` bypasses it.

With the cache off, entries are kept in this process's memory instead, compressed
(``memory``): a command still reads back what it built earlier in the same run (a load
holds a package's drafts only while it checks it), but nothing outlives the run.  (Files
in a private folder cost more: creating and deleting a thousand took 1.3 s of system
time on the benchmark machine.)

Location: a user cache directory, never the project, so ``validate`` and ``preview`` write
nothing there: ``$SCHEMACTL_CACHE_DIR``, else ``$XDG_CACHE_HOME/schemactl``, else
``~/.cache/schemactl``.  Entries are content-addressed, so projects can share the folder;
a folder that cannot be written is simply not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import zlib
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic
from .discover import Found
from .fingerprint import code
from .model import Acl, Check, Field, Index, Loc, Relation
from .serialize import may_be_lossy
from .standins import Target
from .validate import Draft

FORMAT = 1


def env_enabled() -> bool:
    return os.environ.get("SCHEMACTL_NO_CACHE", "") in ("", "0")


enabled = env_enabled()
memory: dict[str, bytes] = {}  # with the cache off: this run's entries, zlib-compressed


def _shape() -> str:
    parts = [
        f"{cls.__name__}:{','.join(f.name for f in fields(cls))}"
        for cls in (Draft, Field, Index, Check, Relation, Acl, Loc, Diagnostic)
    ]
    return ";".join(parts)


_SALT = f"schemactl {code()} cache {FORMAT} {_shape()}".encode()


def directory() -> Path:
    """Where entries live."""
    env = os.environ.get("SCHEMACTL_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "schemactl"


def key_meta(found: Found, naming: tuple[str, str]) -> str:
    """What a key covers besides the file's bytes."""
    import orjson

    return orjson.dumps(
        [found.id, found.namespace, found.path, found.file, found.listed_entities, naming]
    ).decode()


def key(found: Found, raw: bytes, naming: tuple[str, str], meta: str | None = None) -> str:
    """``meta``: ``key_meta(found, naming)`` when the caller has it already."""
    h = hashlib.sha256(_SALT)
    h.update((meta if meta is not None else key_meta(found, naming)).encode())
    h.update(b"\0")
    h.update(raw)
    return h.hexdigest()


def encode(drafts: list[Draft], diags: list[Diagnostic]) -> dict[str, Any]:
    """One file's result as plain data (also how worker processes hand results back)."""
    return {
        "drafts": [_enc_draft(d) for d in drafts],
        "diagnostics": [[getattr(d, f.name) for f in fields(Diagnostic)] for d in diags],
    }


def decode(doc: dict[str, Any]) -> tuple[list[Draft], list[Diagnostic]]:
    return [_draft(d) for d in doc["drafts"]], [Diagnostic(*d) for d in doc["diagnostics"]]


_BIG = 2.0**63


_NUMBERS = [i for i, f in enumerate(fields(Field)) if f.name in ("default", "min", "max")]


def _lossy(doc: dict[str, Any]) -> bool:
    """Whether orjson read an integer beyond 64 bits (a decimal default or bound) as a
    float: such an entry is recomputed rather than decoded inexactly."""
    for d in doc["drafts"]:
        for f in d["fields"]:
            for i in _NUMBERS:
                v = f[i]
                if type(v) is float and not -_BIG < v < _BIG:
                    return True
        for c in d["checks"]:
            if any(type(v) is float and not -_BIG < v < _BIG for v in c[3]):
                return True
    return False


def get_doc(k: str) -> dict[str, Any] | None:
    """The entry stored under key ``k`` as plain data (``encode``'s form), or None."""
    import orjson

    path = directory() / k[:2] / f"{k}.json"
    try:
        if enabled:
            raw = path.read_bytes()
        else:
            blob = memory.get(k)
            if blob is None:
                return None
            raw = zlib.decompress(blob)
        doc = orjson.loads(raw)
        if not isinstance(doc, dict) or doc.get("key") != k:
            return None
        if may_be_lossy(raw) and _lossy(doc):
            return None
        return doc
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def get(k: str) -> tuple[list[Draft], list[Diagnostic]] | None:
    doc = get_doc(k)
    if doc is None:
        return None
    try:
        return decode(doc)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def put(k: str, encoded: dict[str, Any]) -> None:
    """Store ``encode(...)`` of one file under key ``k``, atomically; never fails."""
    import orjson

    try:
        data = orjson.dumps({"key": k, **encoded})
        if not enabled:
            memory[k] = zlib.compress(data, 1)
            return
        write_atomic(directory() / k[:2] / f"{k}.json", data)
    except (RuntimeError, TypeError):  # RuntimeError: no home directory to cache in
        pass


# Helpers for the other entries kept here (snapshot).


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temporary file renamed into place, so that a
    reader sees the old entry or the new one; False (and nothing left behind) on failure."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False


def sealed(salt: str, key: str, body: bytes) -> bytes:
    """An entry whose ``body`` (JSON) carries its salt, its key and its own SHA-256."""
    check = hashlib.sha256(body).hexdigest()
    head = json.dumps({"salt": salt, "key": key, "check": check})
    return head[:-1].encode() + _BODY + body + b"}"


def unseal_body(raw: bytes, salt: str, key: str) -> bytes | None:
    """The body's bytes of an entry ``sealed`` wrote, unparsed; None unless salt, key and
    checksum all match."""
    import orjson

    at = raw.find(_BODY)
    if at < 0 or not raw.endswith(b"}"):
        return None
    head = orjson.loads(raw[:at] + b"}")
    if not isinstance(head, dict) or head.get("salt") != salt or head.get("key") != key:
        return None
    body = raw[at + len(_BODY) : -1]
    return body if head.get("check") == hashlib.sha256(body).hexdigest() else None


def unseal(raw: bytes, salt: str, key: str) -> Any:
    """The body of a ``sealed`` entry; None unless salt, key and checksum all match."""
    import orjson

    if raw.find(_BODY) >= 0 and raw.endswith(b"}"):  # as ``sealed`` wrote it
        body_raw = unseal_body(raw, salt, key)
        return None if body_raw is None else orjson.loads(body_raw)
    doc = orjson.loads(raw)  # written otherwise: the checksum of its body re-encoded
    if not isinstance(doc, dict) or doc.get("salt") != salt or doc.get("key") != key:
        return None
    body = doc.get("body")
    if doc.get("check") != hashlib.sha256(orjson.dumps(body)).hexdigest():
        return None
    return body


_BODY = b', "body": '


def prune(folder: Path, keep: int, spare: Path) -> None:
    """Delete all but the ``keep`` most recently used entries of ``folder`` (a reader
    touches what it uses), never ``spare``."""
    try:
        entries = sorted(
            (e for e in os.scandir(folder) if e.name.endswith(".json")),
            key=lambda e: e.stat().st_mtime_ns,
            reverse=True,
        )
    except OSError:
        return
    for e in entries[keep:]:
        if e.path != str(spare):
            with contextlib.suppress(OSError):
                os.unlink(e.path)


def touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


# Positional encoding: each object becomes the list of its dataclass fields in order (the
# order is part of the key's salt, so a model change invalidates every entry).


def _loc(v: Loc) -> list[Any]:
    return [v.file, v.line, v.column]


_FIELD_NAMES = [f.name for f in fields(Field)]
assert _FIELD_NAMES[-1] == "loc"  # the decoder relies on it
_field_values = attrgetter(*_FIELD_NAMES[:-1])


def _enc_field(f: Field) -> list[Any]:
    out = list(_field_values(f))
    loc = f.loc
    out.append([loc.file, loc.line, loc.column])
    return out


def _enc_index(i: Index) -> list[Any]:
    return [i.name, i.fields, i.columns, i.unique, i.user_named, _loc(i.loc)]


def _enc_relation(r: Relation) -> list[Any]:
    return [
        r.name,
        r.kind,
        r.target,
        r.field,
        r.references,
        r.on_delete,
        r.on_update,
        r.optional,
        _loc(r.loc),
    ]


def _enc_draft(d: Draft) -> dict[str, Any]:
    return {
        "scalars": [
            d.name,
            d.package,
            d.namespace,
            d.file,
            d.table,
            d.table_override,
            d.primary_key,
            d.pk_name,
            d.checksum,
            d.description,
            d.version,
            d.pinned,
            d.ok,
        ],
        "loc": _loc(d.loc),
        "fields": [_enc_field(f) for f in d.fields],
        "indexes": [_enc_index(i) for i in d.indexes],
        "declared": [_enc_index(i) for i in d.declared],
        "checks": [[c.name, c.column, c.kind, c.values] for c in d.checks],
        "relations": [_enc_relation(r) for r in d.relations],
        "acl": [d.acl.create, d.acl.read, d.acl.update, d.acl.delete, d.acl.row_level],
    }


_FIELD_ENUM = _FIELD_NAMES.index("enum")
_FIELD_NAME = _FIELD_NAMES.index("name")
_FIELD_UNIQUE = _FIELD_NAMES.index("unique")


def targets(doc: dict[str, Any]) -> list[Target]:
    """``standins.target_of`` of each draft of an entry, decoding only what a stand-in
    keeps (its key fields), not the whole draft."""
    intern = sys.intern
    out = []
    for d in doc["drafts"]:
        s = d["scalars"]
        pk = tuple(s[6])
        fields = d["fields"]
        unique_one = {ix[1][0] for ix in d["indexes"] if ix[3] and len(ix[1]) == 1}
        keys = tuple(
            _dec_field(list(f))
            for f in fields
            if pk == (f[_FIELD_NAME],) or f[_FIELD_UNIQUE] or f[_FIELD_NAME] in unique_one
        )
        out.append(
            Target(
                name=s[0],
                package=s[1],
                namespace=s[2],
                table=s[4],
                file=s[3],
                loc=Loc(*d["loc"]),
                checksum=s[8],
                primary_key=tuple(intern(n) for n in pk),
                field_names=tuple(intern(f[_FIELD_NAME]) for f in fields),
                keys=keys,
            )
        )
    return out


def _dec_field(v: list[Any]) -> Field:
    # the list is the decoder's own (fresh from orjson or a worker): change it in place
    v[-1] = Loc(*v[-1])  # loc is the last field
    if v[_FIELD_ENUM] is not None:
        v[_FIELD_ENUM] = tuple(v[_FIELD_ENUM])
    return Field(*v)


def _dec_index(v: list[Any]) -> Index:
    return Index(v[0], tuple(v[1]), tuple(v[2]), v[3], v[4], Loc(*v[5]))


def _dec_relation(r: list[Any]) -> Relation:
    return Relation(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], Loc(*r[8]))


def _draft(d: dict[str, Any]) -> Draft:
    s = d["scalars"]
    a = d["acl"]
    return Draft(
        name=s[0],
        package=s[1],
        namespace=s[2],
        file=s[3],
        loc=Loc(*d["loc"]),
        table=s[4],
        table_override=s[5],
        fields=tuple(_dec_field(f) for f in d["fields"]),
        primary_key=tuple(s[6]),
        pk_name=s[7],
        indexes=tuple(_dec_index(i) for i in d["indexes"]),
        checks=tuple(Check(c[0], c[1], c[2], tuple(c[3])) for c in d["checks"]),
        relations=tuple(_dec_relation(r) for r in d["relations"]),
        acl=Acl(tuple(a[0]), tuple(a[1]), tuple(a[2]), tuple(a[3]), a[4]),
        checksum=s[8],
        description=s[9],
        version=s[10],
        pinned=s[11],
        declared=tuple(_dec_index(i) for i in d["declared"]),
        ok=s[12],
    )
