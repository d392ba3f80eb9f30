"""Editor support: the JSON Schema an editor validates ``entities.yaml`` with, as you type.

Owns where that schema lives in a project and how an entities file points at it:

- :data:`SCHEMA_PATH`, ``.schemactl/entities.schema.json`` under the root: a committed copy
  of the published schema (``schemactl schema --out .schemactl/entities.schema.json``).
  A file in the repository works offline, in every editor, and matches the schemactl
  version the project uses; re-run the command after upgrading schemactl.
- :func:`modeline`, the first line ``init`` writes into a new entities file:
  ``# yaml-language-server: $schema=<relative path to that copy>``, which the YAML
  language server (VS Code's redhat.vscode-yaml, Neovim, Helix, JetBrains via LSP)
  resolves relative to the file itself;
- :func:`stale_copy`: the SC880 warning of ``validate`` and ``check`` when that copy exists
  but is not this schemactl's schema (written by an older release, or edited), since the
  editor would then accept or refuse other things than schemactl does.
"""

from __future__ import annotations

import os
from pathlib import Path

from .diagnostics import Diagnostic

SCHEMA_PATH = ".schemactl/entities.schema.json"
MODELINE_PREFIX = "# yaml-language-server: $schema="


def modeline(entities_file: Path, root: Path) -> str:
    """The modeline for ``entities_file``: the schema copy of ``root``, as a relative path."""
    target = root / SCHEMA_PATH
    rel = os.path.relpath(target, entities_file.parent)
    return f"{MODELINE_PREFIX}{Path(rel).as_posix()}\n"


def write_schema(path: Path) -> bool:
    """Write the published schema to ``path`` (parents created); False when it was already
    exactly that, so that a committed copy is not touched needlessly."""
    from .schema_check import schema_text

    text = schema_text()
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    except UnicodeDecodeError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return True


def stale_copy(root: Path) -> list[Diagnostic]:
    """[SC880 warning] when ``root``'s schema copy differs from the published schema."""
    from .schema_check import schema_text

    path = root / SCHEMA_PATH
    try:
        current = path.read_bytes() == schema_text().encode("utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return []
    except OSError:
        current = False
    if current:
        return []
    return [
        Diagnostic(
            "warning",
            "SC880",
            f"{SCHEMA_PATH}, the schema editors check entities files with, is not the "
            "schema of this schemactl",
            SCHEMA_PATH,
            hint=f"run `schemactl schema --out {SCHEMA_PATH}` and commit it",
        )
    ]
