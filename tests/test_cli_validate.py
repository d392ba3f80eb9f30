"""The command line of the foundation (SPEC §10): validate, schema, init, --version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from foundation_util import json_doc, make_project, run_cli, tree_hash
from schemactl import __version__
from schemactl.load import load_file

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
SHOP = "packages/shop/seed/schema/entities.yaml"

CRM_YAML = """\
entities:
  - name: Customer
    fields:
      id: {type: cuid, primary: true}
      email: {type: string, required: true, unique: true}
"""

SHOP_YAML = """\
entities:
  - name: Order
    fields:
      id: {type: cuid, primary: true}
      total: {type: decimal, precision: 10, scale: 2}
      customerId: {type: int, required: true}
    indexes:
      - {fields: [total]}
      - {fields: [total]}
    relations:
      - {name: customer, type: belongsTo, entity: Customer, field: customerId}
"""

SC309 = (
    "relation customer: field customerId is int (integer) but Customer.id is text",
    "make the foreign key field the same type as the key it references",
)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", {"crm": CRM_YAML, "shop": SHOP_YAML})


def test_text_output_exactly(shop: Path) -> None:
    res = run_cli(shop, "validate")
    assert res.exit_code == 1
    assert res.stdout == (
        f"{SHOP}:9:9: warning SC311 index on (total) is declared twice\n"
        "  hint: remove the duplicate\n"
        f"{SHOP}:11:9: error SC309 {SC309[0]}\n"
        f"  hint: {SC309[1]}\n"
        "2 packages, 2 entities: 1 error, 1 warning, 0 notes\n"
    )
    assert res.stderr == ""


def test_quiet_shows_only_errors(shop: Path) -> None:
    res = run_cli(shop, "-q", "validate")
    assert res.exit_code == 1
    assert res.stdout == f"{SHOP}:11:9: error SC309 {SC309[0]}\n  hint: {SC309[1]}\n"


def test_no_colour_when_not_a_terminal(shop: Path) -> None:
    from typer.testing import CliRunner

    from schemactl.cli import app

    res = CliRunner().invoke(app, ["--root", str(shop), "validate"], catch_exceptions=False)
    assert "\x1b[" not in res.output


def test_clean_project_exits_0(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"crm": CRM_YAML})
    res = run_cli(root, "validate")
    assert (res.exit_code, res.stdout) == (
        0,
        "1 package, 1 entity: 0 errors, 0 warnings, 0 notes\n",
    )


def test_json_document(shop: Path) -> None:
    res = run_cli(shop, "--json", "validate")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)  # exactly one document, nothing else on stdout
    assert res.stderr == ""
    assert doc["ok"] is False and doc["exit_code"] == 1
    keys = {"severity", "code", "message", "file", "line", "column", "package", "entity", "hint"}
    assert all(set(d) == keys for d in doc["diagnostics"])
    assert doc["diagnostics"] == [
        {
            "severity": "warning",
            "code": "SC311",
            "message": "index on (total) is declared twice",
            "file": SHOP,
            "line": 9,
            "column": 9,
            "package": "shop",
            "entity": "Order",
            "hint": "remove the duplicate",
        },
        {
            "severity": "error",
            "code": "SC309",
            "message": SC309[0],
            "file": SHOP,
            "line": 11,
            "column": 9,
            "package": "shop",
            "entity": "Order",
            "hint": SC309[1],
        },
    ]
    assert [set(p) for p in doc["packages"]] == [{"id", "namespace", "path", "entities"}] * 2
    crm, shop_pkg = doc["packages"]
    assert (crm["id"], crm["namespace"], crm["path"]) == ("crm", "crm", "packages/crm")
    assert [set(e) for e in crm["entities"]] == [{"name", "table", "checksum"}]
    assert crm["entities"][0]["name"] == "Customer" and crm["entities"][0]["table"] == "customers"
    assert crm["entities"][0]["checksum"].startswith("sha256:")
    assert shop_pkg["entities"][0]["table"] == "orders"


def test_format_json_is_the_same_as_json(shop: Path) -> None:
    assert (
        run_cli(shop, "--format", "json", "validate").stdout
        == run_cli(shop, "--json", "validate").stdout
    )


def test_github_annotations(shop: Path) -> None:
    res = run_cli(shop, "--format", "github", "validate")
    assert res.exit_code == 1
    assert res.stdout.splitlines() == [
        f"::warning file={SHOP},line=9,col=9,title=SC311::index on (total) is declared twice "
        "(hint: remove the duplicate)",
        f"::error file={SHOP},line=11,col=9,title=SC309::{SC309[0]} (hint: {SC309[1]})",
    ]


def test_github_notes_are_notices(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"a": CRM_YAML, "b": CRM_YAML})
    res = run_cli(root, "--format", "github", "validate")
    assert res.exit_code == 0
    [line] = res.stdout.splitlines()
    assert line.startswith("::notice file=packages/a/seed/schema/entities.yaml,line=2,col=11,")


def test_validate_selected_packages(shop: Path) -> None:
    res = run_cli(shop, "--json", "validate", "crm")
    assert res.exit_code == 0
    doc = json_doc(res)
    assert [p["id"] for p in doc["packages"]] == ["crm"]
    assert doc["diagnostics"] == []
    res = run_cli(shop, "--json", "validate", "shop", "crm")
    assert res.exit_code == 1
    assert {d["package"] for d in json_doc(res)["diagnostics"]} == {"shop"}


def test_validate_unknown_package(shop: Path) -> None:
    res = run_cli(shop, "validate", "shp")
    assert res.exit_code == 2
    assert "no package 'shp'" in res.stderr
    assert "did you mean 'shop'?" in res.stderr
    assert "Traceback" not in res.output
    doc = json_doc(run_cli(shop, "--json", "validate", "shp"))
    assert doc["exit_code"] == 2 and doc["diagnostics"][0]["hint"] == "did you mean 'shop'?"


def test_validate_writes_nothing_without_the_cache(shop: Path) -> None:
    before = tree_hash(shop)
    for args in (["validate"], ["--json", "validate"], ["--format", "github", "validate"]):
        assert run_cli(shop, "--no-cache", *args).exit_code == 1
    assert tree_hash(shop) == before


def test_examples_validate(tmp_path: Path) -> None:
    res = run_cli(EXAMPLES, "--no-cache", "--json", "validate")
    assert res.exit_code == 0, res.stdout
    doc = json_doc(res)
    assert [d for d in doc["diagnostics"] if d["severity"] != "note"] == []
    assert len(doc["packages"]) >= 6


# --- schema -------------------------------------------------------------------------------


def test_schema_is_draft_2020_12_and_accepts_the_examples() -> None:
    res = run_cli(None, "schema")
    assert res.exit_code == 0
    schema = json.loads(res.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    files = sorted(EXAMPLES.glob("packages/*/seed/schema/entities.yaml"))
    assert len(files) >= 6
    for f in files:
        data = load_file(str(f), f.name).data
        assert data is not None
        assert list(validator.iter_errors(data)) == [], f
    bad = {"entities": [{"name": "X", "fields": {"id": {"type": "strng", "requried": True}}}]}
    assert len(list(validator.iter_errors(bad))) == 2


def test_schema_output_is_the_shipped_file() -> None:
    shipped = (REPO / "src/schemactl/schemas/entities.schema.json").read_text(encoding="utf-8")
    assert run_cli(None, "schema").stdout == shipped


# --- init ---------------------------------------------------------------------------------


def test_init_scaffolds_a_package_that_validates(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"crm": CRM_YAML})
    res = run_cli(root, "init", "billing")
    assert res.exit_code == 0, res.output
    yaml_file = root / "packages/billing/seed/schema/entities.yaml"
    meta = json.loads((root / "packages/billing/seed/metadata.json").read_text())
    assert yaml_file.is_file()
    assert meta["packageId"] == "billing"
    assert meta["schema"]["entities"] == ["BillingItem"]
    assert "packages/billing/seed/schema/entities.yaml" in res.stdout
    res = run_cli(root, "--json", "validate")
    assert res.exit_code == 0, res.stdout
    doc = json_doc(res)
    assert doc["diagnostics"] == []
    assert [p["id"] for p in doc["packages"]] == ["billing", "crm"]
    assert run_cli(root, "validate", "billing").exit_code == 0

    before = tree_hash(root)
    again = run_cli(root, "init", "billing")
    assert again.exit_code == 2
    assert "already exists" in again.stderr
    assert tree_hash(root) == before


@pytest.mark.parametrize("name", ["Billing", "bill-ing", "pg_billing", "1billing", "x" * 64])
def test_init_refuses_bad_names(tmp_path: Path, name: str) -> None:
    res = run_cli(tmp_path, "init", name)
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert not (tmp_path / "packages").exists()


def test_init_in_an_empty_directory(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "init", "billing").exit_code == 0
    assert run_cli(tmp_path, "validate").exit_code == 0


# --- version and entry points -------------------------------------------------------------


def test_version_in_process() -> None:
    res = run_cli(None, "--version")
    assert (res.exit_code, res.stdout) == (0, f"schemactl {__version__}\n")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_python_dash_m_version() -> None:
    res = _run("-m", "schemactl", "--version")
    assert (res.returncode, res.stdout, res.stderr) == (0, f"schemactl {__version__}\n", "")


def test_python_dash_m_validate_exit_codes(shop: Path) -> None:
    res = _run("-m", "schemactl", "--root", str(shop), "--no-cache", "validate")
    assert res.returncode == 1
    assert f"{SHOP}:11:9: error SC309" in res.stdout
    assert "Traceback" not in res.stdout + res.stderr
    res = _run("-m", "schemactl", "--root", str(shop), "validate", "nope")
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_console_script_version() -> None:
    exe = Path(sys.executable).parent / "schemactl"
    if not exe.exists():
        pytest.skip("console script not installed next to this interpreter")
    res = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert (res.returncode, res.stdout) == (0, f"schemactl {__version__}\n")


def test_help_lists_the_commands() -> None:
    res = run_cli(None, "--help")
    assert res.exit_code == 0
    for cmd in ("validate", "schema", "init"):
        assert cmd in res.stdout


def test_usage_error_exit_2() -> None:
    res = run_cli(None, "validate", "--bogus")
    assert res.exit_code == 2
    assert "Traceback" not in res.output
