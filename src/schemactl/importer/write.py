"""Writing what ``import`` produced: entities.yaml, metadata.json and ``[external]`` entries.

YAML goes through PyYAML's safe dumper with every string value double-quoted and every
key quoted unless it is a plain identifier that no YAML version reads as anything but text;
so a comment with quotes, a column called ``on`` or a description over several lines can
never make the file invalid.  Each text is read back with the project's own loader, JSON
Schema and semantic checks before anything touches the disk (:func:`verify`).

Files are written to a temporary name and renamed into place.  ``schemactl.toml`` is never
rewritten: new ``[external.X]`` tables are appended to the file as it is (or to
``pyproject.toml`` as ``[tool.schemactl.external.X]`` when that is where the configuration
lives), and the result must parse with ``tomllib`` or the original stays.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from ..config import CONFIG_FILE, Config
from ..diagnostics import Diagnostic
from .mapping import ExternalSpec, PackageDoc

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_YAML_WORDS = frozenset({"y", "yes", "n", "no", "on", "off", "true", "false", "null", "~"})


class _Key(str):
    """A mapping key: plain when it is a safe identifier."""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')


def _key(dumper: yaml.SafeDumper, value: _Key) -> yaml.ScalarNode:
    plain = _PLAIN_KEY.match(value) and value.lower() not in _YAML_WORDS
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", str(value), style=None if plain else '"'
    )


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(isinstance(v, str | int | float | bool) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(_Key, _key)


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_Key(k): _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return value


def render_yaml(pkg: PackageDoc, source: str) -> str:
    """The entities.yaml text of one imported schema."""
    head = (
        f"# Imported by `schemactl import` from schema {pkg.schema} of {source}.\n"
        "# Review the warnings the import printed: they name what this file cannot hold.\n"
        "# Reference: docs/format.md, docs/import.md\n"
    )
    entities = []
    for e in pkg.entities:
        ent = dict(e)
        ent["fields"] = {name: spec for name, spec in e["fields"].items()}
        entities.append(ent)
    body = yaml.dump(
        _keys({"entities": entities}),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,
        allow_unicode=True,
        width=10_000,
        indent=2,
    )
    return head + body


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


def verify(text: str, rel: str, config: Config, package: str) -> list[Diagnostic]:
    """Read ``text`` back as schemactl reads an entities file: every problem it has."""
    from ..discover import Found
    from ..load import load_text
    from ..schema_check import check_document
    from ..validate import draft_entities

    loaded = load_text(text, rel)
    diags = list(loaded.diagnostics)
    if loaded.data is None:
        return diags
    diags += check_document(loaded.data, rel)
    if any(d.severity == "error" for d in diags):
        return diags
    found = Found(id=package, namespace=package, path=rel, file=rel, abs_file="")
    draft_entities(found, loaded.data, config, diags)
    return diags


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def externals_text(config: Config, externals: list[ExternalSpec]) -> tuple[Path, str] | None:
    """The configuration file and its new text with the new ``[external]`` entries
    appended, or None when there is nothing to add."""
    new = [x for x in externals if x.new]
    if not new:
        return None
    if config.source and config.source.endswith("pyproject.toml"):
        path, prefix = config.root / config.source, "tool.schemactl."
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
