"""The front half of the pipeline as one call: config -> discover -> load -> JSON Schema ->
semantic checks -> relation resolution -> conflicts -> the frozen ``Project``.

``load_project`` never raises for bad input files: every problem is a diagnostic.  It
raises ``ConfigError`` only for an unusable configuration (exit 2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from .config import Config, load_config
from .conflicts import choose_owners, name_collisions, package_clashes
from .diagnostics import Diagnostic, did_you_mean, has_errors
from .discover import Found, discover
from .load import load_file, load_raw, read_capped
from .model import Entity, External, ForeignKey, LazyEntities, Package, Project
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
    """Discover, load and check every package.  With the cache on, the cross-package
    results of packages whose inputs did not change come from the project snapshot
    (``snapshot.py``), and their entities are built only if a command reads them."""
    from . import cache, snapshot

    config = config or load_config(root)
    found, diags = discover(config)
    found, clash = package_clashes(found)
    diags += clash
    keys, raws = _file_keys(found, config) if cache.enabled else ([None] * len(found), [])
    key_of = {f.id: k for f, k in zip(found, keys, strict=True)}
    raw_of = {f.id: r for f, r in zip(found, raws, strict=False)}
    old = snapshot.load(config) if cache.enabled else {}

    def fresh(pid: str) -> bool:
        st = old.get(pid)
        return st is not None and key_of[pid] is not None and st.key == key_of[pid]

    # the files that changed since the snapshot: their entities now, for their names
    drafts: dict[str, list[Draft]] = {}
    file_diags: dict[str, list[Diagnostic]] = {}
    _read_into([f for f in found if not fresh(f.id)], config, drafts, file_diags, raw_of)
    names: dict[str, tuple[str, ...]] = {}
    targets: dict[str, tuple[str, ...]] = {}
    for f in found:
        if f.id in drafts:
            names[f.id] = tuple(d.name for d in drafts[f.id])
            targets[f.id] = tuple(sorted({r.target for d in drafts[f.id] for r in d.relations}))
        else:
            names[f.id], targets[f.id] = old[f.id].names, old[f.id].targets
    definers: dict[str, list[str]] = defaultdict(list)
    for f in found:
        for n in dict.fromkeys(names[f.id]):
            definers[n].append(f.id)
    externals = {e.name for e in config.externals}
    known = sorted(set(definers) | externals)
    digest = snapshot.known_digest(known) if cache.enabled else ""
    sig = {  # without the cache there is nothing to compare it with, nor to store it in
        f.id: snapshot.signature(
            key_of[f.id] or "", names[f.id], targets[f.id], definers, key_of, digest, externals
        )
        for f in found
        if cache.enabled
    }
    redo = [f for f in found if not fresh(f.id) or old[f.id].sig != sig[f.id]]

    # entities needed to redo those: theirs, their relations' targets, and every
    # definition of a name defined more than once (owner choice, SC400/SC401)
    need = {f.id for f in redo}
    for f in redo:
        for t in targets[f.id]:
            need.update(definers.get(t, ()))
    for ps in definers.values():
        if len(ps) > 1:
            need.update(ps)
    more = [f for f in found if f.id in need and f.id not in drafts]
    _read_into(more, config, drafts, file_diags, raw_of)
    loaded = [d for f in found if f.id in drafts for d in drafts[f.id]]
    owners, dup = choose_owners(loaded, config.owners)
    diags += dup
    owner_pkg = {n: owners[n].package if n in owners else ps[0] for n, ps in definers.items()}
    _check_owner_config(config, owner_pkg, diags)

    states: dict[str, snapshot.PackageState] = {}
    fks_of: dict[str, tuple[tuple[ForeignKey, ...], ...]] = {}
    for f in redo:
        ds = drafts[f.id]
        own = list(file_diags[f.id])
        fks = _resolve(ds, owners, config, own, known)
        mine = [d for d in ds if owners.get(d.name) is d]
        for d in mine:
            d.extra["fk_names"] = [fk.name for fk in fks.get(id(d), ())]
        if mine:
            own += name_collisions({f.namespace: mine})
        per = tuple(tuple(fks.get(id(d), ())) for d in ds)
        fks_of[f.id] = per
        states[f.id] = snapshot.PackageState(
            key=key_of[f.id] or "",
            sig=sig.get(f.id, ""),
            names=names[f.id],
            targets=targets[f.id],
            summary=tuple((d.name, d.table, d.checksum) for d in ds),
            owned=tuple(d.name for d in ds if owner_pkg.get(d.name) == f.id),
            fks_data=snapshot.encode_fks(per) if cache.enabled else [],
            diagnostics=tuple(own),
        )
    packages = []
    for f in found:
        st = states.get(f.id) or old[f.id]
        diags += st.diagnostics
        if f.id in states:
            ents: Sequence[Entity] = tuple(
                _freeze(d, fk) for d, fk in zip(drafts[f.id], fks_of[f.id], strict=True)
            )
        else:
            ents = LazyEntities(partial(_rebuild, f, config, st))
        packages.append(
            Package(f.id, f.namespace, f.path, f.file, ents, st.owned, f.metadata_file, st.summary)
        )
    if cache.enabled and (states or set(old) != set(key_of)):
        snapshot.store(config, {f.id: states.get(f.id) or old[f.id] for f in found if key_of[f.id]})
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
    if config.citus is not None:  # issue 13: what Citus would reject
        from .citus import validate as citus_validate

        diags += citus_validate(project, config.citus)
    if config.acl.enforce and not has_errors(diags):  # SPEC §13: compile every ACL
        from .acl.hooks import check_project

        diags += check_project(config, project)
    diags.sort(key=_diagnostic_order)
    return ProjectResult(config, project, diags, found)


def _diagnostic_order(d: Diagnostic) -> tuple[Any, ...]:
    """The reading order, and a total one: the result never depends on how it was built."""
    return (*d.sort_key(), d.severity, d.package or "", d.entity or "", d.hint or "")


def _file_keys(found: list[Found], config: Config) -> tuple[list[str | None], list[bytes | None]]:
    """The validation cache key of each entities file (None: unreadable, never cached) and
    the bytes it was computed from: whatever is built for that key is built from them."""
    from . import cache

    naming = (config.table_style, config.column_style)
    keys: list[str | None] = []
    raws: list[bytes | None] = []
    for f in found:
        try:
            raw = read_capped(f.abs_file)
        except OSError:
            keys.append(None)
            raws.append(None)
            continue
        keys.append(cache.key(f, raw, naming))
        raws.append(raw)
    return keys, raws


def _read_into(
    fs: list[Found],
    config: Config,
    drafts: dict[str, list[Draft]],
    file_diags: dict[str, list[Diagnostic]],
    raw_of: dict[str, bytes | None],
) -> None:
    raws = [raw_of.get(f.id) for f in fs]
    for f, (ds, fd) in zip(fs, read_all(fs, config, raws), strict=True):
        drafts[f.id], file_diags[f.id] = ds, fd


def _rebuild(f: Found, config: Config, state: Any) -> tuple[Entity, ...]:
    """The entities of a package the snapshot holds: its drafts (from the validation
    cache, or parsed again) with the stored foreign keys.  The file must still be the
    one the command loaded: it may be read long after (``apply`` waits on a database)."""
    from . import cache
    from .errors import OperationalError

    changed = OperationalError(
        f"{f.file} changed while schemactl was running", hint="run the command again", code="SC000"
    )
    try:
        raw = read_capped(f.abs_file)
    except OSError:
        raise changed from None
    if cache.key(f, raw, (config.table_style, config.column_style)) != state.key:
        raise changed
    ((ds, _),) = read_all([f], config, [raw])
    fks = state.fks()
    if len(ds) != len(fks):  # the same bytes give the same entities: a damaged snapshot
        raise changed
    return tuple(_freeze(d, fk) for d, fk in zip(ds, fks, strict=True))


def read_all(
    found: list[Found], config: Config, raws: list[bytes | None] | None = None
) -> list[tuple[list[Draft], list[Diagnostic]]]:
    """Load and validate every entities file: from the cache where the file is unchanged,
    else in worker processes when there are many (results keep ``found`` order).  ``raws``:
    the files' bytes when the caller has read them already (a cache entry is always built
    from the bytes its key was computed from)."""
    from . import cache
    from .parallel import fork_map

    results: list[tuple[list[Draft], list[Diagnostic]] | None] = [None] * len(found)
    misses: list[tuple[int, str | None, bytes | None]] = []
    naming = (config.table_style, config.column_style)
    for i, f in enumerate(found):
        raw = raws[i] if raws is not None else None
        if not cache.enabled:
            misses.append((i, None, raw))
            continue
        if raw is None:
            try:
                raw = read_capped(f.abs_file)
            except OSError:
                misses.append((i, None, None))
                continue
        k = cache.key(f, raw, naming)
        hit = cache.get(k)
        if hit is None:
            misses.append((i, k, raw))
        else:
            results[i] = hit
    todo = [(found[i], ckey, raw) for i, ckey, raw in misses]

    def work(indexes: list[int], in_worker: bool) -> list[Any]:
        # a worker writes its cache entries and hands results back as plain data
        return _read_chunk([todo[i] for i in indexes], config, in_worker)

    computed = fork_map(len(todo), work, finish=cache.decode)
    for (i, _, _), res in zip(misses, computed, strict=True):
        results[i] = res
    return [r if r is not None else ([], []) for r in results]


def _read_chunk(
    items: list[tuple[Found, str | None, bytes | None]], config: Config, encoded: bool
) -> list[Any]:
    """Load each file (from its bytes when read already); store the result in the cache
    under its key (when it has one); return the results as objects, or as ``cache.encode``
    data for a worker to hand back."""
    from . import cache

    out: list[Any] = []
    for f, ckey, raw in items:
        diags: list[Diagnostic] = []
        drafts = read_package(f, config, diags, raw)
        doc = cache.encode(drafts, diags) if encoded or ckey is not None else None
        if ckey is not None and doc is not None:
            cache.put(ckey, doc)
        out.append(doc if encoded else (drafts, diags))
    return out


def read_package(
    f: Found, config: Config, diags: list[Diagnostic], raw: bytes | None = None
) -> list[Draft]:
    loaded = load_file(f.abs_file, f.file) if raw is None else load_raw(raw, f.file)
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


def _check_owner_config(config: Config, owners: dict[str, str], diags: list[Diagnostic]) -> None:
    for name, pkg in sorted(config.owners.items()):
        if name in owners and owners[name] != pkg:
            diags.append(
                Diagnostic(
                    "error",
                    "SC502",
                    f"[owners] {name} = {pkg!r}, but package {pkg!r} does not define {name}",
                    config.source,
                    hint=f"defined by: {owners[name]}",
                )
            )


def _pg_type(typ: str, precision: int | None = None, scale: int | None = None) -> str:
    base = PG_TYPES[typ]
    return f"{base}({precision},{scale or 0})" if typ == "decimal" and precision else base


def _resolve(
    drafts: list[Draft],
    owners: dict[str, Draft],
    config: Config,
    diags: list[Diagnostic],
    known: list[str],
) -> dict[int, list[ForeignKey]]:
    """Check every relation against its target; return the foreign keys per draft.
    ``owners`` holds at least every target of ``drafts``; ``known`` is every entity name,
    for the did-you-mean of an unknown target."""
    fks: dict[int, list[ForeignKey]] = {}
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
