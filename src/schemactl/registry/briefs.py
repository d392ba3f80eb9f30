"""What ``scan`` reads of each registry file, kept so that a re-scan neither parses nor
reads the files it does not change (SPEC §12: a re-scan after one change under 10% of a
cold scan).

A scan reads every package's baseline checksums and the statuses and states of its
records; at 1,000 approved packages, parsing the 20 MB of JSON for that was the largest
part of a re-scan.  A *brief* of a file is exactly that:
``[{entity: checksum} of the baseline, [[id, status, base_state, target_state], ...]]``.

Each file's entry is ``[stamp, digest, brief]``: the BLAKE2b digest of the bytes the
brief was made from, and their ``stamps`` stamp (size, mtime) when it can be trusted.
A file whose stamp is unchanged is not even read; any other is read, and a digest
mismatch (a change by schemactl, git or an editor) is a miss: the file is parsed (and
checked) as without briefs.  A brief exists only for bytes that parsed and passed the
checks.  One entry per registry folder in the user cache directory
(``cache.directory()``), sealed like the project snapshot (salted with schemactl's
version); a missing, corrupt or foreign entry is ignored.  Off with the cache
(``--no-cache``).  Small: about 0.4 KB per package.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from ..fingerprint import code
from .records import entry_sums

FORMAT = 2
_SALT = f"schemactl {code()} registry-briefs {FORMAT}"
KEEP = 16  # entries kept (registry folders)

Brief = list[Any]  # [baseline checksums, [[id, status, base_state, target_state], ...]]
Entry = list[Any]  # [stamp or None, digest, brief]


def digest(name: str, raw: bytes) -> str:
    h = hashlib.blake2b(name.encode(), digest_size=20)
    h.update(b"\0")
    h.update(raw)
    return h.hexdigest()


def of(data: dict[str, Any]) -> Brief:
    """The brief of a parsed package file."""
    return [
        entry_sums(data["baseline"]),  # with an enforced ACL's digest, as scan compares
        [
            [m["id"], m["status"], m.get("base_state"), m.get("target_state")]
            for m in data["migrations"]
        ],
    ]


def enabled() -> bool:
    from .. import cache

    return cache.enabled


def _path(directory: Path) -> tuple[Path, str]:
    from ..cache import directory as cache_directory

    ident = hashlib.sha256(f"{_SALT}\0{os.path.realpath(directory)}".encode()).hexdigest()
    return cache_directory() / "registries" / f"{ident}.json", ident


def load(directory: Path) -> dict[str, Entry]:
    """The entries by file name (empty when there is no usable one); each is checked
    with ``valid`` before use."""
    from ..cache import unseal

    try:
        path, key = _path(directory)
        body = unseal(path.read_bytes(), _SALT, key)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return {}
    if not isinstance(body, dict):
        return {}
    return body


def store(directory: Path, briefs: dict[str, Entry]) -> None:
    """Keep ``briefs`` (by file name) as the folder's entry; never fails."""
    import orjson

    from ..cache import prune, sealed, write_atomic

    try:
        path, key = _path(directory)
        if write_atomic(path, sealed(_SALT, key, orjson.dumps(briefs))):
            prune(path.parent, KEEP, spare=path)
    except (RuntimeError, TypeError):  # RuntimeError: no home directory to cache in
        pass


def valid(e: Any) -> bool:
    """Whether a stored entry has the right shape (a damaged entry is never trusted)."""
    return (
        isinstance(e, list)
        and len(e) == 3
        and (e[0] is None or isinstance(e[0], list))
        and isinstance(e[1], str)
        and _valid_brief(e[2])
    )


def _valid_brief(b: Any) -> bool:
    return (
        isinstance(b, list)
        and len(b) == 2
        and isinstance(b[0], dict)
        and all(isinstance(v, str) for v in b[0].values())
        and isinstance(b[1], list)
        and all(
            isinstance(r, list) and len(r) == 4 and isinstance(r[0], str) and isinstance(r[1], str)
            for r in b[1]
        )
    )
