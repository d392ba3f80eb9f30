"""The calls the rest of schemactl makes into the ACL, each one line at its call site.

- ``check_project``: compile every owned entity of an enforced project; problems become
  diagnostics at the file, line and column of the ACL entry (``load_project``).
- ``package_security`` / ``entry_data``: the compiled security of a package's current
  entities and its JSON form, stored as ``"security"`` in registry targets and baselines.
- ``effective_sum``: an entity's checksum with its security folded in, so that an ACL
  config change (or switching ``enforce``) is a change to plan, like a changed file.
- ``plan_ops``: the structural plan with the ACL operations around it.
- ``preview_sql``: the ACL statements of a fresh create, for ``preview``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..diagnostics import Diagnostic

if TYPE_CHECKING:
    from ..config import Config
    from ..model import Entity, External, Project
    from ..ops import Op
    from .state import TableSecurity

_MEMO: dict[int, tuple[Any, dict[str, Any]]] = {}


def _lookup(project: Project) -> Any:
    ext = {e.name: e for e in project.externals}
    owners: dict[str, Entity] = {}
    for p in project.packages:
        for e in p.owned_entities():
            owners.setdefault(e.name, e)

    def find(name: str) -> Entity | External | None:
        return owners.get(name) or ext.get(name)

    return find


def _compile_all(config: Config, project: Project) -> dict[str, Any]:
    """Entity name -> TableSecurity or AclCompileError, memoised per project object."""
    hit = _MEMO.get(id(project))
    if hit is not None and hit[0] is project:
        return hit[1]
    from .compile import AclCompileError, compile_entity

    find = _lookup(project)
    out: dict[str, Any] = {}
    for p in project.packages:
        for e in p.owned_entities():
            try:
                out[e.name] = compile_entity(e, config.acl, find)
            except AclCompileError as x:
                out[e.name] = x
    if len(_MEMO) > 8:
        _MEMO.clear()
    _MEMO[id(project)] = (project, out)
    return out


def check_project(config: Config, project: Project) -> list[Diagnostic]:
    from .compile import AclCompileError

    compiled = _compile_all(config, project)
    diags = []
    for p in project.packages:
        for e in p.owned_entities():
            x = compiled.get(e.name)
            if isinstance(x, AclCompileError):
                diags.append(_diagnostic(config.root, p.id, e, x))
    return diags


def _diagnostic(root: Path, package: str, e: Entity, x: Any) -> Diagnostic:
    file = e.loc.file or None
    line, col = e.loc.line or None, e.loc.column or None
    if file:
        # a position is a nicety: on any surprise the entity's own line stays
        with contextlib.suppress(OSError, KeyError, IndexError, ValueError, StopIteration,
                                 TypeError):  # fmt: skip
            line, col = _locate(root, file, e.name, x.path, x.offset)
    return Diagnostic("error", x.code, f"{e.name}: {x.message}", file, line, col,
                      package=package, entity=e.name, hint=x.hint)  # fmt: skip


def _locate(root: Path, file: str, name: str, path: tuple[str, ...],
            offset: int | None) -> tuple[int, int]:  # fmt: skip
    from ..load import load_file, position

    data = load_file(str(root / file), file).data
    ents = data["entities"]
    i = next(k for k, d in enumerate(ents) if isinstance(d, dict) and d.get("name") == name)
    steps: list[Any] = ["entities", i, *path[:2]]
    if len(path) == 3:  # a role in a role list
        roles = ents[i]["acl"][path[1]]
        steps.append(list(roles).index(path[2]))
    line, col = position(data, steps)
    if offset is not None and path[-1] == "rowLevel":
        text = (root / file).read_text(encoding="utf-8").splitlines()[line - 1]
        quoted = col - 1 < len(text) and text[col - 1] in "'\""
        col += offset + (1 if quoted else 0)
    return line, col


def package_security(config: Config, project: Project, package: str) -> dict[str, TableSecurity]:
    """Entity name -> security of the package's owned entities ({} when not enforced)."""
    if not config.acl.enforce:
        return {}
    compiled = _compile_all(config, project)
    p = project.package(package)
    if p is None:
        return {}
    from .state import TableSecurity

    return {
        e.name: compiled[e.name]
        for e in p.owned_entities()
        if isinstance(compiled.get(e.name), TableSecurity)
    }


def entry_data(config: Config, project: Project, package: str) -> dict[str, dict[str, Any]]:
    """Entity name -> the JSON form stored as ``"security"`` of its registry entry."""
    return {k: v.to_data() for k, v in package_security(config, project, package).items()}


def current_sums(
    config: Config, project: Project, package: str, sums: dict[str, str]
) -> dict[str, str]:
    if not config.acl.enforce:
        return sums
    from ..registry.records import effective_sum

    sec = entry_data(config, project, package)
    return {k: effective_sum(v, sec.get(k)) for k, v in sums.items()}


def security_of_entries(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, TableSecurity]:
    out = {}
    for name, v in entries.items():
        sec = v.get("security")
        if sec:
            from .state import TableSecurity

            d = v["definition"]
            out[name] = TableSecurity.from_data(d["namespace"], d["table"], sec)
    return out


def plan_ops(ops: Sequence[Op], base: Mapping[str, Mapping[str, Any]], config: Config,
             project: Project, package: str, namespace: str) -> list[Op]:  # fmt: skip
    old = security_of_entries(base)
    new = package_security(config, project, package)
    if not old and not new:
        return list(ops)
    from .plan import plan_security

    return plan_security(ops, old, new, namespace)


def preview_sql(config: Config, project: Project, package: str, namespace: str) -> str:
    """The ACL statements of a fresh create of the package ("" when not enforced)."""
    new = package_security(config, project, package)
    if not new:
        return ""
    from ..sql import render_up
    from .plan import plan_security

    return render_up(plan_security([], {}, new, namespace))


PRISMA_NOTE = (
    "// Row-level security: schemactl enforces this project's ACL in PostgreSQL with GRANTs\n"
    "// and policies (docs/security.md). Prisma cannot express policies, so none appear\n"
    "// below; they hold for Prisma Client's queries all the same. Connect as the\n"
    "// application role (never the owner) and set app.user_id / app.tenant_id per\n"
    "// transaction.\n"
)


def prisma_note(enforced: bool) -> str:
    """The comment heading a Prisma schema of an enforced project ("" otherwise)."""
    return PRISMA_NOTE if enforced else ""
