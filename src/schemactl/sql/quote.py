"""Quoting of identifiers and literals: the only place where names and values become SQL text.

The rule (docs/sql.md): every identifier is always double-quoted, with embedded ``"``
doubled, exactly as Prisma Migrate and drizzle-kit write it.  Quoting always, rather than
only when needed, makes reserved words (``user``, ``order``, ``select``, ``timestamp``) and
mixed case safe without a keyword list that changes between PostgreSQL versions, and it is
the same rule for every statement.

String literals are standard SQL strings with ``'`` doubled.  A string that contains a
backslash is dollar-quoted instead (``$s$...$s$``, with a tag that does not occur in it):
a standard string with a backslash would change meaning, or even end early, on a server
running with ``standard_conforming_strings = off``, and sqlglot does not accept escape
strings (``E'...'``) everywhere PostgreSQL does.  NUL cannot be stored in PostgreSQL
text and is refused.  Numbers are written from Python's own ``repr`` (never user text), and
non-finite floats as typed string literals.
"""

from __future__ import annotations

import math

from ..model import Scalar

_quoted: dict[str, str] = {}  # names repeat across tables: each is quoted once


def ident(name: str) -> str:
    """``order`` -> ``"order"``; ``we"ird`` -> ``"we""ird"``."""
    q = _quoted.get(name)
    if q is None:
        if not name or "\x00" in name:
            raise ValueError(f"invalid SQL identifier {name!r}")
        q = '"' + name.replace('"', '""') + '"'
        if len(_quoted) < 100_000:
            _quoted[name] = q
    return q


def qualified(namespace: str, name: str) -> str:
    """A schema-qualified name: ``"ns"."table"``."""
    return ident(namespace) + "." + ident(name)


def string(value: str) -> str:
    """A string literal that stays data whatever it contains (quotes, ``;``, SQL, backslashes)."""
    if "\x00" in value:
        raise ValueError("a NUL character cannot be stored in PostgreSQL text")
    if "\\" in value:
        return dollar_quoted(value)
    return "'" + value.replace("'", "''") + "'"


def dollar_quoted(value: str) -> str:
    """``$s$value$s$`` with the first tag ``s``, ``s1``, ``s2``... that cannot end it early."""
    n = 0
    while True:
        tag = "$s" + (str(n) if n else "") + "$"
        if (value + tag).find(tag) == len(value):
            return tag + value + tag
        n += 1


def number(value: int | float) -> str:
    """An int or float as a numeric constant; NaN and infinities as typed literals."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "'NaN'::double precision"
        if math.isinf(value):
            return ("'Infinity'" if value > 0 else "'-Infinity'") + "::double precision"
        return repr(value)
    raise TypeError(f"not a number: {value!r}")


def literal(value: Scalar) -> str:
    """Any scalar of the model as a literal: booleans, numbers or strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, str):
        return string(value)
    raise TypeError(f"not a SQL scalar: {value!r}")


def ident_list(names: tuple[str, ...] | list[str]) -> str:
    """``("a", "b")`` -> ``"a", "b"``."""
    return ", ".join(ident(n) for n in names)
