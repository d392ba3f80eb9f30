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
from .model import Entity, Field
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
    from .acl import hooks as acl_hooks

    p = pr.project.package(package)
    sums = {} if p is None else p.owned_checksums()
    return acl_hooks.current_sums(pr.config, pr.project, package, sums)


def security(pr: ProjectResult, package: str) -> dict[str, dict[str, Any]]:
    """Entity name -> compiled grants and policies ({} unless the ACL is enforced)."""
    from .acl import hooks as acl_hooks

    return acl_hooks.entry_data(pr.config, pr.project, package)


def owned(pr: ProjectResult, package: str) -> tuple[Entity, ...]:
    p = pr.project.package(package)
    return () if p is None else p.owned_entities()


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
    from .plan import PackageOps, order_migrations, plan_package

    when = now()
    with registry.transaction(config.registry_path, config.root, dry_run=dry_run) as reg:
        planned: list[tuple[str, dict[str, Any], list[Any]]] = []
        namespaces = {p.id: p.namespace for p in pr.project.packages}
        touched: list[dict[str, Any]] = []  # summaries of the migrations this scan queued
        for pkg in sorted({p.id for p in pr.project.packages} | set(reg.files)):
            base = reg.baseline(pkg)
            base_sums = entry_sums(base)
            sums = current_sums(pr, pkg)
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
            current = sorted(owned(pr, pkg), key=lambda e: e.name)
            ops = plan_package(baseline_entities(base), current, namespace=ns)
            from .acl import hooks as acl_hooks  # SPEC §13: grants and policies, planned too

            ops = acl_hooks.plan_ops(ops, base, config, pr.project, pkg, ns)
            _supersede(pending, when, result, "superseded by a newer plan")
            planned.append((pkg, base, ops))
        ordered = order_migrations([PackageOps(p, ops) for p, _, ops in planned])
        bases = {p: b for p, b, _ in planned}
        first = next_stamp(reg.newest_id(), when)
        ids = [new_id(first + timedelta(seconds=i), po.package) for i, po in enumerate(ordered)]

        def build(indexes: list[int], in_worker: bool) -> list[Any]:
            import orjson

            out = []
            for i in indexes:
                po = ordered[i]
                rec = _record(pr, po, bases[po.package], namespaces, ids[i], when)
                out.append(orjson.dumps(rec) if in_worker else rec)
            return out

        def finish(item: Any) -> Any:
            import orjson

            return orjson.loads(item)

        # rendering SQL is per package: spread over workers, whose records come back as JSON
        for rec in fork_map(len(ordered), build, finish=finish):
            reg.package(rec["package"])["migrations"].append(rec)
            touched.append(registry.summary(rec))
            flag = " (destructive)" if rec["destructive"] else ""
            result.messages.append(
                f"{rec['id']}: planned {len(rec['changes'])} change(s) for {rec['package']}{flag}"
            )
        result.migrations = touched
    if not planned and not result.messages:
        result.messages.append("no changes: every package matches its baseline or its plan")
    if dry_run:
        result.messages.append("dry run: registry not written")
    return result


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
    base: dict[str, Any],
    namespaces: dict[str, str],
    mid: str,
    when: datetime,
) -> dict[str, Any]:
    """The pending migration record of one package's planned operations."""
    from .sql import render_down, render_up

    target = {e.name: e for e in owned(pr, po.package)}
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
