"""JSON Schema verdicts kept between runs: which instance shapes the published schema
accepts (``schema_check`` validates memoised by shape; this keeps its "valid" answers).

A re-scan validates only the files that changed, and an edit rarely brings a field,
index or relation of a shape never seen before; with the verdicts of earlier runs, such a
file is checked without importing jsonschema at all (about 45 ms, a fifth of a re-scan
at 1,000 packages).  Only "valid" is kept: an invalid instance is always validated, so
that its diagnostics are jsonschema's own.

One file in the user cache directory (``cache.directory()``), sealed like the other
entries and salted with schemactl's code (``fingerprint``), so a release or an edited
schema starts afresh: a set of 96-bit BLAKE2b digests of ``(kind, shape)``.  A process
adds what it learned with ``save`` (read, merge, replace: two writers at once may lose
some of each other's additions, which are then learned again).  Off with the cache.
"""

from __future__ import annotations

import hashlib

from .fingerprint import code

FORMAT = 1
_SALT = f"schemactl {code()} schema-verdicts {FORMAT}"
_KEY = "verdicts"
LIMIT = 200_000  # digests kept; beyond it the set starts afresh

_kept: set[str] | None = None  # loaded on first use
_new: set[str] = set()  # learned by this process, not saved yet


def _digest(kind: str, text: str) -> str:
    return hashlib.blake2b(f"{kind}\0{text}".encode(), digest_size=12).hexdigest()


def _enabled() -> bool:
    from . import cache

    return cache.enabled


def _load() -> set[str]:
    from .cache import directory, unseal

    try:
        body = unseal((directory() / "schema-verdicts.json").read_bytes(), _SALT, _KEY)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, AttributeError):
        return set()
    if not isinstance(body, list) or not all(isinstance(d, str) for d in body):
        return set()
    return set(body)


def known(kind: str, text: str) -> bool:
    """Whether an earlier run found an instance of this shape valid."""
    global _kept
    if not _enabled():
        return False
    if _kept is None:
        _kept = _load()
    return _digest(kind, text) in _kept


def learn(kind: str, text: str) -> None:
    if _enabled():
        _new.add(_digest(kind, text))


def save() -> None:
    """Add what this process learned to the kept verdicts; never fails."""
    global _kept
    if not _new or not _enabled():
        return
    import orjson

    from .cache import directory, sealed, write_atomic

    merged = _load() | _new
    if len(merged) > LIMIT:
        merged = set(_new)
    try:
        body = orjson.dumps(sorted(merged))
        write_atomic(directory() / "schema-verdicts.json", sealed(_SALT, _KEY, body))
    except (RuntimeError, TypeError):  # RuntimeError: no home directory to cache in
        return
    _kept = merged
    _new.clear()
