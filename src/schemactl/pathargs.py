"""File paths where ``validate`` expects package names: what pre-commit passes.

``schemactl validate packages/forum/seed/schema/entities.yaml`` validates the package that
file belongs to, so that the pre-commit hook (``.pre-commit-hooks.yaml``, which passes the
changed ``entities.yaml`` / ``metadata.json`` files) needs no wrapper script.  Owns:

- :func:`is_path`: an argument is a path when it contains a ``/`` (or the OS separator) or
  names an existing file; package ids are identifiers, so nothing is ambiguous;
- :func:`root_for`: without ``--root``, the project of the first path is the nearest
  directory above it with a ``schemactl.toml`` (pre-commit runs in the git root, which
  need not be the schemactl root), else the usual root;
- :func:`package_ids`: each path becomes the id of the package whose directory holds it
  (the whole project is still loaded: conflicts span packages).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .config import CONFIG_FILE
from .errors import UsageError


def is_path(arg: str) -> bool:
    return "/" in arg or os.sep in arg or Path(arg).is_file()


def root_for(args: Sequence[str]) -> Path | None:
    """The root above the first path argument holding schemactl.toml, or None."""
    for arg in args:
        if is_path(arg):
            here = Path(arg).resolve().parent
            for d in (here, *here.parents):
                if (d / CONFIG_FILE).is_file():
                    return d
            return None
    return None


def package_ids(root: Path, args: Sequence[str], packages: Iterable[tuple[str, str]]) -> list[str]:
    """``args`` with every path replaced by its package's id; ``packages`` are
    ``(id, path relative to the root)`` pairs."""
    root = root.resolve()
    by_dir = sorted(((Path(path), pid) for pid, path in packages), key=lambda x: -len(x[0].parts))
    out: list[str] = []
    for arg in args:
        if not is_path(arg):
            out.append(arg)
            continue
        path = Path(arg).resolve()
        try:
            rel = path.relative_to(root)
        except ValueError:
            raise UsageError(
                f"{arg} is outside the project root {root}",
                hint="run from inside the project or pass --root",
            ) from None
        pid = next((pid for d, pid in by_dir if rel.parts[: len(d.parts)] == d.parts), None)
        if pid is None:
            raise UsageError(
                f"{arg} is not inside any package of {root}",
                hint="packages are the directories matched by `packages` in schemactl.toml "
                "that hold seed/schema/entities.yaml",
            )
        if pid not in out:
            out.append(pid)
    return out
