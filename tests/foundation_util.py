"""Helpers for the foundation tests: throwaway projects, the CLI in-process, tree hashes.

root = make_project(tmp_path, {"shop": SHOP_YAML}, config='[external.User]\\n...')
before = tree_hash(root)
res = run_cli(root, "--json", "validate")
doc = json_doc(res)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from schemactl.cli import app
from schemactl.config import Config
from schemactl.diagnostics import Diagnostic
from schemactl.discover import Found
from schemactl.load import load_text
from schemactl.schema_check import check_document
from schemactl.validate import Draft, draft_entities

ENTITIES = "seed/schema/entities.yaml"


def write_package(
    root: Path,
    name: str,
    entities: str | bytes | None,
    *,
    metadata: dict[str, Any] | str | None = None,
) -> Path:
    """packages/<name>/seed/schema/entities.yaml (and seed/metadata.json); returns the dir."""
    pkg = root / "packages" / name
    (pkg / "seed" / "schema").mkdir(parents=True, exist_ok=True)
    if entities is not None:
        target = pkg / ENTITIES
        if isinstance(entities, bytes):
            target.write_bytes(entities)
        else:
            target.write_text(entities, encoding="utf-8")
    if metadata is not None:
        text = metadata if isinstance(metadata, str) else json.dumps(metadata, indent=2)
        (pkg / "seed" / "metadata.json").write_text(text, encoding="utf-8")
    return pkg


def make_project(root: Path, packages: dict[str, str | bytes], config: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (root / "schemactl.toml").write_text(config, encoding="utf-8")
    for name, text in packages.items():
        write_package(root, name, text)
    return root


def run_cli(root: Path | None, *args: str) -> Result:
    """Invoke the typer app in-process (no colour).  Unexpected exceptions propagate."""
    argv = ["--no-color"]
    if root is not None:
        argv += ["--root", str(root)]
    argv += list(args)
    return CliRunner().invoke(app, argv, catch_exceptions=False)


def json_doc(res: Result) -> dict[str, Any]:
    """The single JSON document on stdout (json.loads fails on anything extra)."""
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def codes(doc: dict[str, Any], severity: str | None = None) -> list[str]:
    return [d["code"] for d in doc["diagnostics"] if severity in (None, d["severity"])]


def tree_hash(root: Path) -> dict[str, str]:
    """Every entry under root (files by content, symlinks by target, dirs by name)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


FOUND = Found(id="pkg", namespace="pkg", path="packages/pkg", file="entities.yaml", abs_file="")


def drafts_of(text: str, config: Config | None = None) -> tuple[list[Draft], list[Diagnostic]]:
    """Load + JSON Schema + per-file semantic checks of one document, in memory."""
    loaded = load_text(text, FOUND.file)
    diags = list(loaded.diagnostics)
    if loaded.data is None:
        return [], diags
    diags += check_document(loaded.data, FOUND.file)
    if diags:
        return [], diags
    drafts = draft_entities(FOUND, loaded.data, config or Config(root=Path(".")), diags)
    return drafts, diags


def checksum_of(text: str) -> str:
    drafts, diags = drafts_of(text)
    errors = [d for d in diags if d.severity == "error"]
    assert not errors, errors
    assert len(drafts) == 1
    return drafts[0].checksum
