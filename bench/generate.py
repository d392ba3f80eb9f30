"""Generate a reproducible benchmark monorepo for schemactl, and its drizzle twin.

    python bench/generate.py OUT_DIR [--packages 1000] [--seed 42]

writes

    OUT_DIR/schemactl.toml
    OUT_DIR/packages/pkg_NNNNN/seed/schema/entities.yaml   (+ seed/metadata.json for 2 in 3)
    OUT_DIR/drizzle/schema.ts          the same tables as drizzle ``pgSchema`` definitions
    OUT_DIR/drizzle/drizzle.config.ts  dialect postgresql, schema.ts, out: OUT_DIR/drizzle/out
    OUT_DIR/drizzle/node_modules       symlink to bench/node/node_modules (when installed)

so that ``schemactl --root OUT_DIR validate`` exits 0 and, in ``OUT_DIR/drizzle``,
``npx drizzle-kit generate`` writes the CREATE migration of the same tables with no
database.

The monorepo: N packages with 5 entities each and about 12 fields per entity (so about
60,000 fields at 1,000 packages).  Everything comes from ``random.Random`` seeded with
``"<seed>:<package>"``, so the output depends only on the seed and the package count, and
package ``i`` is the same whatever N is (apart from the few forward references that close
foreign-key cycles, which point at package i+1 only when it exists).

What the packages exercise (each in a realistic proportion, see ``_package``):

* both entities.yaml dialects: fields as a mapping with lower-case types, or as a list
  with Prisma-style type names (``String``, ``Int``, ``DateTime`` ...), mixed within files;
* every field type, ``maxLength``, ``min``/``max``, ``enum``, defaults (``now``, numbers,
  booleans, strings), ``unique``, ``index``, ``column:`` and ``table:`` overrides,
  descriptions;
* primary keys: generated uuid, cuid, identity int/bigint, a natural string key, and
  composite keys on junction entities;
* relations: to the core ``Tenant`` (package 0), to the external ``User`` (schemactl.toml),
  to entities of lower-numbered packages, within the package (with the ``hasMany`` inverse),
  self-references, ``references:`` a non-``id`` key, and a few foreign-key cycles across
  packages (every 97th package also points at the next one);
* indexes named and unnamed, unique and not; ACLs with and without ``rowLevel``;
* metadata.json absent, without ``schema``, or with ``schema.entities`` and ``path``; some
  namespaces set in metadata.json, some in ``[namespaces]`` of schemactl.toml.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
NODE_MODULES = BENCH_DIR / "node" / "node_modules"

ENTITIES_PER_PACKAGE = 5
CYCLE_EVERY = 97  # package i with i % 97 == 96 also references package i + 1
NAMESPACE_IN_METADATA_EVERY = 10
NAMESPACE_IN_CONFIG_EVERY = 25

# --------------------------------------------------------------------------- naming
# The rules of SPEC §6 (snake_case plural tables, snake_case columns, derived index and
# constraint names cut to 63 bytes with a hash suffix), repeated here so that the drizzle
# file names every table, column, index and check exactly as schemactl does.

_SNAKE_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_SNAKE_2 = re.compile(r"([a-z0-9])([A-Z])")


def snake(name: str) -> str:
    return _SNAKE_2.sub(r"\1_\2", _SNAKE_1.sub(r"\1_\2", name)).lower()


def plural(word: str) -> str:
    head, _, last = word.rpartition("_")
    if re.search(r"[^aeiou]y$", last):
        p = last[:-1] + "ies"
    elif re.search(r"(s|x|z|ch|sh)$", last):
        p = last + "es"
    else:
        p = last + "s"
    return f"{head}_{p}" if head else p


def shorten(name: str) -> str:
    raw = name.encode()
    if len(raw) <= 63:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:8]
    return raw[:54].decode(errors="ignore").rstrip("_") + "_" + digest


def derived(prefix: str, table: str, parts: tuple[str, ...]) -> str:
    return shorten("_".join((prefix, table, *parts)))


# --------------------------------------------------------------------------- the model

# Canonical type -> spelling in the list (Prisma-style) dialect.
PRISMA_SPELLING = {
    "string": "String",
    "text": "text",
    "int": "Int",
    "bigint": "BigInt",
    "float": "Float",
    "decimal": "Decimal",
    "boolean": "Boolean",
    "cuid": "cuid",
    "uuid": "uuid",
    "json": "Json",
    "datetime": "DateTime",
    "date": "date",
    "bytes": "Bytes",
}
# Canonical type of a foreign key to a primary key of this type (a cuid is text).
FK_TYPE = {"uuid": "uuid", "cuid": "string", "int": "int", "bigint": "bigint", "natural": "string"}

NOUNS = [
    "Account", "Address", "Asset", "Attachment", "Booking", "Budget", "Campaign", "Channel",
    "Comment", "Contract", "Coupon", "Customer", "Delivery", "Device", "Discount", "Document",
    "Event", "Expense", "Feedback", "Invoice", "Issue", "Job", "Lead", "License", "Location",
    "Meeting", "Message", "Milestone", "Note", "Order", "Payment", "Playlist", "Policy",
    "Product", "Project", "Quote", "Receipt", "Region", "Report", "Review", "Route", "Schedule",
    "Shipment", "Sprint", "Subscription", "Supplier", "Survey", "Task", "Team", "Ticket",
    "Trip", "Vehicle", "Vendor", "Warehouse", "Webhook", "Widget", "Workflow", "Zone",
]  # fmt: skip
ROLES = ["public", "user", "self", "owner", "admin", "system", "support", "billing"]
ON_DELETE_REQUIRED = ["Cascade", "Cascade", "Restrict", "NoAction"]


@dataclass
class Fld:
    name: str
    type: str  # canonical
    primary: bool = False
    generated: bool = False
    required: bool = False
    nullable: bool = False
    unique: bool = False
    index: bool = False
    default: Any = None  # "now" for datetime
    max_length: int | None = None
    min: int | float | None = None
    max: int | float | None = None
    enum: list[str] | None = None
    precision: int | None = None
    scale: int | None = None
    description: str | None = None
    column: str | None = None  # override

    @property
    def col(self) -> str:
        return self.column or snake(self.name)

    @property
    def not_null(self) -> bool:
        return self.primary or self.required or (self.generated and self.type in ("int", "bigint"))


@dataclass
class Rel:
    name: str
    type: str
    entity: str
    field: str
    on_delete: str | None = None
    on_update: str | None = None
    optional: bool = False
    references: str | None = None
    alias_spelling: bool = False  # target/foreignKey instead of entity/field


@dataclass
class Ix:
    fields: list[str]
    unique: bool = False
    name: str | None = None


@dataclass
class Ent:
    name: str
    package: int
    namespace: str
    pk_kind: str  # uuid cuid int bigint natural composite
    table_override: str | None = None
    list_shape: bool = False
    description: str | None = None
    fields: list[Fld] = field(default_factory=list)
    indexes: list[Ix] = field(default_factory=list)
    relations: list[Rel] = field(default_factory=list)
    acl: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.table_override or plural(snake(self.name))

    @property
    def pk(self) -> list[Fld]:
        return [f for f in self.fields if f.primary]

    def fld(self, name: str) -> Fld:
        return next(f for f in self.fields if f.name == name)


@dataclass
class Head:
    """What other packages need to know about a package before its body is generated."""

    index: int
    package_id: str
    namespace: str
    namespace_in: str  # default, metadata or config
    entities: list[tuple[str, str]]  # (name, pk kind)


def package_id(i: int) -> str:
    return f"pkg_{i:05d}"


def head(seed: int, i: int) -> Head:
    rng = random.Random(f"{seed}:{i}:head")
    pid = package_id(i)
    if i % NAMESPACE_IN_METADATA_EVERY == 3:
        ns, where = f"ns_{i:05d}", "metadata"
    elif i % NAMESPACE_IN_CONFIG_EVERY == 7:
        ns, where = f"app_{i:05d}", "config"
    else:
        ns, where = pid, "default"
    nouns = rng.sample(NOUNS, ENTITIES_PER_PACKAGE)
    names = [f"{n}{i}" for n in nouns]
    kinds = [
        rng.choices(["uuid", "cuid", "bigint", "int", "natural"], [50, 20, 15, 5, 10])[0]
        for _ in names
    ]
    if i == 0:
        names[0], kinds[0] = "Tenant", "cuid"
    elif rng.random() < 0.25:
        kinds[-1] = "composite"  # a junction of the first two entities of the package
        names[-1] = f"{nouns[0]}{nouns[1]}Link{i}"
        kinds[0] = kinds[0] if kinds[0] != "natural" else "uuid"
        kinds[1] = kinds[1] if kinds[1] != "natural" else "uuid"
    return Head(i, pid, ns, where, list(zip(names, kinds, strict=True)))


def _lower_first(s: str) -> str:
    return s[0].lower() + s[1:]


def _pk_fields(kind: str) -> list[Fld]:
    if kind == "natural":
        return [Fld("code", "string", primary=True, max_length=64)]
    if kind == "composite":
        return []
    return [Fld("id", kind, primary=True, generated=True)]


def _key_of(kind: str) -> str:
    return "code" if kind == "natural" else "id"


# Filler fields: (name, factory).  Each factory returns a fresh Fld.
def _fillers(rng: random.Random) -> list[Fld]:
    opt = rng.random
    pool = [
        Fld("title", "string", required=True, max_length=200),
        Fld("name", "string", required=True, max_length=120),
        Fld("slug", "string", required=True, unique=True, max_length=63),
        Fld(
            "status",
            "string",
            required=True,
            enum=["draft", "active", "archived"],
            default="draft",
        ),
        Fld("priority", "int", required=True, default=0, min=0, max=10),
        Fld("quantity", "int", required=True, default=1, min=0),
        Fld("amount", "decimal", required=True, default=0, min=0, precision=12, scale=2),
        Fld("price", "decimal", nullable=True, precision=18, scale=4),
        Fld("score", "float", nullable=True, min=0, max=100),
        Fld("isActive", "boolean", required=True, default=True),
        Fld("isArchived", "boolean", required=True, default=False),
        Fld("notes", "text", nullable=True, description="Free-form notes"),
        Fld("body", "text", required=True),
        Fld("metadata", "json", nullable=True, description="Arbitrary extra attributes"),
        Fld("externalRef", "uuid", nullable=True, unique=True),
        Fld("dueDate", "date", nullable=True),
        Fld("startsOn", "date", nullable=True),
        Fld("expiresAt", "datetime", nullable=True),
        Fld("publishedAt", "datetime", nullable=True, index=True),
        Fld("sizeBytes", "bigint", nullable=True, min=0),
        Fld("payload", "bytes", nullable=True),
        Fld("locale", "string", required=True, default="en", max_length=10),
        Fld("currency", "string", required=True, enum=["EUR", "USD", "GBP"], default="EUR"),
        Fld("email", "string", nullable=True, max_length=320, index=True),
        Fld("revision", "int", required=True, default=1, description="Optimistic locking"),
        Fld("sortOrder", "int", default=0),
        Fld("rating", "int", nullable=True, min=1, max=5),
        Fld("color", "string", nullable=True, max_length=7),
        Fld("contentHash", "string", nullable=True, max_length=64),
        Fld(
            "ipAddress",
            "string",
            nullable=True,
            max_length=45,
            column="client_ip" if opt() < 0.3 else None,
        ),
        Fld("deletedAt", "datetime", nullable=True),
        Fld("visibility", "string", required=True, enum=["private", "team", "public"]),
    ]
    return pool


def _package(seed: int, heads: list[Head], i: int, few: bool = False) -> list[Ent]:
    rng = random.Random(f"{seed}:{i}:body")
    h = heads[i]
    list_bias = 0.8 if i % 2 else 0.15  # odd packages mostly Prisma-style lists
    ents: list[Ent] = []
    for name, kind in h.entities:
        e = Ent(name, i, h.namespace, kind, list_shape=rng.random() < list_bias)
        if rng.random() < 0.1:
            e.table_override = f"tbl_{snake(name)}"
        if rng.random() < 0.6:
            e.description = f"{name} records of package {h.package_id}"
        e.fields = _pk_fields(kind)
        ents.append(e)
    for k in range(len(ents)):
        _entity_body(rng, heads, i, ents, k, few)
        _entity_indexes(rng, ents[k])
        _entity_acl(rng, ents[k])
    return ents


def _add(e: Ent, f: Fld) -> Fld:
    e.fields.append(f)
    return f


def _rel(rng: random.Random, e: Ent, r: Rel) -> None:
    r.alias_spelling = e.list_shape and rng.random() < 0.3
    e.relations.append(r)


def _entity_body(
    rng: random.Random, heads: list[Head], i: int, ents: list[Ent], k: int, few: bool = False
) -> None:
    """One entity's fields and relations.  ``few``: the sparse variant (relations="few"):
    a tenth of the tenant and user references, none across packages, no cycles or trees."""
    e = ents[k]
    share = 0.1 if few else 1.0
    used = lambda: {f.name for f in e.fields}  # noqa: E731
    if e.pk_kind == "composite":
        for t in ents[:2]:
            fname = _lower_first(t.name) + "Id"
            _add(e, Fld(fname, FK_TYPE[t.pk_kind], primary=True))
            _rel(rng, e, Rel(_lower_first(t.name), "belongsTo", t.name, fname, "Cascade"))
            t.relations.append(Rel(_lower_first(e.name) + "s", "hasMany", e.name, fname))
    # The tenant: most entities belong to one.
    if e.name != "Tenant" and rng.random() < 0.6 * share:
        _add(e, Fld("tenantId", "string", required=True, index=rng.random() < 0.5))
        _rel(rng, e, Rel("tenant", "belongsTo", "Tenant", "tenantId", "Cascade"))
    # The external User.
    r = rng.random() / share
    if r < 0.4:
        _add(e, Fld("ownerId", "string", required=True))
        _rel(rng, e, Rel("owner", "belongsTo", "User", "ownerId", "Cascade"))
    elif r < 0.7:
        _add(e, Fld("createdById", "string", nullable=True))
        _rel(rng, e, Rel("createdBy", "belongsTo", "User", "createdById", "SetNull", optional=True))
    # Cross-package references, to lower-numbered packages (near ones more often).
    targets: list[tuple[str, str]] = []
    if i > 0 and not few:
        for _ in range(rng.choice([0, 1, 1, 2])):
            j = max(0, i - 1 - int(rng.expovariate(1 / 40)))
            targets.append(rng.choice([t for t in heads[j].entities if t[1] != "composite"]))
    forward = not few and k == 0 and i % CYCLE_EVERY == CYCLE_EVERY - 1 and i + 1 < len(heads)
    if forward:
        # A foreign-key cycle: the first entity of package i references the first one of
        # package i + 1, which references it back.
        targets.append(heads[i + 1].entities[0])
    if not few and k == 0 and i > 0 and i % CYCLE_EVERY == 0:
        targets.append(heads[i - 1].entities[0])
    for tname, tkind in dict(targets).items():
        fname = _lower_first(tname) + "Id"
        if fname in used() or tname == e.name:
            continue
        nullable = forward or rng.random() < 0.4
        f = _add(
            e,
            Fld(
                fname,
                FK_TYPE[tkind],
                required=not nullable,
                nullable=nullable,
                index=rng.random() < 0.3,
            ),
        )
        on_delete = "SetNull" if f.nullable else rng.choice(ON_DELETE_REQUIRED)
        rel = Rel(_lower_first(tname), "belongsTo", tname, fname, on_delete, optional=nullable)
        if tkind == "natural":
            rel.references = "code" if rng.random() < 0.5 else None
            rel.on_update = "Cascade"
        _rel(rng, e, rel)
    # Within the package: a reference to an earlier entity, with the inverse side.
    if k > 0 and e.pk_kind != "composite" and rng.random() < 0.6 * share:
        t = ents[rng.randrange(k)]
        fname = _lower_first(t.name) + "Id"
        if t.pk_kind != "composite" and fname not in used():
            _add(e, Fld(fname, FK_TYPE[t.pk_kind], required=True))
            _rel(rng, e, Rel(_lower_first(t.name), "belongsTo", t.name, fname, "Cascade"))
            t.relations.append(Rel(_lower_first(e.name) + "List", "hasMany", e.name, fname))
    # A tree.
    if not few and e.pk_kind in ("uuid", "cuid", "bigint") and rng.random() < 0.1:
        _add(e, Fld("parentId", FK_TYPE[e.pk_kind], nullable=True, index=True))
        _rel(rng, e, Rel("parent", "belongsTo", e.name, "parentId", "SetNull", optional=True))
        e.relations.append(Rel("children", "hasMany", e.name, "parentId"))
    # Fillers up to 10..14 fields, the timestamps last.
    total = rng.choice([10, 11, 12, 13, 14])
    pool = [f for f in _fillers(rng) if f.name not in used()]
    for f in rng.sample(pool, max(1, total - 2 - len(e.fields))):
        if f.default is not None and rng.random() < 0.2:
            f.required = False  # neither required nor nullable: nullable, with a default
        _add(e, f)
    _add(e, Fld("createdAt", "datetime", required=True, default="now"))
    if rng.random() < 0.8:
        _add(e, Fld("updatedAt", "datetime", required=True, default="now"))


def _entity_indexes(rng: random.Random, e: Ent) -> None:
    present = {f.name for f in e.fields}

    def ix(fields: list[str], unique: bool = False, named: bool = False) -> None:
        if not all(x in present for x in fields):
            return
        name = None
        if named:
            cols = "_".join(snake(x) for x in fields)
            name = shorten(f"{e.table}_{cols}_{'key' if unique else 'ix'}")
        e.indexes.append(Ix(fields, unique, name))

    if rng.random() < 0.7:
        ix(["tenantId", "createdAt"], named=rng.random() < 0.5)
    if rng.random() < 0.6:
        ix(["tenantId", "name"], unique=True, named=rng.random() < 0.4)
    if rng.random() < 0.6:
        ix(["status"], named=rng.random() < 0.3)
    if rng.random() < 0.5:
        ix(["ownerId", "createdAt"])
    if rng.random() < 0.3:
        ix(["ownerId", "title"], unique=True)


def _entity_acl(rng: random.Random, e: Ent) -> None:
    present = {f.name for f in e.fields}
    e.acl = {
        "create": sorted(rng.sample(ROLES, rng.randint(1, 2))),
        "read": sorted(rng.sample(ROLES, rng.randint(1, 3))),
        "update": sorted(rng.sample(ROLES, rng.randint(0, 2))),
        "delete": sorted(rng.sample(ROLES, rng.randint(0, 2))),
    }
    if "tenantId" in present and rng.random() < 0.7:
        e.acl["rowLevel"] = "tenantId = $user.tenantId"
    elif "ownerId" in present and rng.random() < 0.7:
        e.acl["rowLevel"] = "ownerId = $user.id"


# --------------------------------------------------------------------------- YAML

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~"}


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if v is None:
        return "null"
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s)


def _flow(items: list[Any]) -> str:
    return "[" + ", ".join(_scalar(x) for x in items) + "]"


def _field_lines(f: Fld, list_shape: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    out.append(("type", PRISMA_SPELLING[f.type] if list_shape else f.type))
    if f.precision is not None:
        out += [("precision", str(f.precision)), ("scale", str(f.scale or 0))]
    for key, val in (
        ("primary", f.primary),
        ("generated", f.generated),
        ("required", f.required),
        ("nullable", f.nullable),
        ("unique", f.unique),
        ("index", f.index),
    ):
        if val:
            out.append((key, "true"))
    if f.default is not None:
        out.append(("default", _scalar(f.default)))
    if f.max_length is not None:
        out.append(("maxLength", str(f.max_length)))
    if f.min is not None:
        out.append(("min", _scalar(f.min)))
    if f.max is not None:
        out.append(("max", _scalar(f.max)))
    if f.enum is not None:
        out.append(("enum", _flow(f.enum)))
    if f.column is not None:
        out.append(("column", f.column))
    if f.description is not None:
        out.append(("description", json.dumps(f.description)))
    return out


def entities_yaml(ents: list[Ent], package: str) -> str:
    w: list[str] = [
        f"# Schema owned by the `{package}` package (generated by bench/generate.py).",
        "",
        "entities:",
    ]
    for e in ents:
        w.append(f"  - name: {e.name}")
        w.append('    version: "1.0"')
        if e.description:
            w.append(f"    description: {json.dumps(e.description)}")
        w.append("    checksum: null")
        if e.table_override:
            w.append(f"    table: {e.table_override}")
        w.append("")
        w.append("    fields:")
        for f in e.fields:
            lines = _field_lines(f, e.list_shape)
            if e.list_shape:
                w.append(f"      - name: {f.name}")
                w += [f"        {k}: {v}" for k, v in lines]
            else:
                w.append(f"      {f.name}:")
                w += [f"        {k}: {v}" for k, v in lines]
        if e.indexes:
            w.append("")
            w.append("    indexes:")
            for x in e.indexes:
                first = True
                for k, v in (
                    ("name", x.name),
                    ("fields", _flow(x.fields)),
                    ("unique", "true" if x.unique else None),
                ):
                    if v is None:
                        continue
                    w.append(f"      {'- ' if first else '  '}{k}: {v}")
                    first = False
        if e.relations:
            w.append("")
            w.append("    relations:")
            for r in e.relations:
                ek, fk = ("target", "foreignKey") if r.alias_spelling else ("entity", "field")
                if r.type != "belongsTo":
                    ek, fk = (ek, "foreignKey")
                w.append(f"      - name: {r.name}")
                w.append(f"        type: {r.type}")
                w.append(f"        {ek}: {r.entity}")
                w.append(f"        {fk}: {r.field}")
                if r.references:
                    w.append(f"        references: {r.references}")
                if r.on_delete:
                    w.append(f"        onDelete: {r.on_delete}")
                if r.on_update:
                    w.append(f"        onUpdate: {r.on_update}")
                if r.optional:
                    w.append("        optional: true")
        w.append("")
        w.append("    acl:")
        for k in ("create", "read", "update", "delete"):
            w.append(f"      {k}: {_flow(e.acl[k])}")
        if "rowLevel" in e.acl:
            w.append(f"      rowLevel: {json.dumps(e.acl['rowLevel'])}")
        w.append("")
    return "\n".join(w)


def metadata_json(h: Head, ents: list[Ent]) -> str | None:
    variant = h.index % 3
    if variant == 0 and h.namespace_in != "metadata":
        return None
    meta: dict[str, Any] = {
        "packageId": h.package_id,
        "name": f"Package {h.index}",
        "version": f"1.{h.index % 10}.0",
        "description": f"Generated benchmark package number {h.index}",
    }
    schema: dict[str, Any] = {}
    if variant == 2:
        schema["entities"] = [e.name for e in ents]
        schema["path"] = "schema/entities.yaml"
    if h.namespace_in == "metadata":
        schema["namespace"] = h.namespace
    if schema:
        meta["schema"] = schema
    return json.dumps(meta, indent=2) + "\n"


def schemactl_toml(heads: list[Head]) -> str:
    ns = [f'{h.package_id} = "{h.namespace}"' for h in heads if h.namespace_in == "config"]
    return "\n".join(
        [
            "# Generated by bench/generate.py: the schemactl benchmark monorepo.",
            'packages = ["packages/*"]',
            'registry = ".schemactl/registry.json"',
            "",
            "[naming]",
            'tables = "snake_plural"',
            'columns = "snake"',
            "",
            "[namespaces]",
            *ns,
            "",
            "[external.User]",
            'table = "public.users"',
            'key = "id"',
            'type = "string"',
            "",
        ]
    )


# --------------------------------------------------------------------------- drizzle

_DRIZZLE_TYPES = {
    "string": "text",
    "text": "text",
    "cuid": "text",
    "int": "integer",
    "bigint": "bigint",
    "float": "doublePrecision",
    "decimal": "numeric",
    "boolean": "boolean",
    "uuid": "uuid",
    "json": "jsonb",
    "datetime": "timestamp",
    "date": "date",
    "bytes": "bytea",
}
_ACTIONS = {
    "Cascade": "cascade",
    "SetNull": "set null",
    "Restrict": "restrict",
    "NoAction": "no action",
    "SetDefault": "set default",
}


def _ts_var(e: Ent) -> str:
    return f"t{e.package}_{e.name}"


def _sql_literal(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _ts_column(f: Fld, fks: dict[str, tuple[str, str, Rel, bool]], composite: bool) -> str:
    fn = _DRIZZLE_TYPES[f.type]
    c = json.dumps(f.col)
    if f.type == "bigint":
        s = f'bigint({c}, {{ mode: "number" }})'
    elif f.type == "decimal":
        s = f"numeric({c}, {{ precision: {f.precision}, scale: {f.scale or 0} }})"
    elif f.type == "datetime":
        s = f"timestamp({c}, {{ withTimezone: true }})"
    else:
        s = f"{fn}({c})"
    if f.primary and not composite:
        s += ".primaryKey()"
    if f.not_null:
        s += ".notNull()"
    if f.generated and f.type in ("int", "bigint"):
        s += ".generatedByDefaultAsIdentity()"
    elif f.generated and f.type == "uuid":
        s += ".defaultRandom()"
    elif f.default == "now" and f.type == "datetime":
        s += ".defaultNow()"
    elif f.default is not None:
        d = str(f.default) if f.type == "decimal" else f.default
        s += f".default({json.dumps(d)})"
    if f.name in fks:
        var, key, r, self_ref = fks[f.name]
        opts = []
        if r.on_delete:
            opts.append(f'onDelete: "{_ACTIONS[r.on_delete]}"')
        if r.on_update:
            opts.append(f'onUpdate: "{_ACTIONS[r.on_update]}"')
        ref = f"(){': AnyPgColumn' if self_ref else ''} => {var}.{key}"
        s += f".references({ref}" + (f", {{ {', '.join(opts)} }})" if opts else ")")
    return s


def drizzle_schema(heads: list[Head], packages: list[list[Ent]]) -> str:
    by_name = {e.name: e for ents in packages for e in ents}
    w = [
        "// Generated by bench/generate.py: the drizzle twin of the schemactl benchmark monorepo.",
        "// One pgSchema per package; the same tables, columns, types, NOT NULL, defaults,",
        "// primary keys, indexes, unique constraints, CHECKs and foreign keys.",
        'import { sql } from "drizzle-orm";',
        "import {",
        "  type AnyPgColumn, bigint, boolean, check, customType, date, doublePrecision, index,",
        "  integer, jsonb, numeric, pgSchema, pgTable, primaryKey, text, timestamp, unique,",
        "  uniqueIndex, uuid,",
        '} from "drizzle-orm/pg-core";',
        "",
        'const bytea = customType<{ data: Uint8Array }>({ dataType: () => "bytea" });',
        "",
        "// The external User of schemactl.toml ([external.User]); schemactl does not create it.",
        'export const users = pgTable("users", { id: text("id").primaryKey() });',
        "",
    ]
    for h, ents in zip(heads, packages, strict=True):
        sv = f"s{h.index}"
        w.append(f"export const {sv} = pgSchema({json.dumps(h.namespace)});")
        for e in ents:
            fks: dict[str, tuple[str, str, Rel, bool]] = {}
            for r in e.relations:
                if r.type != "belongsTo":
                    continue
                if r.entity == "User":
                    fks[r.field] = ("users", "id", r, False)
                else:
                    t = by_name[r.entity]
                    key = r.references or _key_of(t.pk_kind)
                    fks[r.field] = (_ts_var(t), key, r, t is e)
            composite = len(e.pk) > 1
            w.append(f"export const {_ts_var(e)} = {sv}.table({json.dumps(e.table)}, {{")
            for f in e.fields:
                w.append(f"  {f.name}: {_ts_column(f, fks, composite)},")
            extras: list[str] = []
            if composite:
                cols = ", ".join(f"t.{f.name}" for f in e.pk)
                extras.append(
                    f'primaryKey({{ name: "{derived("pk", e.table, ())}", columns: [{cols}] }})'
                )
            covered: set[tuple[tuple[str, ...], bool]] = set()
            for x in e.indexes:
                cols_ = tuple(e.fld(n).col for n in x.fields)
                name = x.name or derived("uq" if x.unique else "idx", e.table, cols_)
                fn = "uniqueIndex" if x.unique else "index"
                on = ", ".join(f"t.{n}" for n in x.fields)
                extras.append(f'{fn}("{name}").on({on})')
                covered.add((tuple(x.fields), x.unique))
            for f in e.fields:
                one = (f.name,)
                if f.unique and (one, True) not in covered:
                    extras.append(f'unique("{derived("uq", e.table, (f.col,))}").on(t.{f.name})')
                    covered.add((one, True))
                if f.index and (one, False) not in covered and (one, True) not in covered:
                    extras.append(f'index("{derived("idx", e.table, (f.col,))}").on(t.{f.name})')
            for f in e.fields:
                col = f'"{f.col}"'
                checks = []
                if f.enum is not None:
                    checks.append(("enum", f"{col} IN ({', '.join(map(_sql_literal, f.enum))})"))
                if f.min is not None:
                    checks.append(("min", f"{col} >= {_sql_literal(f.min)}"))
                if f.max is not None:
                    checks.append(("max", f"{col} <= {_sql_literal(f.max)}"))
                if f.max_length is not None:
                    checks.append(("len", f"char_length({col}) <= {f.max_length}"))
                for kind, expr in checks:
                    extras.append(f'check("{derived("ck", e.table, (f.col, kind))}", sql`{expr}`)')
            if extras:
                w.append("}, (t) => [")
                w += [f"  {x}," for x in extras]
                w.append("]);")
            else:
                w.append("});")
        w.append("")
    return "\n".join(w)


def drizzle_config(d: Path) -> str:
    return "\n".join(
        [
            'import { defineConfig } from "drizzle-kit";',
            "",
            "export default defineConfig({",
            '  dialect: "postgresql",',
            f"  schema: {json.dumps(str(d / 'schema.ts'))},",
            f"  out: {json.dumps(str(d / 'out'))},",
            "});",
            "",
        ]
    )


# --------------------------------------------------------------------------- entry points


RELATIONS = ("many", "few")  # the default density, and the sparse variant


def build(seed: int, n: int, relations: str = "many") -> tuple[list[Head], list[list[Ent]]]:
    heads = [head(seed, i) for i in range(n)]
    return heads, [_package(seed, heads, i, relations == "few") for i in range(n)]


def entities_path(root: Path, i: int) -> Path:
    return root / "packages" / package_id(i) / "seed" / "schema" / "entities.yaml"


def generate(
    root: Path,
    n: int = 1000,
    seed: int = 42,
    drizzle: bool = True,
    drizzle_dir: Path | None = None,
    relations: str = "many",
) -> dict[str, int]:
    """Write the monorepo into ``root`` and its drizzle twin into ``drizzle_dir`` (default
    ``root/drizzle``); neither may exist unless empty.  Returns counts of what it wrote."""
    root = root.resolve()
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"{root} is not empty")
    heads, packages = build(seed, n, relations)
    root.mkdir(parents=True, exist_ok=True)
    (root / "schemactl.toml").write_text(schemactl_toml(heads))
    for h, ents in zip(heads, packages, strict=True):
        yml = entities_path(root, h.index)
        yml.parent.mkdir(parents=True)
        yml.write_text(entities_yaml(ents, h.package_id))
        meta = metadata_json(h, ents)
        if meta is not None:
            (yml.parent.parent / "metadata.json").write_text(meta)
    if drizzle:
        d = (drizzle_dir or root / "drizzle").resolve()
        d.mkdir(parents=True, exist_ok=True)
        (d / "schema.ts").write_text(drizzle_schema(heads, packages))
        (d / "drizzle.config.ts").write_text(drizzle_config(d))
        if NODE_MODULES.is_dir():
            os.symlink(NODE_MODULES, d / "node_modules", target_is_directory=True)
    ents = [e for p in packages for e in p]
    return {
        "packages": n,
        "entities": len(ents),
        "fields": sum(len(e.fields) for e in ents),
        "foreign_keys": sum(1 for e in ents for r in e.relations if r.type == "belongsTo"),
        "indexes": sum(len(e.indexes) for e in ents),
    }


def touch_package(
    root: Path,
    i: int,
    seed: int = 42,
    n: int = 1000,
    salt: int = 0,
    relations: str = "many",
    extra: int = 1,
) -> Path:
    """Change package ``i`` of a generated repo: ``extra`` new nullable columns on its first
    entity, numbered from ``salt`` (an ADD COLUMN each for ``scan``; growing ``extra`` by
    one adds one more field).  Returns the file it rewrote."""
    heads = [head(seed, j) for j in range(n)]
    ents = _package(seed, heads, i, relations == "few")
    for k in range(salt, salt + extra):
        ents[0].fields.append(Fld(f"benchExtra{k}", "string", nullable=True, max_length=50 + k))
    path = entities_path(root, i)
    path.write_text(entities_yaml(ents, heads[i].package_id))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="directory to create (must not exist or be empty)")
    ap.add_argument("--packages", type=int, default=1000, metavar="N")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-drizzle", action="store_true", help="skip the drizzle twin")
    ap.add_argument("--relations", choices=RELATIONS, default="many", help="relation density")
    ap.add_argument(
        "--drizzle-dir", type=Path, metavar="DIR", help="where the twin goes (OUT/drizzle)"
    )
    ap.add_argument("--force", action="store_true", help="delete OUT first")
    a = ap.parse_args(argv)
    if a.force:
        for d in (a.out, a.drizzle_dir):
            if d is not None and d.exists():
                shutil.rmtree(d)
    counts = generate(a.out, a.packages, a.seed, not a.no_drizzle, a.drizzle_dir, a.relations)
    print(", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
