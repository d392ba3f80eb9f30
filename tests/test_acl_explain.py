"""SPEC §13, the plan shape: on a 100,000-row table queried as ``app_user``, the policies'
settings are read once per statement (InitPlans) and PostgreSQL uses the index on the
tenant and owner columns, not a sequential scan.  The plan's shape is asserted, not
its time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acl_util import as_role, build, superuser_sql

pytestmark = pytest.mark.postgres

CONFIG = """
[acl]
enforce = true
[acl.roles]
user = "acl_x_user"
admin = "acl_x_admin"
"""

DOCS = """
entities:
  - name: Doc
    fields:
      id: {type: bigint, primary: true, generated: true}
      tenantId: {type: string, required: true}
      ownerId: {type: string, required: true}
      title: {type: text}
    indexes:
      - {fields: [tenantId, ownerId]}
    acl:
      create: [user]
      read: [owner, admin]
      update: [owner]
      delete: [owner]
"""


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out = [plan]
    for p in plan.get("Plans", []):
        out += nodes(p)
    return out


def test_policies_use_the_tenant_owner_index_and_read_settings_once(
    pg_server: Any, tmp_path: Path
) -> None:
    with pg_server.fresh_database() as url:
        build(tmp_path / "p", {"docs": DOCS}, CONFIG, url)
        superuser_sql(
            url,
            "INSERT INTO docs.docs (tenant_id, owner_id, title) SELECT 't' || (n %% 50), "
            "'u' || (n %% 1000), 'doc ' || n FROM generate_series(1, 100000) AS n",
        )
        superuser_sql(url, "ANALYZE docs.docs")
        with as_role(url, "acl_x_user", "u7", "t7") as c:
            rows = c.execute("SELECT count(*) FROM docs.docs").fetchone()
            assert rows == (100,)  # owner u7 in tenant t7: n = 7 (mod 1000), n % 50 = 7
            raw = c.execute("EXPLAIN (FORMAT JSON) SELECT * FROM docs.docs").fetchone()
        assert raw is not None
        doc = raw[0] if isinstance(raw[0], list) else json.loads(raw[0])
        all_nodes = nodes(doc[0]["Plan"])
        scans = [n for n in all_nodes if n.get("Relation Name") == "docs"]
        assert scans and all(n["Node Type"] != "Seq Scan" for n in scans), scans
        assert any(n.get("Index Name") == "idx_docs_tenant_id_owner_id" for n in all_nodes)
        # each setting is an InitPlan evaluated once, not a function call per row
        init = [n for n in all_nodes if n.get("Parent Relationship") == "InitPlan"]
        assert len(init) >= 2
