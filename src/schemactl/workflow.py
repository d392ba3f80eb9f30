"""The registry workflow as plain functions: scan, list, show, approve, reject, check,
generate and preview.  Each returns a ``commands.Result``; the CLI renders it.

Rules (SPEC §7): one migration covers one package and at most one is pending per package;
a newer plan supersedes the pending one; a package back at its baseline loses it; a plan
equal to a rejected one is not queued again; approval approves exactly the stored SQL,
refuses stale and (without the flag) destructive plans, and moves the baseline.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import subprocess
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import registry, registry_index
from .commands import Result, packages_json
from .config import Config, load_config
from .diagnostics import Diagnostic, did_you_mean, has_errors
from .errors import UsageError
from .model import Entity, External, Field, Package, Project
from .parallel import fork_map
from .project import ProjectResult, load_project
from .serialize import entity_from_data, to_data

PENDING, APPROVED, REJECTED, SUPERSEDED = "pending", "approved", "rejected", "superseded"


# ----------------------------------------------------------------------------- helpers


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def default_actor(root: Path | None = None) -> str:
    """``git config user.email`` as the project's repository sees it (its own config
    first, then the user's), else the login name."""
    try:
        out = subprocess.run(
            ["git", "config", "user.email"], capture_output=True, text=True, timeout=5, cwd=root
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _state_hash(target: dict[str, Any]) -> str:
    """Identity of a planned end state: the checksums of the package's entities."""
    return _state_of({k: v["checksum"] for k, v in target.items()})


def _state_of(sums: dict[str, str]) -> str:
    raw = json.dumps(sums, sort_keys=True)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


class _Index:
    """The registry grouped by package, built once per command (not once per package)."""

    def __init__(self, data: dict[str, Any]):
        self.base: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for name, entry in data["baseline"].items():
            self.base[entry["package"]][name] = entry
        self.migrations: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for m in data["migrations"]:
            self.migrations[m["package"]].append(m)

    def with_status(self, package: str, status: str) -> list[dict[str, Any]]:
        return [m for m in self.migrations.get(package, ()) if m["status"] == status]


def _current_sums(pr: ProjectResult, package: str) -> dict[str, str]:
    p = pr.project.package(package)
    return {} if p is None else p.owned_checksums()


def _owned(pr: ProjectResult, package: str) -> tuple[Entity, ...]:
    p = pr.project.package(package)
    return () if p is None else p.owned_entities()


def _current_for(pr: ProjectResult, package: str) -> dict[str, dict[str, Any]]:
    return {
        e.name: {"package": package, "checksum": e.checksum, "definition": to_data(e)}
        for e in _owned(pr, package)
    }


def _entities(entries: dict[str, dict[str, Any]]) -> list[Entity]:
    return [entity_from_data(v["definition"]) for _, v in sorted(entries.items())]


def migration_summary(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": m["id"],
        "package": m["package"],
        "status": m["status"],
        "destructive": m["destructive"],
        "changes": m["changes"],
        "approved_by": m.get("approved_by"),
        "approved_at": m.get("approved_at"),
    }


def _find(data: dict[str, Any], mid: str) -> dict[str, Any]:
    for m in data["migrations"]:
        if m["id"] == mid:
            return m
    ids = [m["id"] for m in data["migrations"]]
    guess = did_you_mean(mid, ids)
    raise UsageError(
        f"no migration {mid!r}",
        hint=f"did you mean '{guess}'?" if guess else "see `schemactl list --all`",
    )


def _changes(base: dict[str, Any], target: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name in sorted(set(base) | set(target)):
        b, t = base.get(name), target.get(name)
        if b is None:
            action = "create"
        elif t is None:
            action = "drop"
        elif b["checksum"] == t["checksum"]:
            continue
        elif b["definition"]["table"] != t["definition"]["table"]:
            action = "rename"
        else:
            action = "alter"
        out.append(
            {
                "entity": name,
                "action": action,
                "from": b["checksum"] if b else None,
                "to": t["checksum"] if t else None,
            }
        )
    return out


def op_summary(op: Any) -> dict[str, Any]:
    """A short, reviewable description of one operation for the registry record.

    The SQL is what gets approved; the summary says what it does in a line, and the full
    operations can always be re-planned from the record's ``base`` and ``target``."""
    entity = getattr(op, "entity", None)
    ns = getattr(op, "namespace", None) or (entity.namespace if entity else None)
    table = getattr(op, "table", None) or (entity.table if entity else None)
    obj = ".".join(x for x in (ns, table) if x)
    detail = _op_detail(op)
    out: dict[str, Any] = {"op": op.kind, "object": obj + (f" {detail}" if detail else "")}
    if op.destructive:
        out["destructive"] = True
        out["reason"] = op.reason
    return out


def _object_name(v: Any) -> str | None:
    if isinstance(v, str):
        return v
    if isinstance(v, Field):
        return v.column
    name = getattr(v, "name", None)
    return name if isinstance(name, str) else None


def _op_detail(op: Any) -> str | None:
    """The column, index or constraint an operation touches (``old -> new`` for renames)."""
    if op.kind.endswith("_comment"):
        return getattr(op, "column", None)
    old, new = getattr(op, "old", None), getattr(op, "new", None)
    if old is not None and new is not None:
        o, n = _object_name(old), _object_name(new)
        return o if o == n else f"{o} -> {n}"
    for attr in ("field", "index", "check", "fk", "column", "name"):
        v = getattr(op, attr, None)
        if v is not None:
            return _object_name(v)
    return None


def _render(ops: list[Any]) -> tuple[str, str]:
    from .sql import render_down, render_up

    return render_up(ops), render_down(ops)


def _plan_ops(base: dict[str, Any], current: list[Entity], namespace: str) -> list[Any]:
    from .plan import plan_package

    return plan_package(_entities(base), current, namespace=namespace)


def _id_stamp(data: dict[str, Any], now: datetime) -> str:
    """The timestamp of this scan's ids: now, or one second after the newest existing id
    when that is not earlier (two scans in one second, a clock behind another's), so that
    ids sort in creation order."""
    fmt = "%Y%m%d%H%M%S"
    stamps = [m["id"][:14] for m in data["migrations"] if m["id"][:14].isdigit()]
    if stamps and max(stamps) >= now.strftime(fmt):
        try:
            last = datetime.strptime(max(stamps), fmt).replace(tzinfo=UTC)
            return (last + timedelta(seconds=1)).strftime(fmt)
        except (ValueError, OverflowError):
            pass
    return now.strftime(fmt)


def _unique_id(taken: set[str], stamp: str, package: str) -> str:
    """A new id, added to ``taken``."""
    mid = f"{stamp}_{package}"
    n = 2
    while mid in taken:
        mid = f"{stamp}_{package}_{n}"
        n += 1
    taken.add(mid)
    return mid


def _record(
    pr: ProjectResult,
    po: Any,
    base: dict[str, Any],
    namespaces: dict[str, str],
    mid: str,
    seq: int,
    now: datetime,
) -> dict[str, Any]:
    """The pending migration record of one package's planned operations."""
    target = _current_for(pr, po.package)
    up, down = _render(po.ops)
    reasons = sorted({op.reason for op in po.ops if op.destructive and op.reason})
    return {
        "id": mid,
        "package": po.package,
        "namespace": namespaces.get(po.package, po.package),
        "status": PENDING,
        "created_at": now.isoformat(),
        "order": seq,
        "changes": _changes(base, target),
        "ops": [op_summary(op) for op in po.ops],
        "destructive": bool(reasons),
        "destructive_reasons": reasons,
        "sql": {"up": up, "down": down},
        "sql_checksum": registry.sql_checksum(up, down),
        "base": {k: v["checksum"] for k, v in sorted(base.items())},
        "base_state": _state_hash(base),
        "target": target,
        "target_state": _state_hash(target),
    }


# ----------------------------------------------------------------------------- scan


def scan(root: Path, *, dry_run: bool = False, config: Config | None = None) -> Result:
    """Validate; then plan at most one pending migration per changed package."""
    config = config or load_config(root)
    from . import cache

    # the registry is read and hashed in a thread while the project loads
    prefetched = registry.Prefetch(config.registry_path) if cache.enabled else None
    pr = load_project(config.root, config=config)
    result = Result(diagnostics=list(pr.diagnostics), packages=packages_json(pr.project))
    if has_errors(pr.diagnostics):
        result.migrations = []
        result.messages.append("validation failed: nothing planned, registry unchanged")
        return result
    from .plan import PackageOps, order_migrations

    with registry.transaction(config.registry_path, dry_run=dry_run, prefetched=prefetched) as data:
        now = _now()
        planned: list[tuple[str, dict[str, Any], list[Any]]] = []
        # packages on disk, in the baseline, or with a pending plan (whose files may be gone)
        pkg_ids = (
            {p.id for p in pr.project.packages}
            | {b["package"] for b in data["baseline"].values()}
            | {m["package"] for m in data["migrations"] if m["status"] == PENDING}
        )
        namespaces = {p.id: p.namespace for p in pr.project.packages}
        idx = _Index(data)
        touched: list[dict[str, Any]] = []  # summaries of the migrations this scan queued
        for pkg in sorted(pkg_ids):
            base = idx.base.get(pkg, {})
            base_sums = {k: v["checksum"] for k, v in base.items()}
            sums = _current_sums(pr, pkg)
            pending = idx.with_status(pkg, PENDING)
            if base_sums == sums:
                for m in pending:
                    m["status"] = SUPERSEDED
                    m["superseded_at"] = now.isoformat()
                    result.messages.append(f"{m['id']}: superseded ({pkg} is back at its baseline)")
                continue
            state, base_state = _state_of(sums), _state_of(base_sums)
            same = [m for m in pending if m["target_state"] == state]
            if any(m["base_state"] == base_state for m in same):
                touched.extend(migration_summary(m) for m in same)
                continue
            rejected = [
                m
                for m in idx.with_status(pkg, REJECTED)
                if m["target_state"] == state and m["base_state"] == base_state
            ]
            if rejected:
                result.diagnostics.append(
                    Diagnostic(
                        "warning",
                        "SC603",
                        f"package {pkg}: this plan was rejected as {rejected[-1]['id']}"
                        + (f" ({rejected[-1].get('reason')})" if rejected[-1].get("reason") else "")
                        + "; not queued again",
                        _package_file(pr, pkg),
                        package=pkg,
                        hint="change the entities, or revert them to the baseline",
                    )
                )
                for m in pending:
                    m["status"] = SUPERSEDED
                    m["superseded_at"] = now.isoformat()
                continue
            ns = namespaces.get(pkg) or next(
                (v["definition"]["namespace"] for v in base.values()), pkg
            )
            namespaces[pkg] = ns  # a package whose files are gone keeps its old schema
            current = sorted(_owned(pr, pkg), key=lambda e: e.name)
            ops = _plan_ops(base, current, ns)
            for m in pending:
                m["status"] = SUPERSEDED
                m["superseded_at"] = now.isoformat()
                result.messages.append(f"{m['id']}: superseded by a newer plan")
            planned.append((pkg, base, ops))
        ordered = order_migrations([PackageOps(p, ops) for p, _, ops in planned])
        bases = {p: b for p, b, _ in planned}
        stamp = _id_stamp(data, now)
        seq = 1 + max((m.get("order", 0) for m in data["migrations"]), default=0)
        taken = {m["id"] for m in data["migrations"]}
        ids = [_unique_id(taken, stamp, po.package) for po in ordered]

        def build(indexes: list[int], in_worker: bool) -> list[Any]:
            out: list[Any] = []
            for i in indexes:
                po = ordered[i]
                rec = _record(pr, po, bases[po.package], namespaces, ids[i], seq + i, now)
                summary = migration_summary(rec)
                out.append((registry_index.pack(rec) if in_worker else rec, summary))
            return out

        def finish(item: Any) -> Any:
            packed, summary = item
            return registry_index.unpack(packed), summary

        # rendering SQL and serialising definitions is per package: spread over workers,
        # whose records come back as bytes (with their summaries: nothing is parsed here)
        for rec, summary in fork_map(len(ordered), build, finish=finish):
            data["migrations"].append(rec)
            touched.append(summary)
            flag = " (destructive)" if summary["destructive"] else ""
            result.messages.append(
                f"{summary['id']}: planned {len(summary['changes'])} change(s) "
                f"for {summary['package']}{flag}"
            )
        data["migrations"].sort(key=_application_key)
        result.migrations = touched
    if not planned and not result.messages:
        result.messages.append("no changes: every package matches its baseline or its plan")
    if dry_run:
        result.messages.append("dry run: registry not written")
    return result


# ----------------------------------------------------------------------------- list/show


def list_migrations(root: Path, *, all_: bool = False) -> Result:
    config = load_config(root)
    data = registry.read(config.registry_path)
    ms = sorted(
        (m for m in data["migrations"] if all_ or m["status"] == PENDING), key=_application_key
    )
    lines = []
    width = max((len(m["id"]) for m in ms), default=0)
    for m in ms:
        flag = " DESTRUCTIVE" if m["destructive"] else ""
        ents = ", ".join(f"{c['action']} {c['entity']}" for c in m["changes"])
        lines.append(f"{m['id']:<{width}}  {m['status']:<10} {m['package']}{flag}: {ents}")
    if not ms:
        lines.append("no pending migrations" if not all_ else "no migrations")
    return Result(migrations=[migration_summary(m) for m in ms], messages=lines)


def show(root: Path, mid: str) -> Result:
    config = load_config(root)
    data = registry.read(config.registry_path)
    m = _find(data, mid)
    lines = [
        f"migration {m['id']}",
        f"  package:     {m['package']} (schema {m.get('namespace', m['package'])})",
        f"  status:      {m['status']}",
        f"  created at:  {m['created_at']}",
    ]
    for k in ("approved_by", "approved_at", "rejected_by", "rejected_at", "reason"):
        if m.get(k):
            lines.append(f"  {k.replace('_', ' ') + ':':<13}{m[k]}")
    lines.append(f"  destructive: {'yes' if m['destructive'] else 'no'}")
    for r in m.get("destructive_reasons", []):
        lines.append(f"    - {r}")
    lines.append("  changes:")
    for c in m["changes"]:
        lines.append(f"    {c['action']:<7} {c['entity']}")
    lines.append("  operations:")
    for op in m["ops"]:
        flag = f"  DESTRUCTIVE: {op['reason']}" if op.get("destructive") else ""
        lines.append(f"    {op['op']:<20} {op.get('object', '')}{flag}")
    lines.append(f"  sql checksum: {m['sql_checksum']}")
    text = "\n".join(lines) + "\n\n-- up\n" + m["sql"]["up"] + "\n-- down\n" + m["sql"]["down"]
    # `migrations` items keep the SPEC §10 shape; the full record goes under `migration`
    detail = migration_summary(m) | {
        "namespace": m.get("namespace", m["package"]),
        "created_at": m["created_at"],
        "rejected_by": m.get("rejected_by"),
        "rejected_at": m.get("rejected_at"),
        "reason": m.get("reason"),
        "destructive_reasons": m.get("destructive_reasons", []),
        "ops": m["ops"],
        "sql": m["sql"],
        "sql_checksum": m["sql_checksum"],
    }
    return Result(migrations=[migration_summary(m)], data={"migration": detail, "text": text})


# ----------------------------------------------------------------------------- approve/reject


def approve(
    root: Path,
    ids: list[str],
    *,
    by: str | None = None,
    allow_destructive: bool = False,
    config: Config | None = None,
) -> Result:
    config = config or load_config(root)
    if not ids:
        raise UsageError("name migration ids, or `all`")
    actor = by or default_actor(config.root)
    pr = load_project(config.root, config=config)
    result = Result()
    with registry.transaction(config.registry_path) as data:
        if ids == ["all"]:
            targets = [m for m in data["migrations"] if m["status"] == PENDING]
            if not targets:
                result.messages.append("nothing to approve: no pending migrations")
        else:
            targets = [_find(data, i) for i in ids]
        approved: list[dict[str, Any]] = []
        idx = _Index(data)
        queue, blocked = _dependencies_met(targets, idx, pr, allow_destructive)
        result.diagnostics.extend(blocked)
        while queue:
            # An entity moving between packages: the migration that drops it from its old
            # package goes first (SC607 waits for it), whatever order the ids came in.
            waiting: list[tuple[dict[str, Any], Diagnostic]] = []
            for m in queue:
                problem = _approval_problem(m, idx, pr, allow_destructive)
                if problem is not None:
                    if problem.code == "SC607":
                        waiting.append((m, problem))
                    else:
                        result.diagnostics.append(problem)
                    continue
                _approve_one(m, data, idx, actor)
                approved.append(m)
                result.messages.append(f"{m['id']}: approved by {actor}")
            if len(waiting) == len(queue):
                result.diagnostics.extend(p for _, p in waiting)
                break
            queue = [m for m, _ in waiting]
        result.migrations = [migration_summary(m) for m in approved]
    return result


def _dependencies_met(
    batch: list[dict[str, Any]], idx: _Index, pr: ProjectResult, allow_destructive: bool
) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """Drop from ``batch`` each migration whose foreign keys need a table of another package
    that is neither approved nor approved in this same batch (SC608): `apply` would fail.
    Repeats until stable, so a chain of dependencies on a refused migration is refused too;
    a cycle of migrations approved together is fine."""
    out: list[Diagnostic] = []
    batch = list(batch)
    while True:
        fine = [
            m
            for m in batch
            if (p := _approval_problem(m, idx, pr, allow_destructive)) is None or p.code == "SC607"
        ]
        coming = {name for m in fine for name in m["target"]}
        blocked = []
        for m in batch:
            need = _missing_dependency(m, idx, coming)
            if need is not None:
                blocked.append(m)
                out.append(need)
        if not blocked:
            return batch, out
        batch = [m for m in batch if m not in blocked]


def _missing_dependency(m: dict[str, Any], idx: _Index, coming: set[str]) -> Diagnostic | None:
    for entry in m["target"].values():
        for fk in entry["definition"].get("foreign_keys", ()):
            ref, ref_pkg = fk.get("ref_entity"), fk.get("ref_package")
            if not ref_pkg or ref_pkg == m["package"] or ref in coming:
                continue
            if ref in idx.base.get(ref_pkg, {}):
                continue
            waiting = [x["id"] for x in idx.with_status(ref_pkg, PENDING) if ref in x["target"]]
            return Diagnostic(
                "error",
                "SC608",
                f"{m['id']} needs table {ref} of package {ref_pkg}, which is not approved",
                package=m["package"],
                entity=ref,
                hint=(
                    f"approve {waiting[0]} first, or both together"
                    if waiting
                    else f"run `schemactl scan` so that {ref_pkg} plans {ref}"
                ),
            )
    return None


def _approve_one(m: dict[str, Any], data: dict[str, Any], idx: _Index, actor: str) -> None:
    m["status"] = APPROVED
    m["approved_by"] = actor
    m["approved_at"] = _now().isoformat()
    registry.seal(m)
    for name in m["base"]:
        gone = data["baseline"].pop(name, None)
        if gone is not None:
            idx.base[gone["package"]].pop(name, None)
    for name, entry in m["target"].items():
        data["baseline"][name] = idx.base[entry["package"]][name] = {
            **entry,
            "migration": m["id"],
        }


def _approval_problem(
    m: dict[str, Any], idx: _Index, pr: ProjectResult, allow_destructive: bool
) -> Diagnostic | None:
    mid, pkg = m["id"], m["package"]
    if m["status"] != PENDING:
        return Diagnostic(
            "error",
            "SC604",
            f"{mid} is {m['status']}, not pending",
            package=pkg,
            hint="run `schemactl scan` to plan the current state",
        )
    if has_errors(pr.diagnostics):
        return Diagnostic(
            "error",
            "SC604",
            f"{mid}: the entities files do not validate; nothing can be approved",
            package=pkg,
            hint="run `schemactl validate`",
        )
    current = _state_of(_current_sums(pr, pkg))
    base_now = _state_hash(idx.base.get(pkg, {}))
    if current != m["target_state"] or base_now != m["base_state"]:
        return Diagnostic(
            "error",
            "SC604",
            f"{mid} is stale: package {pkg} changed since it was planned",
            package=pkg,
            hint="run `schemactl scan` to plan again, then approve the new migration",
        )
    if m["destructive"] and not allow_destructive:
        return Diagnostic(
            "error",
            "SC605",
            f"{mid} is destructive: " + "; ".join(m.get("destructive_reasons", [])),
            package=pkg,
            hint="review it with `schemactl show`, then approve with --allow-destructive",
        )
    for name in sorted(m["target"]):
        owner = next((p for p, ents in idx.base.items() if name in ents and p != pkg), None)
        if owner is not None:
            # Taking the entity over now would make the old package's drop stale: its table
            # would never be dropped.
            drops = [x["id"] for x in idx.with_status(owner, PENDING) if name not in x["target"]]
            return Diagnostic(
                "error",
                "SC607",
                f"{mid} creates {name}, which the baseline still gives to package {owner}",
                package=pkg,
                entity=name,
                hint=(
                    f"approve {drops[0]} (it drops {name} from {owner}) first, or both together"
                    if drops
                    else f"run `schemactl scan`: {owner} must drop {name} before {pkg} creates it"
                ),
            )
    return None


def reject(root: Path, mid: str, *, by: str | None = None, reason: str | None = None) -> Result:
    config = load_config(root)
    actor = by or default_actor(config.root)
    result = Result()
    with registry.transaction(config.registry_path) as data:
        m = _find(data, mid)
        if m["status"] != PENDING:
            raise UsageError(f"{mid} is {m['status']}; only pending migrations can be rejected")
        m["status"] = REJECTED
        m["rejected_by"] = actor
        m["rejected_at"] = _now().isoformat()
        if reason:
            m["reason"] = reason
        registry.seal(m)
        result.messages.append(f"{mid}: rejected by {actor}")
        result.migrations = [migration_summary(m)]
    return result


# ----------------------------------------------------------------------------- check


def check(root: Path, *, shadow: bool = False, config: Config | None = None) -> Result:
    """The CI gate: any error, unscanned or unapproved changes, pending, tampering."""
    config = config or load_config(root)
    pr = load_project(config.root, config=config)
    data = registry.read(config.registry_path)
    diags = list(pr.diagnostics)
    from .editor import stale_copy  # issue 15: SC880, the editor's schema copy is stale

    diags += stale_copy(config.root)
    if not has_errors(diags):
        idx = _Index(data)
        on_disk = {p.id for p in pr.project.packages}
        for gone in sorted(set(idx.base) - on_disk):
            if not any(m["target"] == {} for m in idx.with_status(gone, PENDING)):
                names = sorted(idx.base[gone])
                diags.append(
                    Diagnostic(
                        "error",
                        "SC600",
                        f"package {gone} is gone from the files but its baseline has "
                        f"{', '.join(names)}; dropping them is not planned",
                        package=gone,
                        hint="run `schemactl scan` and get the migration approved",
                    )
                )
        for p in pr.project.packages:
            base = {k: v["checksum"] for k, v in idx.base.get(p.id, {}).items()}
            cur = _current_sums(pr, p.id)
            if base == cur:
                continue
            state = _state_of(cur)
            pend = [m for m in idx.with_status(p.id, PENDING) if m["target_state"] == state]
            if not pend:
                changed = sorted(n for n in set(base) | set(cur) if base.get(n) != cur.get(n))
                diags.append(
                    Diagnostic(
                        "error",
                        "SC600",
                        f"package {p.id} differs from its baseline and has no matching plan "
                        f"({', '.join(changed)})",
                        p.file,
                        package=p.id,
                        hint="run `schemactl scan` and get the migration approved",
                    )
                )
    target_sums: dict[int, dict[str, Any]] = {}  # approved record -> its target's checksums
    for m in data["migrations"]:
        if m["status"] == PENDING:
            pkg = pr.project.package(m["package"])
            diags.append(
                Diagnostic(
                    "error",
                    "SC601",
                    f"migration {m['id']} ({m['package']}) is pending approval",
                    pkg.file if pkg else None,
                    package=m["package"],
                    hint=f"an admin runs `schemactl approve {m['id']}` (or rejects it)",
                )
            )
        if m["status"] not in (APPROVED, REJECTED):
            continue
        full = registry_index.peek(m)  # parsed for a look, not kept: the registry is large
        if m["status"] == APPROVED:  # what the baseline must come from
            target_sums[id(m)] = {n: e["checksum"] for n, e in full["target"].items()}
        if registry.tampered(full):
            diags.append(
                Diagnostic(
                    "error",
                    "SC602",
                    f"migration {m['id']} was edited by hand since it was {m['status']}",
                    _rel(config, config.registry_path),
                    package=m["package"],
                    hint="restore .schemactl/registry.json from git",
                )
            )
    by_id = {m["id"]: m for m in data["migrations"]}
    for name, b in sorted(data["baseline"].items()):
        src = by_id.get(b.get("migration", ""))
        if (
            src is None
            or src["status"] != APPROVED
            or target_sums[id(src)].get(name) != b["checksum"]
        ):
            diags.append(
                Diagnostic(
                    "error",
                    "SC602",
                    f"baseline of {name} does not come from an approved migration",
                    _rel(config, config.registry_path),
                    package=b.get("package"),
                    entity=name,
                    hint="restore .schemactl/registry.json from git",
                )
            )
    if shadow and not has_errors(diags):
        from .deploy import shadow_check

        diags += shadow_check(config, pr, data)
    diags.sort(key=Diagnostic.sort_key)
    res = Result(diagnostics=diags, packages=packages_json(pr.project))
    if not has_errors(diags):
        res.messages.append("check passed")
    return res


def _package_file(pr: ProjectResult, package: str) -> str | None:
    p = pr.project.package(package)
    return p.file if p is not None else None


def _rel(config: Config, p: Path) -> str:
    try:
        return p.relative_to(config.root).as_posix()
    except ValueError:
        return str(p)


# ----------------------------------------------------------------------------- generate


def migration_files(m: dict[str, Any]) -> dict[str, str]:
    """The exact text of ``migration.sql`` and ``down.sql`` for an approved migration."""
    head = (
        f"-- schemactl migration {m['id']}\n"
        f"-- package: {m['package']} (schema {m.get('namespace', m['package'])})\n"
        f"-- sql checksum: {m['sql_checksum']}\n"
        f"-- approved by {m.get('approved_by')} at {m.get('approved_at')}\n"
    )
    return {
        "migration.sql": head + "\n" + m["sql"]["up"],
        "down.sql": head + "-- reverts the migration above\n\n" + m["sql"]["down"],
    }


def baseline_project(data: dict[str, Any], externals: tuple[External, ...] = ()) -> Project:
    """The approved state as a model: every baseline entity, grouped by its package."""
    by_pkg: dict[str, list[Entity]] = {}
    for _, entry in sorted(data["baseline"].items()):
        e = entity_from_data(entry["definition"])
        by_pkg.setdefault(e.package, []).append(e)
    pkgs = [
        Package(pid, ents[0].namespace, "", "", tuple(ents), tuple(e.name for e in ents))
        for pid, ents in sorted(by_pkg.items())
    ]
    return Project("", tuple(pkgs), externals)


def generate(
    root: Path,
    *,
    out: Path | None = None,
    prisma: Path | None = None,
    check: bool = False,
    config: Config | None = None,
) -> Result:
    """Write (or with ``check`` compare) the files of every approved migration."""
    config = config or load_config(root)
    data = registry.read(config.registry_path)
    out_dir = out if out is not None else config.migrations_path
    if not out_dir.is_absolute():
        out_dir = config.root / out_dir
    result = Result()
    wanted: dict[Path, str] = {}
    for m in approved_in_order(data):
        m = registry_index.peek(m)  # parsed for a look, not kept: the registry is large
        if registry.tampered(m):
            result.diagnostics.append(
                Diagnostic(
                    "error",
                    "SC602",
                    f"migration {m['id']} was edited by hand since it was approved; "
                    "not writing its files",
                    _rel(config, config.registry_path),
                    package=m["package"],
                    hint="restore .schemactl/registry.json from git",
                )
            )
            continue
        for name, text in migration_files(m).items():
            wanted[out_dir / m["id"] / name] = text
    if prisma is not None:
        from .prisma import render_prisma

        ppath = prisma if prisma.is_absolute() else config.root / prisma
        wanted[ppath] = render_prisma(baseline_project(data, config.externals))
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
        tmp.replace(path)
        written += 1
        result.messages.append(f"wrote {rel}")
    if out_dir.is_dir():
        known = {m["id"] for m in approved_in_order(data)}
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
    if not check and not written and not has_errors(result.diagnostics):
        result.messages.append(f"{len(wanted)} files up to date")
    if check and not has_errors(result.diagnostics):
        result.messages.append(f"{len(wanted)} files up to date")
    return result


def preview(root: Path, package: str, fmt: str = "sql", config: Config | None = None) -> Result:
    """The full DDL (or Prisma models) of one package's current files; touches nothing."""
    from .commands import select_packages

    config = config or load_config(root)
    pr = load_project(config.root, config=config)
    select_packages(pr, [package])
    if has_errors(pr.diagnostics):
        return Result(diagnostics=pr.diagnostics)
    pkg = pr.project.package(package)
    assert pkg is not None
    if fmt == "prisma":
        from .prisma import render_prisma

        text = render_prisma(pr.project, only={package})
    else:
        from .sql import render_create

        text = render_create([(pkg.namespace, pkg.owned_entities())])
    return Result(
        diagnostics=[d for d in pr.diagnostics if d.severity != "note"], data={"text": text}
    )


def _application_key(m: dict[str, Any]) -> tuple[int, str]:
    return (m.get("order", 0), m["id"])


def approved_in_order(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Approved migrations in application order: ``order`` is a registry-wide sequence that
    `scan` hands out in dependency order (ids from one scan share their timestamp)."""
    ms = [m for m in data["migrations"] if m["status"] == APPROVED]
    return sorted(ms, key=_application_key)


def status(root: Path, *, database_url: str | None = None) -> Result:
    from .deploy import status as _status

    return _status(root, database_url=database_url)


def apply(
    root: Path, *, database_url: str | None = None, dry_run: bool = False, lock_timeout: float = 60
) -> Result:
    from .deploy import apply as _apply

    return _apply(root, database_url=database_url, dry_run=dry_run, lock_timeout=lock_timeout)
