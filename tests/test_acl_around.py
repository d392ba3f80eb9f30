"""SPEC §13 around the core: `preview` shows the grants and policies, the Prisma output of
an enforced project stays valid and says policies are not expressible, `check --shadow`
compares policies and grants (expressions included), and every ACL statement and policy
expression parses with sqlglot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from acl_util import scan_approve
from foundation_util import json_doc, make_project, run_cli
from prisma_check import prisma_validate
from schemactl.sql import split_statements

CONFIG = """
[acl]
enforce = true
cross_tenant = ["admin"]
[acl.roles]
public = "acl_a_anon"
user = "acl_a_user"
admin = "acl_a_admin"
[acl.row_roles.shared]
role = "public"
when = "isShared = true AND kind IN ('a', 'b') AND NOT (note IS NULL)"
"""
PKG = """entities:
  - name: Doc
    fields:
      id: {type: uuid, primary: true, generated: true}
      tenantId: {type: uuid, required: true}
      ownerId: {type: uuid}
      isShared: {type: boolean}
      kind: {type: string, enum: [a, b, c]}
      note: {type: text}
      n: {type: int}
    acl:
      create: [user]
      read: [owner, shared, admin]
      update: [owner]
      delete: [none]
      rowLevel: "ownerId = $user.id OR (n >= 10 AND n <> 99)"
"""


def test_preview_shows_policies_and_grants(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"docs": PKG}, CONFIG)
    res = run_cli(root, "preview", "docs")
    assert res.exit_code == 0
    text = res.stdout
    assert 'ALTER TABLE "docs"."docs" FORCE ROW LEVEL SECURITY' in text
    assert 'GRANT SELECT ON TABLE "docs"."docs" TO "acl_a_anon"' in text
    assert 'AS RESTRICTIVE FOR ALL TO "acl_a_anon", "acl_a_user" USING' in text
    # settings cast to the column's type (uuid), read once per statement
    assert "(select nullif(current_setting('app.user_id', true), '')::uuid)" in text
    assert "DELETE" not in text.split("CREATE TABLE")[1].split("REVOKE")[0]


def test_every_acl_statement_and_expression_parses_with_sqlglot(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"docs": PKG}, CONFIG)
    text = run_cli(root, "preview", "docs").stdout
    policies = [s for s in split_statements(text) if s.startswith("CREATE POLICY")]
    assert len(policies) == 6
    for stmt in split_statements(text):
        sqlglot.parse_one(stmt, read="postgres")
    exprs = 0
    for stmt in policies:  # the expressions themselves, as WHERE clauses
        for word in (" USING (", " WITH CHECK ("):
            if word in stmt:
                expr = balanced(stmt[stmt.index(word) + len(word) - 1 :])
                sqlglot.parse_one(f"SELECT 1 WHERE {expr}", read="postgres")
                exprs += 1
    assert exprs == 8


def balanced(text: str) -> str:
    """The parenthesised group ``text`` starts with (no quotes hold parentheses here)."""
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return text[: i + 1]
    raise AssertionError(text)


def test_prisma_output_of_an_enforced_project_stays_valid(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"docs": PKG}, CONFIG)
    text = run_cli(root, "preview", "docs", "--format", "prisma").stdout
    assert "Prisma cannot express policies" in text
    ok, out = prisma_validate(text)
    assert ok, out
    scan_approve(root)
    assert run_cli(root, "generate", "--prisma", "schema.prisma").exit_code == 0
    generated = (root / "schema.prisma").read_text()
    assert generated.startswith("// Row-level security")
    assert prisma_validate(generated)[0]


@pytest.mark.postgres
def test_check_shadow_compares_policies_and_grants(
    tmp_path: Path, pg_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHEMACTL_SHADOW_URL", pg_server.url)
    root = make_project(tmp_path / "p", {"docs": PKG}, CONFIG)
    scan_approve(root)
    res = run_cli(root, "--json", "check", "--shadow")
    doc = json_doc(res)
    assert res.exit_code == 0, doc["diagnostics"]
    assert "SC712" in [d["code"] for d in doc["diagnostics"]]
    assert not [d for d in doc["diagnostics"] if d["code"] == "SC820"]


@pytest.mark.postgres
def test_the_shadow_comparison_sees_a_changed_expression(tmp_path: Path, pg_server: Any) -> None:
    """What check --shadow runs on its database, here on one where a policy's expression
    was changed behind schemactl's back: the probe-normalised expressions differ."""
    import psycopg

    from acl_util import apply
    from schemactl.acl import drift

    root = make_project(tmp_path / "p", {"docs": PKG}, CONFIG)
    scan_approve(root)
    data = {}
    for f in (root / ".schemactl").rglob("*.json"):
        data.update(json.loads(f.read_text()).get("baseline", {}))
    expected = drift.expected_from_entries(data.values())
    with pg_server.fresh_database() as url:
        apply(root, url)
        with psycopg.connect(url, autocommit=True) as conn:
            assert drift.compare(expected, drift.read_live(conn, ["docs"]), probe_conn=conn) == []
            conn.execute('ALTER POLICY "acl_update_acl_a_user" ON docs.docs USING (n = 1)')
            found = drift.compare(expected, drift.read_live(conn, ["docs"]), probe_conn=conn)
            # the structure alone (status on a live database) does not see it
            assert drift.compare(expected, drift.read_live(conn, ["docs"])) == []
    assert [d.message for d in found] == [
        "drift: docs.docs: policy acl_update_acl_a_user has other expressions than declared"
    ]
