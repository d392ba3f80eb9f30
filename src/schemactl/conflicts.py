"""Stage 4, conflicts across packages (SPEC §5).

- the same entity name in several packages: identical checksums are compatible (a note,
  one owner: config ``[owners]``, else the smallest packageId); different checksums are an
  error naming every file and line and the structural differences;
- two packages with the same packageId or namespace;
- two tables, or two index/constraint names, colliding within a namespace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from .checksum import canonical_entity
from .diagnostics import Diagnostic
from .discover import Found
from .validate import Draft


def package_clashes(found: list[Found]) -> tuple[list[Found], list[Diagnostic]]:
    """Duplicate packageIds/namespaces: report, and keep only the first of each."""
    out: list[Diagnostic] = []
    by_id: dict[str, Found] = {}
    by_ns: dict[str, Found] = {}
    kept: list[Found] = []
    for f in found:
        if f.id in by_id:
            o = by_id[f.id]
            out.append(
                Diagnostic(
                    "error",
                    "SC402",
                    f"packages {o.path} and {f.path} both have packageId {f.id!r}",
                    f.metadata_file or f.file,
                    package=f.id,
                    hint="give one of them a different packageId in seed/metadata.json",
                )
            )
            continue
        if f.namespace in by_ns:
            o = by_ns[f.namespace]
            out.append(
                Diagnostic(
                    "error",
                    "SC403",
                    f"packages {o.id} and {f.id} both use namespace {f.namespace!r}",
                    f.metadata_file or f.file,
                    package=f.id,
                    hint="each package needs its own PostgreSQL schema: set [namespaces] "
                    "in schemactl.toml",
                )
            )
            continue
        by_id[f.id] = f
        by_ns[f.namespace] = f
        kept.append(f)
    return kept, out


def choose_owners(
    drafts: Iterable[Draft], owners_cfg: dict[str, str]
) -> tuple[dict[str, Draft], list[Diagnostic]]:
    """Owner draft per entity name, and the duplicate-definition diagnostics."""
    by_name: dict[str, list[Draft]] = defaultdict(list)
    for d in drafts:
        by_name[d.name].append(d)
    owners: dict[str, Draft] = {}
    out: list[Diagnostic] = []
    for name, defs in sorted(by_name.items()):
        defs.sort(key=lambda d: d.package)
        wanted = owners_cfg.get(name)
        owner = next((d for d in defs if d.package == wanted), defs[0])
        owners[name] = owner
        if len(defs) == 1:
            continue
        where = "; ".join(f"{d.package} ({d.loc})" for d in defs)
        if len({d.checksum for d in defs}) == 1:
            out.append(
                Diagnostic(
                    "note",
                    "SC401",
                    f"entity {name} is defined identically by {where}; "
                    f"{owner.package} owns the table",
                    owner.file,
                    owner.loc.line,
                    owner.loc.column,
                    package=owner.package,
                    entity=name,
                    hint="set [owners] in schemactl.toml to choose another owner",
                )
            )
            continue
        diffs = []
        base = defs[0]
        for other in defs[1:]:
            if other.checksum != base.checksum:
                diffs.append(
                    f"{base.package} vs {other.package}: " + "; ".join(differences(base, other))
                )
        out.append(
            Diagnostic(
                "error",
                "SC400",
                f"entity {name} is defined differently by {where} — " + " | ".join(diffs),
                base.file,
                base.loc.line,
                base.loc.column,
                package=base.package,
                entity=name,
                hint="the packages must agree on one definition (same checksum), or rename "
                "one entity",
            )
        )
    return owners, out


def _canon(d: Draft) -> dict[str, Any]:
    return canonical_entity(
        d.name, d.table if d.table_override else None, d.fields, d.declared, d.relations, d.acl
    )


def differences(a: Draft, b: Draft, limit: int = 12) -> list[str]:
    """Human-readable structural differences between two definitions of one entity."""
    ca, cb = _canon(a), _canon(b)
    out: list[str] = []
    fa, fb = ca["fields"], cb["fields"]
    only_a = sorted(set(fa) - set(fb))
    only_b = sorted(set(fb) - set(fa))
    if only_a:
        out.append(f"fields only in {a.package}: {', '.join(only_a)}")
    if only_b:
        out.append(f"fields only in {b.package}: {', '.join(only_b)}")
    for name in sorted(set(fa) & set(fb)):
        if fa[name] != fb[name]:
            keys = sorted(set(fa[name]) | set(fb[name]))
            parts = [
                f"{k} {_show(fa[name].get(k))} vs {_show(fb[name].get(k))}"
                for k in keys
                if fa[name].get(k) != fb[name].get(k)
            ]
            out.append(f"field {name}: " + ", ".join(parts))
    for key in ("indexes", "relations", "acl", "table"):
        if ca.get(key) != cb.get(key):
            out.append(f"{key} differ")
    if len(out) > limit:
        out = [*out[:limit], f"... and {len(out) - limit} more"]
    return out


def _show(v: Any) -> str:
    return "absent" if v is None else repr(v)


_INDEXED = ("primary key", "unique constraint", "index")


def name_collisions(drafts_by_ns: dict[str, list[Draft]]) -> list[Diagnostic]:
    """Tables and index/constraint names must be unique within each namespace."""
    out: list[Diagnostic] = []
    for ns, unordered in sorted(drafts_by_ns.items()):
        # file order, so that the first definition is the one the others collide with
        drafts = sorted(unordered, key=lambda d: (d.file, d.loc.line, d.loc.column))
        tables: dict[str, Draft] = {}
        names: dict[str, tuple[Draft, str]] = {}
        clashed: set[int] = set()  # drafts whose table collided: their pk_ name would too
        for d in drafts:
            if d.table in tables:
                clashed.add(id(d))
                o = tables[d.table]
                out.append(
                    Diagnostic(
                        "error",
                        "SC404",
                        f"entities {o.name} ({o.loc}) and {d.name} both use table {ns}.{d.table}",
                        d.file,
                        d.loc.line,
                        d.loc.column,
                        package=d.package,
                        entity=d.name,
                        hint="set `table:` on one of them",
                    )
                )
                continue
            tables[d.table] = d
        for d in drafts:
            if id(d) in clashed:
                continue
            objs = [(d.pk_name, "primary key")]
            objs += [(ix.name, "unique constraint" if ix.unique else "index") for ix in d.indexes]
            objs += [(c.name, "check constraint") for c in d.checks]
            objs += [(fk, "foreign key") for fk in d.extra.get("fk_names", ())]
            for name, what in objs:
                clash = names.get(name)
                # indexes (and the pk/unique constraints they back) share PostgreSQL's
                # relation namespace with tables, their own table included
                if clash is None and name in tables and (tables[name] is not d or what in _INDEXED):
                    clash = (tables[name], "table")
                if clash is not None:
                    o, owhat = clash
                    out.append(
                        Diagnostic(
                            "error",
                            "SC406",
                            f"{what} name {name!r} of {d.name} collides with the {owhat} of "
                            f"{o.name} in namespace {ns}",
                            d.file,
                            d.loc.line,
                            d.loc.column,
                            package=d.package,
                            entity=d.name,
                            hint="give the index an explicit, distinct `name:`",
                        )
                    )
                    continue
                names[name] = (d, what)
    return out
