"""Helpers for the registry / workflow tests: tiny projects and the CLI as a user runs it.

``project(tmp_path, {"shop": product()})`` writes a project; ``cli(root, "scan")`` runs the
typer app in-process, ``cli_json(root, "list", "--all")`` returns the exit code and the one
JSON document on stdout, and ``run(root, "approve", "all")`` starts a real process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from schemactl.cli import app

SCHEMACTL = str(Path(sys.executable).with_name("schemactl"))
REGISTRY = ".schemactl/registry"  # one <packageId>.json per package
ENTITIES = "seed/schema/entities.yaml"

# SPEC §10: every item of `migrations` in --json output has exactly these keys.
MIGRATION_KEYS = {
    "id",
    "package",
    "status",
    "destructive",
    "changes",
    "approved_by",
    "approved_at",
}
CHANGE_KEYS = {"entity", "action", "from", "to"}
ID_RE = r"\d{{14}}_{pkg}(_\d+)?"


def entity(name: str, fields: dict[str, str], extra: str = "") -> str:
    """One entity in map shape; ``fields`` maps a field name to its flow-style spec."""
    lines = [f"  - name: {name}", "    fields:"]
    lines += [f"      {f}: {{ {spec} }}" for f, spec in fields.items()]
    return "\n".join(lines) + "\n" + extra


def entities(*items: str) -> str:
    return "entities:\n" + "".join(items)


def product(*, price: bool = True, sku: bool = False) -> str:
    fields = {"id": "type: cuid, primary: true", "name": "type: string, required: true"}
    if price:
        fields["price"] = "type: int"
    if sku:
        fields["sku"] = "type: string, maxLength: 40"
    return entities(entity("Product", fields))


def post(*, body: bool = False) -> str:
    fields = {"id": "type: uuid, primary: true, generated: true", "title": "type: string"}
    if body:
        fields["body"] = "type: text"
    return entities(entity("Post", fields))


def write_package(root: Path, pkg: str, text: str) -> Path:
    path = root / "packages" / pkg / ENTITIES
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def project(root: Path, packages: dict[str, str], config: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "schemactl.toml").write_text(config or 'packages = ["packages/*"]\n', "utf-8")
    for pkg, text in packages.items():
        write_package(root, pkg, text)
    return root


def cli(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """The typer app in-process, no colour.  Unexpected exceptions propagate."""
    argv = ["--no-color", "--root", str(root), *args]
    return CliRunner().invoke(app, argv, env=env, catch_exceptions=False)


def cli_json(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    """Exit code and the single JSON document on stdout (json.loads fails on anything else)."""
    res = cli(root, "--json", *args, env=env)
    return res.exit_code, json.loads(res.stdout)


def run(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A real ``schemactl`` process, as CI runs it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [SCHEMACTL, "--no-color", "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def codes(doc: dict[str, Any], severity: str | None = None) -> list[str]:
    return [d["code"] for d in doc["diagnostics"] if severity in (None, d["severity"])]


def registry_path(root: Path) -> Path:
    """The registry folder."""
    return root / REGISTRY


def package_file(root: Path, pkg: str) -> Path:
    return registry_path(root) / f"{pkg}.json"


def registry_files(root: Path) -> dict[str, bytes]:
    """Every package file's bytes, by file name."""
    d = registry_path(root)
    if not d.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(d.glob("*.json"))}


def registry_bytes(root: Path) -> bytes:
    """All package files, named and concatenated: equal bytes mean an untouched registry."""
    return b"".join(name.encode() + b"\0" + raw for name, raw in registry_files(root).items())


def registry_data(root: Path) -> dict[str, Any]:
    """The whole registry as one view: ``baseline`` (entity -> entry, with its
    ``package``) and ``migrations`` (every record, in id order)."""
    base: dict[str, Any] = {}
    ms: list[dict[str, Any]] = []
    for raw in registry_files(root).values():
        data = json.loads(raw.decode("utf-8"))
        for name, entry in data["baseline"].items():
            base[name] = {**entry, "package": data["package"]}
        ms += data["migrations"]
    ms.sort(key=lambda m: m["id"])
    return {"baseline": base, "migrations": ms}


def write_registry(root: Path, data: dict[str, Any]) -> None:
    """Write a view made by ``registry_data`` back as package files, formatted the way
    schemactl formats them (for hand-edit tests)."""
    from schemactl.registry.layout import FORMAT, dumps

    files: dict[str, dict[str, Any]] = {
        name[: -len(".json")]: {"format": FORMAT, "package": name[: -len(".json")],
                                "baseline": {}, "migrations": []}
        for name in registry_files(root)
    }  # fmt: skip
    for name, entry in data["baseline"].items():
        pkg = entry["package"]
        f = files.setdefault(
            pkg, {"format": FORMAT, "package": pkg, "baseline": {}, "migrations": []}
        )
        f["baseline"][name] = {k: v for k, v in entry.items() if k != "package"}
    for m in data["migrations"]:
        pkg = m["package"]
        f = files.setdefault(
            pkg, {"format": FORMAT, "package": pkg, "baseline": {}, "migrations": []}
        )
        f["migrations"].append(m)
    registry_path(root).mkdir(parents=True, exist_ok=True)
    for pkg, f in files.items():
        f["migrations"].sort(key=lambda m: m["id"])
        package_file(root, pkg).write_bytes(dumps(f))


def migrations(root: Path, status: str | None = None) -> list[dict[str, Any]]:
    ms = registry_data(root)["migrations"]
    return [m for m in ms if status is None or m["status"] == status]


def pending_id(root: Path, pkg: str) -> str:
    (m,) = [m for m in migrations(root, "pending") if m["package"] == pkg]
    mid: str = m["id"]
    return mid
