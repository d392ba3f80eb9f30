"""The ``import`` command as a plain function: read the database, map it, write the files,
read them back with schemactl's own loader, and with ``--baseline`` record the result as
approved and applied.

Refusals write nothing at all: an existing package without ``--force`` (SC764), a
``schemactl.toml`` that appending to would break (SC769), ``--baseline`` on an import
whose losses drift would see (SC767), and a written file that schemactl's own loader
refuses (SC771, a bug: every file is put back as it was).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..commands import Result, packages_json
from ..config import Config, load_config, namespace_problem
from ..deploy import database_errors as _database_errors
from ..diagnostics import Diagnostic, did_you_mean, has_errors
from ..errors import UsageError
from . import mapping


def _package_dir(config: Config, schema: str) -> Path:
    glob = config.packages[0]
    parent = glob[: -len("/*")] if glob.endswith("/*") else "packages"
    return config.root / parent / schema


def _rel(config: Config, p: Path) -> str:
    try:
        return p.relative_to(config.root).as_posix()
    except ValueError:
        return str(p)


def run(
    root: Path,
    *,
    database_url: str | None,
    schemas: list[str] | None = None,
    baseline: bool = False,
    force: bool = False,
    by: str | None = None,
    config: Config | None = None,
) -> Result:
    from .. import db
    from ..project import load_project
    from . import catalog, write

    config = config or load_config(root)
    url = db.resolve_url(database_url)
    source = db.describe(url)
    with db.connect(url, purpose="import") as conn, _database_errors("reading the catalog"):
        available = catalog.list_schemas(conn)
        if schemas:
            wanted = list(dict.fromkeys(schemas))
            for s in wanted:
                if s in catalog.SYSTEM_SCHEMAS or s.startswith("pg_"):
                    raise UsageError(
                        f"schema {s!r} is a system schema (or schemactl's own); it is never "
                        "imported",
                        code="SC765",
                    )
                if s not in available:
                    guess = did_you_mean(s, available)
                    raise UsageError(
                        f"no schema {s!r} in {source}",
                        hint=f"did you mean '{guess}'?"
                        if guess
                        else f"schemas: {', '.join(available) or 'none'}",
                        code="SC765",
                    )
        else:
            wanted = list(available)
        result = Result()
        selected = []
        for s in wanted:
            problem = namespace_problem(s)
            if problem:
                result.diagnostics.append(
                    Diagnostic(
                        "warning",
                        mapping.TABLE,
                        f"schema {s!r} is not imported: as a namespace it {problem}",
                        package=s,
                        hint="rename the schema (ALTER SCHEMA ... RENAME TO ...)",
                    )
                )
            else:
                selected.append(s)
        cat = catalog.read(conn, selected, available)

    pr = load_project(config.root, config=config)
    problems = []
    for s in selected:
        pdir = _package_dir(config, s)
        rel = _rel(config, pdir)
        others = [p for p in pr.project.packages if s in (p.id, p.namespace) and p.path != rel]
        if others:
            problems.append(
                Diagnostic(
                    "error",
                    "SC764",
                    f"schema {s}: package {others[0].id} ({others[0].path}) already uses "
                    f"namespace or packageId {s}",
                    others[0].file,
                    package=s,
                    hint="import the other schemas with --schema, or move that package",
                )
            )
        elif pdir.exists() and not force:
            problems.append(
                Diagnostic(
                    "error",
                    "SC764",
                    f"package {rel} already exists; import writes nothing",
                    rel,
                    package=s,
                    hint="pass --force to overwrite its entities.yaml and metadata.json",
                )
            )
    if problems:
        return Result(diagnostics=result.diagnostics + problems)

    replaced = {_rel(config, _package_dir(config, s)) for s in selected}
    kept = [p for p in pr.project.packages if p.path not in replaced]
    known = {(e.namespace, e.table): e for p in kept for e in p.owned_entities()}
    taken = {name for p in kept for name, _, _ in p.entity_summary()}
    plan = mapping.build(cat, selected, config, known=known, taken=taken)

    files = {
        s: _rel(config, _package_dir(config, s) / "seed" / "schema" / "entities.yaml")
        for s in selected
    }
    found = [
        Diagnostic(
            f.severity,  # type: ignore[arg-type]
            f.code,
            f.message,
            files.get(f.schema),
            package=f.schema,
            entity=f.entity,
            hint=f.hint,
        )
        for f in plan.findings
    ]
    result.diagnostics += sorted(found, key=Diagnostic.sort_key)  # by package, then code
    texts: dict[str, str] = {}
    for pkg in plan.packages:
        if not pkg.entities:
            result.diagnostics.append(
                Diagnostic(
                    "note",
                    "SC766",
                    f"schema {pkg.schema} has no table to import; no package written",
                    package=pkg.schema,
                )
            )
            continue
        texts[pkg.schema] = write.render_yaml(pkg, source)
    try:
        toml = write.externals_text(config, plan.externals)
    except ValueError as e:  # tomllib.TOMLDecodeError
        result.diagnostics.append(
            Diagnostic(
                "error",
                "SC769",
                f"cannot add [external] entries to the configuration: {e}",
                config.source or "schemactl.toml",
                hint="fix the configuration file, then import again",
            )
        )
        toml = None
    if baseline:
        lossy = [f for f in plan.findings if f.drift]
        if lossy:
            result.diagnostics.append(
                Diagnostic(
                    "error",
                    "SC767",
                    f"--baseline refused: {len(lossy)} object(s) above cannot be imported "
                    "exactly, so the database would never match the baseline (status would "
                    "report drift, later migrations would be planned against a model the "
                    "database does not have); nothing written",
                    hint="import without --baseline and plan migrations, or change those "
                    "objects in the database (or leave their schemas out with --schema)",
                )
            )
    if has_errors(result.diagnostics):
        result.messages.append("nothing written")
        return result

    written: list[str] = []
    staged = write.Staged()
    try:
        for pkg in plan.packages:
            if pkg.schema not in texts:
                continue
            pdir = _package_dir(config, pkg.schema)
            staged.write(pdir / "seed" / "schema" / "entities.yaml", texts[pkg.schema])
            staged.write(pdir / "seed" / "metadata.json", write.metadata(pkg))
            written.append(pkg.schema)
        if toml is not None:
            staged.write(*toml)
        # read back with schemactl's own loader: a file it refuses is a bug, and then
        # every file goes back to what it was
        config = load_config(config.root)
        pr = load_project(config.root, config=config)
    except BaseException:
        staged.undo()
        raise
    bad = [d for d in pr.diagnostics if d.severity == "error" and d.package in written]
    if bad:
        staged.undo()
        result.diagnostics += [
            Diagnostic(
                "error",
                "SC771",
                f"the entities file import would write does not validate: {d.code} {d.message}",
                d.file,
                d.line,
                d.column,
                package=d.package,
                entity=d.entity,
                hint="this is a bug in schemactl import; please report it (nothing written)",
            )
            for d in bad
        ]
        result.messages.append("nothing written")
        return result
    for pkg in plan.packages:
        if pkg.schema in written:
            result.messages.append(
                f"wrote {files[pkg.schema]} ({len(pkg.entities)} entities from schema {pkg.schema})"
            )
    if toml is not None:
        names = ", ".join(x.name for x in plan.externals if x.new)
        result.messages.append(f"added [external] {names} to {_rel(config, toml[0])}")
    result.packages = packages_json(pr.project, set(written))
    data: dict[str, Any] = {
        "database": source,
        "imported": written,
        "externals": [
            {"name": x.name, "table": f"{x.namespace}.{x.table}", "key": x.key, "type": x.type}
            for x in plan.externals
            if x.new
        ],
        "renames": [c.what for c in plan.conform],
    }
    if baseline and written and not has_errors(result.diagnostics):
        from . import baseline as baselining

        b = baselining.run(config, url, written, plan.conform, by=by)
        result.diagnostics += b.diagnostics
        result.messages += b.messages
        result.messages += [f"baseline: {w}" for w in b.conformed]
        for mid in b.approved:
            result.messages.append(f"baseline: {mid} approved")
        for mid in b.recorded:
            result.messages.append(f"baseline: {mid} recorded as applied")
        data["baseline"] = {"approved": b.approved, "recorded": b.recorded, "renamed": b.conformed}
    result.data = data
    return result
