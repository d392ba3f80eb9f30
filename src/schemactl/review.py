"""Reviewing the queue: `list`, `show`, `approve` and `reject` (SPEC §7, §10).

Approval approves exactly the stored SQL and moves the package's baseline to the planned
state, taken from the package's files (which must still be what was planned: a package
that changed since is stale).  It refuses destructive plans without the flag (SC605), an
entity still owned by another package's baseline (SC607) and a foreign key to a table of
another package that is not approved (SC608).
"""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path
from typing import Any

from . import registry
from .commands import Result
from .config import Config, load_config
from .diagnostics import Diagnostic, has_errors
from .errors import UsageError
from .project import ProjectResult, load_project
from .registry import APPROVED, PENDING, REJECTED, Registry, seal, state_of
from .registry.records import entry_sums
from .scan import baseline_entry, current_sums, now, owned, security


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


# ----------------------------------------------------------------------------- list/show


def list_migrations(root: Path, *, all_: bool = False) -> Result:
    config = load_config(root)
    reg = registry.read(config)
    ms = [m for m in reg.all_records() if all_ or m["status"] == PENDING]
    lines = []
    width = max((len(m["id"]) for m in ms), default=0)
    for m in ms:
        flag = " DESTRUCTIVE" if m["destructive"] else ""
        ents = ", ".join(f"{c['action']} {c['entity']}" for c in m["changes"])
        lines.append(f"{m['id']:<{width}}  {m['status']:<10} {m['package']}{flag}: {ents}")
    if not ms:
        lines.append("no pending migrations" if not all_ else "no migrations")
    # signed approvals (approval.py): each signature's principal, fingerprint and validity,
    # beside `migrations` (whose items keep the SPEC §10 shape), one item per migration
    from . import approval

    signed = approval.describe(config, ms)
    for i, info in enumerate(signed):
        if info["signatures"] or info["signers_needed"]:
            lines[i] += approval.list_suffix(info)
    return Result(
        migrations=[registry.summary(m) for m in ms],
        messages=lines,
        data={"approvals": [{"id": m["id"]} | info for m, info in zip(ms, signed, strict=True)]},
    )


def show(root: Path, mid: str) -> Result:
    config = load_config(root)
    reg = registry.read(config)
    m = reg.find(mid)
    lines = [
        f"migration {m['id']}",
        f"  package:     {m['package']} (schema {m.get('namespace', m['package'])})",
        f"  status:      {m['status']}",
        f"  created at:  {m['created_at']}",
    ]
    for k in ("approved_by", "approved_at", "rejected_by", "rejected_at", "reason"):
        if m.get(k):
            lines.append(f"  {k.replace('_', ' ') + ':':<13}{m[k]}")
    if m.get("renamed_from"):
        lines.append(f"  renamed from: {', '.join(m['renamed_from'])}")
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
    from . import approval  # signed approvals: signatures, validity, how many are needed

    signed = approval.describe(config, [m])[0]
    lines += approval.describe_lines(signed)
    text = "\n".join(lines) + "\n\n-- up\n" + m["sql"]["up"] + "\n-- down\n" + m["sql"]["down"]
    # `migrations` items keep the SPEC §10 shape; the full record goes under `migration`
    detail = (
        registry.summary(m)
        | {
            "namespace": m.get("namespace", m["package"]),
            "created_at": m["created_at"],
            "rejected_by": m.get("rejected_by"),
            "rejected_at": m.get("rejected_at"),
            "reason": m.get("reason"),
            "destructive_reasons": m.get("destructive_reasons", []),
            "renamed_from": m.get("renamed_from", []),
            "ops": m["ops"],
            "sql": m["sql"],
            "sql_checksum": m["sql_checksum"],
        }
        | signed
    )
    return Result(migrations=[registry.summary(m)], data={"migration": detail, "text": text})


# ----------------------------------------------------------------------------- approve


def approve(
    root: Path,
    ids: list[str],
    *,
    by: str | None = None,
    allow_destructive: bool = False,
    config: Config | None = None,
    sign: bool = False,
    key: str | None = None,
) -> Result:
    config = config or load_config(root)
    if not ids:
        raise UsageError("name migration ids, or `all`")
    actor = by or default_actor(config.root)
    from .approval import ApproveGate  # signed approvals (SPEC §14)

    gate = ApproveGate(config, sign=sign, key=key, actor=actor)
    pr = load_project(config.root, config=config)
    result = Result()
    with registry.transaction(config.registry_path, config.root) as reg:
        if ids == ["all"]:
            targets = [m for m in reg.all_records() if m["status"] == PENDING]
            if not targets:
                result.messages.append("nothing to approve: no pending migrations")
        else:
            targets = [reg.find(i) for i in ids]
        targets = gate.sign_approved(targets, result)  # --sign on approved: adds a signature
        approved: list[dict[str, Any]] = []
        queue, blocked = _dependencies_met(targets, reg, pr, allow_destructive)
        result.diagnostics.extend(blocked)
        while queue:
            # An entity moving between packages: the migration that drops it from its old
            # package goes first (SC607 waits for it), whatever order the ids came in.
            waiting: list[tuple[dict[str, Any], Diagnostic]] = []
            for m in queue:
                problem = _approval_problem(m, reg, pr, allow_destructive)
                if problem is not None:
                    if problem.code == "SC607":
                        waiting.append((m, problem))
                    else:
                        result.diagnostics.append(problem)
                    continue
                if not gate.admit(m, result):  # signs with --sign; False: needs more signers
                    continue
                _approve_one(m, reg, pr, actor)
                approved.append(m)
                result.messages.append(f"{m['id']}: approved by {actor}")
            if len(waiting) == len(queue):
                result.diagnostics.extend(p for _, p in waiting)
                break
            queue = [m for m, _ in waiting]
        result.migrations = [registry.summary(m) for m in approved]
    return result


def _dependencies_met(
    batch: list[dict[str, Any]], reg: Registry, pr: ProjectResult, allow_destructive: bool
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
            if (p := _approval_problem(m, reg, pr, allow_destructive)) is None or p.code == "SC607"
        ]
        coming = {e.name for m in fine for e in owned(pr, m["package"])}
        blocked = []
        for m in batch:
            need = _missing_dependency(m, reg, pr, coming)
            if need is not None:
                blocked.append(m)
                out.append(need)
        if not blocked:
            return batch, out
        batch = [m for m in batch if m not in blocked]


def _missing_dependency(
    m: dict[str, Any], reg: Registry, pr: ProjectResult, coming: set[str]
) -> Diagnostic | None:
    if m["status"] != PENDING:
        return None
    for e in owned(pr, m["package"]):
        for fk in e.foreign_keys:
            ref, ref_pkg = fk.ref_entity, fk.ref_package
            if not ref_pkg or ref_pkg == m["package"] or ref in coming:
                continue
            if ref in reg.baseline(ref_pkg):
                continue
            waiting = [
                x["id"]
                for x in reg.records(ref_pkg)
                if x["status"] == PENDING and ref in registry.records.created(x)
            ]
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


def _approve_one(m: dict[str, Any], reg: Registry, pr: ProjectResult, actor: str) -> None:
    m["status"] = APPROVED
    m["approved_by"] = actor
    m["approved_at"] = now().isoformat()
    seal(m)
    base = reg.package(m["package"])["baseline"]
    target = {e.name: e for e in owned(pr, m["package"])}
    sec = security(pr, m["package"])
    for c in m["changes"]:
        name = c["entity"]
        if c["action"] == "drop":
            base.pop(name, None)
        else:
            base[name] = baseline_entry(target[name], m["id"], sec.get(name))


def _approval_problem(
    m: dict[str, Any], reg: Registry, pr: ProjectResult, allow_destructive: bool
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
    current = state_of(current_sums(pr, pkg))
    base_now = state_of(entry_sums(reg.baseline(pkg)))
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
    for name in sorted(e.name for e in owned(pr, pkg)):
        owner = reg.owner_of(name)
        if owner is not None and owner != pkg:
            # Taking the entity over now would make the old package's drop stale: its table
            # would never be dropped.
            drops = [
                x["id"]
                for x in reg.records(owner)
                if x["status"] == PENDING and name in registry.records.dropped(x)
            ]
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


# ----------------------------------------------------------------------------- reject


def reject(root: Path, mid: str, *, by: str | None = None, reason: str | None = None) -> Result:
    config = load_config(root)
    actor = by or default_actor(config.root)
    result = Result()
    with registry.transaction(config.registry_path, config.root) as reg:
        m = reg.find(mid)
        if m["status"] != PENDING:
            raise UsageError(f"{mid} is {m['status']}; only pending migrations can be rejected")
        m["status"] = REJECTED
        m["rejected_by"] = actor
        m["rejected_at"] = now().isoformat()
        if reason:
            m["reason"] = reason
        seal(m)
        result.messages.append(f"{mid}: rejected by {actor}")
        result.migrations = [registry.summary(m)]
    return result
