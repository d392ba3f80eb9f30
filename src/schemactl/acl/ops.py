"""Plan operations of the ACL: roles, row-level security, grants, schema usage, policies.

They subclass :class:`schemactl.ops.Op`, so they reverse, serialise (``to_dict``) and
summarise (``op_summary``) like every other operation; :mod:`schemactl.sql.policies`
renders them.  None is destructive: a grant or a policy holds no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..ops import Op
from .state import Policy


@dataclass(frozen=True, slots=True)
class EnsureRoles(Op):
    """Creates the PostgreSQL roles that do not exist yet, NOLOGIN (roles are cluster-wide)."""

    locks_no_table: ClassVar[bool] = True  # schema-wide: no table lock header

    roles: tuple[str, ...]

    @property
    def name(self) -> str:
        return ", ".join(self.roles)

    def reverse(self) -> Op:
        return KeepRoles(self.roles)


@dataclass(frozen=True, slots=True)
class KeepRoles(Op):
    """The reverse of EnsureRoles: nothing (another database of the cluster may use them)."""

    locks_no_table: ClassVar[bool] = True  # schema-wide: no table lock header

    roles: tuple[str, ...]

    @property
    def name(self) -> str:
        return ", ".join(self.roles)

    def reverse(self) -> Op:
        return EnsureRoles(self.roles)


@dataclass(frozen=True, slots=True)
class EnableRls(Op):
    """REVOKE ALL FROM PUBLIC, ENABLE and FORCE ROW LEVEL SECURITY."""

    namespace: str
    table: str

    def reverse(self) -> Op:
        return DisableRls(self.namespace, self.table)


@dataclass(frozen=True, slots=True)
class DisableRls(Op):
    namespace: str
    table: str

    def reverse(self) -> Op:
        return EnableRls(self.namespace, self.table)


@dataclass(frozen=True, slots=True)
class GrantTable(Op):
    namespace: str
    table: str
    role: str
    privilege: str

    @property
    def name(self) -> str:
        return f"{self.privilege} to {self.role}"

    def reverse(self) -> Op:
        return RevokeTable(self.namespace, self.table, self.role, self.privilege)


@dataclass(frozen=True, slots=True)
class RevokeTable(Op):
    namespace: str
    table: str
    role: str
    privilege: str

    @property
    def name(self) -> str:
        return f"{self.privilege} from {self.role}"

    def reverse(self) -> Op:
        return GrantTable(self.namespace, self.table, self.role, self.privilege)


@dataclass(frozen=True, slots=True)
class GrantUsage(Op):
    locks_no_table: ClassVar[bool] = True  # schema-wide: no table lock header
    namespace: str
    role: str

    @property
    def name(self) -> str:
        return f"USAGE to {self.role}"

    def reverse(self) -> Op:
        return RevokeUsage(self.namespace, self.role)


@dataclass(frozen=True, slots=True)
class RevokeUsage(Op):
    locks_no_table: ClassVar[bool] = True  # schema-wide: no table lock header
    namespace: str
    role: str

    @property
    def name(self) -> str:
        return f"USAGE from {self.role}"

    def reverse(self) -> Op:
        return GrantUsage(self.namespace, self.role)


@dataclass(frozen=True, slots=True)
class CreatePolicy(Op):
    namespace: str
    table: str
    policy: Policy

    @property
    def name(self) -> str:
        return self.policy.name

    def reverse(self) -> Op:
        return DropPolicy(self.namespace, self.table, self.policy)


@dataclass(frozen=True, slots=True)
class DropPolicy(Op):
    namespace: str
    table: str
    policy: Policy

    @property
    def name(self) -> str:
        return self.policy.name

    def reverse(self) -> Op:
        return CreatePolicy(self.namespace, self.table, self.policy)


@dataclass(frozen=True, slots=True)
class AlterPolicy(Op):
    """Same name, command and kind; new roles and/or expressions."""

    namespace: str
    table: str
    old: Policy
    new: Policy

    def reverse(self) -> Op:
        return AlterPolicy(self.namespace, self.table, self.new, self.old)


ACL_OPS = (EnsureRoles, KeepRoles, EnableRls, DisableRls, GrantTable, RevokeTable,
           GrantUsage, RevokeUsage, CreatePolicy, DropPolicy, AlterPolicy)  # fmt: skip
