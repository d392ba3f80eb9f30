"""The real corpus (issue 2, item 11): ../shared/corpus/metabuilder/packages.

It is third-party data: it is copied into a temporary directory, never into the repository.
The ``corpus_dir`` fixture skips only when the folder is absent and CI is unset.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from foundation_util import json_doc, run_cli, tree_hash

CONFIG = """\
[external.User]
table = "public.users"
key = "id"
type = "string"

[external.Tenant]
table = "public.tenants"
key = "id"
type = "string"
"""

JSE = "packages/json_script_example/seed/schema/entities.yaml"
PV = "packages/package_validator/seed/schema/entities.yaml"


@pytest.fixture
def corpus(tmp_path: Path, corpus_dir: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(corpus_dir, root / "packages", symlinks=True)
    (root / "schemactl.toml").write_text(CONFIG, encoding="utf-8")
    return root


def where(root: Path, rel: str, entity: str) -> tuple[int, int]:
    """Line and column of ``name: <entity>``'s value in a corpus file."""
    lines = (root / rel).read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        m = re.match(rf"(\s*-?\s*name:\s*)['\"]?{entity}['\"]?\s*$", line)
        if m:
            return n, len(m.group(1)) + 1
    raise AssertionError(f"{entity} not found in {rel}")


def test_corpus_has_exactly_the_validation_rule_conflict(corpus: Path) -> None:
    before = tree_hash(corpus)
    res = run_cli(corpus, "--json", "validate")
    assert res.exit_code == 1
    doc = json_doc(res)
    [d] = doc["diagnostics"]
    assert (d["severity"], d["code"], d["entity"]) == ("error", "SC400", "ValidationRule")
    jse_line, jse_col = where(corpus, JSE, "ValidationRule")
    pv_line, pv_col = where(corpus, PV, "ValidationRule")
    assert (d["file"], d["line"], d["column"], d["package"]) == (
        JSE,
        jse_line,
        jse_col,
        "json_script_example",
    )
    msg = d["message"]
    assert f"json_script_example ({JSE}:{jse_line}:{jse_col})" in msg
    assert f"package_validator ({PV}:{pv_line}:{pv_col})" in msg
    # the structural differences, field by field
    assert "json_script_example vs package_validator:" in msg
    assert "fields only in json_script_example: config, errorMessage, isActive, ruleType" in msg
    assert "fields only in package_validator: check, code, description, enabled" in msg
    assert "field createdAt: type 'bigint' vs 'datetime'" in msg
    # everything else validated: 20 packages, 60 entities, each with a checksum
    assert len(doc["packages"]) == 20
    assert sum(len(p["entities"]) for p in doc["packages"]) == 60
    assert tree_hash(corpus) == before

    text = run_cli(corpus, "validate")
    assert text.exit_code == 1
    assert f"{JSE}:{jse_line}:{jse_col}: error SC400 entity ValidationRule" in text.stdout
    assert text.stdout.rstrip().endswith("20 packages, 60 entities: 1 error, 0 warnings, 0 notes")


def test_corpus_without_json_script_example_is_clean(corpus: Path) -> None:
    shutil.rmtree(corpus / "packages" / "json_script_example")
    res = run_cli(corpus, "--json", "validate")
    assert res.exit_code == 0, res.stdout
    doc = json_doc(res)
    assert doc["diagnostics"] == []
    entities = [e for p in doc["packages"] for e in p["entities"]]
    assert len(doc["packages"]) == 19
    assert len(entities) == 55
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", e["checksum"]) for e in entities)
    names = [e["name"] for e in entities]
    assert len(set(names)) == len(names)  # no entity is defined twice any more
    assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", e["table"]) for e in entities)


def test_corpus_without_externals_names_the_missing_entities(corpus: Path) -> None:
    """Without [external], every relation to User/Tenant is an unknown-entity error."""
    (corpus / "schemactl.toml").unlink()
    doc = json_doc(run_cli(corpus, "--json", "validate"))
    unknown = {d["message"].rsplit(" ", 1)[-1] for d in doc["diagnostics"] if d["code"] == "SC307"}
    assert unknown == {"'User'", "'Tenant'"}
    assert all("[external." in d["hint"] for d in doc["diagnostics"] if d["code"] == "SC307")
