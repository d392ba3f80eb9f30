"""File stamps: when a file's size and modification time may stand for its bytes.

A re-scan must not read and hash every entities and registry file to learn that nearly
all are unchanged (SPEC §12: under 10% of a cold scan).  Like mypy's and ruff's caches,
and git's index, schemactl's cache entries remember each file's ``(size, mtime_ns)``;
a file whose stamp is unchanged is taken as unchanged without being read, and any other
is read and compared by content as before.

The one trap is git's "racy clean" case: a file written in the same clock tick as it was
stamped can be rewritten with the same size in that tick, and keep the stamp.  File
systems keep times at some granularity (nanoseconds on ext4 and XFS, but 1 s on some,
2 s on FAT), so a stamp is only kept for a file whose mtime is at least ``RACY_NS``
older than the moment it was stamped; a newer file is compared by content until it is
that old.  A stamp is taken before the bytes it stands for are read (``os.fstat`` on
the open file), so a file that changes in between is stamped older than its bytes and
read again next time, never the other way round.

What a stamp cannot see: a rewrite that sets the old mtime back and keeps the size
(``touch -d``, ``rsync --times`` of different bytes).  The cache is a convenience of one
user's machine: ``--no-cache`` (and CI, which starts without one) reads everything.
"""

from __future__ import annotations

import os
import time

RACY_NS = 2_000_000_000  # 2 s: the coarsest file time granularity in common use (FAT)

Stamp = list[int]  # [size, mtime_ns], as JSON keeps it


def now_ns() -> int:
    return time.time_ns()


def of(st: os.stat_result, now: int) -> Stamp | None:
    """The stamp of a file stat'ed at ``now`` (before its bytes were read), or None
    when its mtime is too recent to trust (or in the future)."""
    if st.st_mtime_ns > now - RACY_NS:
        return None
    return [st.st_size, st.st_mtime_ns]


def seen(st: os.stat_result) -> tuple[int, int]:
    """What a stamp compares: the file's size and mtime."""
    return st.st_size, st.st_mtime_ns


def matches(stamp: object, now_seen: tuple[int, int]) -> bool:
    """Whether a stored stamp says the file, ``seen`` as it is now, is unchanged."""
    return isinstance(stamp, list) and len(stamp) == 2 and tuple(stamp) == now_seen
