"""`generate` and `preview`: files from the registry, and DDL from the current files.

``generate`` writes, for every approved migration, ``migrations/<id>/migration.sql`` and
``down.sql``, byte-identical on every run.  Each file is self-contained (SPEC §8): fed as
it is to ``psql -v ON_ERROR_STOP=1 -f`` it runs in one transaction, all or nothing, with
its ``lock_timeout`` in effect.  Between ``BEGIN;`` and ``COMMIT;`` stand exactly the bytes
of the registry's SQL, the bytes its checksum covers and `apply` runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import registry
from .commands import Result
from .config import Config, load_config
from .diagnostics import Diagnostic, has_errors
from .model import Entity, External, Package, Project
from .registry import Registry
from .serialize import entity_from_data


def migration_files(m: dict[str, Any]) -> dict[str, str]:
    """The exact text of ``migration.sql`` and ``down.sql`` for an approved migration."""
    head = (
        f"-- schemactl migration {m['id']}\n"
        f"-- package: {m['package']} (schema {m.get('namespace', m['package'])})\n"
        f"-- sql checksum: {m['sql_checksum']}\n"
        f"-- approved by {m.get('approved_by')} at {m.get('approved_at')}\n"
    )
    return {
        "migration.sql": head + "\nBEGIN;\n" + m["sql"]["up"] + "COMMIT;\n",
        "down.sql": head
        + "-- reverts the migration above\n\nBEGIN;\n"
        + m["sql"]["down"]
        + "COMMIT;\n",
    }


def baseline_project(reg: Registry, externals: tuple[External, ...] = ()) -> Project:
    """The approved state as a model: every baseline entity, grouped by its package."""
    pkgs = []
    for pid in reg.packages():
        ents = [entity_from_data(v["definition"]) for _, v in sorted(reg.baseline(pid).items())]
        if ents:
            names = tuple(e.name for e in ents)
            pkgs.append(Package(pid, ents[0].namespace, "", "", tuple(ents), names))
    return Project("", tuple(pkgs), externals)


def baseline_entities(reg: Registry) -> list[Entity]:
    return [e for p in baseline_project(reg).packages for e in p.entities]


def generate(
    root: Path,
    *,
    out: Path | None = None,
    prisma: Path | None = None,
    check: bool = False,
    config: Config | None = None,
    drizzle: Path | None = None,
) -> Result:
    """Write (or with ``check`` compare) the files of every approved migration, and the
    Prisma schema and drizzle-orm modules of the approved model when asked."""
    config = config or load_config(root)
    reg = registry.read(config)
    out_dir = out if out is not None else config.migrations_path
    if not out_dir.is_absolute():
        out_dir = config.root / out_dir
    result = Result()
    approved = reg.approved()
    from .approval import problems as signature_problems  # SPEC §14: unsigned -> nothing

    refused = signature_problems(config, approved, approved_only=True)
    if refused:
        result.diagnostics += refused
        result.messages.append("nothing written: approvals lack the signatures they need")
        return result
    wanted: dict[Path, str] = {}
    for m in approved:
        if registry.tampered(m):
            result.diagnostics.append(
                Diagnostic(
                    "error",
                    "SC602",
                    f"migration {m['id']} was edited by hand since it was approved; "
                    "not writing its files",
                    reg.file_of(m["package"]),
                    package=m["package"],
                    hint=f"restore {reg.file_of(m['package'])} from git",
                )
            )
            continue
        for name, text in migration_files(m).items():
            wanted[out_dir / m["id"] / name] = text
    if prisma is not None:
        wanted.update(_prisma_files(config, reg, prisma))
    if drizzle is not None:
        from .drizzle import output_files

        ddir = drizzle if drizzle.is_absolute() else config.root / drizzle
        wanted.update(output_files(ddir, baseline_project(reg, config.externals)))
    written = 0
    for path, text in wanted.items():
        rel = _rel(config, path)
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        except (OSError, UnicodeDecodeError):
            current = ""
        if current == text:
            continue
        if check:
            result.diagnostics.append(
                Diagnostic(
                    "error",
                    "SC606",
                    f"{rel} is {'missing' if current is None else 'out of date'}",
                    rel,
                    hint="run `schemactl generate` and commit the result",
                )
            )
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written += 1
        result.messages.append(f"wrote {rel}")
    if out_dir.is_dir():
        known = {m["id"] for m in approved}
        for d in sorted(out_dir.iterdir()):
            if d.is_dir() and d.name not in known:
                result.diagnostics.append(
                    Diagnostic(
                        "warning",
                        "SC606",
                        f"{_rel(config, d)} is not an approved migration of the registry",
                        _rel(config, d),
                        hint="remove it, or restore the registry that approved it",
                    )
                )
    if drizzle is not None:  # modules of packages no longer approved
        from .drizzle import stale_diagnostic, stale_modules

        for path in stale_modules(ddir, wanted):
            result.diagnostics.append(stale_diagnostic(_rel(config, path), check=check))
            if not check:
                path.unlink()
                written += 1
    if (check or not written) and not has_errors(result.diagnostics):
        result.messages.append(f"{len(wanted)} files up to date")
    return result


def _prisma_files(config: Config, reg: Registry, prisma: Path) -> dict[Path, str]:
    """``--prisma FILE``: one fragment; ``--prisma DIR`` (an existing folder, or a path
    ending in ``/``): Prisma's multi-file schema, a base file plus one file per package."""
    from .acl.hooks import prisma_note  # SPEC §13: Prisma cannot express policies
    from .prisma import render_prisma, render_prisma_files

    path = prisma if prisma.is_absolute() else config.root / prisma
    project = baseline_project(reg, config.externals)
    entries = [b for p in reg.packages() for b in reg.baseline(p).values()]
    note = prisma_note(any(b.get("security") for b in entries))
    if path.is_dir() or str(prisma).endswith(("/", os.sep)):
        files = render_prisma_files(project)
        files["schema.prisma"] = note + files["schema.prisma"]
        return {path / name: text for name, text in files.items()}
    return {path: note + render_prisma(project)}


def _rel(config: Config, p: Path) -> str:
    try:
        return p.relative_to(config.root).as_posix()
    except ValueError:
        return str(p)


def preview(root: Path, package: str, fmt: str = "sql", config: Config | None = None) -> Result:
    """The full DDL (or Prisma models) of one package's current files; touches nothing."""
    from .commands import select_packages
    from .project import load_project

    config = config or load_config(root)
    pr = load_project(config.root, config=config)
    select_packages(pr, [package])
    if has_errors(pr.diagnostics):
        return Result(diagnostics=pr.diagnostics)
    pkg = pr.project.package(package)
    assert pkg is not None
    if fmt == "prisma":
        from .acl.hooks import prisma_note
        from .prisma import render_prisma

        text = prisma_note(config.acl.enforce) + render_prisma(pr.project, only={package})
    elif fmt == "drizzle":
        from .drizzle import render_drizzle

        [text] = render_drizzle(pr.project, only={package}).values()
    else:
        from .sql import render_create

        text = render_create([(pkg.namespace, pkg.owned_entities())])
        if config.citus is not None:  # with the Citus distribution statements
            from .citus import preview_sql

            text = preview_sql(pkg, config.citus)
        from .acl.hooks import preview_sql as acl_sql  # SPEC §13: grants and policies

        text += acl_sql(config, pr.project, package, pkg.namespace)
    return Result(
        diagnostics=[d for d in pr.diagnostics if d.severity != "note"], data={"text": text}
    )
