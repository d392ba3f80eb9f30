"""SPEC §13 on the real corpus (../shared/corpus, json_script_example left out as in
test_corpus.py for its conflicting ValidationRule): the configuration documented in
docs/security.md maps every role the corpus uses; the entities that say owner/self with
no owner column are exactly the SC816 errors; with a ``userId`` column added to those in
a copy, all 55 entities compile and apply, every table RLS-enforced."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from acl_util import apply, as_role, scan_approve, superuser_sql
from foundation_util import json_doc, run_cli

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parent.parent
EXTERNALS = """
[external.User]
table = "public.users"
key = "id"
type = "string"

[external.Tenant]
table = "public.tenants"
key = "id"
type = "string"
"""
NO_OWNER = {
    "CodegenBlueprint", "CodegenGeneration", "CodegenProject", "ColorPalette",
    "DetectedComponent", "GameSession", "GeneratedCode", "GitHubPullRequest",
    "GitHubRepository", "GitHubWebhook", "GitHubWebhookEvent", "ScreenshotAnalysis",
    "StreamScene", "StreamSchedule",
}  # fmt: skip


def documented_config() -> str:
    doc = (REPO / "docs" / "security.md").read_text()
    block = doc.split("## The real corpus", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    return block


@pytest.fixture
def corpus(tmp_path: Path, corpus_dir: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(corpus_dir, root / "packages", symlinks=True)
    shutil.rmtree(root / "packages" / "json_script_example")
    (root / "schemactl.toml").write_text(EXTERNALS + documented_config())
    return root


def test_every_corpus_role_is_mapped_and_only_ownerless_owners_fail(corpus: Path) -> None:
    used = set()
    for f in (corpus / "packages").rglob("entities.yaml"):
        for m in re.finditer(r"(?:create|read|update|delete): *\[([^\]]*)\]", f.read_text()):
            used |= {r.strip() for r in m.group(1).split(",") if r.strip()}
    assert used >= {"public", "user", "owner", "self", "admin", "moderator", "god",
                    "supergod", "system", "none", "public_if_public"}  # fmt: skip
    res = run_cli(corpus, "--json", "validate")
    doc = json_doc(res)
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert res.exit_code == 1
    assert {d["code"] for d in errors} == {"SC816"}
    assert {d["entity"] for d in errors} == NO_OWNER
    assert all(d["file"].endswith("entities.yaml") and d["line"] for d in errors)


def add_owner_column(root: Path, names: set[str]) -> None:
    """``userId: {type: string}`` first among the fields of each entity in ``names``."""
    for f in (root / "packages").rglob("entities.yaml"):
        lines = f.read_text().splitlines(keepends=True)
        out: list[str] = []
        current = None
        for i, line in enumerate(lines):
            m = re.match(r"\s*- name: *['\"]?(\w+)", line)
            if m and re.match(r"  - ", line):
                current = m.group(1)
            out.append(line)
            if current in names and re.match(r"\s+fields:\s*$", line):
                nxt = next(x for x in lines[i + 1 :] if x.strip() and not x.strip().startswith("#"))
                pad = nxt[: len(nxt) - len(nxt.lstrip())]
                if nxt.lstrip().startswith("- "):
                    out.append(f"{pad}- name: userId\n{pad}  type: string\n")
                else:
                    out.append(f"{pad}userId: {{type: string}}\n")
                current = None
        f.write_text("".join(out))


def test_all_55_corpus_entities_compile_and_apply(corpus: Path, pg_server: Any) -> None:
    add_owner_column(corpus, NO_OWNER)
    doc = json_doc(run_cli(corpus, "--json", "validate"))
    assert doc["exit_code"] == 0, [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert sum(len(p["entities"]) for p in doc["packages"]) == 55
    scan_approve(corpus)
    with pg_server.fresh_database() as url:
        superuser_sql(url, "CREATE TABLE public.users (id text PRIMARY KEY)")
        superuser_sql(url, "CREATE TABLE public.tenants (id text PRIMARY KEY)")
        apply(corpus, url)
        tables = superuser_sql(
            url,
            "SELECT count(*), count(*) FILTER (WHERE c.relrowsecurity AND c.relforcerowsecurity) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname NOT IN ('public', 'schemactl', "
            "'pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'",
        )
        assert tables == [(55, 55)]
        policies = superuser_sql(url, "SELECT count(*), count(DISTINCT tablename) FROM pg_policies")
        assert policies[0][0] > 100 and policies[0][1] >= 50
        # an attack on the corpus tables: as corpus_user in tenant t1, no row of t2 shows
        seen = 0
        candidates = superuser_sql(
            url,
            "SELECT schemaname, tablename FROM pg_policies WHERE policyname = 'acl_tenant' "
            "AND 'corpus_user' = ANY(roles) AND tablename IN (SELECT tablename FROM pg_policies "
            "WHERE policyname = 'acl_select_corpus_user' AND qual = 'true') ORDER BY 1, 2",
        )
        assert candidates, "tables that users read, isolated per tenant"
        for ns, table in candidates:
            if not two_rows(url, ns, table):
                continue  # a CHECK the generic values do not meet
            seen += 1
            with as_role(url, "corpus_user", "u1", "t1") as c:
                got = c.execute(f'SELECT tenant_id FROM "{ns}"."{table}"').fetchall()
                assert got == [("t1",)], (ns, table, got)
        assert seen >= 3


VALUES = {"text": "'v' || n", "integer": "n", "bigint": "n", "double precision": "n",
          "numeric": "n", "boolean": "false", "jsonb": "'{}'::jsonb",
          "timestamp with time zone": "now()", "date": "current_date", "uuid": "gen_random_uuid()",
          "bytea": "''::bytea"}  # fmt: skip


def two_rows(url: str, ns: str, table: str) -> bool:
    """Two rows, tenants t1 and t2, generic values, foreign keys off; False if refused."""
    cols = superuser_sql(
        url,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
        "AND table_name = %s AND is_identity = 'NO' ORDER BY ordinal_position",
        (ns, table),
    )
    names = ", ".join(f'"{c}"' for c, _ in cols)
    exprs = ", ".join("t" if c == "tenant_id" else VALUES.get(t, "NULL") for c, t in cols)
    try:
        with psycopg.connect(url) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute(
                f'INSERT INTO "{ns}"."{table}" ({names}) SELECT {exprs} FROM '
                "(VALUES (1, 't1'), (2, 't2')) AS x(n, t)"
            )
    except psycopg.errors.Error:
        return False
    return True
