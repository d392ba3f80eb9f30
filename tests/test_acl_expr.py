"""The ACL expression language (SPEC §13) as a unit: what it renders, and a property test
that no input, however hostile, renders to anything but the allowed SQL shapes."""

from __future__ import annotations

import dataclasses

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from factories import belongs_to, entity, field
from schemactl.acl.compile import AclCompileError, expression_sql
from schemactl.acl.expr import ExprError
from schemactl.acl.settings import AclConfig

PARENT = entity("Folder", [field("id", primary=True), field("ownerId"), field("rank", "int")])
DOC = entity(
    "Doc",
    [
        field("id", "uuid", primary=True),
        field("ownerId", "uuid"),
        field("folderId"),
        field("title"),
        field("n", "int"),
        field("isShared", "boolean"),
        field("meta", "json"),
    ],
    relations=[belongs_to("folder", "folderId", PARENT)],
)
CFG = AclConfig(enforce=True, roles=(("user", "app_user"),))
LOOKUP = {"Folder": PARENT, "Doc": DOC}.get


def sql(text: str) -> str:
    return expression_sql(text, DOC, CFG, LOOKUP, ("acl", "rowLevel"))


SETTING_UUID = "(select nullif(current_setting('app.user_id', true), '')::uuid)"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("ownerId = $user.id", f'("owner_id" = {SETTING_UUID})'),
        ("$user.id = ownerId", f'({SETTING_UUID} = "owner_id")'),
        ("n != 3", '("n" <> 3)'),
        ("title IN ('a', 'b''c')", "(\"title\" IN ('a', 'b''c'))"),
        ("title NOT IN ($tenant.id)",
         "(\"title\" NOT IN ((select nullif(current_setting('app.tenant_id', true), '')::text)))"),
        ("isShared", '"is_shared"'),
        ("NOT isShared OR title IS NOT NULL", '((NOT "is_shared") OR ("title" IS NOT NULL))'),
        ("folder.id = 'f1'", "(\"folder_id\" = 'f1')"),
        ("folder.rank >= 2",
         '(EXISTS (SELECT 1 FROM "app"."folders" AS "acl_parent" WHERE "acl_parent"."id" = '
         '"app"."docs"."folder_id" AND ("acl_parent"."rank" >= 2)))'),
        ("folder.ownerId = title",
         '(EXISTS (SELECT 1 FROM "app"."folders" AS "acl_parent" WHERE "acl_parent"."id" = '
         '"app"."docs"."folder_id" AND ("acl_parent"."owner_id" = "app"."docs"."title")))'),
        ("n > -1.5e3", '("n" > -1500.0)'),
        ("TRUE", "true"),
    ],
)  # fmt: skip
def test_rendering(text: str, want: str) -> None:
    assert sql(text) == want


@pytest.mark.parametrize(
    "text",
    ["meta = 'x'", "isShared = 1", "n = 'x'", "title", "n IN (null)", "folder.nope = 1",
     "missing = 1", "folder.rank = title.x"],
)  # fmt: skip
def test_semantic_errors(text: str) -> None:
    with pytest.raises(AclCompileError) as e:
        sql(text)
    assert e.value.code in ("SC811", "SC813")


ALLOWED = (
    exp.Select, exp.Where, exp.Literal, exp.Column, exp.Identifier, exp.Table, exp.TableAlias,
    exp.From, exp.Paren, exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT,
    exp.LTE, exp.In, exp.Is, exp.Null, exp.Boolean, exp.Exists, exp.Subquery, exp.Cast,
    exp.DataType, exp.Nullif, exp.Anonymous, exp.Neg, exp.Tuple, exp.Star,
)  # fmt: skip
TOKENS = ["ownerId", "title", "n", "isShared", "folder.rank", "folder.ownerId", "$user.id",
          "$tenant.id", "'a'", "'x''y'", "1", "-2.5", "true", "null", "=", "<>", "<", ">=",
          "AND", "OR", "NOT", "IN", "IS", "(", ")", ",", ";", "--", "/*", "::", "select",
          "pg_sleep(1)", "'", '"', "\\", "$x", "drop", "union"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), min_size=1,
                max_size=12))  # fmt: skip
def test_any_input_renders_only_allowed_sql(parts: list[str]) -> None:
    text = " ".join(parts)
    try:
        out = sql(text)
    except (ExprError, AclCompileError):
        return
    tree = sqlglot.parse_one(f"SELECT 1 WHERE {out}", read="postgres")
    for node in tree.walk():
        assert isinstance(node, ALLOWED), (text, out, type(node).__name__)
        if isinstance(node, exp.Anonymous):
            assert node.name.lower() == "current_setting", (text, out)
        if isinstance(node, exp.Table):
            assert node.name == "folders", (text, out)


def test_the_owner_condition_uses_the_first_owner_field() -> None:
    from schemactl.acl.compile import owner_condition

    e = dataclasses.replace(DOC)
    cond, src = owner_condition(e, CFG, LOOKUP)
    assert src == "ownerId" and cond == f'("owner_id" = {SETTING_UUID})'


def test_lock_header_only_when_a_policy_or_grant_touches_an_existing_table() -> None:
    from schemactl.acl.ops import EnableRls, EnsureRoles, GrantUsage
    from schemactl.ops import CreateSchema, CreateTable
    from schemactl.sql import render_up
    from schemactl.sql.render import LOCK_HEADER

    assert not render_up([EnsureRoles(("r",)), GrantUsage("app", "r")]).startswith(LOCK_HEADER)
    fresh = [CreateSchema("app"), CreateTable(DOC), EnableRls("app", "docs")]
    assert not render_up(fresh).startswith(LOCK_HEADER)
    assert render_up([EnableRls("app", "docs")]).startswith(LOCK_HEADER)
