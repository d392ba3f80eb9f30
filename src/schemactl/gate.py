"""`check`, the CI gate (SPEC §10): it fails on any error, on a package whose files differ
from its baseline with no matching plan, on a package gone from the files whose drop is
not planned, on a pending migration, and on a registry that is not what schemactl wrote
and approved (:mod:`schemactl.registry.integrity`).  ``--shadow`` also applies every
approved migration to a throwaway PostgreSQL and compares the catalog with the model.
"""

from __future__ import annotations

from pathlib import Path

from . import registry
from .commands import Result, packages_json
from .config import Config, load_config
from .diagnostics import Diagnostic, has_errors
from .project import load_project
from .registry import EMPTY_STATE, PENDING, integrity, state_of
from .registry.records import entry_sums
from .scan import current_sums


def check(
    root: Path,
    *,
    shadow: bool = False,
    config: Config | None = None,
    signers_from: str | None = None,
) -> Result:
    """The CI gate: any error, unscanned or unapproved changes, pending, tampering."""
    config = config or load_config(root)
    pr = load_project(config.root, config=config)
    reg = registry.read(config)
    diags = list(pr.diagnostics)
    from .editor import stale_copy  # SC880: the editor's copy of the JSON Schema is stale

    diags += stale_copy(config.root)
    on_disk = {p.id for p in pr.project.packages}
    if not has_errors(diags):
        for gone in sorted(set(reg.files) - on_disk):
            pending = [m for m in reg.records(gone) if m["status"] == PENDING]
            names = sorted(reg.baseline(gone))
            if names and not any(m["target_state"] == EMPTY_STATE for m in pending):
                diags.append(
                    Diagnostic(
                        "error",
                        "SC600",
                        f"package {gone} is gone from the files but its baseline has "
                        f"{', '.join(names)}; dropping them is not planned",
                        reg.file_of(gone),
                        package=gone,
                        hint="run `schemactl scan` and get the migration approved",
                    )
                )
            elif not names and not pending:
                kept = sum(1 for m in reg.records(gone) if m["status"] == registry.APPROVED)
                diags.append(
                    Diagnostic(
                        "note",
                        "SC613",
                        f"package {gone} no longer exists; its registry file keeps its "
                        f"history ({kept} approved migration(s), applied by `apply`)",
                        reg.file_of(gone),
                        package=gone,
                        hint="keep the file while databases may still need those migrations",
                    )
                )
        for p in pr.project.packages:
            base = entry_sums(reg.baseline(p.id))
            cur = current_sums(pr, p.id)
            if base == cur:
                continue
            state = state_of(cur)
            pend = [
                m
                for m in reg.records(p.id)
                if m["status"] == PENDING and m["target_state"] == state
            ]
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
    for m in reg.all_records():
        if m["status"] == PENDING:
            pkg = pr.project.package(m["package"])
            diags.append(
                Diagnostic(
                    "error",
                    "SC601",
                    f"migration {m['id']} ({m['package']}) is pending approval",
                    pkg.file if pkg else reg.file_of(m["package"]),
                    package=m["package"],
                    hint=f"an admin runs `schemactl approve {m['id']}` (or rejects it)",
                )
            )
    diags += integrity.problems(reg)
    from .approval import problems as signature_problems  # SPEC §14

    diags += signature_problems(config, reg.all_records(), signers_from=signers_from)
    if shadow and not has_errors(diags):
        from .deploy import shadow_check

        diags += shadow_check(config, pr, reg)
    diags.sort(key=Diagnostic.sort_key)
    res = Result(diagnostics=diags, packages=packages_json(pr.project))
    if not has_errors(diags):
        res.messages.append("check passed")
    return res
