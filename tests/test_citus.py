"""Citus as a target (SPEC §15, issue 13): the SQL and the diagnostics.

There is no Citus server here (docs/citus.md says how to run `check --shadow` against
one): these tests check that the distribution statements are where Citus needs them, that
every statement parses with sqlglot's postgres dialect, that without `[citus]` the SQL is
unchanged, and that what Citus would reject is an error at validation, with file and line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from factories import assert_parses
from registry_util import cli, cli_json, codes, entities, entity, migrations, project
from schemactl.citus import CitusConfig, parse

CONFIG = 'packages = ["packages/*"]\n'


def schema_config(reference: list[str]) -> str:
    refs = ", ".join(f'"{r}"' for r in reference)
    return CONFIG + f'\n[citus]\nmode = "schema"\nreference = [{refs}]\n'


ROW_CONFIG = CONFIG + '\n[citus]\nmode = "row"\n'

GEO = entities(entity("Country", {"code": "type: string, primary: true", "name": "type: string"}))
BILLING = entities(
    entity(
        "Customer",
        {"id": "type: uuid, primary: true, generated: true", "name": "type: string"},
    ),
    entity(
        "Invoice",
        {
            "id": "type: uuid, primary: true, generated: true",
            "customerId": "type: uuid, required: true",
            "countryCode": "type: string",
        },
        "    relations:\n"
        "      - { name: customer, type: belongsTo, entity: Customer, field: customerId }\n"
        "      - { name: country, type: belongsTo, entity: Country, field: countryCode }\n",
    ),
)


def scanned_sql(root: Path) -> dict[str, dict[str, str]]:
    code, doc = cli_json(root, "scan")
    assert code == 0, doc
    return {m["package"]: m["sql"] for m in migrations(root)}


def statements(script: str) -> list[str]:
    return assert_parses(script)


def citus_lines(script: str) -> list[str]:
    return [s for s in statements(script) if s.startswith("SELECT ")]


# ----------------------------------------------------------------------------- unchanged


@pytest.mark.parametrize("mode", ["schema", "row"])
def test_citus_only_adds_select_statements(tmp_path: Path, mode: str) -> None:
    """Without [citus] the SQL is what it always was; with it, removing the added SELECTs
    gives back exactly those bytes."""
    pkgs = {"geo": GEO, "billing": BILLING}
    plain = scanned_sql(project(tmp_path / "plain", pkgs))
    config = schema_config(["geo"]) if mode == "schema" else ROW_CONFIG
    cit = scanned_sql(project(tmp_path / "citus", pkgs, config))
    assert plain.keys() == cit.keys()
    for pkg in plain:
        for side in ("up", "down"):
            stripped = "".join(
                line + "\n"
                for line in cit[pkg][side].splitlines()
                if not re.match(r"SELECT (citus_schema_distribute|create_\w+_table)\(", line)
            )
            assert stripped == plain[pkg][side], (pkg, side)
        assert citus_lines(cit[pkg]["up"]), pkg
        assert not citus_lines(plain[pkg]["up"])


# ----------------------------------------------------------------------------- schema mode


def test_schema_mode_distributes_each_schema_and_makes_reference_tables(tmp_path: Path) -> None:
    root = project(tmp_path, {"geo": GEO, "billing": BILLING}, schema_config(["geo"]))
    code, doc = cli_json(root, "validate")
    assert code == 0 and codes(doc, "error") == []
    sql = scanned_sql(root)
    up = statements(sql["billing"]["up"])
    at = up.index('CREATE SCHEMA IF NOT EXISTS "billing"')
    assert up[at + 1] == "SELECT citus_schema_distribute('billing')"  # before any table
    assert not any(s.startswith("CREATE TABLE") for s in up[:at])
    assert citus_lines(sql["billing"]["up"]) == ["SELECT citus_schema_distribute('billing')"]
    geo = statements(sql["geo"]["up"])
    assert "citus_schema_distribute" not in sql["geo"]["up"]
    create = next(i for i, s in enumerate(geo) if s.startswith('CREATE TABLE "geo"."countries"'))
    ref = geo.index('SELECT create_reference_table(\'"geo"."countries"\')')
    assert ref > create
    # the reference table exists before the foreign key that points at it is added
    # (geo's migration is applied before billing's)
    ids = [m["id"] for m in migrations(root)]
    order = sorted(migrations(root), key=lambda m: m.get("order", 0))
    assert [m["package"] for m in order].index("geo") < [m["package"] for m in order].index(
        "billing"
    ), ids


def test_schema_mode_down_script_parses(tmp_path: Path) -> None:
    root = project(tmp_path, {"geo": GEO, "billing": BILLING}, schema_config(["geo"]))
    for sql in scanned_sql(root).values():
        statements(sql["down"])


def test_fk_between_two_distributed_schemas_is_an_error(tmp_path: Path) -> None:
    crm = entities(
        entity(
            "Contact",
            {"id": "type: uuid, primary: true", "customerId": "type: uuid"},
            "    relations:\n"
            "      - { name: customer, type: belongsTo, entity: Customer, field: customerId }\n",
        )
    )
    root = project(tmp_path, {"geo": GEO, "billing": BILLING, "crm": crm}, schema_config(["geo"]))
    code, doc = cli_json(root, "validate")
    assert code == 1
    [d] = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert d["code"] == "SC850" and d["package"] == "crm" and d["entity"] == "Contact"
    assert d["file"] == "packages/crm/seed/schema/entities.yaml" and d["line"] == 7
    assert "crm.contacts" in d["message"] and "billing.customers" in d["message"]
    assert "[citus] reference" in d["hint"]
    # Making billing a reference package resolves it.
    (root / "schemactl.toml").write_text(schema_config(["geo", "billing"]))
    code, doc = cli_json(root, "validate")
    assert code == 0, doc
    # ... and scan refuses the error state, like any validation error.
    (root / "schemactl.toml").write_text(schema_config(["geo"]))
    code, doc = cli_json(root, "scan")
    assert code == 1 and "SC850" in codes(doc)


def test_reference_table_pointing_into_a_distributed_schema_is_an_error(tmp_path: Path) -> None:
    geo = entities(
        entity(
            "Country",
            {"code": "type: string, primary: true", "billedTo": "type: uuid"},
            "    relations:\n"
            "      - { name: billed, type: belongsTo, entity: Customer, field: billedTo }\n",
        )
    )
    root = project(tmp_path, {"geo": geo, "billing": BILLING}, schema_config(["geo"]))
    code, doc = cli_json(root, "validate")
    assert code == 1 and codes(doc, "error") == ["SC852"]


def test_external_table_must_be_declared_a_reference_table(tmp_path: Path) -> None:
    pkg = entities(
        entity(
            "Note",
            {"id": "type: uuid, primary: true", "userId": "type: string"},
            "    relations:\n"
            "      - { name: user, type: belongsTo, entity: User, field: userId }\n",
        )
    )
    ext = '\n[external.User]\ntable = "public.users"\nkey = "id"\ntype = "string"\n'
    root = project(tmp_path, {"notes": pkg}, schema_config([]) + ext)
    code, doc = cli_json(root, "validate")
    assert code == 1 and codes(doc, "error") == ["SC851"]
    assert "public.users" in doc["diagnostics"][0]["hint"]
    (root / "schemactl.toml").write_text(schema_config(["public.users"]) + ext)
    code, doc = cli_json(root, "validate")
    assert code == 0, doc


def test_unknown_reference_package(tmp_path: Path) -> None:
    root = project(tmp_path, {"geo": GEO, "billing": BILLING}, schema_config(["goe"]))
    code, doc = cli_json(root, "validate")
    assert code == 1 and "SC853" in codes(doc)
    assert (
        "did you mean 'geo'" in next(d for d in doc["diagnostics"] if d["code"] == "SC853")["hint"]
    )


# ----------------------------------------------------------------------------- row mode

ROW_TENANT = entities(
    entity(
        "Plan",
        {"code": "type: string, primary: true", "name": "type: string"},
    ),
    entity(
        "Project",
        {
            "id": "type: uuid, primary: true, generated: true",
            "tenantId": "type: string, primary: true",
            "name": "type: string",
            "planCode": "type: string",
        },
        "    indexes:\n      - { fields: [tenantId, name], unique: true }\n"
        "    relations:\n"
        "      - { name: plan, type: belongsTo, entity: Plan, field: planCode }\n",
    ),
)


def test_row_mode_distributes_tenant_tables_and_references_the_rest(tmp_path: Path) -> None:
    root = project(tmp_path, {"app": ROW_TENANT}, ROW_CONFIG)
    code, doc = cli_json(root, "validate")
    assert code == 0 and codes(doc, "error") == []
    up = scanned_sql(root)["app"]["up"]
    stmts = statements(up)
    dist = (
        "SELECT create_distributed_table('\"app\".\"projects\"', 'tenant_id', "
        "colocate_with => 'default')"
    )
    ref = 'SELECT create_reference_table(\'"app"."plans"\')'
    assert citus_lines(up) == [ref, dist] or citus_lines(up) == [dist, ref]
    assert "citus_schema_distribute" not in up
    # each right after its CREATE TABLE (and comments), before indexes and foreign keys
    fk = next(i for i, s in enumerate(stmts) if "FOREIGN KEY" in s)
    uq = next(i for i, s in enumerate(stmts) if "UNIQUE" in s)
    assert stmts.index(dist) < min(fk, uq) and stmts.index(ref) < fk
    assert stmts[stmts.index(dist) - 1].startswith('CREATE TABLE "app"."projects"')


def test_row_mode_colocate_with_is_configurable(tmp_path: Path) -> None:
    config = ROW_CONFIG + 'colocate_with = "app.projects"\n'
    up = scanned_sql(project(tmp_path, {"app": ROW_TENANT}, config))["app"]["up"]
    assert "colocate_with => 'app.projects'" in up


def _row_errors(tmp_path: Path, text: str) -> list[dict[str, Any]]:
    root = project(tmp_path, {"app": text}, ROW_CONFIG)
    code, doc = cli_json(root, "validate")
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert code == (1 if errors else 0)
    return errors


def test_row_mode_primary_key_without_tenant_column(tmp_path: Path) -> None:
    text = entities(entity("Task", {"id": "type: uuid, primary: true", "tenantId": "type: string"}))
    [d] = _row_errors(tmp_path, text)
    assert d["code"] == "SC855" and "tenant_id" in d["message"] and d["line"] == 2


def test_row_mode_unique_without_tenant_column(tmp_path: Path) -> None:
    text = entities(
        entity(
            "Task",
            {
                "id": "type: uuid, primary: true",
                "tenantId": "type: string, primary: true",
                "slug": "type: string, unique: true",
                "title": "type: string",
            },
            "    indexes:\n      - { fields: [title], unique: true }\n",
        )
    )
    errs = _row_errors(tmp_path, text)
    assert sorted(d["code"] for d in errs) == ["SC856", "SC856"]
    assert any("slug" in d["message"] for d in errs) and any("title" in d["message"] for d in errs)


def test_row_mode_fk_between_distributed_tables_without_tenant_column(tmp_path: Path) -> None:
    # (entities.yaml relations are single-column, so a foreign key to a table whose key
    # includes the tenant column cannot be written at all; here the target's key lacks it)
    text = entities(
        entity("Board", {"id": "type: uuid, primary: true", "tenantId": "type: string"}),
        entity(
            "Card",
            {
                "id": "type: uuid, primary: true",
                "tenantId": "type: string, primary: true",
                "boardId": "type: uuid",
            },
            "    relations:\n"
            "      - { name: board, type: belongsTo, entity: Board, field: boardId }\n",
        ),
    )
    errs = _row_errors(tmp_path, text)
    assert sorted(d["code"] for d in errs) == ["SC855", "SC857"]
    fk = next(d for d in errs if d["code"] == "SC857")
    assert fk["entity"] == "Card" and "(board_id) -> (id)" in fk["message"]
    assert fk["line"] == 12


def test_row_mode_reference_to_distributed_fk(tmp_path: Path) -> None:
    text = entities(
        entity("Board", {"id": "type: uuid, primary: true", "tenantId": "type: string"}),
        entity(
            "Template",
            {"id": "type: uuid, primary: true", "boardId": "type: uuid"},
            "    relations:\n"
            "      - { name: board, type: belongsTo, entity: Board, field: boardId }\n",
        ),
    )
    errs = _row_errors(tmp_path, text)
    assert sorted(d["code"] for d in errs) == ["SC855", "SC858"]
    ref = next(d for d in errs if d["code"] == "SC858")
    assert ref["entity"] == "Template" and "reference table app.templates" in ref["message"]


def test_row_mode_tenant_columns_of_different_types(tmp_path: Path) -> None:
    text = entities(
        entity("A", {"id": "type: uuid, primary: true", "tenantId": "type: string, primary: true"}),
        entity("B", {"id": "type: uuid, primary: true", "tenantId": "type: uuid, primary: true"}),
    )
    assert [d["code"] for d in _row_errors(tmp_path, text)] == ["SC859"]


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('mode = "shard"', "citus.mode"),
        ('mode = "schema"\nrefrence = []', "did you mean 'citus.reference'"),
        ('mode = "row"\nreference = "geo"', "citus.reference"),
        ('mode = "row"\ncolocate_with = 3', "citus.colocate_with"),
    ],
)
def test_bad_citus_config_is_exit_2(tmp_path: Path, body: str, needle: str) -> None:
    root = project(tmp_path, {"geo": GEO}, CONFIG + "\n[citus]\n" + body + "\n")
    res = cli(root, "--json", "validate")
    assert res.exit_code == 2, res.stdout
    assert '"SC860"' in res.stdout and needle in res.stdout


def test_tenant_field_comes_from_acl_with_a_default() -> None:
    assert parse("x", {"mode": "row"}).tenant_field == "tenantId"
    assert parse("x", {"mode": "row"}, {"tenant_field": "orgId"}).tenant_field == "orgId"
    assert parse("x", {"mode": "row"}, {"tenant_field": 3}).tenant_field == "tenantId"
    assert parse("x", {"mode": "row"}, "junk").tenant_field == "tenantId"
    cfg = CitusConfig(mode="schema", reference=("geo", "public.users"))
    assert cfg.reference_packages == {"geo"} and cfg.reference_tables == {"public.users"}


def test_preview_shows_the_citus_statements(tmp_path: Path) -> None:
    plain = project(tmp_path / "plain", {"geo": GEO, "billing": BILLING})
    cit = project(tmp_path / "citus", {"geo": GEO, "billing": BILLING}, schema_config(["geo"]))
    for pkg, line in (
        ("billing", "SELECT citus_schema_distribute('billing');"),
        ("geo", 'SELECT create_reference_table(\'"geo"."countries"\');'),
    ):
        a = cli(plain, "preview", pkg)
        b = cli(cit, "preview", pkg)
        assert a.exit_code == 0 and b.exit_code == 0
        assert line in b.stdout.splitlines() and line not in a.stdout
        assert [ln for ln in b.stdout.splitlines() if ln != line] == a.stdout.splitlines()
        statements(b.stdout)
