"""SPEC §13 proven by attacks: an enforced project applied to a real PostgreSQL, then every
claim tried as a non-owner role (``SET ROLE``) with the app settings set, wrong or unset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acl_util import as_role, attempt, build, superuser_sql

pytestmark = pytest.mark.postgres

CONFIG = """
[acl]
enforce = true
cross_tenant = ["god"]
[acl.roles]
public = "acl_t_anon"
user = "acl_t_user"
admin = "acl_t_admin"
god = "acl_t_god"
[acl.row_roles.public_if_shared]
role = "public"
when = "isShared = true"
[acl.row_roles.shared_recent]
role = "public_if_shared"
when = "rank < 10"
"""

NOTES = """
entities:
  - name: Folder
    fields:
      id: {type: string, primary: true}
      tenantId: {type: string, required: true, index: true}
      ownerId: {type: string, required: true, index: true}
      isShared: {type: boolean, required: true, default: false}
      rank: {type: int, required: true, default: 0}
    acl:
      create: [user]
      read: [owner, public_if_shared, admin, god]
      update: [owner]
      delete: [owner]
  - name: Note
    fields:
      id: {type: string, primary: true}
      tenantId: {type: string, required: true}
      folderId: {type: string, required: true}
      body: {type: text}
    relations:
      - {name: folder, type: belongsTo, entity: Folder, field: folderId}
    acl:
      create: [self]
      read: [owner, admin]
      update: [self]
      delete: [admin]
      rowLevel: "folder.ownerId = $user.id"
  - name: Secret
    fields:
      id: {type: string, primary: true}
      tenantId: {type: string, required: true}
      value: {type: text}
    acl:
      create: [none]
      read: [none]
      update: [none]
      delete: [none]
  - name: Banner
    fields:
      id: {type: string, primary: true}
      text: {type: text}
    acl:
      create: [admin]
      read: [public]
      update: [admin]
      delete: [admin]
  - name: Album
    fields:
      id: {type: string, primary: true}
      tenantId: {type: string, required: true}
      isShared: {type: boolean, required: true, default: false}
      rank: {type: int, required: true, default: 0}
    acl:
      create: [admin]
      read: [shared_recent]
      update: [admin]
      delete: [admin]
"""

ROWS = [
    "INSERT INTO notes.folders VALUES ('f1', 't1', 'u1', false, 0), ('f2', 't1', 'u2', true, 5),"
    " ('f3', 't2', 'u1', false, 0), ('f4', 't2', 'u3', true, 50)",
    "INSERT INTO notes.notes VALUES ('n1', 't1', 'f1', 'mine'), ('n2', 't1', 'f2', 'theirs'),"
    " ('n3', 't2', 'f3', 'mine elsewhere')",
    "INSERT INTO notes.secrets VALUES ('s1', 't1', 'x')",
    "INSERT INTO notes.banners VALUES ('b1', 'hello')",
    "INSERT INTO notes.albums VALUES ('a1', 't1', true, 1), ('a2', 't1', true, 20),"
    " ('a3', 't1', false, 1), ('a4', 't2', true, 1)",
]


@pytest.fixture(scope="module")
def db(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("acl") / "proj"
    with pg_server.fresh_database() as url:
        build(root, {"notes": NOTES}, CONFIG, url)
        for s in ROWS:
            superuser_sql(url, s)
        yield url


def ids(conn: Any, table: str) -> list[str]:
    return sorted(r[0] for r in conn.execute(f"SELECT id FROM notes.{table}").fetchall())


def test_tenant_isolation(db: str) -> None:
    with as_role(db, "acl_t_admin", "u9", "t1") as c:
        assert ids(c, "folders") == ["f1", "f2"]
        assert ids(c, "notes") == ["n1", "n2"]
    with as_role(db, "acl_t_admin", "u9", "t2") as c:
        assert ids(c, "folders") == ["f3", "f4"]
    # a cross_tenant role sees every tenant
    with as_role(db, "acl_t_god", "u9", "t1") as c:
        assert ids(c, "folders") == ["f1", "f2", "f3", "f4"]


def test_owner_rows_through_owner_fields(db: str) -> None:
    with as_role(db, "acl_t_user", "u1", "t1") as c:
        # f1 is u1's; f2 is shared (public_if_shared rests on `public`, not on `user`)
        assert ids(c, "folders") == ["f1"]
        assert attempt(c, "UPDATE notes.folders SET rank = 1 WHERE id = 'f2'") == 0
        assert attempt(c, "UPDATE notes.folders SET rank = 1 WHERE id = 'f1'") == 1
        assert attempt(c, "DELETE FROM notes.folders WHERE id = 'f2'") == 0


def test_owner_rows_through_row_level_relation_path(db: str) -> None:
    with as_role(db, "acl_t_user", "u1", "t1") as c:
        assert ids(c, "notes") == ["n1"]  # folder f1 belongs to u1; n2 sits in u2's folder
    with as_role(db, "acl_t_user", "u2", "t1") as c:
        assert ids(c, "notes") == ["n2"]


def test_none_denies_everyone_admin_included(db: str) -> None:
    for role in ("acl_t_admin", "acl_t_god", "acl_t_user", "acl_t_anon"):
        with as_role(db, role, "u1", "t1") as c:
            assert attempt(c, "SELECT * FROM notes.secrets") == "denied"
            assert attempt(c, "INSERT INTO notes.secrets VALUES ('s2', 't1', 'y')") == "denied"
            assert attempt(c, "DELETE FROM notes.secrets") == "denied"


def test_public(db: str) -> None:
    with as_role(db, "acl_t_anon") as c:
        assert ids(c, "banners") == ["b1"]
        assert attempt(c, "INSERT INTO notes.banners VALUES ('b2', 'x')") == "denied"
    with as_role(db, "acl_t_user", "u1", "t1") as c:  # `user` is not `public`
        assert attempt(c, "SELECT * FROM notes.banners") == "denied"


def test_named_row_role_and_a_row_role_on_a_row_role(db: str) -> None:
    with as_role(db, "acl_t_anon", None, "t1") as c:
        assert ids(c, "folders") == ["f2"]  # shared, own tenant
        assert ids(c, "albums") == ["a1"]  # shared AND rank < 10, own tenant
    with as_role(db, "acl_t_anon", None, "t2") as c:
        assert ids(c, "folders") == ["f4"]
        assert ids(c, "albums") == ["a4"]


def test_with_check_on_insert_and_update(db: str) -> None:
    with as_role(db, "acl_t_user", "u1", "t1") as c:
        # INSERT into another tenant: the restrictive tenant policy's WITH CHECK
        assert attempt(c, "INSERT INTO notes.folders VALUES ('x1', 't2', 'u1', false, 0)") == "rls"
        # a note in someone else's folder: self = folder.ownerId = $user.id
        assert attempt(c, "INSERT INTO notes.notes VALUES ('x2', 't1', 'f2', 'b')") == "rls"
        assert attempt(c, "INSERT INTO notes.notes VALUES ('x3', 't1', 'f1', 'ok')") == 1
        # moving an owned row to another owner or tenant
        assert attempt(c, "UPDATE notes.folders SET owner_id = 'u2' WHERE id = 'f1'") == "rls"
        assert attempt(c, "UPDATE notes.folders SET tenant_id = 't2' WHERE id = 'f1'") == "rls"
        assert attempt(c, "UPDATE notes.notes SET folder_id = 'f2' WHERE id = 'x3'") == "rls"
    rows = superuser_sql(db, "SELECT owner_id, tenant_id FROM notes.folders WHERE id = 'f1'")
    assert rows == [("u1", "t1")]


def test_unset_settings_give_no_rows_not_an_error(db: str) -> None:
    with as_role(db, "acl_t_user") as c:
        assert ids(c, "folders") == []
        assert ids(c, "notes") == []
    with as_role(db, "acl_t_admin", "", "") as c:  # empty = unset
        assert ids(c, "folders") == []


def test_the_table_owner_is_bound_too(db: str) -> None:
    owner = superuser_sql(
        db, "SELECT tableowner FROM pg_tables WHERE schemaname = 'notes' AND tablename = 'folders'"
    )[0][0]
    rows = superuser_sql(
        db,
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
        "WHERE oid = 'notes.folders'::regclass",
    )
    assert rows == [(True, True)]
    assert owner  # the owner is the applying role; FORCE binds it (superusers still bypass)


def test_public_has_no_privilege(db: str) -> None:
    rows = superuser_sql(
        db,
        "SELECT count(*) FROM information_schema.role_table_grants "
        "WHERE table_schema = 'notes' AND grantee = 'PUBLIC'",
    )
    assert rows == [(0,)]


def test_force_binds_the_table_owner(db: str) -> None:
    """An owner that is not a superuser sees no row of a table its ACL closes (`none`)."""
    superuser_sql(db, "DO $$ BEGIN CREATE ROLE acl_t_owner NOLOGIN; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END $$")  # fmt: skip
    superuser_sql(db, "GRANT USAGE ON SCHEMA notes TO acl_t_owner")
    superuser_sql(db, "ALTER TABLE notes.secrets OWNER TO acl_t_owner")
    try:
        with as_role(db, "acl_t_owner", "u1", "t1") as c:
            assert ids(c, "secrets") == []  # it holds s1
            assert attempt(c, "INSERT INTO notes.secrets VALUES ('s9', 't1', 'x')") == "rls"
    finally:
        superuser_sql(db, "ALTER TABLE notes.secrets OWNER TO CURRENT_USER")
    assert superuser_sql(db, "SELECT count(*) FROM notes.secrets") == [(1,)]


def test_migrations_created_the_roles_nologin(db: str) -> None:
    rows = superuser_sql(
        db,
        "SELECT rolname, rolcanlogin, rolsuper, rolbypassrls FROM pg_roles "
        "WHERE rolname IN ('acl_t_anon', 'acl_t_user', 'acl_t_admin', 'acl_t_god') ORDER BY 1",
    )
    assert [r[0] for r in rows] == ["acl_t_admin", "acl_t_anon", "acl_t_god", "acl_t_user"]
    assert all(r[1:] == (False, False, False) for r in rows)


def test_a_quoted_literal_is_data_in_the_database(pg_server: Any, tmp_path: Path) -> None:
    """A string literal full of SQL stays one value: the policy compares with it."""
    text = """entities:
  - name: Tag
    fields:
      id: {type: string, primary: true}
      label: {type: string}
    acl:
      read: [public_if_shared]
"""
    cfg = (
        '[acl]\nenforce = true\n[acl.roles]\npublic = "acl_t_anon"\n'
        '[acl.row_roles.public_if_shared]\nrole = "public"\n'
        "when = \"label = 'x'' OR true OR ''y'\"\n"
    )
    with pg_server.fresh_database() as db:
        build(tmp_path / "q", {"tags": text}, cfg, db)
        superuser_sql(db, "INSERT INTO tags.tags VALUES ('1', 'x'' OR true OR ''y'), ('2', 'x')")
        with as_role(db, "acl_t_anon") as c:
            got = sorted(r[0] for r in c.execute("SELECT id FROM tags.tags").fetchall())
    assert got == ["1"]
