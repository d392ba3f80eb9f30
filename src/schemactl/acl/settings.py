"""The ``[acl]`` table of schemactl.toml (SPEC §13): parsed and checked into ``AclConfig``.

Keys: ``enforce``, ``roles``, ``row_roles``, ``tenant_field``, ``tenant_setting``,
``user_setting``, ``owner_fields``, ``cross_tenant``.  Errors are ``ConfigError`` (exit 2)
with codes SC800-SC809.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..diagnostics import did_you_mean
from ..errors import ConfigError

ACL_KEYS = (
    "enforce",
    "roles",
    "row_roles",
    "tenant_field",
    "tenant_setting",
    "user_setting",
    "owner_fields",
    "cross_tenant",
)
ROW_ROLE_KEYS = ("role", "when")
PG_ROLE_RE = re.compile(r"[a-z_][a-z0-9_]*\Z")
SETTING_RE = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\Z")
ACL_ROLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*\Z")
FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# ACL role names with a built-in meaning: `owner`/`self` are the `user` role on owned rows.
BUILTIN = ("none", "owner", "self")


@dataclass(frozen=True, slots=True)
class RowRole:
    """``[acl.row_roles.<name>]``: the base role (an ACL role or another row role) plus a
    row condition written in the expression language."""

    name: str
    role: str
    when: str


@dataclass(frozen=True, slots=True)
class AclConfig:
    enforce: bool = False
    roles: tuple[tuple[str, str], ...] = ()  # ACL role -> PostgreSQL role, sorted
    row_roles: tuple[RowRole, ...] = ()
    tenant_field: str = "tenantId"
    tenant_setting: str = "app.tenant_id"
    user_setting: str = "app.user_id"
    owner_fields: tuple[str, ...] = ("userId", "ownerId", "createdBy", "authorId")
    cross_tenant: tuple[str, ...] = ()
    source: str | None = None  # the config file, for messages

    def pg_role(self, acl_role: str) -> str | None:
        for k, v in self.roles:
            if k == acl_role:
                return v
        return None

    def row_role(self, name: str) -> RowRole | None:
        for r in self.row_roles:
            if r.name == name:
                return r
        return None

    def known_roles(self) -> list[str]:
        return sorted({k for k, _ in self.roles} | {r.name for r in self.row_roles} | set(BUILTIN))


def _err(
    source: str, key: str, msg: str, hint: str | None = None, code: str = "SC801"
) -> ConfigError:
    return ConfigError(f"{source}: 'acl.{key}' {msg}", hint=hint, code=code)


def parse_acl(source: str, raw: Any) -> AclConfig:
    """The ``[acl]`` table; raises ``ConfigError`` naming the key on any problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: 'acl' must be a table: [acl]", code="SC801")
    for k in raw:
        if k not in ACL_KEYS:
            guess = did_you_mean(k, ACL_KEYS)
            raise ConfigError(
                f"{source}: unknown key 'acl.{k}'",
                hint=f"did you mean 'acl.{guess}'?" if guess else f"allowed: {', '.join(ACL_KEYS)}",
                code="SC800",
            )
    kw: dict[str, Any] = {"source": source}
    enforce = raw.get("enforce", False)
    if not isinstance(enforce, bool):
        raise _err(source, "enforce", "must be true or false")
    kw["enforce"] = enforce
    for key, pattern, example in (
        ("tenant_field", FIELD_RE, '"tenantId"'),
        ("tenant_setting", SETTING_RE, '"app.tenant_id"'),
        ("user_setting", SETTING_RE, '"app.user_id"'),
    ):
        if key in raw:
            v = raw[key]
            if not isinstance(v, str) or not pattern.match(v):
                what = "a field name" if key == "tenant_field" else "a setting name with a prefix"
                raise _err(source, key, f"must be {what}", f"e.g. {example}")
            kw[key] = v
    if "owner_fields" in raw:
        v = raw["owner_fields"]
        if not isinstance(v, list) or not all(isinstance(x, str) and FIELD_RE.match(x) for x in v):
            raise _err(source, "owner_fields", "must be a list of field names")
        kw["owner_fields"] = tuple(v)
    roles = raw.get("roles", {})
    if not isinstance(roles, dict):
        raise _err(source, "roles", "must be a table: ACL role = PostgreSQL role")
    for acl_role, pg in roles.items():
        if not ACL_ROLE_RE.match(acl_role) or acl_role in BUILTIN:
            why = "has a built-in meaning" if acl_role in BUILTIN else "is not a role name"
            raise _err(source, f"roles.{acl_role}", why,
                       "owner and self are the `user` role on owned rows; none grants nothing",
                       code="SC802")  # fmt: skip
        if not isinstance(pg, str) or not PG_ROLE_RE.match(pg) or len(pg.encode()) > 63:
            raise _err(source, f"roles.{acl_role}",
                       "must be a PostgreSQL role name (lower-case identifier, at most 63 bytes)",
                       code="SC802")  # fmt: skip
        if pg == "public" or pg.startswith("pg_"):
            raise _err(source, f"roles.{acl_role}", f"maps to the reserved role {pg!r}",
                       "PUBLIC is every role: map `public` to an anonymous role such as app_anon",
                       code="SC802")  # fmt: skip
    kw["roles"] = tuple(sorted(roles.items()))
    if enforce and not roles:
        raise _err(source, "roles", "is required when acl.enforce = true",
                   'e.g. [acl.roles] user = "app_user"', code="SC803")  # fmt: skip
    rr = raw.get("row_roles", {})
    if not isinstance(rr, dict):
        raise _err(source, "row_roles", "must be a table of tables: [acl.row_roles.NAME]")
    row_roles = []
    for name, spec in sorted(rr.items()):
        if not isinstance(spec, dict):
            raise _err(source, f"row_roles.{name}", "must be a table with role and when")
        for k in spec:
            if k not in ROW_ROLE_KEYS:
                guess = did_you_mean(k, ROW_ROLE_KEYS)
                raise ConfigError(
                    f"{source}: unknown key 'acl.row_roles.{name}.{k}'",
                    hint=f"did you mean '{guess}'?" if guess else "allowed: role, when",
                    code="SC800",
                )
        if not ACL_ROLE_RE.match(name) or name in BUILTIN or name in roles:
            raise _err(source, f"row_roles.{name}", "must be a new role name", code="SC804")
        base, when = spec.get("role"), spec.get("when")
        if not isinstance(base, str) or not base:
            raise _err(source, f"row_roles.{name}.role", "is required: the role it narrows",
                       code="SC804")  # fmt: skip
        if not isinstance(when, str) or not when.strip():
            raise _err(source, f"row_roles.{name}.when", "is required: a row condition",
                       'e.g. when = "isPublic = true"', code="SC804")  # fmt: skip
        row_roles.append(RowRole(name, base, when))
    kw["row_roles"] = tuple(row_roles)
    cfg_probe = AclConfig(roles=kw["roles"], row_roles=kw["row_roles"])
    for r in row_roles:
        _root_of(source, cfg_probe, r.name)
    ct = raw.get("cross_tenant", [])
    if not isinstance(ct, list) or not all(isinstance(x, str) for x in ct):
        raise _err(source, "cross_tenant", "must be a list of ACL role names")
    for x in ct:
        if cfg_probe.pg_role(x) is None and cfg_probe.row_role(x) is None:
            guess = did_you_mean(x, cfg_probe.known_roles())
            raise _err(source, "cross_tenant", f"names {x!r}, which is not an ACL role here",
                       f"did you mean {guess!r}?" if guess else "list roles of [acl.roles]",
                       code="SC805")  # fmt: skip
    kw["cross_tenant"] = tuple(sorted(set(ct)))
    return AclConfig(**kw)


def _root_of(source: str, cfg: AclConfig, name: str) -> str:
    """Follow a row role to the ACL role it is based on; a loop or a dead end is an error."""
    seen = [name]
    cur = cfg.row_role(name)
    while cur is not None:
        nxt = cur.role
        if nxt in seen:
            chain = " -> ".join([*seen, nxt])
            raise _err(source, f"row_roles.{name}.role", f"loops: {chain}",
                       "base the chain on a role of [acl.roles]", code="SC804")  # fmt: skip
        seen.append(nxt)
        if cfg.pg_role(nxt) is not None:
            return nxt
        cur = cfg.row_role(nxt)
    last = seen[-1]
    guess = did_you_mean(last, cfg.known_roles())
    raise _err(source, f"row_roles.{seen[-2] if len(seen) > 1 else name}.role",
               f"names {last!r}, which is neither a role of [acl.roles] nor a row role",
               f"did you mean {guess!r}?" if guess else None, code="SC804")  # fmt: skip


def row_role_chain(cfg: AclConfig, name: str) -> tuple[str, list[RowRole]]:
    """The ACL role a row role rests on and the row roles passed on the way (outermost first)."""
    chain: list[RowRole] = []
    cur = cfg.row_role(name)
    while cur is not None:
        chain.append(cur)
        if cfg.pg_role(cur.role) is not None:
            return cur.role, chain
        cur = cfg.row_role(cur.role)
    raise ValueError(name)  # parse_acl has proven every chain ends in a role
