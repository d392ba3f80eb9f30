"""Editor support: ``init`` writes a yaml-language-server ``$schema`` modeline, and
``schema --out FILE`` writes the schema it points to (``.schemactl/entities.schema.json``).

Proven as the YAML language server would see it: the modeline's relative path, resolved from
the entities file's directory, is the written schema, byte for byte ``schemactl schema``; the
scaffold validates against it, and a typo in it does not.  ``schema --out`` writes relative to
the root, leaves an up-to-date file untouched, refuses a directory (2) and reports an
unwritable target (3).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from foundation_util import json_doc, make_project, run_cli
from schemactl.editor import MODELINE_PREFIX, SCHEMA_PATH

REPO = Path(__file__).resolve().parent.parent
SHIPPED = (REPO / "src/schemactl/schemas/entities.schema.json").read_text(encoding="utf-8")


def _schema_behind_modeline(entities_file: Path) -> Path:
    first = entities_file.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE_PREFIX), first
    rel = first[len(MODELINE_PREFIX) :]
    assert not Path(rel).is_absolute() and "\\" not in rel
    return (entities_file.parent / rel).resolve()


@pytest.mark.parametrize(
    ("config", "package_dir"),
    [
        (None, "packages/billing"),
        ('packages = ["apps/db/*"]\n', "apps/db/billing"),
    ],
)
def test_init_writes_a_modeline_that_resolves_to_the_written_schema(
    tmp_path: Path, config: str | None, package_dir: str
) -> None:
    root = make_project(tmp_path / "root", {}, config=config)
    res = run_cli(root, "init", "billing")
    assert res.exit_code == 0, res.output
    assert f"wrote {SCHEMA_PATH}" in res.stdout
    entities = root / package_dir / "seed/schema/entities.yaml"
    target = _schema_behind_modeline(entities)
    assert target == (root / SCHEMA_PATH).resolve()
    assert target.read_text(encoding="utf-8") == SHIPPED
    # What the editor does with it: the scaffold is valid, a typo in it is not.
    validator = Draft202012Validator(json.loads(target.read_text(encoding="utf-8")))
    doc = yaml.safe_load(entities.read_text(encoding="utf-8"))
    assert list(validator.iter_errors(doc)) == []
    doc["entities"][0]["fields"]["name"]["maxLenght"] = 10
    assert list(validator.iter_errors(doc)) != []
    # and schemactl itself agrees with the modeline in place
    assert run_cli(root, "validate").exit_code == 0


def test_init_leaves_a_current_schema_copy_alone_and_refreshes_a_stale_one(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "root", {})
    assert run_cli(root, "init", "billing").exit_code == 0
    copy = root / SCHEMA_PATH
    stamp = copy.stat().st_mtime_ns
    res = run_cli(root, "init", "shipping")
    assert res.exit_code == 0 and "wrote" not in res.stdout.split("metadata.json")[-1]
    assert copy.stat().st_mtime_ns == stamp
    copy.write_text('{"old": true}\n', encoding="utf-8")
    res = run_cli(root, "init", "invoicing")
    assert res.exit_code == 0 and f"wrote {SCHEMA_PATH}" in res.stdout
    assert copy.read_text(encoding="utf-8") == SHIPPED


def test_schema_out_writes_relative_to_the_root(tmp_path: Path) -> None:
    root = make_project(tmp_path / "root", {})
    res = run_cli(root, "--json", "schema", "--out", SCHEMA_PATH)
    assert res.exit_code == 0, res.output
    doc = json_doc(res)
    assert doc["path"] == SCHEMA_PATH and doc["changed"] is True
    assert (root / SCHEMA_PATH).read_text(encoding="utf-8") == SHIPPED
    stamp = (root / SCHEMA_PATH).stat().st_mtime_ns
    again = run_cli(root, "schema", "--out", SCHEMA_PATH)
    assert again.exit_code == 0 and "is up to date" in again.stdout
    assert (root / SCHEMA_PATH).stat().st_mtime_ns == stamp
    assert SHIPPED not in again.stdout  # --out writes instead of printing


def test_schema_out_refuses_a_directory_and_reports_an_unwritable_target(tmp_path: Path) -> None:
    root = make_project(tmp_path / "root", {})
    (root / "dir").mkdir()
    res = run_cli(root, "schema", "--out", "dir")
    assert res.exit_code == 2 and "is a directory" in res.stderr
    (root / "file").write_text("x")
    res = run_cli(root, "schema", "--out", "file/schema.json")
    assert res.exit_code == 3 and "cannot write file/schema.json" in res.stderr
    assert "Traceback" not in res.output


def test_a_stale_schema_copy_is_a_warning_of_validate_and_check(tmp_path: Path) -> None:
    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root)
    assert run_cli(root, "schema", "--out", SCHEMA_PATH).exit_code == 0
    for command in ("validate", "check"):
        res = run_cli(root, "--json", command)
        assert res.exit_code == 0 and json_doc(res)["diagnostics"] == [], res.stdout
    copy = root / SCHEMA_PATH
    copy.write_text(SHIPPED.replace('"maxLength"', '"maxLen"', 1), encoding="utf-8")
    for command in ("validate", "check"):
        res = run_cli(root, "--json", command)
        assert res.exit_code == 0, res.stdout  # a warning: the gate still passes
        (d,) = json_doc(res)["diagnostics"]
        assert (d["severity"], d["code"], d["file"]) == ("warning", "SC880", SCHEMA_PATH)
        assert f"schemactl schema --out {SCHEMA_PATH}" in d["hint"]
    assert run_cli(root, "schema", "--out", SCHEMA_PATH).exit_code == 0
    assert json_doc(run_cli(root, "--json", "check"))["diagnostics"] == []
