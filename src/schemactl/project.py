"""The front half of the pipeline as one call: config -> discover -> load -> JSON Schema ->
semantic checks -> relation resolution -> conflicts -> the frozen ``Project``.

``load_project`` never raises for bad input files: every problem is a diagnostic.  It
raises ``ConfigError`` only for an unusable configuration (exit 2).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from . import verdicts
from .config import Config, load_config
from .conflicts import choose_owners, name_collisions, package_clashes
from .diagnostics import Diagnostic, did_you_mean, has_errors
from .discover import Found, discover
from .load import MAX_FILE_BYTES, load_file, load_raw, read_capped
from .model import Entity, External, ForeignKey, LazyEntities, Package, Project
from .naming import PG_TYPES, derived
from .schema_check import check_document
from .standins import Target, target_of
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
    root: Path,
    *,
    config: Config | None = None,
    only: list[str] | None = None,
    use_snapshot: bool = True,
) -> ProjectResult:
    """Discover, load and check every package.  With the cache on, the cross-package
    results of packages whose inputs did not change come from the project snapshot
    (``snapshot.py``), and their entities are built only if a command reads them.

    Memory: in a large project (more than ``LEAN_BYTES`` of entities files) a package's
    drafts are held only while it is checked (the cross-package checks see the other
    packages through ``standins.Target``), and every package's entities are built on
    first use, from the validation cache (with the cache off, the run's entries in
    memory, compressed: ``cache.memory``), so a load is bounded by its largest package.
    A smaller project keeps the drafts it reads, which is faster (nothing is decoded
    twice) and small enough."""
    from . import cache, snapshot

    config = config or load_config(root)
    found, diags = discover(config)
    found, clash = package_clashes(found)
    diags += clash
    old = snapshot.load(config) if cache.enabled and use_snapshot else {}
    keys, marks, total = _file_keys(found, config, old)
    held: dict[str, list[Draft]] | None = None if total > LEAN_BYTES else {}
    key_of = {f.id: k for f, k in zip(found, keys, strict=True)}

    def fresh(pid: str) -> bool:
        st = old.get(pid)
        return st is not None and key_of[pid] is not None and st.key == key_of[pid]

    # the files that changed since the snapshot: their entities now, for their names
    infos: dict[str, tuple[list[Target], tuple[str, ...]]] = {}  # and relation targets
    file_diags: dict[str, list[Diagnostic]] = {}
    _read_into([f for f in found if not fresh(f.id)], config, key_of, infos, file_diags, held)
    names: dict[str, tuple[str, ...]] = {}
    targets: dict[str, tuple[str, ...]] = {}
    for f in found:
        if f.id in infos:
            names[f.id] = tuple(t.name for t in infos[f.id][0])
            targets[f.id] = infos[f.id][1]
        else:
            names[f.id], targets[f.id] = old[f.id].names, old[f.id].targets
    definers: dict[str, list[str]] = defaultdict(list)
    for f in found:
        for n in dict.fromkeys(names[f.id]):
            definers[n].append(f.id)
    externals = {e.name for e in config.externals}
    known = sorted(set(definers) | externals)
    digest = snapshot.known_digest(known) if cache.enabled else ""
    sig: dict[str, str] = {}  # without the cache there is nothing to compare it with
    if cache.enabled:
        # a signature changes only with the package, with a name it defines or targets
        # being defined by a package that changed (came or went), or, for a package with
        # an unknown target, with the set of all names; any other keeps its old one
        moved = {f.id for f in found if not fresh(f.id)} | (old.keys() - key_of.keys())
        touched = {n for p in moved for n in (*names.get(p, ()), *_old_names(old, p))}
        known_set = set(known)
        for f in found:
            was = old.get(f.id)
            if (
                was is not None
                and f.id not in moved
                and touched.isdisjoint(names[f.id])
                and touched.isdisjoint(targets[f.id])
                and known_set.issuperset(targets[f.id])
            ):
                sig[f.id] = was.sig
                continue
            sig[f.id] = snapshot.signature(
                key_of[f.id] or "", names[f.id], targets[f.id], definers, key_of, digest, externals
            )
    redo = [f for f in found if not fresh(f.id) or old[f.id].sig != sig[f.id]]

    # entities needed to redo those: theirs, their relations' targets, and every
    # definition of a name defined more than once (owner choice, SC400/SC401)
    need = {f.id for f in redo}
    for f in redo:
        for t in targets[f.id]:
            need.update(definers.get(t, ()))
    twice = {n for n, ps in definers.items() if len(ps) > 1}
    for n in twice:
        need.update(definers[n])
    twice_pkgs = sorted({p for n in twice for p in definers[n]})
    # of the packages that are not redone, only the stand-ins of their entities
    full_ids = {f.id for f in redo} | set(twice_pkgs)
    more = [f for f in found if f.id in need and f.id not in infos]
    more = _stand_ins_into([f for f in more if f.id not in full_ids], key_of, old, infos) + [
        f for f in more if f.id in full_ids
    ]
    _read_into(more, config, key_of, infos, file_diags, held)
    # a name defined more than once: its definitions in full (SC400 shows differences)
    by_id = {f.id: f for f in found}
    if held is not None:
        full = {p: held[p] for p in twice_pkgs}
    else:
        full = _drafts_of([by_id[p] for p in twice_pkgs], config, key_of)
    loaded: list[Any] = [
        t for f in found if f.id in infos for t in infos[f.id][0] if t.name not in twice
    ]
    loaded += [d for p in twice_pkgs for d in full[p] if d.name in twice]
    chosen, dup = choose_owners(loaded, config.owners)
    owners = {n: o if isinstance(o, Target) else target_of(o) for n, o in chosen.items()}
    diags += dup
    owner_pkg = {n: owners[n].package if n in owners else ps[0] for n, ps in definers.items()}
    _check_owner_config(config, owner_pkg, diags)

    def settle(indexes: list[int], in_worker: bool) -> list[Any]:
        out = []
        for i in indexes:
            f = redo[i]
            if held is not None:
                ds = held[f.id]
            else:
                ds = full.get(f.id) or _drafts_of([f], config, key_of)[f.id]
            out.append(
                _settle(f, ds, file_diags[f.id], owners, owner_pkg, config, known, key_of, sig)
            )
        return out

    from .parallel import fork_map

    states = {f.id: st for f, st in zip(redo, fork_map(len(redo), settle), strict=True)}
    packages = []
    for f in found:
        st = states.get(f.id) or old[f.id]
        diags += st.diagnostics
        ents: Sequence[Entity]
        if held is not None and f.id in states:
            ents = tuple(_freeze(d, fk) for d, fk in zip(held.pop(f.id), st.fks(), strict=True))
        else:
            ents = LazyEntities(partial(_rebuild, f, config, st))
        refs = st.fk_refs  # called when asked (a first scan orders packages by them)
        packages.append(
            Package(
                f.id, f.namespace, f.path, f.file, ents, st.owned, f.metadata_file, st.summary, refs
            )
        )
    if cache.enabled:
        keep: dict[str, snapshot.PackageState] = {}
        for f, (stamp, meta) in zip(found, marks, strict=True):
            if key_of[f.id]:
                st = states.get(f.id) or old[f.id]
                if (st.stamp, st.meta) != (stamp, meta):
                    st = replace(st, stamp=stamp, meta=meta, line=None)
                keep[f.id] = st
        if keep.keys() != old.keys() or any(st is not old[p] for p, st in keep.items()):
            snapshot.store(config, keep)
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


def _old_names(old: dict[str, Any], package: str) -> tuple[str, ...]:
    was = old.get(package)
    return was.names if was is not None else ()


def _settle(
    f: Found,
    ds: list[Draft],
    file_diags: list[Diagnostic],
    owners: dict[str, Target],
    owner_pkg: dict[str, str],
    config: Config,
    known: list[str],
    key_of: dict[str, str | None],
    sig: dict[str, str],
) -> Any:
    """The cross-package result of one package: its relations resolved, its constraint
    names checked, as the ``PackageState`` the snapshot keeps."""
    from . import snapshot

    own = list(file_diags)
    fks = _resolve(ds, owners, config, own, known)
    mine = [d for d in ds if (o := owners.get(d.name)) is not None and o.is_definition(d)]
    for d in mine:
        d.extra["fk_names"] = [fk.name for fk in fks.get(id(d), ())]
    if mine:
        own += name_collisions({f.namespace: mine})
    per = tuple(tuple(fks.get(id(d), ())) for d in ds)
    return snapshot.PackageState(
        key=key_of[f.id] or "",
        sig=sig.get(f.id, ""),
        names=tuple(d.name for d in ds),
        targets=tuple(sorted({r.target for d in ds for r in d.relations})),
        summary=tuple((d.name, d.table, d.checksum) for d in ds),
        owned=tuple(d.name for d in ds if owner_pkg.get(d.name) == f.id),
        fks_data=snapshot.encode_fks(per),
        diagnostics=tuple(own),
    )


def _diagnostic_order(d: Diagnostic) -> tuple[Any, ...]:
    """The reading order, and a total one: the result never depends on how it was built."""
    return (*d.sort_key(), d.severity, d.package or "", d.entity or "", d.hint or "")


# Above this many bytes of entities files, a load holds no package's drafts but the one it
# checks (about 7 MB of model per MB of YAML; 16 MB is about 1,800 packages of the
# benchmark's size).  Below it, keeping them is faster and small enough.
LEAN_BYTES = 16 << 20


def _file_keys(
    found: list[Found], config: Config, old: dict[str, Any]
) -> tuple[list[str | None], list[tuple[list[int] | None, str]], int]:
    """The validation cache key of each entities file (None: unreadable, never cached),
    its ``stamps`` stamp and key meta (for the snapshot), and the files' total size.
    A file whose stamp and meta match the snapshot's (``old``) is not read: its key is
    the snapshot's.  The bytes are not kept: whatever is built for a key is built from
    bytes read again and checked against it (``read_all``)."""
    from . import cache, stamps

    naming = (config.table_style, config.column_style)
    now = stamps.now_ns()
    keys: list[str | None] = []
    marks: list[tuple[list[int] | None, str]] = []
    total = 0
    for f in found:
        # what the snapshot keeps (nothing without the cache: 10,000 packages' worth)
        meta = cache.key_meta(f, naming) if cache.enabled else ""
        was = old.get(f.id)
        try:
            if was is not None and was.stamp is not None and was.meta == meta:
                seen = f.seen or stamps.seen(os.stat(f.abs_file))
                if stamps.matches(was.stamp, seen):
                    keys.append(was.key)
                    marks.append((was.stamp, meta))
                    total += seen[0]
                    continue
            with open(f.abs_file, "rb") as fh:
                st = os.fstat(fh.fileno())
                raw = fh.read(min(st.st_size, MAX_FILE_BYTES) + 1)
        except OSError:
            keys.append(None)
            marks.append((None, meta))
            continue
        total += len(raw)
        keys.append(cache.key(f, raw, naming, meta or None))
        marks.append((stamps.of(st, now) if cache.enabled else None, meta))
    return keys, marks, total


def _stand_ins_into(
    fs: list[Found],
    key_of: dict[str, str | None],
    old: dict[str, Any],
    infos: dict[str, tuple[list[Target], tuple[str, ...]]],
) -> list[Found]:
    """The ``Target`` stand-ins of unchanged packages (in the snapshot) into ``infos``,
    from their validation cache entries without building their drafts; the packages
    whose entry is missing, for ``_read_into``."""
    from . import cache

    missed = []
    for f in fs:
        k = key_of[f.id]
        doc = cache.get_doc(k) if k is not None else None
        if doc is None:
            missed.append(f)
            continue
        try:
            infos[f.id] = (cache.targets(doc), old[f.id].targets)
        except (KeyError, TypeError, IndexError, ValueError):  # a damaged entry: read it
            missed.append(f)
    return missed


def _read_into(
    fs: list[Found],
    config: Config,
    key_of: dict[str, str | None],
    infos: dict[str, tuple[list[Target], tuple[str, ...]]],
    file_diags: dict[str, list[Diagnostic]],
    held: dict[str, list[Draft]] | None,
) -> None:
    """Read ``fs``: keep their ``Target`` summaries, relation targets and diagnostics
    (and their drafts into ``held``, unless it is None: then never every draft at once);
    ``key_of`` becomes the key of the bytes read."""
    from . import cache

    def keep(f: Found, ds: list[Draft], fd: list[Diagnostic], key: str | None, doc: Any) -> Any:
        targets = tuple(sorted({r.target for d in ds for r in d.relations}))
        drafts = None if held is None else doc if doc is not None else ds
        return [target_of(d) for d in ds], fd, targets, key, drafts

    def received(res: Any) -> Any:  # a worker's drafts come as their cache entry
        ts, fd, tg, key, drafts = res
        return ts, fd, tg, key, cache.decode(drafts)[0] if isinstance(drafts, dict) else drafts

    keys = [key_of.get(f.id) for f in fs]
    store = held is None or cache.enabled  # held drafts need no entries but the cache's
    results = read_all(fs, config, keys=keys, keep=keep, received=received, store=store)
    for f, res in zip(fs, results, strict=True):
        ts, fd, tg, key, drafts = res
        infos[f.id], file_diags[f.id] = (ts, tg), fd
        if store:
            key_of[f.id] = key  # the bytes read may be newer than those keyed first
        if held is not None:
            held[f.id] = drafts


def _drafts_of(
    fs: list[Found], config: Config, key_of: dict[str, str | None]
) -> dict[str, list[Draft]]:
    """The drafts of ``fs`` from the validation cache (else parsed), each from the bytes
    its key was computed from."""
    out: dict[str, list[Draft]] = {}
    keys = [key_of.get(f.id) for f in fs]
    for f, res in zip(fs, read_all(fs, config, keys=keys), strict=True):
        if res is None:
            raise _changed(f)
        out[f.id] = res[0]
    return out


def _changed(f: Found) -> Exception:
    from .errors import OperationalError

    return OperationalError(
        f"{f.file} changed while schemactl was running", hint="run the command again", code="SC000"
    )


def _afresh(f: Found, config: Config) -> tuple[Entity, ...]:
    """A package's entities from a load that does not use the snapshot (and stores a
    new one)."""
    p = load_project(config.root, config=config, use_snapshot=False).project.package(f.id)
    if p is None:
        raise _changed(f)
    return tuple(p.entities)


def _rebuild(f: Found, config: Config, state: Any) -> tuple[Entity, ...]:
    """The entities of a package the snapshot holds: its drafts (from the validation
    cache, or parsed again) with the stored foreign keys.  The file must still be the
    one the command loaded: it may be read long after (``apply`` waits on a database)."""
    from . import cache

    changed = _changed(f)
    try:
        raw = read_capped(f.abs_file)
    except OSError:
        raise changed from None
    if cache.key(f, raw, (config.table_style, config.column_style)) != state.key:
        raise changed
    ((ds, _),) = read_all([f], config, [raw])
    try:
        fks = state.fks()
    except ValueError:  # a snapshot entry sealed right, yet malformed: work it out afresh
        return _afresh(f, config)
    if len(ds) != len(fks):  # the same bytes give the same entities: a damaged snapshot
        raise changed
    return tuple(_freeze(d, fk) for d, fk in zip(ds, fks, strict=True))


def read_all(
    found: list[Found],
    config: Config,
    raws: list[bytes | None] | None = None,
    *,
    keys: list[str | None] | None = None,
    keep: Callable[[Found, list[Draft], list[Diagnostic], str | None, Any], Any] | None = None,
    received: Callable[[Any], Any] | None = None,
    store: bool = True,
) -> list[Any]:
    """Load and validate every entities file: from the cache where the file is unchanged,
    else in worker processes when there are many (results keep ``found`` order), each
    ``(drafts, diagnostics)``.  ``raws``: the files' bytes when the caller has read them
    already (a cache entry is always built from the bytes its key was computed from).
    ``keys``: the files' cache keys when the caller has computed them; the bytes read
    here are checked against them, and a file that no longer matches gives None (it
    changed while schemactl was running).  ``keep(found, drafts, diagnostics, key, doc)``:
    what to return per file instead, applied where the file is read, so that nothing
    holds every file's drafts at once; with it, a changed file is read as it is now,
    ``key`` is the key of the bytes read and ``doc`` their ``cache.encode`` form in a
    worker (else None).  ``received``: applied here to a worker's ``keep`` result as it
    arrives.  ``store`` off: no entry is read or written."""
    from . import cache
    from .parallel import fork_map

    results: list[Any] = [None] * len(found)
    # index, cache key, bytes (None: the worker reads them), the key they must have
    misses: list[tuple[int, str | None, bytes | None, str | None]] = []
    naming = (config.table_style, config.column_style)
    for i, f in enumerate(found):
        raw = raws[i] if raws is not None else None
        want = keys[i] if keys is not None else None
        if not store:
            misses.append((i, None, raw, None))
            continue
        if want is not None and raw is None:
            k: str | None = want
        else:
            if raw is None:
                try:
                    raw = read_capped(f.abs_file)
                except OSError:
                    misses.append((i, None, None, want))
                    continue
            k = cache.key(f, raw, naming)
        hit = cache.get(k) if k is not None else None
        if hit is None:
            misses.append((i, k, raw, want))
        else:
            results[i] = keep(f, *hit, k, None) if keep is not None else hit
    todo = [(found[i], ckey, raw, want) for i, ckey, raw, want in misses]

    def work(indexes: list[int], in_worker: bool) -> list[Any]:
        # a worker writes its cache entries and hands results back as plain data
        return _read_chunk([todo[i] for i in indexes], config, in_worker, keep)

    def finish(res: Any) -> Any:
        if not cache.enabled:  # a worker's entries lived in its memory: it sent them
            res, k, blob = res
            if blob is not None:
                cache.memory[k] = blob
        if keep is None:
            return cache.decode(res) if res is not None else res
        return received(res) if received is not None else res

    # a worker saves what it learned of the JSON Schema (this process saves its own)
    computed = fork_map(len(todo), work, finish=finish, worker_done=verdicts.save)
    verdicts.save()
    for (i, _, _, _), res in zip(misses, computed, strict=True):
        results[i] = res
    return results


def _read_chunk(
    items: list[tuple[Found, str | None, bytes | None, str | None]],
    config: Config,
    encoded: bool,
    keep: Callable[[Found, list[Draft], list[Diagnostic], str | None, Any], Any] | None = None,
) -> list[Any]:
    """Load each file (from its bytes when read already, else read now and checked
    against the key it must have); store the result in the cache under its key (when it
    has one); return ``keep``'s result, or the results as objects, or as
    ``cache.encode`` data for a worker to hand back (None for a file that changed)."""
    from . import cache

    naming = (config.table_style, config.column_style)
    out: list[Any] = []
    for f, ckey, raw, want in items:
        if raw is None and want is not None:
            try:
                raw = read_capped(f.abs_file)
            except OSError:
                raw = None
            now = cache.key(f, raw, naming) if raw is not None else None
            if now != want:
                if keep is None:
                    out.append((None, None, None) if encoded and not cache.enabled else None)
                    continue
                ckey = now  # read as it is now, under its key
        diags: list[Diagnostic] = []
        drafts = read_package(f, config, diags, raw)
        wanted = ckey is not None or encoded
        doc = cache.encode(drafts, diags) if wanted else None
        if ckey is not None and doc is not None:
            cache.put(ckey, doc)
        if keep is not None:
            res = keep(f, drafts, diags, ckey, doc if encoded else None)
        else:
            res = doc if encoded else (drafts, diags)
        if encoded and not cache.enabled:  # the entry is in this worker's memory: send it
            res = (res, ckey, cache.memory.pop(ckey, None) if ckey is not None else None)
        out.append(res)
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
    owners: dict[str, Target],
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
                if target is not None and r.field is not None and r.field not in target.field_names:
                    guess = did_you_mean(r.field, list(target.field_names))
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
                if r.references is not None:
                    if r.references not in target.field_names:
                        guess = did_you_mean(r.references, list(dict.fromkeys(target.field_names)))
                        err(
                            "SC308",
                            f"relation {r.name}: {r.target} has no field {r.references!r}",
                            f"did you mean '{guess}'?" if guess else None,
                        )
                        continue
                    tkey = target.key_field(r.references)
                    if tkey is None:  # neither the primary key nor unique
                        err(
                            "SC314",
                            f"relation {r.name}: {r.target}.{r.references} is neither the "
                            "primary key nor unique",
                            "mark it `unique: true`",
                        )
                        continue
                    ref = tkey
                else:
                    if len(target.primary_key) != 1:
                        err(
                            "SC314",
                            f"relation {r.name}: {r.target} has a composite primary "
                            "key; name the referenced field with `references:`",
                        )
                        continue
                    pk = target.key_field(target.primary_key[0])
                    if pk is None:  # validate reports a key that names no field
                        continue
                    ref = pk
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
