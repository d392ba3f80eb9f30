"""Validate Prisma schema text with Prisma's own engine (tests/prisma/validate.mjs).

Needs ``node`` and the packages of tests/prisma, which the suite installs itself
(npm_deps.py). Without them the calling test is skipped, or failed under CI.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from npm_deps import ensure_npm_deps
from pg import skip_or_fail

PRISMA_DIR = Path(__file__).resolve().parent / "prisma"
SCRIPT = PRISMA_DIR / "validate.mjs"
WASM_PACKAGE = PRISMA_DIR / "node_modules" / "@prisma" / "prisma-schema-wasm"


def prisma_validate(schema_text: str | dict[str, str]) -> tuple[bool, str]:
    """Return ``(True, output)`` when Prisma accepts the schema, else ``(False, diagnostics)``.

    The output of a valid schema may carry lint warnings. An engine or setup failure
    raises ``RuntimeError`` rather than passing for an invalid schema.
    """
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is not on PATH: needed to validate Prisma schemas")
    problem = ensure_npm_deps(PRISMA_DIR)  # the conftest did it already: this is cached
    if problem is not None:
        skip_or_fail(problem)
    if not (WASM_PACKAGE / "package.json").is_file():
        skip_or_fail(f"{WASM_PACKAGE} is missing: run `npm ci` in {PRISMA_DIR}")

    with tempfile.TemporaryDirectory(prefix="schemactl-prisma-") as tmp:
        if isinstance(schema_text, dict):  # a multi-file schema: file name -> text
            path = Path(tmp)
            for name, text in schema_text.items():
                (path / name).write_text(text, encoding="utf-8")
        else:
            path = Path(tmp) / "schema.prisma"
            path.write_text(schema_text, encoding="utf-8")
        proc = subprocess.run(
            [node, str(SCRIPT), str(path)],
            cwd=PRISMA_DIR,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    output = (proc.stdout + proc.stderr).replace(str(path), "schema.prisma")
    output = output.replace(str(Path(tmp)), "")
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"validate.mjs failed with exit code {proc.returncode}:\n{output}")
    return proc.returncode == 0, output
