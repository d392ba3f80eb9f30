"""PostgreSQL output: operations to SQL text, and the full DDL of many packages.

Importing this package is cheap (no sqlglot): statements are built by
:mod:`schemactl.sql.render` with the quoting of :mod:`schemactl.sql.quote`.
:func:`parse_check` is the only place that loads sqlglot, for callers that want to verify.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..model import Entity, Project
from .render import render_down, render_statements, render_up

__all__ = [
    "parse_check",
    "render_create",
    "render_down",
    "render_project",
    "render_statements",
    "render_up",
]


def render_create(packages: Iterable[tuple[str, Sequence[Entity]]]) -> str:
    """The full DDL for several packages given as ``(namespace, entities)``.

    Packages are ordered so that referenced tables come first; foreign keys in a cycle
    between packages come after all the tables of the cycle.
    """
    from ..plan import PackageOps, full_create, order_migrations

    plans = [PackageOps(ns, full_create(entities, ns)) for ns, entities in packages]
    ops = [op for plan in order_migrations(plans) for op in plan.ops]
    return render_up(ops)


def render_project(project: Project) -> str:
    """The full DDL of every package of a project (each package's owned entities)."""
    return render_create((p.namespace, p.owned_entities()) for p in project.packages)


def parse_check(script: str) -> list[str]:
    """Split a rendered script into statements and parse each with sqlglot's postgres
    dialect; raise ``sqlglot.errors.ParseError`` on the first that does not parse.

    Returns the statements.  Loads sqlglot, so callers on a fast path should not use it.
    """
    import sqlglot

    statements = split_statements(script)
    for stmt in statements:
        sqlglot.parse_one(stmt, read="postgres")
    return statements


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def split_statements(script: str) -> list[str]:
    """The statements of a script, without their ``;`` (``--`` comment lines dropped).

    A small scanner that knows exactly the lexical forms this package writes: standard
    ``'...'``, ``E'...'`` and ``$tag$...$tag$`` strings, ``"..."`` identifiers and ``--``
    comments.
    """
    out: list[str] = []
    buf: list[str] = []
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch == "-" and script.startswith("--", i):
            j = script.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if ch == "$":
            m = _DOLLAR_TAG.match(script, i)
            if m and (i == 0 or not (script[i - 1].isalnum() or script[i - 1] == "_")):
                end = script.find(m.group(0), m.end())
                end = n if end < 0 else end + len(m.group(0))
                buf.append(script[i:end])
                i = end
                continue
        if ch in "'\"":
            escape = (
                ch == "'"
                and i > 0
                and script[i - 1] in "Ee"
                and (i < 2 or not (script[i - 2].isalnum() or script[i - 2] in '_"'))
            )
            j = i + 1
            while j < n:
                if escape and script[j] == "\\":
                    j += 2
                    continue
                if script[j] == ch:
                    if j + 1 < n and script[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            buf.append(script[i : j + 1])
            i = j + 1
            continue
        if ch == ";":
            stmt = "".join(buf).strip()
            if stmt:
                out.append(stmt)
            buf = []
        else:
            buf.append(ch)
        i += 1
    tail = "".join(buf).strip()
    if tail:
        out.append(tail)
    return out
