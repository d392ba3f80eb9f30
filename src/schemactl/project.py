"""The front half of the pipeline as one call: config -> discover -> load -> JSON Schema ->
semantic checks -> relation resolution -> conflicts -> the frozen ``Project``.

``load_project`` never raises for bad input files: every problem is a diagnostic.  It
raises ``ConfigError`` only for an unusable configuration (exit 2).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config, load_config
from .conflicts import choose_owners, name_collisions, package_clashes
from .diagnostics import Diagnostic, did_you_mean, has_errors
from .discover import Found, discover
from .load import load_file
from .model import Entity, External, ForeignKey, Package, Project
from .naming import PG_TYPES, derived
from .schema_check import check_document
from .validate import Draft, draft_entities


@dataclass
class ProjectResult:
    config: Config
    project: Project
    diagnostics: list[Diagnostic]
    found: list[Found] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def load_project(
    root: Path, *, config: Config | None = None, only: list[str] | None = None
) -> ProjectResult:
    config = config or load_config(root)
    found, diags = discover(config)
    found, clash = package_clashes(found)
    diags += clash
    drafts_by_pkg: dict[str, list[Draft]] = {}
    for f, (drafts, file_diags) in zip(found, read_all(found, config), strict=True):
        drafts_by_pkg[f.id] = drafts
        diags += file_diags
    all_drafts = [d for ds in drafts_by_pkg.values() for d in ds]
    owners, dup = choose_owners(all_drafts, config.owners)
    diags += dup
    _check_owner_config(config, owners, diags)
    fks = _resolve(all_drafts, owners, config, diags)
    by_ns: dict[str, list[Draft]] = defaultdict(list)
    for d in owners.values():
        d.extra["fk_names"] = [fk.name for fk in fks.get(id(d), ())]
        by_ns[d.namespace].append(d)
    diags += name_collisions(by_ns)
    packages = []
    for f in found:
        ents = tuple(_freeze(d, fks.get(id(d), ())) for d in drafts_by_pkg[f.id])
        owned = tuple(
            e.name
            for e in ents
            if owners.get(e.name) is not None and owners[e.name].package == f.id
        )
        packages.append(Package(f.id, f.namespace, f.path, f.file, ents, owned, f.metadata_file))
    if not found and not any(d.severity == "error" for d in diags):
        diags.append(
            Diagnostic(
                "warning",
                "SC506",
                f"no packages found (globs: {', '.join(config.packages)})",
                config.source,
                hint="packages need seed/schema/entities.yaml; set `packages` in "
                "schemactl.toml to where they live",
            )
        )
    project = Project(str(config.root), tuple(packages), config.externals)
    diags.sort(key=Diagnostic.sort_key)
    return ProjectResult(config, project, diags, found)


def read_all(found: list[Found], config: Config) -> list[tuple[list[Draft], list[Diagnostic]]]:
    """Load and validate every entities file: from the cache where the file is unchanged,
    else in worker processes when there are many (results keep ``found`` order)."""
    from . import cache
    from .parallel import fork_map

    results: list[tuple[list[Draft], list[Diagnostic]] | None] = [None] * len(found)
    misses: list[tuple[int, str | None, bytes | None]] = []
    naming = (config.table_style, config.column_style)
    for i, f in enumerate(found):
        if not cache.enabled:
            misses.append((i, None, None))
            continue
        try:
            raw = Path(f.abs_file).read_bytes()
        except OSError:
            misses.append((i, None, None))
            continue
        k = cache.key(f, raw, naming)
        hit = cache.get(k)
        if hit is None:
            misses.append((i, k, raw))
        else:
            results[i] = hit
    todo = [(found[i], ckey) for i, ckey, _ in misses]

    def work(indexes: list[int], in_worker: bool) -> list[Any]:
        # a worker writes its cache entries and hands results back as plain data
        return _read_chunk([todo[i] for i in indexes], config, in_worker)

    computed = fork_map(len(todo), work, finish=cache.decode)
    for (i, _, _), res in zip(misses, computed, strict=True):
        results[i] = res
    return [r if r is not None else ([], []) for r in results]


def _read_chunk(items: list[tuple[Found, str | None]], config: Config, encoded: bool) -> list[Any]:
    """Read each file; store it in the cache under its key (when it has one); return the
    results as objects, or as ``cache.encode`` data for a worker to hand back."""
    from . import cache

    out: list[Any] = []
    for f, ckey in items:
        diags: list[Diagnostic] = []
        drafts = read_package(f, config, diags)
        doc = cache.encode(drafts, diags) if encoded or ckey is not None else None
        if ckey is not None and doc is not None:
            cache.put(ckey, doc)
        out.append(doc if encoded else (drafts, diags))
    return out


def read_package(f: Found, config: Config, diags: list[Diagnostic]) -> list[Draft]:
    loaded = load_file(f.abs_file, f.file)
    if loaded.data is None:
        diags.extend(
            Diagnostic(
                d.severity, d.code, d.message, d.file, d.line, d.column, f.id, d.entity, d.hint
            )
            for d in loaded.diagnostics
        )
        return []
    schema_diags = check_document(loaded.data, f.file)
    if schema_diags:
        diags.extend(
            Diagnostic(
                d.severity, d.code, d.message, d.file, d.line, d.column, f.id, d.entity, d.hint
            )
            for d in schema_diags
        )
        return []
    drafts = draft_entities(f, loaded.data, config, diags)
    if f.listed_entities is not None:
        listed = set(f.listed_entities)
        actual = [d.name for d in drafts]
        missing = sorted(listed - set(actual))
        extra = sorted(set(actual) - listed)
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"listed but not defined: {', '.join(missing)}")
            if extra:
                parts.append(f"defined but not listed: {', '.join(extra)}")
            diags.append(
                Diagnostic(
                    "error",
                    "SC313",
                    f"{f.metadata_file} schema.entities differs from {f.file}: " + "; ".join(parts),
                    f.metadata_file,
                    package=f.id,
                    hint="make metadata.json list exactly the entities of the file",
                )
            )
    return drafts


def _check_owner_config(config: Config, owners: dict[str, Draft], diags: list[Diagnostic]) -> None:
    for name, pkg in sorted(config.owners.items()):
        if name in owners and owners[name].package != pkg:
            diags.append(
                Diagnostic(
                    "error",
                    "SC502",
                    f"[owners] {name} = {pkg!r}, but package {pkg!r} does not define {name}",
                    config.source,
                    hint=f"defined by: {owners[name].package}",
                )
            )


def _pg_type(typ: str, precision: int | None = None, scale: int | None = None) -> str:
    base = PG_TYPES[typ]
    return f"{base}({precision},{scale or 0})" if typ == "decimal" and precision else base


def _resolve(
    drafts: list[Draft], owners: dict[str, Draft], config: Config, diags: list[Diagnostic]
) -> dict[int, list[ForeignKey]]:
    """Check every relation against its target; return the foreign keys per draft."""
    fks: dict[int, list[ForeignKey]] = {}
    known = sorted(set(owners) | {e.name for e in config.externals})
    for d in drafts:
        own: list[ForeignKey] = []
        by_name = {f.name: f for f in d.fields}
        for r in d.relations:

            def err(code: str, msg: str, hint: str | None = None, r=r, d=d) -> None:
                diags.append(
                    Diagnostic(
                        "error",
                        code,
                        msg,
                        r.loc.file,
                        r.loc.line,
                        r.loc.column,
                        d.package,
                        d.name,
                        hint,
                    )
                )

            target = owners.get(r.target)
            ext: External | None = config.external(r.target) if target is None else None
            if target is None and ext is None:
                guess = did_you_mean(r.target, known)
                err(
                    "SC307",
                    f"relation {r.name} of {d.name} targets unknown entity {r.target!r}",
                    (f"did you mean '{guess}'? " if guess else "")
                    + f"or declare it in schemactl.toml: [external.{r.target}] "
                    'table = "public.<table>"',
                )
                continue
            if r.kind in ("hasOne", "hasMany"):
                if (
                    target is not None
                    and r.field is not None
                    and not any(f.name == r.field for f in target.fields)
                ):
                    guess = did_you_mean(r.field, [f.name for f in target.fields])
                    err(
                        "SC308",
                        f"relation {r.name}: {r.target} has no field {r.field!r}",
                        f"did you mean '{guess}'?" if guess else None,
                    )
                continue
            if r.kind != "belongsTo" or r.field is None:
                continue
            local = by_name.get(r.field)
            if local is None:
                continue  # reported by validate
            if target is not None:
                tfields = {f.name: f for f in target.fields}
                if r.references is not None:
                    ref = tfields.get(r.references)
                    if ref is None:
                        guess = did_you_mean(r.references, list(tfields))
                        err(
                            "SC308",
                            f"relation {r.name}: {r.target} has no field {r.references!r}",
                            f"did you mean '{guess}'?" if guess else None,
                        )
                        continue
                    is_key = (
                        (target.primary_key == (ref.name,))
                        or ref.unique
                        or any(ix.unique and ix.fields == (ref.name,) for ix in target.indexes)
                    )
                    if not is_key:
                        err(
                            "SC314",
                            f"relation {r.name}: {r.target}.{ref.name} is neither the "
                            "primary key nor unique",
                            "mark it `unique: true`",
                        )
                        continue
                else:
                    if len(target.primary_key) != 1:
                        err(
                            "SC314",
                            f"relation {r.name}: {r.target} has a composite primary "
                            "key; name the referenced field with `references:`",
                        )
                        continue
                    ref = tfields[target.primary_key[0]]
                ref_type = _pg_type(ref.type, ref.precision, ref.scale)
                ref_ns, ref_table, ref_col, ref_pkg = (
                    target.namespace,
                    target.table,
                    ref.column,
                    target.package,
                )
                ref_desc = f"{r.target}.{ref.name}"
            else:
                assert ext is not None
                if r.references is not None and r.references != ext.key:
                    err(
                        "SC314",
                        f"relation {r.name}: external {r.target} is keyed by "
                        f"{ext.key!r}, not {r.references!r}",
                    )
                    continue
                ref_type = _pg_type(ext.type)
                ref_ns, ref_table, ref_col, ref_pkg = ext.namespace, ext.table, ext.key, None
                ref_desc = f"{r.target}.{ext.key} (external)"
            local_type = _pg_type(local.type, local.precision, local.scale)
            if local_type != ref_type:
                err(
                    "SC309",
                    f"relation {r.name}: field {local.name} is {local.type} ({local_type}) but "
                    f"{ref_desc} is {ref_type}",
                    "make the foreign key field the same type as the key it references",
                )
                continue
            for action, key in ((r.on_delete, "onDelete"), (r.on_update, "onUpdate")):
                if action == "SetNull" and not local.nullable:
                    err(
                        "SC310",
                        f"relation {r.name}: {key} SetNull but field {local.name} is NOT NULL",
                        f"make {local.name} `nullable: true`, or use Cascade/Restrict",
                    )
            own.append(
                ForeignKey(
                    name=derived("fk", d.table, (local.column,)),
                    relation=r.name,
                    columns=(local.column,),
                    ref_namespace=ref_ns,
                    ref_table=ref_table,
                    ref_columns=(ref_col,),
                    on_delete=r.on_delete,
                    on_update=r.on_update,
                    ref_entity=r.target,
                    ref_package=ref_pkg,
                )
            )
        fks[id(d)] = own
    return fks


def _freeze(d: Draft, fks: list[ForeignKey] | tuple[ForeignKey, ...]) -> Entity:
    return Entity(
        name=d.name,
        package=d.package,
        namespace=d.namespace,
        table=d.table,
        fields=d.fields,
        primary_key=d.primary_key,
        pk_name=d.pk_name,
        indexes=d.indexes,
        checks=d.checks,
        relations=d.relations,
        foreign_keys=tuple(fks),
        acl=d.acl,
        checksum=d.checksum,
        description=d.description,
        version=d.version,
        pinned_checksum=d.pinned,
        table_override=d.table_override,
        loc=d.loc,
    )
