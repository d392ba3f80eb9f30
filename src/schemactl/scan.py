"""`scan`: validate, then plan at most one pending migration per changed package (SPEC §7).

Per package, the plan is the difference between its registry baseline and its files.  A
newer plan supersedes the pending one; a package back at its baseline loses it; a plan
equal to a rejected one is not queued again; scanning twice with no change writes nothing,
and a scan that changes one package writes only that package's registry file.

Ids are ``<YYYYMMDDHHMMSS>_<packageId>`` and sort in application order across the whole
project: one scan's migrations are one second apart in dependency order, starting now or
one second after the newest id the registry already holds, whichever is later.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import registry
from .commands import Result, packages_json
from .config import Config, load_config
from .diagnostics import Diagnostic, has_errors
from .model import Entity, Field, LazyEntities
from .parallel import fork_map
from .project import ProjectResult, load_project
from .registry import PENDING, REJECTED, SUPERSEDED, state_of
from .registry.records import entry_sums
from .serialize import entity_from_data, to_data

STAMP = "%Y%m%d%H%M%S"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def current_sums(pr: ProjectResult, package: str) -> dict[str, str]:
    """The package's entities' checksums, with their enforced ACL folded in (SPEC §13)."""
    p = pr.project.package(package)
    sums = {} if p is None else p.owned_checksums()
    if not pr.config.acl.enforce:
        return sums
    from .acl import hooks as acl_hooks

    return acl_hooks.current_sums(pr.config, pr.project, package, sums)


def security(pr: ProjectResult, package: str) -> dict[str, dict[str, Any]]:
    """Entity name -> compiled grants and policies ({} unless the ACL is enforced)."""
    from .acl import hooks as acl_hooks

    return acl_hooks.entry_data(pr.config, pr.project, package)


def owned(pr: ProjectResult, package: str) -> tuple[Entity, ...]:
    """A package's owned entities, built for this use only when they are not loaded (a
    scan reads each package once or twice, and need not hold them all)."""
    p = pr.project.package(package)
    if p is None:
        return ()
    names = set(p.owned)
    ents = p.entities.build() if isinstance(p.entities, LazyEntities) else p.entities
    return tuple(e for e in ents if e.name in names)


def baseline_entities(base: dict[str, dict[str, Any]]) -> list[Entity]:
    return [entity_from_data(v["definition"]) for _, v in sorted(base.items())]


def scan(root: Path, *, dry_run: bool = False, config: Config | None = None) -> Result:
    """Validate; then plan at most one pending migration per changed package."""
    config = config or load_config(root)
    pr = load_project(config.root, config=config)
    result = Result(diagnostics=list(pr.diagnostics), packages=packages_json(pr.project))
    if has_errors(pr.diagnostics):
        result.migrations = []
        result.messages.append("validation failed: nothing planned, registry unchanged")
        return result
    when = now()
    with registry.transaction(config.registry_path, config.root, dry_run=dry_run) as reg:
        todo: list[str] = []  # the packages to plan, in packageId order
        namespaces = {p.id: p.namespace for p in pr.project.packages}
        touched: list[dict[str, Any]] = []  # summaries of the migrations this scan queued
        for pkg in sorted({p.id for p in pr.project.packages} | set(reg.packages())):
            sums = current_sums(pr, pkg)
            brief = reg.brief(pkg)  # what the registry file holds, when known unparsed
            if brief is not None and brief[0] == sums and all(r[1] != PENDING for r in brief[1]):
                continue  # at its baseline, nothing pending: the file is not even parsed
            base = reg.baseline(pkg)
            base_sums = entry_sums(base)
            pending = [m for m in reg.records(pkg) if m["status"] == PENDING]
            if base_sums == sums:
                _supersede(pending, when, result, f"{pkg} is back at its baseline")
                continue
            state, base_state = state_of(sums), state_of(base_sums)
            same = [
                m for m in pending if (m["target_state"], m["base_state"]) == (state, base_state)
            ]
            if same:
                touched.extend(registry.summary(m) for m in same)
                continue
            rejected = [
                m
                for m in reg.records(pkg)
                if m["status"] == REJECTED
                and (m["target_state"], m["base_state"]) == (state, base_state)
            ]
            if rejected:
                result.diagnostics.append(_rejected_again(pr, pkg, rejected[-1]))
                _supersede(pending, when, result, None)
                continue
            ns = namespaces.get(pkg) or next(
                (v["definition"]["namespace"] for v in base.values()), pkg
            )
            namespaces[pkg] = ns  # a package whose files are gone keeps its old schema
            _supersede(pending, when, result, "superseded by a newer plan")
            todo.append(pkg)
        summaries = _plan_and_record(pr, reg, todo, namespaces, when, stage=not dry_run)
        for s in summaries:
            touched.append(s)
            flag = " (destructive)" if s["destructive"] else ""
            result.messages.append(
                f"{s['id']}: planned {len(s['changes'])} change(s) for {s['package']}{flag}"
            )
        result.migrations = touched
    if not todo and not result.messages:
        result.messages.append("no changes: every package matches its baseline or its plan")
    if dry_run:
        result.messages.append("dry run: registry not written")
    return result


def _plan_and_record(
    pr: ProjectResult,
    reg: registry.Registry,
    todo: list[str],
    namespaces: dict[str, str],
    when: datetime,
    *,
    stage: bool,
) -> list[dict[str, Any]]:
    """Plan ``todo``'s migrations, order them, give them ids, render their SQL and add
    their records to the registry; a summary of each, in application order.

    In two passes over worker processes, so that no process holds every package's
    entities, operations and records at once (a first scan of 10,000 packages): the
    first plans each package and keeps only what ordering needs (``plan.footprint``); the
    second plans each package again (a cycle's packages together), renders it and, unless
    ``stage`` is off (a dry run), writes its registry file to a staged temporary
    (``Registry.stage``), handing back only the record's summary."""
    import orjson

    from .acl import hooks as acl_hooks
    from .plan import PackageOps, break_cycle, footprint, migration_order, plan_package

    def plan_of(pkg: str, current: tuple[Entity, ...]) -> list[Any]:
        entries, ns = reg.baseline(pkg), namespaces[pkg]
        base = baseline_entities(entries)
        ops = plan_package(base, sorted(current, key=lambda e: e.name), namespace=ns)
        # SPEC §13: grants and policies, planned like columns
        return acl_hooks.plan_ops(ops, entries, pr.config, pr.project, pkg, ns)

    def footprints(indexes: list[int], in_worker: bool) -> list[Any]:
        return [footprint(plan_of(todo[i], owned(pr, todo[i]))) for i in indexes]

    fps: list[Any] = [_created(pr, pkg) if not reg.baseline(pkg) else None for pkg in todo]
    rest = [i for i, fp in enumerate(fps) if fp is None]
    for i, fp in zip(
        rest, fork_map(len(rest), lambda ix, w: footprints([rest[k] for k in ix], w)), strict=True
    ):
        fps[i] = fp
    order = migration_order(fps)
    flat = [i for group in order.groups for i in group]
    first = next_stamp(reg.newest_id(), when)
    ids = {i: new_id(first + timedelta(seconds=k), todo[i]) for k, i in enumerate(flat)}

    def build(indexes: list[int], in_worker: bool) -> list[Any]:
        out: list[Any] = []
        for g in indexes:
            members = order.groups[g]
            current = {i: owned(pr, todo[i]) for i in members}
            items = {i: PackageOps(todo[i], plan_of(todo[i], current[i])) for i in members}
            if len(members) > 1:
                break_cycle(items, members, order.creates, order.drops)
            done: list[Any] = []
            for i in members:
                pkg = todo[i]
                rec = _record(pr, items[i], current[i], reg.baseline(pkg), namespaces, ids[i], when)
                summary = registry.summary(rec)
                if stage:
                    reg.package(pkg)["migrations"].append(rec)
                    done.append((pkg, reg.stage(pkg), summary, None))
                else:
                    done.append((pkg, None, summary, rec))
            out.append(orjson.dumps(done) if in_worker else done)
        return out

    out: list[dict[str, Any]] = []
    done: list[Any]
    # a worker's staged files are fsynced before it ends; this process's before renaming
    for done in fork_map(len(order.groups), build, finish=orjson.loads, worker_done=reg.synced):
        for pkg, tmp, summary, rec in done:
            if tmp is not None:
                reg.adopt(pkg, tmp)
            else:
                reg.package(pkg)["migrations"].append(rec)
            out.append(summary)
    return out


def _created(pr: ProjectResult, pkg: str) -> Any:
    """The ``plan.footprint`` of a package's first migration (against an empty baseline:
    it creates each owned table and adds each foreign key), from the package's summary,
    without building its entities."""
    from .plan import Footprint

    p = pr.project.package(pkg)
    if p is None:
        return Footprint((), (), (), ())
    owned = set(p.owned)
    creates = tuple((p.namespace, t) for n, t, _ in p.entity_summary() if n in owned)
    return Footprint(creates, (), p.references(), ())


def _supersede(
    pending: list[dict[str, Any]], when: datetime, result: Result, why: str | None
) -> None:
    for m in pending:
        m["status"] = SUPERSEDED
        m["superseded_at"] = when.isoformat()
        if why:
            result.messages.append(f"{m['id']}: superseded ({why})")


def _rejected_again(pr: ProjectResult, pkg: str, m: dict[str, Any]) -> Diagnostic:
    p = pr.project.package(pkg)
    return Diagnostic(
        "warning",
        "SC603",
        f"package {pkg}: this plan was rejected as {m['id']}"
        + (f" ({m.get('reason')})" if m.get("reason") else "")
        + "; not queued again",
        p.file if p is not None else None,
        package=pkg,
        hint="change the entities, or revert them to the baseline",
    )


def next_stamp(newest: str | None, when: datetime) -> datetime:
    """Now, or one second after the newest existing id when that is not earlier (two scans
    in one second, a clock behind another machine's), so that ids sort in creation order."""
    if newest is not None:
        try:
            last = datetime.strptime(newest[:14], STAMP).replace(tzinfo=UTC)
        except ValueError:
            return when
        if last >= when:
            return last + timedelta(seconds=1)
    return when


def new_id(stamp: datetime, package: str) -> str:
    return f"{stamp.strftime(STAMP)}_{package}"


# ----------------------------------------------------------------------------- records


def _record(
    pr: ProjectResult,
    po: Any,
    current: tuple[Entity, ...],
    base: dict[str, Any],
    namespaces: dict[str, str],
    mid: str,
    when: datetime,
) -> dict[str, Any]:
    """The pending migration record of one package's planned operations."""
    from .sql import render_down, render_up

    target = {e.name: e for e in current}
    sums = current_sums(pr, po.package)
    up, down = render_up(po.ops), render_down(po.ops)
    if pr.config.citus is not None:  # SPEC §15: Citus distribution statements
        from .citus import migration_sql

        up, down = migration_sql(po.ops, pr.config.citus, po.package)
    reasons = sorted({op.reason for op in po.ops if op.destructive and op.reason})
    return {
        "id": mid,
        "package": po.package,
        "namespace": namespaces.get(po.package, po.package),
        "status": PENDING,
        "created_at": when.isoformat(),
        "changes": changes(base, target, sums),
        "ops": [op_summary(op) for op in po.ops],
        "destructive": bool(reasons),
        "destructive_reasons": reasons,
        "sql": {"up": up, "down": down},
        "sql_checksum": registry.sql_checksum(up, down),
        "base_state": state_of(entry_sums(base)),
        "target_state": state_of(sums),
    }


def changes(
    base: dict[str, Any], target: dict[str, Entity], sums: dict[str, str]
) -> list[dict[str, Any]]:
    """What a migration changes, entity by entity; ``sums`` are the target's effective sums
    (a change of grants or policies alone is an ``alter`` with equal checksums)."""
    out = []
    before = entry_sums(base)
    for name in sorted(set(base) | set(target)):
        b, t = base.get(name), target.get(name)
        if b is None:
            action = "create"
        elif t is None:
            action = "drop"
        elif before[name] == sums[name]:
            continue
        elif b["definition"]["table"] != t.table:
            action = "rename"
        else:
            action = "alter"
        out.append(
            {
                "entity": name,
                "action": action,
                "from": b["checksum"] if b else None,
                "to": t.checksum if t else None,
            }
        )
    return out


def baseline_entry(e: Entity, mid: str, sec: dict[str, Any] | None = None) -> dict[str, Any]:
    entry = {"checksum": e.checksum, "definition": to_data(e), "migration": mid}
    if sec:
        entry["security"] = sec
    return entry


def op_summary(op: Any) -> dict[str, Any]:
    """A short, reviewable description of one operation for the registry record: the SQL
    is what gets approved; the summary says what it does in a line."""
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
