"""Whether a registry is what schemactl wrote and approved (`check`, `generate`, `apply`).

Per package file:

- every approved or rejected record still matches its seal (SC602: edited by hand);
- the approved records, in id order, form one chain: each starts from the state the one
  before it left (``base_state`` = previous ``target_state``, the first from the empty
  state), and the baseline is the state the last one left.  A break means the file mixes
  two histories of the package, which a merge that git resolved silently can produce
  (SC612, naming the package);
- every baseline entry comes from an approved record of the package that set the entity
  to exactly that checksum (SC602).
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostic
from .records import APPROVED, EMPTY_STATE, REJECTED, entry_sums, state_of, tampered
from .store import Registry


def problems(reg: Registry) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for pkg in reg.packages():
        out += package_problems(reg, pkg)
    return out


def tampered_record(reg: Registry, m: dict[str, Any], more: str = "") -> Diagnostic:
    rel = reg.file_of(m["package"])
    return Diagnostic(
        "error",
        "SC602",
        f"migration {m['id']} was edited by hand since it was {m['status']}{more}",
        rel,
        package=m["package"],
        hint=f"restore {rel} from git",
    )


def package_problems(reg: Registry, pkg: str) -> list[Diagnostic]:
    rel = reg.file_of(pkg)
    out: list[Diagnostic] = []
    records = sorted(reg.records(pkg), key=lambda m: m["id"])
    for m in records:
        if m["status"] in (APPROVED, REJECTED) and tampered(m):
            out.append(tampered_record(reg, m))
    approved = [m for m in records if m["status"] == APPROVED]
    ids = [m["id"] for m in records]
    state, breaks = EMPTY_STATE, sorted({i for i in ids if ids.count(i) > 1})
    for m in approved:
        if m["base_state"] != state:
            breaks.append(m["id"])
        state = m["target_state"]
    baseline = reg.baseline(pkg)
    base_state = state_of(entry_sums(baseline))
    if breaks or base_state != state:
        where = f" (at {', '.join(breaks)})" if breaks else " (its baseline)"
        out.append(
            Diagnostic(
                "error",
                "SC612",
                f"the registry of package {pkg} mixes two histories{where}: its approved "
                "migrations do not follow one another",
                rel,
                package=pkg,
                hint=(
                    f"a merge combined two branches' changes to {pkg}: restore {rel} from one "
                    "branch (`git checkout <branch> -- " + rel + "`), then `schemactl scan` "
                    "and approve the other branch's change again"
                ),
            )
        )
    by_id = {m["id"]: m for m in approved}
    for name, entry in sorted(baseline.items()):
        src = by_id.get(entry["migration"])
        if src is None or not any(
            c["entity"] == name and c["to"] == entry["checksum"] for c in src["changes"]
        ):
            out.append(
                Diagnostic(
                    "error",
                    "SC602",
                    f"baseline of {name} does not come from an approved migration",
                    rel,
                    package=pkg,
                    entity=name,
                    hint=f"restore {rel} from git",
                )
            )
    return out
