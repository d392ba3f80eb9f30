"""Golden SQL fixtures (tests/golden/<case>/): YAML in, reviewed SQL out.

``SCHEMACTL_UPDATE_GOLDEN=1`` rewrites the expected files instead of comparing; see
tests/golden/README.md.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from factories import (
    apply_sql,
    assert_parses,
    catalog,
    diff_catalogs,
    drop_schemas,
)
from schemactl.model import Project
from schemactl.plan import PackageOps, full_create, order_migrations, plan_package
from schemactl.sql import render_down, render_up

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
UPDATE = os.environ.get("SCHEMACTL_UPDATE_GOLDEN", "") not in ("", "0")
EXTERNAL_DDL = [
    'CREATE TABLE IF NOT EXISTS "public"."users" ("id" text PRIMARY KEY)',
    'CREATE TABLE IF NOT EXISTS "public"."tenants" ("id" text PRIMARY KEY)',
]


def _project(case: Path, side: str, tmp: Path) -> Project | None:
    """The case's `before/` or `after/` YAML files as a project (None when absent)."""
    from schemactl.project import load_project

    src = case / side
    if not src.is_dir():
        return None
    root = tmp / side
    for yaml_file in sorted(src.glob("*.yaml")):
        dest = root / "packages" / yaml_file.stem / "seed" / "schema" / "entities.yaml"
        dest.parent.mkdir(parents=True)
        shutil.copyfile(yaml_file, dest)
    if (case / "schemactl.toml").is_file():
        shutil.copyfile(case / "schemactl.toml", root / "schemactl.toml")
    result = load_project(root)
    assert result.ok, [str(d) for d in result.diagnostics]
    return result.project


def _plans(before: Project | None, after: Project) -> list[PackageOps]:
    old = {p.id: p for p in before.packages} if before else {}
    plans = []
    for p in after.packages:
        prev = old.get(p.id)
        ops = plan_package(
            prev.owned_entities() if prev else (), p.owned_entities(), namespace=p.namespace
        )
        plans.append(PackageOps(p.id, ops))
    return order_migrations(plans)


def _script(plans: list[PackageOps], *, down: bool) -> str:
    parts = []
    for plan in reversed(plans) if down else plans:
        body = render_down(plan.ops) if down else render_up(plan.ops)
        if body:
            parts.append(f"-- migration: {plan.package}\n{body}")
    return "\n".join(parts)


def _load_case(case: str, tmp_path: Path) -> tuple[Project | None, Project, list[PackageOps]]:
    before = _project(GOLDEN / case, "before", tmp_path)
    after = _project(GOLDEN / case, "after", tmp_path)
    assert after is not None
    return before, after, _plans(before, after)


@pytest.mark.parametrize("case", CASES)
def test_golden_sql(case: str, tmp_path: Path) -> None:
    _, _, plans = _load_case(case, tmp_path)
    for name, text in (
        ("up.sql", _script(plans, down=False)),
        ("down.sql", _script(plans, down=True)),
    ):
        assert text, f"{case}: nothing planned"
        assert_parses(text)
        path = GOLDEN / case / name
        if UPDATE:
            path.write_text(text, encoding="utf-8")
            continue
        assert path.is_file(), f"{path} missing: run with SCHEMACTL_UPDATE_GOLDEN=1"
        assert text == path.read_text(encoding="utf-8"), f"{case}/{name} differs"


@pytest.mark.postgres
@pytest.mark.parametrize("case", CASES)
def test_golden_sql_applies(case: str, tmp_path: Path, pg_db: str) -> None:
    """before + up.sql == a fresh create of after; down.sql gives back before."""
    before, after, plans = _load_case(case, tmp_path)
    apply_sql(pg_db, EXTERNAL_DDL)
    if before is not None:
        for plan in order_migrations(
            [
                PackageOps(p.id, full_create(p.owned_entities(), p.namespace))
                for p in before.packages
            ]
        ):
            apply_sql(pg_db, render_up(plan.ops))
    first = catalog(pg_db)
    for plan in plans:  # each migration in its own transaction, as `apply` runs them
        apply_sql(pg_db, render_up(plan.ops))
    migrated = catalog(pg_db)
    for plan in reversed(plans):
        apply_sql(pg_db, render_down(plan.ops))
    assert diff_catalogs(catalog(pg_db), first) == []

    drop_schemas(
        pg_db,
        sorted(
            {p.namespace for p in after.packages}
            | ({p.namespace for p in before.packages} if before else set())
        ),
    )
    for plan in order_migrations(
        [PackageOps(p.id, full_create(p.owned_entities(), p.namespace)) for p in after.packages]
    ):
        apply_sql(pg_db, render_up(plan.ops))
    assert diff_catalogs(catalog(pg_db), migrated) == []
