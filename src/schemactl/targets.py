"""Which databases one ``apply`` or ``status`` runs against (SPEC §15), and keeping their
passwords out of every message.

Owns:

- reading ``--targets FILE``: TOML with ``[[targets]]`` entries ``name`` and ``url``
  (``url = "env:VAR"`` reads the variable); ``--database-url`` given more than once makes
  one target per URL, named after the database (``user@host:port/dbname``);
- every check that must fail *before anything is touched* (exit 2, SC720-SC727): a
  malformed file (with file and line), unknown keys, duplicate names or databases, an unset
  variable, a malformed URL, ``--canary`` naming no target;
- :func:`scrub`: a text with a target's password (and any ``user:password@`` or
  ``password=`` in it) replaced by ``***``, for driver messages that echo a URL.

Nothing here connects; psycopg's conninfo parser is imported only to check a URL.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostics import did_you_mean
from .errors import ConfigError, UsageError

ENTRY_KEYS = ("name", "url")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/-]*\Z")
ENV_PREFIX = "env:"
MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Target:
    """One database: ``name`` for people and ``--canary``, ``url`` to connect (never
    printed), ``where`` the URL without its password, ``password`` for :func:`scrub`."""

    name: str
    url: str
    where: str
    password: str | None = None

    def scrub(self, text: str) -> str:
        return scrub(text, self.password)


# ----------------------------------------------------------------------------- passwords

# ``user:secret@`` anywhere (a URI, or a malformed one that the driver echoes whole)
_URL_PASSWORD = re.compile(r"(?P<head>[^\s\"'/:@]+:)[^\s\"'@/]*(?=@)")
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'\"]+)", re.I)


def scrub(text: str, password: str | None = None) -> str:
    """``text`` with ``password`` and anything shaped like a URL or conninfo password
    replaced by ``***``."""
    if password:
        text = text.replace(password, "***")
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***", text)
    return _KV_PASSWORD.sub(lambda m: m.group("head") + "***", text)


def url_parts(url: str) -> dict[str, Any]:
    """The conninfo of ``url``; ConfigError SC724 (a scrubbed message) when malformed."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        return dict(conninfo_to_dict(url))
    except Exception as e:  # psycopg.ProgrammingError: echoes the URL, password and all
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"invalid database URL: {scrub(first)}",
            hint="use postgresql://user:password@host:5432/dbname or key=value pairs",
            code="SC724",
        ) from None


def _target(name: str | None, url: str) -> Target:
    from .db import describe

    password = url_parts(url).get("password")
    where = describe(url)
    return Target(name=name or where, url=url, where=where, password=str(password or "") or None)


# ----------------------------------------------------------------------------- --database-url


def from_urls(urls: list[str]) -> list[Target]:
    """One target per ``--database-url``, named ``user@host:port/dbname``."""
    out: list[Target] = []
    for i, raw in enumerate(urls, 1):
        url = raw.strip()
        if not url:
            raise UsageError(f"--database-url number {i} is empty", code="SC724")
        try:
            out.append(_target(None, url))
        except ConfigError as e:
            raise ConfigError(
                f"--database-url number {i}: {e.message}", hint=e.hint, code=e.code
            ) from None
    _no_duplicates(out, lambda t: f"--database-url {t.where}")
    return out


# ----------------------------------------------------------------------------- --targets FILE


def _error(where: str, message: str, hint: str | None = None, code: str = "SC720") -> ConfigError:
    return ConfigError(f"{where}: {message}", hint=hint, code=code)


def _entry_lines(text: str) -> list[int]:
    """The 1-based line of each ``[[targets]]`` header, in order."""
    return [
        i
        for i, line in enumerate(text.splitlines(), 1)
        if re.match(r"\s*\[\[\s*targets\s*\]\]", line)
    ]


def _key_line(text: str, start: int, key: str) -> int:
    """The line of ``key = ...`` in the entry whose header is line ``start``."""
    lines = text.splitlines()
    for i in range(start, len(lines)):  # index ``start`` is the line after the header
        if re.match(r"\s*\[", lines[i]):
            break
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
            return i + 1
    return start


def from_file(path: Path, shown: str, env: dict[str, str] | None = None) -> list[Target]:
    """The targets of a ``--targets`` file (``shown`` is how messages name it)."""
    environ = os.environ if env is None else env
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _error(shown, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(
            f"--targets {shown}: no such file", hint="give the path of a TOML file", code="SC720"
        ) from None
    except IsADirectoryError:
        raise UsageError(f"--targets {shown}: is a directory", code="SC720") from None
    except OSError as e:
        raise UsageError(f"--targets {shown}: cannot read: {e.strerror}", code="SC720") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise _error(f"{shown}:{line}", "not valid UTF-8") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        loc = f"{shown}:{m.group(1)}:{m.group(2)}" if m else shown
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) if m else msg
        raise _error(
            loc,
            f"not valid TOML: {msg}",
            hint='each entry is [[targets]] with name = "..." and url = "..."',
        ) from None
    for key in doc:
        if key != "targets":
            guess = did_you_mean(key, ["targets"])
            raise _error(
                shown,
                f"unknown key {key!r}",
                hint="did you mean 'targets'?" if guess else "the file holds [[targets]] only",
                code="SC721",
            )
    entries = doc.get("targets")
    if not isinstance(entries, list) or not entries:
        raise _error(
            shown,
            "no [[targets]] entries",
            hint='add [[targets]] with name = "..." and url = "..."',
            code="SC721",
        )
    starts = _entry_lines(text)
    out: list[Target] = []
    lines_of: dict[str, int] = {}
    for i, entry in enumerate(entries):
        start = starts[i] if i < len(starts) else 1
        loc = f"{shown}:{start}"
        if not isinstance(entry, dict):
            raise _error(loc, "a target must be a table", code="SC721")
        for key in entry:
            if key not in ENTRY_KEYS:
                guess = did_you_mean(key, ENTRY_KEYS)
                raise _error(
                    f"{shown}:{_key_line(text, start, key)}",
                    f"unknown key {key!r} in a target",
                    hint=f"did you mean {guess!r}?" if guess else "keys: name, url",
                    code="SC721",
                )
        name = entry.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise _error(
                f"{shown}:{_key_line(text, start, 'name')}",
                "missing name" if name is None else f"name {name!r} is not a valid target name",
                hint="a short name such as tenant_42 or eu-west (letters, digits, _ . - : @ /)",
                code="SC721",
            )
        url_line = _key_line(text, start, "url")
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            raise _error(
                f"{shown}:{url_line}",
                f"target {name!r} has no url",
                hint='url = "postgresql://user@host/db" or url = "env:VARIABLE"',
                code="SC721",
            )
        url = url.strip()
        if url.startswith(ENV_PREFIX):
            var = url[len(ENV_PREFIX) :].strip()
            value = environ.get(var, "").strip()
            if not var or not value:
                raise _error(
                    f"{shown}:{url_line}",
                    f"target {name!r} reads its URL from ${var}, which is not set"
                    if var
                    else f"target {name!r}: 'env:' names no variable",
                    hint=f"export {var or 'VARIABLE'}=postgresql://... before running",
                    code="SC723",
                )
            url = value
        if name in lines_of:
            raise _error(
                f"{shown}:{_key_line(text, start, 'name')}",
                f"duplicate target name {name!r} (first at line {lines_of[name]})",
                hint="every target needs its own name",
                code="SC722",
            )
        lines_of[name] = _key_line(text, start, "name")
        try:
            out.append(_target(name, url))
        except ConfigError as e:
            raise _error(
                f"{shown}:{url_line}", f"target {name!r}: {e.message}", hint=e.hint, code="SC724"
            ) from None
    _no_duplicates(out, lambda t: f"{shown}: targets {t.name!r}")
    return out


def _no_duplicates(targets: list[Target], label: Any) -> None:
    """The same database twice would apply twice at once: a configuration mistake."""
    seen: dict[str, Target] = {}
    names: set[str] = set()
    for t in targets:
        if t.name in names:
            raise ConfigError(
                f"{label(t)}: duplicate target name {t.name!r}",
                hint="every target needs its own name",
                code="SC722",
            )
        names.add(t.name)
        key = t.url
        if key in seen:
            raise ConfigError(
                f"{label(t)}: the same database as target {seen[key].name!r} ({t.where})",
                hint="list each database once",
                code="SC722",
            )
        seen[key] = t


# ----------------------------------------------------------------------------- selection


def resolve(urls: list[str] | None, targets_file: Path | None) -> list[Target] | None:
    """The fleet, or None for the single-database path (no ``--targets``, at most one
    ``--database-url``)."""
    urls = list(urls or [])
    if targets_file is not None and urls:
        raise UsageError(
            "--targets and --database-url cannot be combined",
            hint="put every database into the targets file",
            code="SC725",
        )
    if targets_file is not None:
        return from_file(targets_file, str(targets_file))
    if len(urls) > 1:
        return from_urls(urls)
    return None


def pick_canary(targets: list[Target], name: str | None) -> Target | None:
    if name is None:
        return None
    for t in targets:
        if t.name == name:
            return t
    guess = did_you_mean(name, [t.name for t in targets])
    raise UsageError(
        f"--canary {name!r}: no such target",
        hint=f"did you mean {guess!r}?"
        if guess
        else "targets: " + ", ".join(t.name for t in targets[:10]),
        code="SC726",
    )
