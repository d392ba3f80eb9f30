"""The compiled security of one table: grants and policies, as frozen data.

Stored in the registry next to an entity's definition (``"security"`` of a baseline or
target entry, see :mod:`.hooks`) so that the planner can diff the approved state against
the current one, like columns.  Policy expressions are SQL text rendered by
:mod:`.compile`, never user text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    command: str  # SELECT INSERT UPDATE DELETE ALL
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    check: str | None


@dataclass(frozen=True, slots=True)
class TableSecurity:
    """What an enforced project makes PostgreSQL hold for one table."""

    namespace: str
    table: str
    grants: tuple[tuple[str, str], ...]  # (PostgreSQL role, privilege), sorted
    policies: tuple[Policy, ...]  # by name

    @property
    def roles(self) -> tuple[str, ...]:
        out = {r for r, _ in self.grants}
        for p in self.policies:
            out.update(p.roles)
        return tuple(sorted(out))

    def to_data(self) -> dict[str, object]:
        return {
            "grants": [list(g) for g in self.grants],
            "policies": [
                {"name": p.name, "command": p.command, "permissive": p.permissive,
                 "roles": list(p.roles), "using": p.using, "check": p.check}
                for p in self.policies
            ],
        }  # fmt: skip

    @staticmethod
    def from_data(namespace: str, table: str, d: dict[str, Any]) -> TableSecurity:
        grants = tuple((str(g[0]), str(g[1])) for g in d.get("grants", []))
        pols = tuple(
            Policy(p["name"], p["command"], bool(p["permissive"]), tuple(p["roles"]),
                   p.get("using"), p.get("check"))
            for p in d.get("policies", [])
        )  # fmt: skip
        return TableSecurity(namespace, table, grants, pols)
