"""Writing what ``import`` produced: entities.yaml, metadata.json and ``[external]`` entries.

YAML is emitted here, in block style, with every string value double-quoted (JSON's
escaping, plus ``\\u`` escapes for the few characters YAML would fold or refuse) and every
key quoted unless it is a plain identifier that no YAML version reads as anything but text;
so a comment with quotes, a column called ``on`` or a description over several lines can
never make the file invalid.  (PyYAML's representer took most of the 3-second budget for
1,000 tables; the output needs five shapes, no more.)  Every file is then read back by
:func:`schemactl.project.load_project` with the loader, JSON Schema and semantic checks;
:class:`Staged` puts every file back as it was when that finds an error.

Files are written to a temporary name and renamed into place.  ``schemactl.toml`` is never
rewritten: new ``[external.X]`` tables are appended to the file as it is (or to
``pyproject.toml`` as ``[tool.schemactl.external.X]`` when that is where the configuration
lives), and the result must parse with ``tomllib`` or the original stays.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..config import CONFIG_FILE, Config
from .mapping import ExternalSpec, PackageDoc

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_YAML_WORDS = frozenset({"y", "yes", "n", "no", "on", "off", "true", "false", "null", "~"})
# characters a YAML double-quoted scalar must not hold raw: JSON escapes the C0 controls;
# these are the rest that YAML would fold, drop or refuse
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


def quote(text: str) -> str:
    """A YAML double-quoted scalar that reads back as exactly ``text``."""
    body = json.dumps(text, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", body)


def _key(k: str) -> str:
    return k if _PLAIN_KEY.match(k) and k.lower() not in _YAML_WORDS else quote(k)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        text = repr(v)
        if "e" in text or "E" in text:  # YAML 1.1 reads 1e-07 as text: write it out
            text = format(Decimal(text), "f")
        return text if "." in text else text + ".0"
    if v is None:
        return "null"
    return quote(str(v))


def _flat(v: Any) -> bool:
    return not isinstance(v, dict | list) or (
        isinstance(v, list) and all(not isinstance(x, dict | list) for x in v)
    )


def _inline(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    return _scalar(v)


def _emit(value: Any, pad: str, out: list[str]) -> None:
    """Block style: mappings one key a line, sequences of mappings as ``- key: ...``,
    lists of scalars inline; every string double-quoted, keys plain when safe."""
    if isinstance(value, dict):
        for k, v in value.items():
            if _flat(v):
                out.append(f"{pad}{_key(k)}: {_inline(v)}")
            else:
                out.append(f"{pad}{_key(k)}:")
                _emit(v, pad + "  ", out)
        return
    for item in value:
        if isinstance(item, dict) and item:
            sub: list[str] = []
            _emit(item, pad + "  ", sub)
            out.append(pad + "- " + sub[0][len(pad) + 2 :])
            out.extend(sub[1:])
        else:
            out.append(f"{pad}- {_inline(item)}")


def render_yaml(pkg: PackageDoc, source: str) -> str:
    """The entities.yaml text of one imported schema."""
    head = (
        f"# Imported by `schemactl import` from schema {pkg.schema} of {source}.\n"
        "# Review the warnings the import printed: they name what this file cannot hold.\n"
        "# Reference: docs/format.md, docs/import.md\n"
    )
    out = ["entities:"]
    _emit(pkg.entities, "  ", out)
    return head + "\n".join(out) + "\n"


def metadata(pkg: PackageDoc) -> str:
    doc = {
        "packageId": pkg.schema,
        "name": pkg.schema,
        "version": "0.1.0",
        "description": f"Imported from PostgreSQL schema {pkg.schema} by schemactl import",
        "schema": {
            "namespace": pkg.schema,
            "path": "schema/entities.yaml",
            "entities": [e["name"] for e in pkg.entities],
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Staged:
    """Files written so far, and what they held before: :meth:`undo` restores them and
    removes the directories the writes created."""

    def __init__(self) -> None:
        self.before: dict[Path, bytes | None] = {}
        self.dirs: list[Path] = []

    def write(self, path: Path, text: str) -> None:
        if path not in self.before:
            self.before[path] = path.read_bytes() if path.exists() else None
        missing = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
        self.dirs.extend(missing)
        write_text(path, text)

    def undo(self) -> None:
        for path, old in self.before.items():
            if old is None:
                path.unlink(missing_ok=True)
            else:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_bytes(old)
                os.replace(tmp, path)
        for d in sorted(self.dirs, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()


def externals_text(config: Config, externals: list[ExternalSpec]) -> tuple[Path, str] | None:
    """The configuration file and its new text with the new ``[external]`` entries
    appended, or None when there is nothing to add."""
    new = [x for x in externals if x.new]
    if not new:
        return None
    if config.source and config.source.startswith("pyproject.toml"):
        path, prefix = config.root / "pyproject.toml", "tool.schemactl."
    else:
        path, prefix = config.root / CONFIG_FILE, ""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = [
        "",
        "# Added by `schemactl import`: tables that foreign keys of imported tables reference,",
        "# outside the imported schemas.",
    ]
    for x in new:
        lines += [
            f"[{prefix}external.{x.name}]",
            f"table = {json.dumps(x.namespace + '.' + x.table)}",
            f"key = {json.dumps(x.key)}",
            f"type = {json.dumps(x.type)}",
            "",
        ]
    text = (old if not old or old.endswith("\n") else old + "\n") + "\n".join(lines)
    tomllib.loads(text)  # raises on a file this would break; the caller reports it
    return path, text
