"""The registry workflow's commands, one import away: each lives in its own module.

``scan`` (:mod:`.scan`); ``list_migrations``, ``show``, ``approve``, ``reject``
(:mod:`.review`); ``check`` (:mod:`.gate`); ``generate``, ``preview`` (:mod:`.generate`);
``status``, ``apply`` (:mod:`.deploy`); ``upgrade`` (:mod:`.registry.upgrade`).  Each
returns a ``commands.Result``; the CLI renders it.
"""

from __future__ import annotations

from pathlib import Path

from .commands import Result
from .config import load_config
from .gate import check
from .generate import baseline_project, generate, migration_files, preview
from .registry import APPROVED, PENDING, REJECTED, SUPERSEDED
from .review import approve, default_actor, list_migrations, reject, show
from .scan import scan

__all__ = [
    "APPROVED",
    "PENDING",
    "REJECTED",
    "SUPERSEDED",
    "apply",
    "approve",
    "baseline_project",
    "check",
    "default_actor",
    "generate",
    "list_migrations",
    "migration_files",
    "preview",
    "reject",
    "scan",
    "show",
    "status",
    "upgrade",
]


def status(root: Path, *, database_url: str | None = None) -> Result:
    from .deploy import status as _status

    return _status(root, database_url=database_url)


def apply(
    root: Path, *, database_url: str | None = None, dry_run: bool = False, lock_timeout: float = 60
) -> Result:
    from .deploy import apply as _apply

    return _apply(root, database_url=database_url, dry_run=dry_run, lock_timeout=lock_timeout)


def upgrade(root: Path) -> Result:
    """Convert a format-1 registry (one ``registry.json``) into one file per package, then
    write the migration files again (their ids and layout may have changed)."""
    from .registry.upgrade import upgrade as _upgrade

    config = load_config(root)
    done = _upgrade(config.registry_path, config.root, config.migrations_path)
    if done is None:
        return Result(messages=["nothing to upgrade: the registry is in the current format"])
    if done.refused:
        return Result(
            diagnostics=done.refused,
            messages=[f"nothing upgraded: {done.legacy} holds records edited by hand"],
        )
    res = Result(
        messages=[
            f"converted {done.legacy} (format 1): {done.records} migration record(s) of "
            f"{len(done.packages)} package(s) into {len(done.packages)} file(s) in "
            f"{_rel(config.registry_path, config.root)}/",
        ],
        data={
            "packages": done.packages,
            "records": done.records,
            "renamed": done.renamed,
            "moved": done.moved_folders,
        },
    )
    for old, new in sorted(done.renamed.items()):
        res.messages.append(f"renamed {old} -> {new} (ids now sort in application order)")
    res.messages += [f"moved {m}" for m in done.moved_folders]
    res.messages.append(f"removed {done.legacy}")
    gen = generate(config.root, config=config)
    res.diagnostics += gen.diagnostics
    res.messages += gen.messages
    return res


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
