"""Naming rules (SPEC §6) and the type aliases of SPEC §3.

Tables are snake_case plurals of entity names by default, columns snake_case of field
names.  Derived index and constraint names are ``pk_/idx_/uq_/fk_/ck_`` plus the table and
columns; a derived name over PostgreSQL's 63-byte limit is cut and given an 8-hex-digit
hash suffix of the full name, so it stays unique and the same on every run.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache, lru_cache

MAX_IDENT = 63

TYPE_ALIASES: dict[str, str] = {
    "string": "string",
    "text": "text",
    "int": "int",
    "integer": "int",
    "bigint": "bigint",
    "float": "float",
    "double": "float",
    "decimal": "decimal",
    "boolean": "boolean",
    "bool": "boolean",
    "cuid": "cuid",
    "uuid": "uuid",
    "json": "json",
    "jsonb": "json",
    "datetime": "datetime",
    "timestamp": "datetime",
    "date": "date",
    "bytes": "bytes",
}

# The PostgreSQL type each canonical type maps to (decimal gains (p, s) when given).
PG_TYPES: dict[str, str] = {
    "string": "text",
    "text": "text",
    "cuid": "text",
    "int": "integer",
    "bigint": "bigint",
    "float": "double precision",
    "decimal": "numeric",
    "boolean": "boolean",
    "uuid": "uuid",
    "json": "jsonb",
    "datetime": "timestamptz",
    "date": "date",
    "bytes": "bytea",
}


def canonical_type(name: str) -> str | None:
    return TYPE_ALIASES.get(name.lower())


_SNAKE_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_SNAKE_2 = re.compile(r"([a-z0-9])([A-Z])")


@cache
def snake(name: str) -> str:
    """snake_case: ``AuditLog`` -> ``audit_log``, ``IRCChannel`` -> ``irc_channel``."""
    s = _SNAKE_2.sub(r"\1_\2", _SNAKE_1.sub(r"\1_\2", name))
    return s.replace("-", "_").lower()


_IRREGULAR = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "index": "indexes",
    "status": "statuses",
    "data": "data",
    "media": "media",
    "info": "info",
    "metadata": "metadata",
    "series": "series",
    "news": "news",
}


def plural(word: str) -> str:
    """English plural of the last ``_`` part: category -> categories, address -> addresses."""
    head, _, last = word.rpartition("_")
    low = last.lower()
    if low in _IRREGULAR:
        p = _IRREGULAR[low]
    elif re.search(r"[^aeiou]y$", low):
        p = last[:-1] + "ies"
    elif re.search(r"(s|x|z|ch|sh)$", low):
        p = last + "es"
    else:
        p = last + "s"
    return f"{head}_{p}" if head else p


@cache
def table_name(entity: str, style: str) -> str:
    if style == "preserve":
        return entity
    s = snake(entity)
    return plural(s) if style == "snake_plural" else s


def column_name(field: str, style: str) -> str:
    return field if style == "preserve" else snake(field)


@lru_cache(maxsize=1 << 16)
def shorten(name: str) -> str:
    """Fit a derived name into 63 bytes deterministically (cut + ``_`` + 8 hex of its hash)."""
    raw = name.encode("utf-8")
    if len(raw) <= MAX_IDENT:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:8]
    head = raw[: MAX_IDENT - 9].decode("utf-8", errors="ignore").rstrip("_")
    return f"{head}_{digest}"


def derived(prefix: str, table: str, parts: tuple[str, ...] | list[str]) -> str:
    return shorten("_".join((prefix, table, *parts)))
