"""``allowed_signers``: who may sign approvals, in OpenSSH's format (as git uses it).

Owns parsing the file (from the work tree, or from a git revision for
``check --signers-from``) and answering "may this key sign as this principal, in this
namespace, at this time?" the way ``ssh-keygen -Y verify`` answers it
(``sshsig.c: check_allowed_keys_line``):

    principal[,principal...] [option[,option...]] key-type base64-key [comment]

- principals are OpenSSH patterns (``*``, ``?``, ``!negation``), matched case-sensitively;
  the field may be double-quoted;
- options (case-insensitive names): ``namespaces="a,b*"`` (patterns), ``valid-after="T"``,
  ``valid-before="T"`` with T = ``YYYYMMDD[HHMM[SS]]``, UTC with a ``Z`` or ``UTC`` suffix,
  else the machine's local time (as OpenSSH); ``cert-authority`` is refused (SC654): list
  each signer's own key;
- blank lines and ``#`` comments are skipped; anything else that does not parse stops
  the command with the file and line (SC654, exit 2).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError
from .sshsig import KEY_TYPES, PublicKey, SignatureError, parse_public_key


class SignersFileError(ConfigError):
    """A malformed allowed_signers line (exit 2); carries the file and line."""

    def __init__(self, message: str, *, file: str, line: int | None, hint: str | None = None):
        super().__init__(message, hint=hint, code="SC654")
        self.file = file
        self.line = line


@dataclass(frozen=True)
class AllowedSigner:
    line: int
    principals: str  # the pattern list as written
    key: PublicKey
    namespaces: str | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None


@dataclass(frozen=True)
class AllowedSigners:
    """The parsed file. ``source`` names it in messages (a path, or ``REF:path``)."""

    source: str
    entries: tuple[AllowedSigner, ...]
    missing: bool = False

    def problem(self, principal: str, key: PublicKey, namespace: str, when: datetime) -> str | None:
        """None when ``key`` may sign as ``principal`` for ``namespace`` at ``when``;
        else why not, naming the line that came closest."""
        if self.missing:
            return f"there is no {self.source}, so nobody is an allowed signer"
        mine = [e for e in self.entries if e.key.blob == key.blob]
        lines = [e for e in mine if match_list(principal, e.principals) == 1]
        if not lines:
            if mine:
                who = ", ".join(e.principals for e in mine)
                return (
                    f"key {key.fingerprint} is listed in {self.source} for {who}, "
                    f"not for {principal}"
                )
            return f"key {key.fingerprint} of {principal} is not listed in {self.source}"
        reasons = []
        for e in lines:
            at = f"{self.source}:{e.line}"
            if e.namespaces is not None and match_list(namespace, e.namespaces) != 1:
                reasons.append(f"{at} does not allow namespace {namespace!r}")
            elif e.valid_after is not None and when < e.valid_after:
                reasons.append(
                    f"key not yet valid: signed at {_iso(when)}, before valid-after "
                    f"{_iso(e.valid_after)} ({at})"
                )
            elif e.valid_before is not None and when > e.valid_before:
                reasons.append(
                    f"key expired: signed at {_iso(when)}, after valid-before "
                    f"{_iso(e.valid_before)} ({at})"
                )
            else:
                return None
        return "; ".join(reasons)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- patterns


@lru_cache(maxsize=256)
def _pattern(pat: str) -> re.Pattern[str]:
    out = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pat)
    return re.compile(out, re.S)


def match_pattern(s: str, pat: str) -> bool:
    return _pattern(pat).fullmatch(s) is not None


def match_list(s: str, patterns: str) -> int:
    """OpenSSH's ``match_pattern_list``: 1 on a match, -1 if a ``!pattern`` matches
    (which wins), else 0."""
    got = 0
    for pat in patterns.split(","):
        negated = pat.startswith("!")
        if negated:
            pat = pat[1:]
        if match_pattern(s, pat):
            if negated:
                return -1
            got = 1
    return got


# ----------------------------------------------------------------------------- parsing


def parse(text: str, source: str) -> AllowedSigners:
    entries = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip(" \t\r\n")
        if not line or line.startswith("#"):
            continue
        try:
            entries.append(_line(line, n))
        except ValueError as e:
            raise SignersFileError(
                f"{source}:{n}: {e}",
                file=source,
                line=n,
                hint="each line is: principals [options] key-type base64-key [comment] "
                "(see docs/approvals.md)",
            ) from None
    return AllowedSigners(source, tuple(entries))


def _token(s: str) -> tuple[str, str]:
    """The first field (double quotes group), and the rest without leading blanks."""
    if s.startswith('"'):
        end = s.find('"', 1)
        if end < 0:
            raise ValueError("missing end quote in the principals")
        return s[1:end], s[end + 1 :].lstrip(" \t")
    m = re.match(r"[^ \t]*", s)
    assert m is not None
    return m.group(0), s[m.end() :].lstrip(" \t")


# a key type, known or not (ssh-dss, a certificate): parsed as a key so the error says so
_KEYISH = re.compile(r"(ssh|ecdsa|sk|rsa)-[a-z0-9-]+(@openssh\.com)?\Z")


def _line(line: str, n: int) -> AllowedSigner:
    principals, rest = _token(line)
    if not principals:
        raise ValueError("no principals")
    if not rest:
        raise ValueError("missing key")
    opts: dict[str, str] = {}
    first = rest.split(None, 1)[0]
    if first not in KEY_TYPES and not _KEYISH.match(first):
        rest = _options(rest, opts)
        if not rest:
            raise ValueError("missing key")
    try:
        key = parse_public_key(rest)
    except SignatureError as e:
        raise ValueError(f"invalid key: {e}") from None
    after = _time(opts["valid-after"], "valid-after") if "valid-after" in opts else None
    before = _time(opts["valid-before"], "valid-before") if "valid-before" in opts else None
    if after is not None and before is not None and before <= after:
        raise ValueError('"valid-before" time is before "valid-after"')
    return AllowedSigner(n, principals, key, opts.get("namespaces"), after, before)


def _options(s: str, opts: dict[str, str]) -> str:
    """Parse ``opt[,opt...]`` at the start of ``s`` into ``opts``; the rest of ``s``."""
    i = 0
    while True:
        low = s[i:].lower()
        if low.startswith("cert-authority"):
            raise ValueError(
                "cert-authority is not supported: schemactl verifies plain keys, not "
                "certificates; list each signer's own public key"
            )
        for name in ("namespaces", "valid-after", "valid-before"):
            if low.startswith(name + "="):
                if name in opts:
                    raise ValueError(f'multiple "{name}" clauses')
                i += len(name) + 1
                if s[i : i + 1] != '"':
                    raise ValueError(f"{name}: missing start quote")
                value, i = _dequote(s, i + 1, name)
                opts[name] = value
                break
        else:
            word = re.match(r"[^ \t,=]*", s[i:])
            raise ValueError(
                f"unknown option {word.group(0) if word else s[i:]!r} "
                "(known: namespaces, valid-after, valid-before)"
            )
        if i >= len(s) or s[i] in " \t":
            return s[i:].lstrip(" \t")
        if s[i] != ",":
            raise ValueError("options must be separated by commas")
        i += 1
        if i >= len(s) or s[i] in " \t":
            raise ValueError("unexpected end of options")


def _dequote(s: str, i: int, name: str) -> tuple[str, int]:
    out = []
    while i < len(s) and s[i] != '"':
        if s[i] == "\\" and s[i + 1 : i + 2] == '"':
            i += 1
        out.append(s[i])
        i += 1
    if i >= len(s):
        raise ValueError(f"{name}: missing end quote")
    return "".join(out), i + 1


def _time(value: str, name: str) -> datetime:
    """OpenSSH's ``parse_absolute_time``: YYYYMMDD[HHMM[SS]], Z/UTC suffix for UTC."""
    v, utc = value, False
    if len(v) > 1 and v[-1:].upper() == "Z":
        v, utc = v[:-1], True
    elif len(v) > 3 and v[-3:].upper() == "UTC":
        v, utc = v[:-3], True
    fmt = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}.get(len(v))
    if fmt is None or not v.isdigit():
        raise ValueError(f'invalid "{name}" time {value!r} (YYYYMMDD[HHMM[SS]][Z])')
    try:
        t = datetime.strptime(v, fmt)
    except ValueError:
        raise ValueError(f'invalid "{name}" time {value!r}') from None
    return t.replace(tzinfo=UTC) if utc else t.astimezone()


# ----------------------------------------------------------------------------- loading


def load(path: Path, source: str) -> AllowedSigners:
    """The file at ``path`` (``source`` is how messages name it); a missing file is an
    empty list that says so."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return AllowedSigners(source, (), missing=True)
    except OSError as e:
        raise SignersFileError(
            f"{source}: cannot read: {e.strerror}", file=source, line=None
        ) from None
    return parse(_decode(raw, source), source)


def from_git(root: Path, ref: str, rel: str) -> AllowedSigners:
    """``allowed_signers`` as it is at git revision ``ref`` (``git show REF:./path``)."""
    from .errors import UsageError

    source = f"{ref}:{rel}"
    if ref.startswith("-"):
        raise UsageError(f"--signers-from {ref!r} is not a git revision", code="SC657")
    try:
        out = subprocess.run(
            ["git", "show", f"{ref}:./{rel}"],
            cwd=root,
            capture_output=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise UsageError(f"--signers-from {ref}: cannot run git: {e}", code="SC657") from None
    if out.returncode != 0:
        err = out.stderr.decode("utf-8", "replace").strip().splitlines()
        msg = err[-1] if err else f"git exited {out.returncode}"
        if "does not exist in" in msg or "exists on disk, but not in" in msg:
            return AllowedSigners(source, (), missing=True)
        raise UsageError(
            f"--signers-from {ref}: cannot read {rel} at that revision: {msg}",
            hint="name a branch, tag or commit of this repository (fetch it first in CI)",
            code="SC657",
        )
    return parse(_decode(out.stdout, source), source)


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SignersFileError(
            f"{source}: not valid UTF-8 ({e.reason})", file=source, line=None
        ) from None
