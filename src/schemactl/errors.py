"""The one exception root.  Every error schemactl raises on purpose derives from it.

``exit_code`` follows SPEC §10: 1 findings, 2 usage/configuration, 3 operational.  The CLI
turns these into a message and an exit code, never a traceback.
"""

from __future__ import annotations


class SchemactlError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


class UsageError(SchemactlError):
    """Bad command-line arguments (unknown package, unknown migration id...)."""

    exit_code = 2


class ConfigError(SchemactlError):
    """schemactl.toml / [tool.schemactl] is unreadable or invalid."""

    exit_code = 2


class OperationalError(SchemactlError):
    """The environment failed: unreadable registry, lock timeout, database unreachable."""

    exit_code = 3


class FindingsError(SchemactlError):
    """The command ran and found problems (stale plan, destructive without the flag...)."""

    exit_code = 1
