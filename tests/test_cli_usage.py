"""Usage errors as a user meets them: through the real entry point, exit 2, never a
traceback, one JSON document with --json, and a hint for global options put too late."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCHEMACTL = str(Path(sys.executable).with_name("schemactl"))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCHEMACTL, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["valdiate"], "Did you mean 'validate'?"),
        (["--root", str(EXAMPLES), "approve"], "Missing argument"),
        (["--root", str(EXAMPLES), "list", "--bogus"], "No such option: --bogus"),
        (["--format", "yaml", "validate"], "'yaml' is not one of"),
    ],
)
def test_usage_errors_exit_2_in_text_and_json(args: list[str], needle: str) -> None:
    text = run(*args)
    assert text.returncode == 2
    assert needle in text.stderr
    assert "Traceback" not in text.stderr + text.stdout
    as_json = run("--json", *args) if args[0] != "--format" else None
    if as_json is not None:
        assert as_json.returncode == 2
        doc = json.loads(as_json.stdout)  # exactly one JSON document on stdout
        assert doc["ok"] is False and doc["exit_code"] == 2
        [diag] = doc["diagnostics"]
        assert diag["severity"] == "error" and needle in diag["message"]


def test_global_option_after_the_command_gets_a_hint() -> None:
    res = run("validate", "--root", str(EXAMPLES))
    assert res.returncode == 2
    assert "global options go before the command" in res.stderr
    res = run("--root", str(EXAMPLES), "validate", "--json")
    assert res.returncode == 2
    doc = json.loads(res.stdout)
    assert "global options go before the command" in doc["diagnostics"][0]["hint"]


def test_bare_command_prints_help() -> None:
    res = run()
    assert res.returncode == 2
    assert "Commands:" in res.stdout + res.stderr
    assert run("--help").returncode == 0


def test_success_and_findings_keep_their_exit_codes(tmp_path: Path) -> None:
    assert run("--root", str(EXAMPLES), "-q", "validate").returncode == 0
    bad = tmp_path / "p" / "packages" / "a" / "seed" / "schema"
    bad.mkdir(parents=True)
    (bad / "entities.yaml").write_text("entities: [\n")
    res = run("--root", str(tmp_path / "p"), "validate")
    assert res.returncode == 1
    assert "SC102" in res.stdout
