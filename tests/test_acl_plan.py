"""SPEC §13 planning: policies and grants are planned like columns.  Switching enforcement
on and off and changing the ACL or its config are migrations with down migrations, a
second scan plans nothing, and the chain of migrations gives exactly what a fresh create
of the final state gives (pg_policies, grants, RLS flags, schema usage)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from acl_util import acl_snapshot, apply, scan_approve
from foundation_util import json_doc, make_project, run_cli, write_package

pytestmark = pytest.mark.postgres

ROLES = """
[acl.roles]
public = "acl_p_anon"
user = "acl_p_user"
admin = "acl_p_admin"
"""


def config(enforce: bool, extra: str = "") -> str:
    return f"[acl]\nenforce = {'true' if enforce else 'false'}\n{extra}{ROLES}"


def shop(read: str = "[owner, admin]", row_level: str | None = None, status: bool = True) -> str:
    rl = f'\n      rowLevel: "{row_level}"' if row_level else ""
    st = "\n      status: {type: string, enum: [open, archived]}" if status else ""
    return f"""entities:
  - name: Order
    fields:
      id: {{type: string, primary: true}}
      tenantId: {{type: string, required: true, index: true}}
      userId: {{type: string, required: true, index: true}}
      total: {{type: int}}{st}
    acl:
      create: [user]
      read: {read}
      update: [owner]
      delete: [admin]{rl}
  - name: Item
    fields:
      id: {{type: string, primary: true}}
      tenantId: {{type: string, required: true}}
      orderId: {{type: string, required: true}}
    relations:
      - {{name: order, type: belongsTo, entity: Order, field: orderId}}
    acl:
      create: [self]
      read: [owner, admin]
      update: [none]
      delete: [admin]
      rowLevel: "order.userId = $user.id"
"""


def ops_of(root: Path) -> list[str]:
    doc = json_doc(run_cli(root, "--json", "list", "--all"))
    last = doc["migrations"][-1]["id"]
    shown = json_doc(run_cli(root, "--json", "show", last))
    return [o["op"] for o in shown["data"]["ops"]] if "data" in shown else []


def latest(root: Path) -> dict[str, Any]:
    doc = json_doc(run_cli(root, "--json", "list", "--all"))
    return doc["migrations"][-1]


def fresh_equals_chain(root: Path, chain_url: str, pg_server: Any, tmp: Path) -> dict[str, Any]:
    """Scan the same files and config from nothing into a new database; compare."""
    fresh = tmp / f"fresh{len(list(tmp.iterdir()))}"
    shutil.copytree(root / "packages", fresh / "packages")
    shutil.copy(root / "schemactl.toml", fresh / "schemactl.toml")
    scan_approve(fresh)
    with pg_server.fresh_database() as url:
        apply(fresh, url)
        want = acl_snapshot(url, ["shop"])
    got = acl_snapshot(chain_url, ["shop"])
    assert got == want
    return got


def test_enforce_false_changes_no_byte_of_sql(tmp_path: Path) -> None:
    plain = make_project(tmp_path / "plain", {"shop": shop()})
    off = make_project(tmp_path / "off", {"shop": shop()}, config(False))
    outs = []
    for root in (plain, off):
        scan_approve(root)
        assert run_cli(root, "generate").exit_code == 0
        # the SQL of every file, without its header (ids and approval times differ)
        outs.append(
            sorted(
                "".join(ln for ln in p.read_text().splitlines(True) if not ln.startswith("-- "))
                for p in (root / "migrations").rglob("*.sql")
            )
        )
        preview = run_cli(root, "preview", "shop")
        outs.append(preview.stdout)
        reg = (root / ".schemactl").rglob("*.json")
        assert not any('"security"' in p.read_text() for p in reg)
    assert outs[0] == outs[2] and outs[1] == outs[3]
    assert "POLICY" not in outs[1] and "GRANT" not in outs[1]


def test_chain_of_acl_changes_equals_fresh_create(pg_server: Any, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"shop": shop()}, config(False))
    work = tmp_path / "fresh"
    work.mkdir()
    with pg_server.fresh_database() as url:
        scan_approve(root)
        apply(root, url)
        assert acl_snapshot(url, ["shop"])["policies"] == []
        snaps = []

        # 1. switching enforcement on is a migration on the existing tables
        (root / "schemactl.toml").write_text(config(True))
        doc = scan_approve(root)
        assert [c["action"] for c in doc["migrations"][0]["changes"]] == ["alter", "alter"]
        apply(root, url)
        snaps.append(fresh_equals_chain(root, url, pg_server, work))
        assert snaps[-1]["rls"] == [("shop", "items", True, True), ("shop", "orders", True, True)]
        # a second scan plans nothing
        again = json_doc(run_cli(root, "--json", "scan"))
        assert again["migrations"] == [] and again["exit_code"] == 0

        # 2. an ACL change in the file: public may read orders
        write_package(root, "shop", shop(read="[owner, admin, public]"))
        scan_approve(root)
        apply(root, url)
        snaps.append(fresh_equals_chain(root, url, pg_server, work))
        assert ("shop", "orders", "acl_p_anon", "SELECT") in snaps[-1]["grants"]

        # 3. a rowLevel that reads a column, then that column dropped with the rowLevel
        write_package(root, "shop", shop(row_level="userId = $user.id AND status <> 'archived'"))
        scan_approve(root)
        apply(root, url)
        snaps.append(fresh_equals_chain(root, url, pg_server, work))
        write_package(root, "shop", shop(status=False))
        scan_approve(root)
        apply(root, url)
        snaps.append(fresh_equals_chain(root, url, pg_server, work))

        # 4. a config change (cross_tenant) alters the tenant policy in place
        (root / "schemactl.toml").write_text(config(True, 'cross_tenant = ["admin"]\n'))
        scan_approve(root)
        apply(root, url)
        snaps.append(fresh_equals_chain(root, url, pg_server, work))
        tenant = [p for p in snaps[-1]["policies"] if p[2] == "acl_tenant"]
        assert all("acl_p_admin" not in p[4] for p in tenant) and tenant

        # 5. switching enforcement off removes every policy, grant and the RLS flags
        (root / "schemactl.toml").write_text(config(False))
        scan_approve(root)
        apply(root, url)
        off = acl_snapshot(url, ["shop"])
        assert off["policies"] == [] and off["grants"] == [] and off["usage"] == []
        assert off["rls"] == [("shop", "items", False, False), ("shop", "orders", False, False)]

        # the down migration of that last step gives back the state before it
        assert run_cli(root, "generate").exit_code == 0
        last = sorted((root / "migrations").iterdir())[-1]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute((last / "down.sql").read_text())  # type: ignore[arg-type]
        assert acl_snapshot(url, ["shop"]) == snaps[-1]


def test_status_reports_policy_and_grant_drift(pg_server: Any, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"shop": shop()}, config(True))
    with pg_server.fresh_database() as url:
        scan_approve(root)
        apply(root, url)
        clean = json_doc(run_cli(root, "--json", "status", "--database-url", url))
        assert clean["exit_code"] == 0, clean["diagnostics"]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute('DROP POLICY "acl_select_acl_p_admin" ON shop.orders')
            conn.execute('GRANT DELETE ON shop.orders TO "acl_p_user"')
            conn.execute("GRANT SELECT ON shop.items TO PUBLIC")
            conn.execute('ALTER POLICY "acl_delete_acl_p_admin" ON shop.items TO "acl_p_user"')
            conn.execute("ALTER TABLE shop.orders NO FORCE ROW LEVEL SECURITY")
        res = run_cli(root, "--json", "status", "--database-url", url)
        doc = json_doc(res)
        assert res.exit_code == 1
        found = sorted(d["message"] for d in doc["diagnostics"] if d["code"] == "SC820")
        assert found == [
            "drift: shop.items: SELECT to PUBLIC is granted but not declared",
            "drift: shop.items: policy acl_delete_acl_p_admin is PERMISSIVE FOR DELETE TO "
            "acl_p_user; expected PERMISSIVE FOR DELETE TO acl_p_admin",
            "drift: shop.orders: DELETE to acl_p_user is granted but not declared",
            "drift: shop.orders: policy acl_select_acl_p_admin is missing",
            "drift: shop.orders: row-level security is not enabled and forced",
        ]


CRM = """entities:
  - name: Account
    fields:
      id: {type: string, primary: true}
      tenantId: {type: string, required: true}
      ownerId: {type: string, required: true}
    acl:
      read: [owner, admin]
"""
DEALS = """entities:
  - name: Deal
    fields:
      id: {type: string, primary: true}
      tenantId: {type: string, required: true}
      accountId: {type: string, required: true}
    relations:
      - {name: account, type: belongsTo, entity: Account, field: accountId}
    acl:
      create: [owner]
      read: [owner]
      rowLevel: "account.ownerId = $user.id"
"""


def test_relation_path_across_packages(pg_server: Any, tmp_path: Path) -> None:
    """A policy of one package reads a table of another: the order of the migrations and
    the schema USAGE make it work, as a non-owner role."""
    from acl_util import as_role, attempt, superuser_sql

    root = make_project(tmp_path / "p", {"crm": CRM, "deals": DEALS}, config(True))
    with pg_server.fresh_database() as url:
        scan_approve(root)
        apply(root, url)
        superuser_sql(url, "INSERT INTO crm.accounts VALUES ('a1', 't1', 'u1'), ('a2', 't1', 'u2')")
        superuser_sql(url, "INSERT INTO deals.deals VALUES ('d1', 't1', 'a1'), ('d2', 't1', 'a2')")
        with as_role(url, "acl_p_user", "u1", "t1") as c:
            assert [r[0] for r in c.execute("SELECT id FROM deals.deals").fetchall()] == ["d1"]
            assert attempt(c, "INSERT INTO deals.deals VALUES ('d3', 't1', 'a2')") == "rls"
            assert attempt(c, "INSERT INTO deals.deals VALUES ('d4', 't1', 'a1')") == 1
