"""Hand-written evolution chains (v1 -> v2 -> v3) of whole packages, built with factories.

Each case is a list of versions; a version maps namespace -> entities.  Used by the
PostgreSQL tests (the golden rule) and the squawk test.
"""

from __future__ import annotations

import dataclasses

from factories import Ref, belongs_to, entity, field
from schemactl.model import Entity

USER = Ref("User", "public", "users", "id")
TENANT = Ref("Tenant", "public", "tenants", "id")
EXTERNAL_DDL = [
    'CREATE TABLE IF NOT EXISTS "public"."users" ("id" text PRIMARY KEY)',
    'CREATE TABLE IF NOT EXISTS "public"."tenants" ("id" text PRIMARY KEY)',
]

Version = dict[str, list[Entity]]


def blog() -> list[Version]:
    ns = "blog"

    def author(v: int) -> Entity:
        fields = [
            field("id", "cuid", primary=True, generated=True),
            field("email", required=True, unique=v < 3, index=v >= 2),
            field("name", max_length=100)
            if v == 1
            else field("displayName", max_length=150, renamed_from="name"),
            field(
                "role",
                default="user",
                enum=("user", "admin") if v == 1 else ("user", "admin", "editor"),
            ),
            field("createdAt", "datetime", default_now=True, required=True),
        ]
        if v == 3:  # a volatile default on an existing table: PostgreSQL rewrites it
            fields.append(field("token", "uuid", generated=True))
        return entity("Author", fields, namespace=ns, description="Writers" if v < 3 else None)

    def post(v: int, a: Entity) -> Entity:
        fields = [
            field("id", "int", primary=True, generated=v < 3),
            field("authorId", required=v < 3),
            field("title", required=True, max_length=200 if v == 1 else 100),
            field("body", "text", required=v >= 2, default="" if v >= 2 else None),
            field("views", "int" if v != 2 else "bigint", default=0, min=0),
        ]
        if v == 1:
            fields.append(field("published", "boolean", default=False))
        fields.append(field("meta", "json", default="{}" if v == 1 else '{"v": 2, "q": "it\'s"}'))
        if v >= 2:
            fields.append(field("slug", unique=True))
            fields.append(field("score", "decimal", precision=10, scale=2, default=1.5))
        rel = belongs_to("author", "authorId", a, on_delete="Cascade" if v < 3 else "SetNull")
        return entity(
            "Post",
            fields,
            namespace=ns,
            table=None if v == 1 else "articles",
            indexes=[(["authorId"], False)],
            relations=[rel],
            description=None if v == 1 else "Blog posts; 'quoted' \\ and $s$ data",
        )

    def tag() -> Entity:
        return entity("Tag", [field("name", primary=True)], namespace=ns)

    def comment(v: int, p: Entity) -> Entity:
        fields = [
            field("id", "uuid", primary=True, generated=True),
            field("postId", "int", required=True),
            field("parentId", "uuid"),
            field(
                "text" if v == 2 else "content",
                "text",
                required=True,
                renamed_from="text" if v == 3 else None,
            ),
            field("userId"),
        ]
        return entity(
            "Comment",
            fields,
            namespace=ns,
            relations=[
                belongs_to("post", "postId", p, on_delete="Cascade"),
                belongs_to("parent", "parentId", "Comment", on_delete="SetNull"),
                belongs_to("user", "userId", USER, on_delete="SetNull"),
            ],
        )

    a1, a2, a3 = author(1), author(2), author(3)
    p1, p2, p3 = post(1, a1), post(2, a2), post(3, a3)
    return [
        {ns: [a1, p1, tag()]},
        {ns: [a2, p2, comment(2, p2)]},
        {ns: [a3, p3, comment(3, p3)]},
    ]


def keys() -> list[Version]:
    """Non-`id` and composite primary keys, and a primary key that changes columns."""
    ns = "keys"
    cred1 = entity(
        "Credential",
        [field("username", primary=True), field("hash", required=True)],
        namespace=ns,
    )
    cred2 = entity(
        "Credential",
        [
            field("login", primary=True, renamed_from="username"),
            field("hash", required=True),
        ],
        namespace=ns,
    )
    conf = entity(
        "SystemConfig",
        [field("key", primary=True), field("value", "json"), field("tenantId", required=True)],
        namespace=ns,
        relations=[belongs_to("tenant", "tenantId", TENANT, on_delete="Cascade")],
    )
    conf3 = entity(
        "SystemConfig",
        [
            field("key", primary=True),
            field("value", "json"),
            field("tenantId", primary=True),
        ],
        namespace=ns,
        relations=[belongs_to("tenant", "tenantId", TENANT, on_delete="Cascade")],
    )
    mem = entity(
        "Membership",
        [
            field("orgId", "bigint", primary=True),
            field("userId", primary=True),
            field("level", "int", default=1, min=1, max=10),
        ],
        namespace=ns,
        relations=[belongs_to("user", "userId", USER, on_delete="Cascade")],
    )
    mem3 = entity(
        "Membership",
        [
            field("orgId", "bigint", primary=True),
            field("userId", primary=True),
            field("level", "int", default=2, min=0, max=5),
        ],
        namespace=ns,
        relations=[belongs_to("user", "userId", USER, on_delete="Cascade", on_update="Cascade")],
    )
    return [{ns: [cred1, conf, mem]}, {ns: [cred2, conf, mem]}, {ns: [cred2, conf3, mem3]}]


def reserved() -> list[Version]:
    """Reserved words as table, column and schema names; awkward text as data."""
    ns = "select"
    weird = 'it\'s; DROP TABLE x; -- \\ $s$ "q" ünï'
    v1 = entity(
        "Order",
        [
            field("user", primary=True),
            field("order", "int", required=True, default=0),
            field("select", enum=("a'b", "c;d", "e\\f"), default="a'b", description=weird),
            field("timestamp", "datetime"),
            field("group", "boolean", default=True),
        ],
        namespace=ns,
        table="order",
        indexes=[(["order", "timestamp"], True), (["group"], False)],
        description=weird,
    )
    v2 = entity(
        "Order",
        [
            field("user", primary=True),
            field("order", "bigint", required=True, default=-1),
            field("select", enum=("a'b", "c;d"), default="c;d", description="plain"),
            field("timestamp", "date"),
            field("group", "boolean", default=False),
            field("table", "bytes"),
        ],
        namespace=ns,
        table="user",
        indexes=[(["order", "timestamp"], True), (["group", "table"], False)],
    )
    v3 = dataclasses.replace(v2, description="back")
    return [{ns: [v1]}, {ns: [v2]}, {ns: [v3]}]


def types() -> list[Version]:
    """Every field type with a default, then type changes between them."""
    ns = "types"

    def t(v: int) -> Entity:
        if v == 1:
            fields = [
                field("id", "bigint", primary=True, generated=True),
                field("s", default="x"),
                field("txt", "text", default="y"),
                field("i", "int", default=7),
                field("b", "bigint", default=9_000_000_000),
                field("f", "float", default=0.25),
                field("d", "decimal", precision=8, scale=3, default=2.5),
                field("bo", "boolean", default=True),
                field("c", "cuid"),
                field("u", "uuid", default="00000000-0000-0000-0000-000000000001"),
                field("j", "json", default='[1, "two"]'),
                field("dt", "datetime", default="2020-01-02T03:04:05+00:00"),
                field("da", "date", default="2020-01-02"),
                field("by", "bytes", default="\\x0102"),
            ]
        else:
            fields = [
                field("id", "int", primary=True),
                field("s", "int", default=1),
                field("txt", "json"),
                field("i", "text", default="7"),
                field("b", "float"),
                field("f", "decimal", precision=12, scale=4),
                field("d", "boolean"),
                field("bo", "int", required=True, default=0),
                field("c", "uuid", generated=True),
                field("u", "text"),
                field("j", "text"),
                field("dt", "date"),
                field("da", "datetime", default_now=True),
                field("by", "text"),
            ]
        return entity("Everything", fields, namespace=ns)

    return [{ns: [t(1)]}, {ns: [t(2)]}, {ns: [t(1)]}]


CASES = {"blog": blog, "keys": keys, "reserved": reserved, "types": types}
