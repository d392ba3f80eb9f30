"""The project snapshot: what the last load of a project found, package by package.

Loading a project has a per-file half (parse, JSON Schema, per-entity checks: the
validation cache keeps that per file) and a cross-package half (owners, relations,
constraint names).  The snapshot keeps, for each package, the result of the second half
and what it depended on, so that a later load redoes it only for packages whose inputs
changed, and builds the entities of the others only if a command reads them
(``model.LazyEntities``).

A package's result depends on its own file (the validation cache key), on the files of
the packages that define the entity names it defines (owner choice) and those its
relations target, and, when a relation targets an unknown name, on the set of all names
(the did-you-mean hint).  ``signature`` hashes exactly that; ``project.load_project``
reuses a package's stored result only when its signature is unchanged.

One snapshot per project root and configuration, in the user cache directory, keyed by
schemactl's version too.  A missing, corrupt or foreign snapshot is ignored (everything
is recomputed, as without it); ``--no-cache`` bypasses it.  A test holds the results
with and without it identical over random sequences of edits.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .config import Config
from .diagnostics import Diagnostic
from .fingerprint import code
from .model import EntitySummary, ForeignKey

FORMAT = 3
_SALT = f"schemactl {code()} snapshot {FORMAT}"
KEEP = 16  # snapshots kept per cache directory (projects, configurations)


@dataclass(frozen=True)
class PackageState:
    """One package's cross-package result and its inputs."""

    key: str  # the validation cache key of its entities file
    sig: str  # ``signature``: everything the result depends on
    names: tuple[str, ...]  # the entity names it defines, in file order
    targets: tuple[str, ...]  # the entity names its relations target
    summary: tuple[EntitySummary, ...]
    owned: tuple[str, ...]
    # per entity, in file order: ``encode_fks``; or, as the snapshot keeps it, its JSON
    # text, parsed and checked on first use (most commands never ask: at 1,000 packages
    # parsing them all was a fifth of a re-scan)
    fks_data: list[list[list[Any]]] | str
    diagnostics: tuple[Diagnostic, ...]  # the package's own: file, relations, names
    # the entities file's ``stamps`` stamp when ``key`` was computed, and what else the key
    # covers (``cache.key_meta``): while both hold, ``key`` is known without reading it
    stamp: list[int] | None = None
    meta: str = ""
    # this state's line as the snapshot file held it, written back as it is while the
    # state is unchanged (``store``); None for a state made or changed in this run
    line: bytes | None = field(default=None, repr=False, compare=False)

    def fks_list(self) -> list[list[list[Any]]]:
        """``fks_data`` as lists; ValueError when the stored text is malformed (an entry
        sealed right, yet wrong: the caller works it out afresh)."""
        data = self.fks_data
        if isinstance(data, str):
            import orjson

            data = _checked_fks(orjson.loads(data), len(self.summary))
            object.__setattr__(self, "fks_data", data)
        return data

    def fks(self) -> tuple[tuple[ForeignKey, ...], ...]:
        return tuple(tuple(_fk(x) for x in per) for per in self.fks_list())

    def fk_refs(self) -> tuple[tuple[str, str], ...]:
        """``Package.fk_refs``: what the foreign keys of its owned entities reference."""
        owned = set(self.owned)
        ns, table = _FK.index("ref_namespace"), _FK.index("ref_table")
        return tuple(
            (x[ns], x[table])
            for (name, _, _), per in zip(self.summary, self.fks_list(), strict=True)
            if name in owned
            for x in per
        )


def encode_fks(fks: tuple[tuple[ForeignKey, ...], ...]) -> list[list[list[Any]]]:
    return [[[getattr(fk, a) for a in _FK] for fk in per] for per in fks]


def signature(
    key: str,
    names: tuple[str, ...],
    targets: tuple[str, ...],
    definers: dict[str, list[str]],
    key_of: dict[str, str | None],
    known_digest: str,
    externals: set[str],
) -> str:
    h = hashlib.sha256(key.encode())
    for n in sorted(set(names)):
        h.update(f"\0d{n}=".encode() + ",".join(f"{q}:{key_of[q]}" for q in definers[n]).encode())
    unknown = False
    for t in sorted(set(targets)):
        ps = definers.get(t)
        if ps:
            h.update(f"\0t{t}=".encode() + ",".join(f"{q}:{key_of[q]}" for q in ps).encode())
        elif t not in externals:
            unknown = True
    if unknown:  # an SC307 hint names the closest known entity
        h.update(b"\0known=" + known_digest.encode())
    return h.hexdigest()


def known_digest(known: list[str]) -> str:
    return hashlib.sha256("\0".join(known).encode()).hexdigest()


# ----------------------------------------------------------------------------- storage


def _path(config: Config) -> tuple[Path, str]:
    from .cache import directory

    ident = hashlib.sha256(
        f"{_SALT}\0{os.path.realpath(config.root)}\0{config!r}".encode()
    ).hexdigest()
    return directory() / "projects" / f"{ident}.json", ident


_FK = [f.name for f in fields(ForeignKey)]
_DIAG = [f.name for f in fields(Diagnostic)]


def _enc_state(s: PackageState) -> list[Any]:
    return [
        s.key,
        s.sig,
        s.names,
        s.targets,
        s.summary,
        s.owned,
        s.fks_data if isinstance(s.fks_data, str) else _dumps(s.fks_data),
        [[getattr(d, a) for a in _DIAG] for d in s.diagnostics],
        s.stamp,
        s.meta,
    ]


def _fk(v: list[Any]) -> ForeignKey:
    return ForeignKey(v[0], v[1], tuple(v[2]), v[3], v[4], tuple(v[5]), *v[6:])


def _dumps(v: Any) -> str:
    import orjson

    return orjson.dumps(v).decode()


def _checked_fks(fks: Any, entities: int) -> list[list[list[Any]]]:
    if not (
        isinstance(fks, list)
        and len(fks) == entities
        and all(
            isinstance(per, list) and all(isinstance(x, list) and len(x) == len(_FK) for x in per)
            for per in fks
        )
    ):
        raise ValueError("malformed foreign keys in snapshot")
    return fks


def _dec_state(v: list[Any], line: bytes | None = None) -> PackageState:
    key, sig, names, targets, summary, owned, fks, diags, stamp, meta = v
    if not (
        type(key) is str and type(sig) is str and type(meta) is str and type(fks) is str
    ) or any(len(x) != 3 for x in summary):
        raise ValueError("malformed snapshot entry")
    return PackageState(
        key,
        sig,
        tuple(names),
        tuple(targets),
        tuple(map(tuple, summary)),
        tuple(owned),
        fks,
        tuple(Diagnostic(*d) for d in diags) if diags else (),
        stamp,
        meta,
        line,
    )


def load(config: Config) -> dict[str, PackageState]:
    """The stored states by package id (empty when there is no usable snapshot)."""
    import orjson

    from .cache import touch, unseal, unseal_body

    try:
        path, key = _path(config)
        # the seal's checksum covers every entry: a damaged one is never decoded
        raw = path.read_bytes()
        body = unseal_body(raw, _SALT, key)
        pairs: list[tuple[bytes | None, Any]]
        if body is not None:
            lines = body.split(b"\n")
            if lines[0] != b"[" or lines[-1] != b"]":
                return {}
            pairs = [
                (line, orjson.loads(line)) for line in (x.removesuffix(b",") for x in lines[1:-1])
            ]
        else:  # an entry written otherwise (the same JSON, spaced differently)
            doc = unseal(raw, _SALT, key)
            if not isinstance(doc, list):
                return {}
            pairs = [(None, x) for x in doc]
        states = {pid: _dec_state(v, line) for line, (pid, v) in pairs}
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return {}
    touch(path)  # pruning keeps the most recently used
    return states


def store(config: Config, states: dict[str, PackageState]) -> None:
    """Keep ``states`` as the project's snapshot; never fails.

    One package per line (a JSON array of ``[id, state]``), so that a state loaded and
    kept as it was is written back as its own bytes, not encoded again: a re-scan that
    changes one package of 1,000 rewrites the snapshot in a third of the time."""
    import orjson

    from .cache import prune, sealed, write_atomic

    try:
        path, key = _path(config)
        lines = [s.line or orjson.dumps([pid, _enc_state(s)]) for pid, s in states.items()]
        body = b"[\n" + b",\n".join(lines) + b"\n]"
        if write_atomic(path, sealed(_SALT, key, body)):
            prune(path.parent, KEEP, spare=path)
    except (RuntimeError, TypeError):  # RuntimeError: no home directory to cache in
        pass
