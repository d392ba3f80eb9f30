"""Commands as plain functions: arguments in, a result object out, no printing.

The CLI (`cli.py`) is a thin layer that parses options, calls these and renders the
results; library users call them directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, load_config, namespace_problem
from .diagnostics import Diagnostic, did_you_mean, has_errors
from .errors import OperationalError, UsageError
from .model import Project
from .project import ProjectResult, load_project


@dataclass
class Result:
    """What a command found; ``exit_code`` follows SPEC §10."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    packages: list[dict[str, Any]] | None = None
    migrations: list[dict[str, Any]] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def code(self) -> int:
        if self.exit_code is not None:
            return self.exit_code
        return 1 if has_errors(self.diagnostics) else 0


def packages_json(project: Project, only: set[str] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "namespace": p.namespace,
            "path": p.path,
            "entities": [
                {"name": name, "table": table, "checksum": checksum}
                for name, table, checksum in p.entity_summary()
            ],
        }
        for p in project.packages
        if only is None or p.id in only
    ]


def select_packages(pr: ProjectResult, names: list[str] | None) -> set[str] | None:
    if not names:
        return None
    ids = [p.id for p in pr.project.packages]
    for n in names:
        if n not in ids:
            guess = did_you_mean(n, ids)
            raise UsageError(
                f"no package {n!r}",
                hint=f"did you mean '{guess}'?" if guess else f"packages: {', '.join(ids)}",
            )
    return set(names)


def validate(root: Path, packages: list[str] | None = None) -> Result:
    pr = load_project(root)
    if packages:  # file paths (as pre-commit passes them) name their packages
        from .pathargs import package_ids

        packages = package_ids(root, packages, ((p.id, p.path) for p in pr.project.packages))
    only = select_packages(pr, packages)
    diags = pr.diagnostics
    if only is not None:
        diags = [d for d in diags if d.package is None or d.package in only]
    from .editor import stale_copy  # SC880: the editor's schema copy is out of date

    diags = [*diags, *stale_copy(pr.config.root)]
    return Result(diagnostics=diags, packages=packages_json(pr.project, only))


def schema() -> str:
    from .schema_check import schema_text

    return schema_text()


def schema_out(root: Path, out: Path) -> Result:
    """``schema --out FILE``: write the schema to FILE (relative to the root, like
    ``generate --out``), e.g. the ``.schemactl/entities.schema.json`` that ``init``'s
    modeline points to."""
    from .editor import write_schema

    path = out if out.is_absolute() else root / out
    if path.is_dir():
        raise UsageError(
            f"{out} is a directory", hint=f"give a file name, e.g. {out / 'entities.schema.json'}"
        )
    try:
        changed = write_schema(path)
    except OSError as e:
        raise OperationalError(f"cannot write {out}: {e.strerror or e}") from None
    return Result(
        messages=[f"wrote {out}" if changed else f"{out} is up to date"],
        data={"path": str(out), "changed": changed},
    )


EXAMPLE = """\
# Entities of package {pkg}.  Reference: docs/format.md
# Validate with: schemactl validate {pkg}
entities:
  - name: {entity}
    version: "1.0"
    description: "An example entity; rename it and add your own fields"
    checksum: null
    fields:
      id:
        type: cuid
        primary: true
        generated: true
      name:
        type: string
        required: true
        maxLength: 200
      status:
        type: string
        required: true
        default: draft
        enum: [draft, active, archived]
      createdAt:
        type: datetime
        required: true
        default: now
    indexes:
      - fields: [status, createdAt]
    acl:
      create: [user]
      read: [user]
      update: [owner, admin]
      delete: [admin]
"""


def init(root: Path, package: str, config: Config | None = None) -> Result:
    config = config or load_config(root)
    problem = namespace_problem(package)
    if problem or not re.fullmatch(r"[a-z][a-z0-9_]*", package):
        raise UsageError(
            f"package name {package!r} is not a lower-case identifier",
            hint="use a-z, 0-9 and _ (it becomes the PostgreSQL schema name)",
        )
    glob = config.packages[0]
    parent = glob[: -len("/*")] if glob.endswith("/*") else "packages"
    pkg_dir = config.root / parent / package
    if pkg_dir.exists():
        raise UsageError(f"{pkg_dir.relative_to(config.root)} already exists")
    entity = "".join(p.capitalize() for p in package.split("_") if p) + "Item"
    pr = load_project(config.root, config=config)
    taken = {name for p in pr.project.packages for name, _, _ in p.entity_summary()}
    if entity in taken:
        entity = entity + "Example"
    schema_dir = pkg_dir / "seed" / "schema"
    schema_dir.mkdir(parents=True)
    from . import editor  # the editor's schema modeline and the schema copy it points to

    entities_file = schema_dir / "entities.yaml"
    entities_file.write_text(
        editor.modeline(entities_file, config.root) + EXAMPLE.format(pkg=package, entity=entity),
        encoding="utf-8",
    )
    wrote_schema = editor.write_schema(config.root / editor.SCHEMA_PATH)
    meta = {
        "packageId": package,
        "name": package.replace("_", " ").title(),
        "version": "0.1.0",
        "schema": {"entities": [entity], "path": "schema/entities.yaml"},
    }
    (pkg_dir / "seed" / "metadata.json").write_text(
        json.dumps(meta, indent=2) + "\n", encoding="utf-8"
    )
    rel = pkg_dir.relative_to(config.root).as_posix()
    messages = [
        f"created {rel}/seed/schema/entities.yaml with entity {entity}",
        f"created {rel}/seed/metadata.json",
    ]
    if wrote_schema:
        messages.append(f"wrote {editor.SCHEMA_PATH} (the schema your editor checks it with)")
    return Result(
        messages=messages,
        data={"package": package, "path": rel, "entity": entity, "schema": editor.SCHEMA_PATH},
    )
