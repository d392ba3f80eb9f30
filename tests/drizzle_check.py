"""Run drizzle-kit and tsc on generated Drizzle modules (the npm packages of tests/prisma).

``drizzle_kit_sql(modules)`` writes the modules into a temporary project, runs
``drizzle-kit generate`` (dialect postgresql, every module a schema file) and returns the
statements of the migration it wrote.  ``tsc_check(modules)`` type-checks them with
``tsc --noEmit`` under ``strict``.  Both need ``node`` and ``npm ci`` in tests/prisma
(``.ci/run`` does that); without them the calling test is skipped, or failed under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pg import skip_or_fail

NPM_DIR = Path(__file__).resolve().parent / "prisma"
NODE_MODULES = NPM_DIR / "node_modules"
DRIZZLE_KIT = NODE_MODULES / "drizzle-kit" / "bin.cjs"
TSC = NODE_MODULES / "typescript" / "bin" / "tsc"

CONFIG = """\
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./schema/*.ts",
  out: "./drizzle",
});
"""

TSCONFIG = """\
{
  "compilerOptions": {
    "strict": true,
    "noEmit": true,
    "noUnusedLocals": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "target": "ES2022",
    "module": "ESNext",
    "moduleResolution": "Bundler",
    "skipLibCheck": true
  },
  "include": ["schema/*.ts"]
}
"""

BREAKPOINT = "--> statement-breakpoint"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is not on PATH: needed to run drizzle-kit and tsc")
    for tool in (DRIZZLE_KIT, TSC):
        if not tool.is_file():
            skip_or_fail(f"{tool} is missing: run `npm ci` in {NPM_DIR}")
    return node


@contextmanager
def _project(modules: dict[str, str]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="schemactl-drizzle-") as tmp:
        root = Path(tmp)
        (root / "schema").mkdir()
        for name, text in modules.items():
            (root / "schema" / name).write_text(text, encoding="utf-8")
        (root / "drizzle.config.ts").write_text(CONFIG, encoding="utf-8")
        (root / "tsconfig.json").write_text(TSCONFIG, encoding="utf-8")
        os.symlink(NODE_MODULES, root / "node_modules", target_is_directory=True)
        yield root


def _run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), *argv],
        cwd=root,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )


def drizzle_kit_sql(modules: dict[str, str]) -> list[str]:
    """The statements drizzle-kit generates from ``modules`` (file name -> text).

    Raises ``RuntimeError`` with drizzle-kit's output when it fails or writes no SQL.
    """
    _node()
    with _project(modules) as root:
        proc = _run(root, str(DRIZZLE_KIT), "generate", "--config=drizzle.config.ts")
        sql_files = sorted((root / "drizzle").glob("*.sql"))
        if proc.returncode != 0 or len(sql_files) != 1:
            raise RuntimeError(
                f"drizzle-kit generate failed (exit {proc.returncode}, "
                f"{len(sql_files)} SQL files):\n{proc.stdout}{proc.stderr}"
            )
        script = sql_files[0].read_text(encoding="utf-8")
    return [s.strip() for s in script.split(BREAKPOINT) if s.strip()]


def tsc_check(modules: dict[str, str]) -> tuple[bool, str]:
    """``(True, "")`` when ``tsc --noEmit`` (strict) accepts the modules, else ``(False,
    diagnostics)``.  A crash of tsc itself raises ``RuntimeError``."""
    _node()
    with _project(modules) as root:
        proc = _run(root, str(TSC), "-p", "tsconfig.json")
    output = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1, 2):
        raise RuntimeError(f"tsc failed with exit code {proc.returncode}:\n{output}")
    return proc.returncode == 0, output
