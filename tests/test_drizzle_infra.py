"""The Drizzle proof's own tools (drizzle_check and the catalog comparison of
test_drizzle) fail when they should: a broken module, a type error, a changed table."""

from __future__ import annotations

import pytest

import drizzle_check
from drizzle_check import assert_same_tables, drizzle_kit_sql, tsc_check
from factories import entity, field
from pg import PgServer
from schemactl.model import Package, Project

MODULE = """\
import { integer, pgSchema, text } from "drizzle-orm/pg-core";

export const a = pgSchema("a");
export const widgets = a.table("widgets", {
  id: integer("id").primaryKey(),
  name: text("name").notNull(),
});
"""


def test_drizzle_kit_generates_the_statements() -> None:
    statements = drizzle_kit_sql({"a.ts": MODULE})
    assert statements[0] == 'CREATE SCHEMA "a";'
    assert statements[1].startswith('CREATE TABLE "a"."widgets" (')
    assert '"name" text NOT NULL' in statements[1]
    assert len(statements) == 2


def test_drizzle_kit_failure_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="drizzle-kit generate failed"):
        drizzle_kit_sql({"a.ts": MODULE.replace("pgSchema(", "pgSchemaNope(")})


def test_tsc_accepts_good_and_rejects_a_type_error() -> None:
    ok, output = tsc_check({"a.ts": MODULE})
    assert ok, output
    ok, output = tsc_check({"a.ts": MODULE + "export const n: number = widgets.id;\n"})
    assert not ok
    assert "schema/a.ts" in output and "TS2322" in output


def test_a_different_table_is_caught(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison sees a module that lost a CHECK and got another default."""
    e = entity(
        "Widget",
        [field("id", "int", primary=True), field("name", required=True, max_length=9)],
        namespace="w",
        package="w",
    )
    project = Project("/x", (Package("w", "w", "p", "p/e.yaml", (e,), ("Widget",)),))
    assert_same_tables(pg_server, project)  # as generated: the same

    real = drizzle_check.render_drizzle

    def tampered(p: Project) -> dict[str, str]:
        out = real(p)
        text = out["w.ts"]
        lines = [ln for ln in text.splitlines() if "check(" not in ln]
        out["w.ts"] = (
            "\n".join(lines).replace(".notNull(),\n  },", '.notNull().default("x"),\n  },') + "\n"
        )
        assert out["w.ts"] != text
        return out

    monkeypatch.setattr(drizzle_check, "render_drizzle", tampered)
    with pytest.raises(AssertionError) as info:
        assert_same_tables(pg_server, project)
    message = str(info.value)
    assert "schemactl's SQL vs drizzle-kit's" in message
    assert "'ck_widgets_name_max_length')" in message
    assert "'x'::text" in message
