"""The registry's files on disk (SPEC §7): where they are, their bytes, their shape.

``.schemactl/registry/<packageId>.json`` (config ``registry`` names the folder), one file per
package, format 2::

    {"baseline": {Entity: {"checksum", "definition", "migration"}},
     "format": 2, "migrations": [record, ... sorted by id], "package": "<packageId>"}

UTF-8 JSON with sorted keys, two-space indent and a final newline, so that git diffs
review well and two branches that change different packages touch different files.

Reading a file never repairs it: unreadable bytes, git conflict markers, a wrong shape, a
format this release does not know, or a file that claims another package all raise
:class:`~schemactl.errors.OperationalError` (exit 3) naming the file, and nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import OperationalError
from .records import STATUSES

FORMAT = 2
LEGACY_FORMAT = 1
SUFFIX = ".json"
_CONFLICT = re.compile(rb"^(<{7}|>{7}|={7})( |$)", re.M)


def legacy_file(directory: Path) -> Path:
    """Where a format-1 registry of this project lives: ``<folder>.json``."""
    return directory.with_name(directory.name + SUFFIX)


def package_file(directory: Path, package: str) -> Path:
    return directory / f"{package}{SUFFIX}"


def dumps(data: Mapping[str, Any]) -> bytes:
    """Sorted keys, two-space indent, UTF-8, final newline: the same bytes on every run."""
    import orjson

    try:
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    except TypeError:  # an integer beyond 64 bits (a hand edit): the stdlib writes it exactly
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
        return text.encode("utf-8") + b"\n"


def empty(package: str) -> dict[str, Any]:
    return {"format": FORMAT, "package": package, "baseline": {}, "migrations": []}


def parse(path: Path, raw: bytes, rel: str) -> dict[str, Any]:
    """The package file ``path`` (shown as ``rel``), checked; OperationalError otherwise."""
    package = path.name[: -len(SUFFIX)]
    try:
        data = _decode(raw, rel)
    except OperationalError:
        if _CONFLICT.search(raw):  # markers never parse: look for them only then
            raise _conflicted(rel, package) from None
        raise
    return _checked(data, package, rel)


def _conflicted(rel: str, package: str) -> OperationalError:
    return OperationalError(
        f"registry file {rel} (package {package}) holds git merge-conflict markers",
        hint=(
            f"two branches changed package {package}: take one side "
            f"(`git checkout --ours {rel}` or `--theirs`), then run `schemactl scan` "
            f"and have {package}'s new migration approved (docs/workflow.md)"
        ),
        code="SC609",
    )


def _checked(data: Any, package: str, rel: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _broken(rel, "not a JSON object")
    fmt = data.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise _broken(rel, "no format number")
    if fmt > FORMAT:
        raise OperationalError(
            f"registry file {rel} has format {fmt}; this schemactl reads format {FORMAT}",
            hint="upgrade schemactl: the registry was written by a newer release",
            code="SC610",
        )
    if fmt < FORMAT:
        raise OperationalError(
            f"registry file {rel} has the old format {fmt}",
            hint="run `schemactl upgrade`",
            code="SC610",
        )
    problem = shape_problem(data)
    if problem:
        raise _broken(rel, problem)
    if data["package"] != package:
        raise OperationalError(
            f"registry file {rel} claims package {data['package']!r}, "
            f"but its name says {package!r}",
            hint=f"a package's file is named after it: restore {rel} from git",
            code="SC611",
        )
    return data


def _decode(raw: bytes, rel: str) -> Any:
    import orjson

    from ..serialize import may_be_lossy

    try:
        try:
            if may_be_lossy(raw):  # orjson would read a big negative integer as a float
                return json.loads(raw)
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            raw.decode("utf-8")  # a UnicodeDecodeError explains it better, if that is it
            return json.loads(raw)  # integers beyond 64 bits; otherwise the same error
    except UnicodeDecodeError as e:
        raise _broken(rel, f"not UTF-8 ({e.reason})") from None
    except json.JSONDecodeError as e:
        raise _broken(rel, f"{e.msg} at line {e.lineno} column {e.colno}") from None


def _broken(rel: str, what: str) -> OperationalError:
    return OperationalError(
        f"registry file {rel} is unreadable: {what}",
        hint="restore it from git (a hand edit or a merge broke it); "
        "schemactl never overwrites an unreadable registry file",
        code="SC000",
    )


# ----------------------------------------------------------------------------- shape

_STR, _OPT_STR, _BOOL = (str,), (str, type(None)), (bool,)
_RECORD: dict[str, tuple[type, ...]] = {
    "id": _STR,
    "package": _STR,
    "status": _STR,
    "created_at": _STR,
    "changes": (list,),
    "ops": (list,),
    "destructive": _BOOL,
    "sql": (dict,),
    "sql_checksum": _STR,
    "base_state": _STR,
    "target_state": _STR,
}
_RECORD_OPTIONAL: dict[str, tuple[type, ...]] = {
    "namespace": _STR,
    "destructive_reasons": (list,),
    "approved_by": _OPT_STR,
    "approved_at": _OPT_STR,
    "rejected_by": _OPT_STR,
    "rejected_at": _OPT_STR,
    "reason": _OPT_STR,
    "record_hash": _STR,
    "superseded_at": _STR,
    "renamed_from": (list,),
    "signatures": (list,),
}


def shape_problem(data: dict[str, Any]) -> str | None:
    """What makes ``data`` unusable as a package file (None when usable).

    Everything the commands read is checked for presence and type, down to the entity
    definitions, so that a hand edit or a bad merge stops a command with exit 3 instead
    of a crash halfway.  Content (seals, chains) is `check`'s business."""
    problem = _typed(
        data, {"package": _STR, "baseline": (dict,), "migrations": (list,)}, {"format": (int,)}
    )
    if problem:
        return problem
    for name, entry in data["baseline"].items():
        problem = _entry_problem(entry)
        if problem:
            return f"baseline entry {name!r} {problem}"
    for i, m in enumerate(data["migrations"]):
        if not isinstance(m, dict):
            return f"migrations[{i}] is not an object"
        problem = _record_problem(m)
        if problem:
            return f"migrations[{i}] ({m.get('id', '?')!s}) {problem}"
        if m["package"] != data["package"]:
            return f"migrations[{i}] ({m['id']}) belongs to package {m['package']!r}"
    return None


def _typed(
    obj: Mapping[str, Any],
    required: dict[str, tuple[type, ...]],
    optional: dict[str, tuple[type, ...]] | None = None,
) -> str | None:
    for k, types in required.items():
        if k not in obj:
            return f"lacks {k!r}"
        if not isinstance(obj[k], types):
            return f"has a malformed {k!r}"
    for k, types in (optional or {}).items():
        if k in obj and not isinstance(obj[k], types):
            return f"has a malformed {k!r}"
    return None


def _record_problem(m: Mapping[str, Any]) -> str | None:
    problem = _typed(m, _RECORD, _RECORD_OPTIONAL)
    if problem:
        return problem
    if m["status"] not in STATUSES:
        return f"has an unknown status {m['status']!r}"
    if not all(isinstance(m["sql"].get(k), str) for k in ("up", "down")):
        return "has a malformed 'sql' (needs up and down text)"
    for c in m["changes"]:
        if not isinstance(c, dict) or _typed(
            c, {"entity": _STR, "action": _STR, "from": _OPT_STR, "to": _OPT_STR}
        ):
            return "has a malformed entry in 'changes'"
    if not all(isinstance(op, dict) and isinstance(op.get("op"), str) for op in m["ops"]):
        return "has a malformed entry in 'ops'"
    for key in ("destructive_reasons", "renamed_from"):
        if not all(isinstance(v, str) for v in m.get(key, [])):
            return f"has a malformed {key!r}"
    if not all(isinstance(s, dict) for s in m.get("signatures", [])):
        return "has a malformed 'signatures'"
    return None


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return "is not an object"
    problem = _typed(
        entry,
        {"checksum": _STR, "definition": (dict,), "migration": _STR},
        {"security": (dict,)},  # an enforced ACL's compiled grants and policies
    )
    if problem:
        return problem
    # what commands read of every definition; the rest is checked when an entity is built
    # from it (serialize.entity_from_data), which only the packages a command uses need
    problem = _typed(entry["definition"], {"name": _STR, "namespace": _STR, "table": _STR})
    return f"definition {problem}" if problem else None
