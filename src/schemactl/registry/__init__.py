"""The registry (SPEC §7): one JSON file per package, committed to git.

- :mod:`.layout`: where the files are, their exact bytes and their shape;
- :mod:`.records`: statuses, checksums, seals and package states of migration records;
- :mod:`.store`: the registry in memory, its lock and atomic writes;
- :mod:`.integrity`: seals, the approval chain of each package, baseline provenance;
- :mod:`.upgrade`: converting the format-1 single file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .layout import FORMAT
from .records import (
    APPROVED,
    EMPTY_STATE,
    PENDING,
    REJECTED,
    STATUSES,
    SUPERSEDED,
    record_hash,
    seal,
    sql_checksum,
    state_of,
    summary,
    tampered,
)
from .store import Registry, locked, transaction

if TYPE_CHECKING:
    from ..config import Config


def read(config: Config) -> Registry:
    """The registry of a project's configuration."""
    return Registry.read(config.registry_path, config.root)


__all__ = [
    "APPROVED",
    "EMPTY_STATE",
    "FORMAT",
    "PENDING",
    "REJECTED",
    "STATUSES",
    "SUPERSEDED",
    "Registry",
    "locked",
    "read",
    "record_hash",
    "seal",
    "sql_checksum",
    "state_of",
    "summary",
    "tampered",
    "transaction",
]
