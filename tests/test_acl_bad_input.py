"""SPEC §13 bad input: every problem of an ACL is an error at its file, line and column,
with a stable code, exit 1 (2 for the config), no traceback, and nothing planned."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation_util import codes, json_doc, make_project, run_cli, tree_hash
from schemactl.acl.expr import ExprError, parse

CONFIG = """
[acl]
enforce = true
[acl.roles]
public = "app_anon"
user = "app_user"
admin = "app_admin"
[acl.row_roles.public_if_shared]
role = "public"
when = "isShared = true"
"""


def entity(acl: str, extra_fields: str = "") -> str:
    return f"""entities:
  - name: Doc
    fields:
      id: {{type: string, primary: true}}
      ownerId: {{type: string}}
      tenantId: {{type: string}}
      isShared: {{type: boolean}}
      n: {{type: int}}
{extra_fields}    acl:
{acl}
"""


def scan_fails(tmp_path: Path, acl: str, config: str = CONFIG, fields: str = "") -> dict:
    root = make_project(tmp_path / "p", {"docs": entity(acl, fields)}, config)
    before = tree_hash(root)
    res = run_cli(root, "--json", "scan")
    doc = json_doc(res)
    assert res.exit_code == 1, doc
    assert not (root / ".schemactl").exists()  # nothing planned, no registry written
    assert tree_hash(root) == before
    return doc


def the_error(doc: dict) -> dict:
    errs = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert len(errs) == 1, errs
    return errs[0]


ENTITIES = "packages/docs/seed/schema/entities.yaml"
ROW_LEVEL_LINE = 11  # "      rowLevel: ..." in entity() when the ACL has one line before


@pytest.mark.parametrize(
    ("expression", "code", "offset"),
    [
        ("ownerId = $user.id; DROP TABLE docs.docs", "SC811", 18),
        ("ownerId = $user.id OR true -- bypass", "SC811", 27),
        ("ownerId = $user.id /* x */", "SC811", 19),
        ("lower(ownerId) = $user.id", "SC811", 0),
        ("ownerId = (SELECT id FROM public.users)", "SC811", 10),
        ("ownerId IN (SELECT id FROM public.users)", "SC811", 12),
        ("ownerId::text = $user.id", "SC811", 7),
        ("ownerId = pg_sleep(10)", "SC811", 10),
        ("ownerId = 'a\\' OR 1=1", "SC811", 12),
        ("ownerId = $user.tenantId", "SC812", 10),
        ("ownerId = $(whoami)", "SC812", 10),
        ("ownr = $user.id", "SC813", 0),
        ("owner.id = $user.id", "SC813", 0),
        ("n = 'many'", "SC813", 4),
        ("ownerId = null", "SC813", 10),
        ("ownerId = ", "SC810", 10),
        ("(ownerId = $user.id", "SC810", 19),
    ],
)
def test_rejected_row_level_points_at_the_token(
    tmp_path: Path, expression: str, code: str, offset: int
) -> None:
    acl = f"      read: [owner]\n      rowLevel: {_yaml_str(expression)}"
    err = the_error(scan_fails(tmp_path, acl))
    assert err["code"] == code, err
    assert err["file"] == ENTITIES
    assert err["line"] == ROW_LEVEL_LINE
    # the column of the offending token: the text starts at col 18, after `rowLevel: "`
    assert err["column"] == 18 + offset, err
    assert err["entity"] == "Doc"


def _yaml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_a_quote_in_a_literal_stays_data() -> None:
    # the ' doubled inside a literal is part of the string, never the end of it
    node = parse("ownerId = 'x'' OR true OR ''y'")
    assert type(node).__name__ == "Cmp"


def test_the_parser_allows_only_its_grammar() -> None:
    for bad in ["a = 1 UNION SELECT 1", "a = b()", "a = 1 AND", "NOT", "a = = 1", "a.b.c = 1",
                "a = 1 & 1", "a || b", "a = $user.id.x", "a = 1;", "a = E'x'"]:  # fmt: skip
        with pytest.raises(ExprError):
            parse(bad)


def test_unknown_role_is_an_error_at_its_list_item(tmp_path: Path) -> None:
    err = the_error(scan_fails(tmp_path, "      read: [admin, moderatr]"))
    assert err["code"] == "SC814"
    assert (err["file"], err["line"]) == (ENTITIES, 10)
    assert "did you mean" not in (err["hint"] or "") or "moderatr" in err["message"]


def test_owner_without_row_level_or_owner_field(tmp_path: Path) -> None:
    config = CONFIG.replace("[acl.roles]", 'owner_fields = ["authorId"]\n[acl.roles]')
    err = the_error(scan_fails(tmp_path, "      update: [owner]", config))
    assert err["code"] == "SC816"
    assert (err["file"], err["line"]) == (ENTITIES, 10)
    assert "neither rowLevel nor an owner field" in err["message"]


def test_row_role_condition_on_a_field_the_entity_lacks(tmp_path: Path) -> None:
    config = CONFIG.replace('when = "isShared = true"', 'when = "isPublic = true"')
    err = the_error(scan_fails(tmp_path, "      read: [public_if_shared]", config))
    assert err["code"] == "SC813"
    assert (err["file"], err["line"]) == (ENTITIES, 10)
    assert "public_if_shared" in err["message"] and "isPublic" in err["message"]


def test_relation_path_through_a_has_many_or_an_unknown_relation(tmp_path: Path) -> None:
    err = the_error(
        scan_fails(tmp_path, '      read: [owner]\n      rowLevel: "folder.ownerId = $user.id"')
    )
    assert err["code"] == "SC813" and "unknown relation 'folder'" in err["message"]


@pytest.mark.parametrize(
    ("config_tail", "code"),
    [
        ('[acl.row_roles.a]\nrole = "b"\nwhen = "n = 1"\n'
         '[acl.row_roles.b]\nrole = "a"\nwhen = "n = 2"\n', "SC804"),
        ('[acl.row_roles.a]\nrole = "a"\nwhen = "n = 1"\n', "SC804"),
        ('[acl.row_roles.a]\nrole = "nobody"\nwhen = "n = 1"\n', "SC804"),
    ],
)  # fmt: skip
def test_looping_or_dangling_row_roles_are_config_errors(
    tmp_path: Path, config_tail: str, code: str
) -> None:
    root = make_project(tmp_path / "p", {"docs": entity("      read: [admin]")},
                        CONFIG + config_tail)  # fmt: skip
    res = run_cli(root, "--json", "scan")
    doc = json_doc(res)
    assert res.exit_code == 2
    assert codes(doc) == [code]
    assert "schemactl.toml" in doc["diagnostics"][0]["message"]
    assert not (root / ".schemactl").exists()


@pytest.mark.parametrize(
    ("acl_table", "code"),
    [
        ("[acl]\nenforced = true\n", "SC800"),
        ("[acl]\nenforce = 'yes'\n", "SC801"),
        ("[acl]\nenforce = true\n", "SC803"),
        ('[acl]\nenforce = true\n[acl.roles]\npublic = "public"\n', "SC802"),
        ('[acl]\nenforce = true\n[acl.roles]\nuser = "App User"\n', "SC802"),
        ('[acl]\nenforce = true\n[acl.roles]\nowner = "app_user"\n', "SC802"),
        ('[acl]\nenforce = true\ncross_tenant = ["gdo"]\n[acl.roles]\ngod = "g"\n', "SC805"),
        ('[acl]\nenforce = true\nuser_setting = "user_id"\n[acl.roles]\nuser = "u"\n', "SC801"),
    ],
)
def test_bad_acl_config(tmp_path: Path, acl_table: str, code: str) -> None:
    root = make_project(tmp_path / "p", {"docs": entity("      read: [admin]")}, acl_table)
    res = run_cli(root, "--json", "validate")
    doc = json_doc(res)
    assert res.exit_code == 2, doc
    assert codes(doc) == [code]


def test_validate_reports_acl_errors_text_with_position(tmp_path: Path) -> None:
    acl = '      read: [owner]\n      rowLevel: "ownerId = lower($user.id)"'
    root = make_project(tmp_path / "p", {"docs": entity(acl)}, CONFIG)
    res = run_cli(root, "validate")
    assert res.exit_code == 1
    assert f"{ENTITIES}:11:28: error SC811" in res.output
    assert "Traceback" not in res.output


PARENT_CHILD = """entities:
  - name: Parent
    fields:
      id: {type: string, primary: true}
      ownerId: {type: string}
    acl:
      read: [admin]
  - name: Child
    fields:
      id: {type: string, primary: true}
      parentId: {type: string}
    relations:
      - {name: parent, type: belongsTo, entity: Parent, field: parentId}
    acl:
      read: [owner]
      rowLevel: "parent.ownerId = $user.id"
"""


def test_relation_path_to_a_parent_the_role_may_not_read(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"docs": PARENT_CHILD}, CONFIG)
    res = run_cli(root, "--json", "scan")
    doc = json_doc(res)
    assert res.exit_code == 1
    err = the_error(doc)
    assert err["code"] == "SC817"
    assert (err["line"], err["column"]) == (16, 18)
    assert "app_user" in err["message"] and "Parent" in err["message"]
    assert not (root / ".schemactl").exists()


def test_examples_as_they_stand_do_not_compile_when_enforced(tmp_path: Path) -> None:
    """examples/ uses $user.tenantId and `self` without an owner: errors, not guesses."""
    import shutil

    root = tmp_path / "ex"
    examples = Path(__file__).resolve().parent.parent / "examples"
    shutil.copytree(examples / "packages", root / "packages")
    (root / "schemactl.toml").write_text(
        (examples / "schemactl.toml").read_text()
        + '\n[acl]\nenforce = true\n[acl.roles]\npublic = "a"\nuser = "b"\nadmin = "c"\n'
        'system = "d"\n'
    )
    doc = json_doc(run_cli(root, "--json", "validate"))
    assert doc["exit_code"] == 1
    got = sorted((d["code"], d["entity"]) for d in doc["diagnostics"] if d["severity"] == "error")
    assert ("SC812", "AuditLog") in got and ("SC816", "MyEntity") in got
    assert all(d["file"] and d["line"] for d in doc["diagnostics"] if d["severity"] == "error")
