"""examples/ and the real corpus on PostgreSQL: every table is created in its package's
schema, per-package migrations in dependency order reach the same catalog as the one-script
DDL, and every statement parses with sqlglot."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factories import apply_sql, assert_parses, catalog, diff_catalogs, drop_schemas
from schemactl.model import Project
from schemactl.plan import PackageOps, full_create, order_migrations
from schemactl.sql import render_down, render_project, render_up

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytestmark = pytest.mark.postgres


def _load(root: Path) -> Project:
    from schemactl.project import load_project

    result = load_project(root)
    assert result.ok, [str(d) for d in result.diagnostics]
    return result.project


def corpus_root(tmp_path: Path, corpus_dir: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(corpus_dir, root / "packages")
    shutil.rmtree(root / "packages" / "json_script_example")
    (root / "schemactl.toml").write_text(
        '[external.User]\ntable = "public.users"\nkey = "id"\ntype = "string"\n\n'
        '[external.Tenant]\ntable = "public.tenants"\nkey = "id"\ntype = "string"\n'
    )
    return root


def _externals(url: str, project: Project) -> None:
    from schemactl.sql.quote import ident, qualified

    statements = []
    for x in project.externals:
        statements.append(f"CREATE SCHEMA IF NOT EXISTS {ident(x.namespace)}")
        statements.append(
            f"CREATE TABLE {qualified(x.namespace, x.table)} ({ident(x.key)} text PRIMARY KEY)"
        )
    apply_sql(url, statements)


def _check_project(url: str, project: Project) -> None:
    _externals(url, project)
    script = render_project(project)
    assert_parses(script)
    apply_sql(url, script)
    tables = catalog(url)["tables"]
    owned = [e for p in project.packages for e in p.owned_entities()]
    assert owned
    for p in project.packages:
        for e in p.owned_entities():
            assert e.namespace == p.namespace
            assert (p.namespace, e.table) in tables, f"{e.name} not in {p.namespace}"
    managed = {p.namespace for p in project.packages if p.owned}
    assert {ns for ns, _ in tables} - {"public"} == managed
    one_script = catalog(url)

    # Per-package migrations (one transaction each), in dependency order, then all downs.
    drop_schemas(url, managed)
    plans = order_migrations(
        [
            PackageOps(p.id, full_create(p.owned_entities(), p.namespace))
            for p in project.packages
            if p.owned
        ]
    )
    for plan in plans:
        up = render_up(plan.ops)
        assert_parses(up)
        apply_sql(url, up)
    assert diff_catalogs(catalog(url), one_script) == []
    for plan in reversed(plans):
        down = render_down(plan.ops)
        assert_parses(down)
        apply_sql(url, down)
    assert {ns for ns, _ in catalog(url)["tables"]} == {"public"}


def test_examples_apply(pg_db: str) -> None:
    _check_project(pg_db, _load(EXAMPLES))


def test_corpus_applies(pg_db: str, tmp_path: Path, corpus_dir: Path) -> None:
    project = _load(corpus_root(tmp_path, corpus_dir))
    assert sum(len(p.owned) for p in project.packages) >= 50
    _check_project(pg_db, project)
