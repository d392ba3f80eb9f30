"""Startup cost (SPEC §12): heavy modules load only when a command needs them.

Each check runs a fresh interpreter and inspects ``sys.modules`` at exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("sqlglot", "psycopg")
WATCHED = ("sqlglot", "psycopg", "jsonschema", "rich", "typer", "yaml", "pydantic")

RUNNER = """
import atexit, json, sys
watched = {watched!r}
atexit.register(lambda: sys.stderr.write(
    "\\nMODULES=" + json.dumps(sorted(m for m in watched if m in sys.modules)) + "\\n"))
sys.argv = ["schemactl", *{args!r}]
from schemactl.entry import main
main()
"""


def loaded_modules(*args: str) -> tuple[int, list[str], str]:
    """Run the console entry point with ``args``; (exit code, watched modules, stdout)."""
    code = RUNNER.format(watched=WATCHED, args=list(args))
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    marker = [ln for ln in res.stderr.splitlines() if ln.startswith("MODULES=")]
    assert marker, res.stderr
    return res.returncode, json.loads(marker[-1].removeprefix("MODULES=")), res.stdout


def test_importing_the_cli_loads_nothing_heavy() -> None:
    code = (
        "import json, schemactl.cli, sys; "
        f"print(json.dumps(sorted(m for m in {WATCHED!r} if m in sys.modules)))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    loaded = json.loads(res.stdout)
    # typer itself is the CLI; rich, jsonschema and PyYAML wait for a command that needs them
    assert loaded == ["typer"]


def test_version_does_not_even_import_typer() -> None:
    code, loaded, out = loaded_modules("--version")
    assert code == 0 and out.startswith("schemactl ")
    assert loaded == []


def test_validate_does_not_import_sqlglot_or_psycopg() -> None:
    code, loaded, out = loaded_modules("--root", "examples", "--no-cache", "validate")
    assert code == 0, out
    assert "0 errors" in out
    assert not set(HEAVY) & set(loaded)
    assert {"jsonschema", "yaml", "rich"} <= set(loaded)  # what validate does need
    assert "pydantic" not in loaded  # typer 0.29 would import it on every run: pinned below


def test_validate_json_does_not_import_rich_or_heavy_modules() -> None:
    code, loaded, out = loaded_modules("--root", "examples", "--no-cache", "--json", "validate")
    assert code == 0
    assert json.loads(out)["ok"] is True
    assert not set(HEAVY) & set(loaded)
    assert "rich" not in loaded


def test_schema_does_not_load_jsonschema() -> None:
    code, loaded, out = loaded_modules("schema")
    assert code == 0 and json.loads(out)["$schema"].endswith("2020-12/schema")
    assert not {"jsonschema", *HEAVY} & set(loaded)


def test_a_quiet_scan_with_nothing_to_say_imports_neither_rich_nor_the_database(
    tmp_path: Path,
) -> None:
    import shutil

    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root)
    code, loaded, out = loaded_modules("--root", str(root), "-q", "scan")
    assert code == 0 and out == ""
    assert not {"rich", "pydantic", *HEAVY} & set(loaded)
