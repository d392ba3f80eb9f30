"""The structural checksum (SPEC §4): invariant under presentation, sensitive to structure.

Hypothesis generates random valid entities, then renders each one in many presentations
(key order, field order, map or list shape, type spellings and aliases, list orders,
descriptions, version, ``checksum: null``, comments, keys at their default value); all
must give one checksum.  Each structural change must change it.  A golden literal pins
the value across platforms and versions.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation_util import checksum_of, drafts_of
from schemactl.checksum import canonical_entity, digest

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SPELLINGS = {
    "string": ["string", "String", "STRING"],
    "text": ["text", "Text"],
    "int": ["int", "Int", "integer", "Integer"],
    "bigint": ["bigint", "BigInt"],
    "float": ["float", "Float", "double"],
    "decimal": ["decimal", "Decimal"],
    "boolean": ["boolean", "Boolean", "bool"],
    "cuid": ["cuid", "CUID"],
    "uuid": ["uuid", "UUID"],
    "json": ["json", "Json", "jsonb"],
    "datetime": ["datetime", "DateTime", "timestamp"],
    "date": ["date", "Date"],
    "bytes": ["bytes", "Bytes"],
}
FIELD_NAMES = ["title", "tenantId", "amount", "createdAt", "status", "ownerId", "score", "body"]
WORDS = ["draft", "active", "archived", "open", "closed", "alpha", "beta"]
ROLES = ["public", "user", "self", "owner", "admin", "system"]
ACTIONS = ["Cascade", "SetNull", "Restrict", "SetDefault"]
TEXT = st.sampled_from(["", "Who did what", "free text, with commas", "a: colon", "'quoted'"])


# --- random structure ---------------------------------------------------------------------


@st.composite
def field_attrs(draw: Any, typ: str) -> dict[str, Any]:
    a: dict[str, Any] = {}
    if draw(st.booleans()):
        a["required"] = True
    if draw(st.booleans()):
        a[draw(st.sampled_from(["unique", "index"]))] = True
    if typ in ("string", "text", "cuid"):
        if draw(st.booleans()):
            a["enum"] = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4, unique=True))
            if draw(st.booleans()):
                a["default"] = draw(st.sampled_from(a["enum"]))
        elif draw(st.booleans()):
            a["default"] = draw(st.sampled_from(WORDS))
        if draw(st.booleans()):
            a["maxLength"] = draw(st.integers(10, 500))
    elif typ in ("int", "bigint"):
        lo = draw(st.none() | st.integers(-100, 0))
        hi = draw(st.none() | st.integers(1, 10_000))
        if lo is not None:
            a["min"] = lo
        if hi is not None:
            a["max"] = hi
        if draw(st.booleans()):
            a["default"] = draw(st.integers(0 if lo is None else lo, 1 if hi is None else hi))
    elif typ == "float":
        if draw(st.booleans()):
            a["min"] = 0
        if draw(st.booleans()):
            a["default"] = draw(st.sampled_from([0, 1.5, 2.25]))
    elif typ == "decimal":
        p = draw(st.integers(1, 38))
        a["precision"] = p
        if draw(st.booleans()):
            a["scale"] = draw(st.integers(0, p))
    elif typ == "boolean":
        if draw(st.booleans()):
            a["default"] = draw(st.booleans())
    elif typ == "datetime" and draw(st.booleans()):
        a["default"] = "now"
    elif typ == "uuid" and draw(st.booleans()):
        a["generated"] = True
    return a


@st.composite
def entities(draw: Any) -> dict[str, Any]:
    """A valid entity as plain canonical data (types in canonical spelling)."""
    pk_type = draw(st.sampled_from(["cuid", "uuid", "string", "int", "bigint"]))
    fields: dict[str, dict[str, Any]] = {"id": {"type": pk_type, "primary": True}}
    if pk_type in ("cuid", "uuid", "int", "bigint") and draw(st.booleans()):
        fields["id"]["generated"] = True
    for name in draw(st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=5, unique=True)):
        typ = draw(st.sampled_from(sorted(SPELLINGS)))
        fields[name] = {"type": typ, **draw(field_attrs(typ))}
    names = list(fields)
    indexes = []
    seen: set[tuple[str, ...]] = set()
    for i in range(draw(st.integers(0, 3))):
        cols = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)))
        if cols in seen:
            continue
        seen.add(cols)
        ix: dict[str, Any] = {"fields": list(cols)}
        if draw(st.booleans()):
            ix["unique"] = True
        if draw(st.booleans()):
            ix["name"] = f"ix_custom_{i}"
        indexes.append(ix)
    relations = []
    for i in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["belongsTo", "hasMany", "hasOne"]))
        rel: dict[str, Any] = {"name": f"rel{i}", "type": kind, "entity": f"Other{i}"}
        if kind == "belongsTo":
            fname = draw(st.sampled_from(names))
            rel["field"] = fname
            nullable = not (fields[fname].get("required") or fields[fname].get("primary"))
            actions = ACTIONS if nullable else [a for a in ACTIONS if a != "SetNull"]
            if draw(st.booleans()):
                rel["onDelete"] = draw(st.sampled_from(actions))
            if draw(st.booleans()):
                rel["references"] = "id"
        relations.append(rel)
    acl: dict[str, Any] = {}
    for op in ("create", "read", "update", "delete"):
        if draw(st.booleans()):
            acl[op] = draw(st.lists(st.sampled_from(ROLES), max_size=4, unique=True))
    if draw(st.booleans()):
        acl["rowLevel"] = "tenantId = $user.tenantId"
    ent: dict[str, Any] = {"name": "Thing", "fields": fields}
    if indexes:
        ent["indexes"] = indexes
    if relations:
        ent["relations"] = relations
    if acl:
        ent["acl"] = acl
    if draw(st.booleans()):
        ent["table"] = "my_things"
    return ent


# --- random presentation ------------------------------------------------------------------


def shuffled(draw: Any, items: list[Any]) -> list[Any]:
    return list(draw(st.permutations(items)))


def reorder(draw: Any, d: dict[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in shuffled(draw, list(d))}


def present(draw: Any, ent: dict[str, Any]) -> str:
    """Render ``ent`` as entities.yaml text with random non-structural differences."""
    out: dict[str, Any] = {"name": ent["name"]}
    if draw(st.booleans()):
        out["version"] = draw(st.sampled_from(["1.0", "2.3.1", "v7"]))
    if draw(st.booleans()):
        out["description"] = draw(TEXT)
    if draw(st.booleans()):
        out["checksum"] = None
    if "table" in ent:
        out["table"] = ent["table"]
    fields = {}
    for fname in shuffled(draw, list(ent["fields"])):
        f = dict(ent["fields"][fname])
        f["type"] = draw(st.sampled_from(SPELLINGS[f["type"]]))
        for key in ("required", "unique", "index", "generated"):  # keys at their default
            if key not in f and draw(st.integers(0, 3)) == 0:
                f[key] = False
        if not f.get("primary") and draw(st.integers(0, 3)) == 0:
            f["primary"] = False
        if not (f.get("required") or f.get("primary")) and draw(st.integers(0, 3)) == 0:
            f["nullable"] = True
        if draw(st.integers(0, 3)) == 0:
            f["description"] = draw(TEXT)
        fields[fname] = reorder(draw, f)
    if draw(st.booleans()):
        out["fields"] = fields
    else:
        out["fields"] = [reorder(draw, {"name": k, **v}) for k, v in fields.items()]
    if "indexes" in ent:
        out["indexes"] = [reorder(draw, ix) for ix in shuffled(draw, ent["indexes"])]
    if "relations" in ent:
        rels = []
        for r in shuffled(draw, ent["relations"]):
            r = dict(r)
            if draw(st.booleans()):
                r["target"] = r.pop("entity")
            if "field" in r and draw(st.booleans()):
                r["foreignKey"] = r.pop("field")
            if "onDelete" not in r and draw(st.integers(0, 3)) == 0:
                r["onDelete"] = "NoAction"
            if draw(st.integers(0, 3)) == 0:
                r["optional"] = False
            if draw(st.integers(0, 3)) == 0:
                r["description"] = draw(TEXT)
            rels.append(reorder(draw, r))
        out["relations"] = rels
    if "acl" in ent:
        acl = {}
        for k, v in ent["acl"].items():
            if isinstance(v, list):  # role lists: any order, repeats ignored
                v = shuffled(draw, v) + (v[:1] if v and draw(st.booleans()) else [])
            acl[k] = v
        out["acl"] = reorder(draw, acl)
    out = reorder(draw, out)
    text = yaml.safe_dump(
        {"entities": [out]},
        sort_keys=False,
        default_flow_style=draw(st.sampled_from([False, None])),
        width=10**6,
        allow_unicode=True,
    )
    lines = text.splitlines()
    for _ in range(draw(st.integers(0, 3))):  # comments and blank lines anywhere
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(["# a comment", "", "   # indented comment"])))
    return "\n".join(lines) + "\n"


def plain(ent: dict[str, Any]) -> str:
    return yaml.safe_dump({"entities": [ent]}, sort_keys=False)


@SETTINGS
@given(ent=entities(), data=st.data())
def test_invariant_under_every_non_structural_difference(ent: dict[str, Any], data: Any) -> None:
    expected = checksum_of(plain(ent))
    rendered = present(data.draw, ent)
    assert checksum_of(rendered) == expected, rendered


@SETTINGS
@given(ent=entities())
def test_format_is_sha256_hex(ent: dict[str, Any]) -> None:
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", checksum_of(plain(ent)))


# --- sensitivity: each structural change changes the checksum ----------------------------

BASE = """\
entities:
  - name: Invoice
    fields:
      id: {type: cuid, primary: true}
      tenantId: {type: string, required: true}
      number: {type: string, maxLength: 20, enum: [a, b, c], default: a}
      amount: {type: int, min: 0}
      memo: {type: text}
    indexes:
      - {fields: [tenantId, number], unique: true}
    relations:
      - {name: tenant, type: belongsTo, entity: Tenant, field: tenantId, onDelete: Cascade}
    acl:
      read: [user]
      update: [admin]
"""

MUTATIONS = {
    "field type": ("memo: {type: text}", "memo: {type: string}"),
    "required": ("amount: {type: int, min: 0}", "amount: {type: int, min: 0, required: true}"),
    "nullable false": ("memo: {type: text}", "memo: {type: text, nullable: false}"),
    "maxLength": ("maxLength: 20", "maxLength: 21"),
    "enum value": ("enum: [a, b, c]", "enum: [a, b, d]"),
    "enum order": ("enum: [a, b, c]", "enum: [b, a, c]"),
    "default": ("default: a}", "default: b}"),
    "default added": ("memo: {type: text}", "memo: {type: text, default: x}"),
    "min": ("min: 0", "min: 1"),
    "unique": ("memo: {type: text}", "memo: {type: text, unique: true}"),
    "index flag": ("memo: {type: text}", "memo: {type: text, index: true}"),
    "generated": (
        "id: {type: cuid, primary: true}",
        "id: {type: cuid, primary: true, generated: true}",
    ),
    "field added": ("memo: {type: text}", "memo: {type: text}\n      extra: {type: text}"),
    "field renamed": ("memo: {type: text}", "note: {type: text}"),
    "index column order": ("fields: [tenantId, number]", "fields: [number, tenantId]"),
    "index unique": ("unique: true}\n    relations", "unique: false}\n    relations"),
    "index name": ("unique: true}", "unique: true, name: uq_custom}"),
    "relation onDelete": ("onDelete: Cascade", "onDelete: Restrict"),
    "relation target": ("entity: Tenant", "entity: Account"),
    "relation name": ("name: tenant,", "name: owner,"),
    "relation references": ("onDelete: Cascade", "onDelete: Cascade, references: id"),
    "ACL role added": ("read: [user]", "read: [user, public]"),
    "ACL role moved": ("update: [admin]", "delete: [admin]"),
    "rowLevel": ("      update: [admin]", "      update: [admin]\n      rowLevel: 'x = 1'"),
    "table override": ("  - name: Invoice\n", "  - name: Invoice\n    table: bills\n"),
    "column override": ("memo: {type: text}", "memo: {type: text, column: memo_text}"),
    "entity name": ("name: Invoice", "name: Bill"),
}


@pytest.mark.parametrize(("old", "new"), list(MUTATIONS.values()), ids=list(MUTATIONS))
def test_sensitive_to_structural_change(old: str, new: str) -> None:
    assert BASE.count(old) == 1
    assert checksum_of(BASE.replace(old, new)) != checksum_of(BASE)


def test_table_override_equal_to_the_derived_name_still_counts() -> None:
    """An override is structural even when it spells the default (it pins the name)."""
    pinned = BASE.replace("  - name: Invoice\n", "  - name: Invoice\n    table: invoices\n")
    assert checksum_of(pinned) != checksum_of(BASE)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("memo: {type: text}", "memo: {type: text, description: 'free text'}"),
        ("  - name: Invoice\n", "  - name: Invoice\n    version: '9.9'\n    description: x\n"),
        ("onDelete: Cascade", "onDelete: Cascade, optional: false"),
        ("tenantId: {type: string, required: true}", "tenantId: {type: String, required: true}"),
        ("amount: {type: int, min: 0}", "amount: {type: integer, min: 0, required: false}"),
        ("entity: Tenant, field: tenantId", "target: Tenant, foreignKey: tenantId"),
        ("read: [user]", "read: [user, user]"),
        ("    acl:\n", "    acl:\n      create: []\n"),
    ],
)
def test_insensitive_examples(old: str, new: str) -> None:
    assert BASE.count(old) == 1
    assert checksum_of(BASE.replace(old, new)) == checksum_of(BASE)


def test_same_in_every_run_and_platform() -> None:
    """Golden values: if one changes, every pinned checksum in every repository breaks."""
    assert checksum_of(BASE) == GOLDEN_BASE
    assert checksum_of(DOC_EXAMPLE) == GOLDEN_DOC_EXAMPLE


GOLDEN_BASE = "sha256:e46c3400b9b178840f25ad634b93a1bb60c0b2eb2a73bbc99cfefb3a6c71730f"

DOC_EXAMPLE = """\
entities:
  - name: AuditLog
    version: "1.0"
    description: "Who did what, when"
    checksum: null
    fields:
      id: { type: cuid, primary: true, generated: true }
      tenantId: { type: string, required: true, index: true }
      action: { type: string, required: true, maxLength: 50 }
      createdAt: { type: datetime, required: true, default: now }
    relations:
      - { name: tenant, type: belongsTo, entity: Tenant, field: tenantId, onDelete: Cascade }
    acl:
      read: [admin]
"""
GOLDEN_DOC_EXAMPLE = "sha256:8c4b1e3e35e18c41cefdbcb049c970d810710dd2989e20aae80efbdf7fb14e11"

CANONICAL_DOC_EXAMPLE = {
    "name": "AuditLog",
    "fields": {
        "id": {"type": "cuid", "primary": True, "generated": True, "notNull": True},
        "tenantId": {"type": "string", "notNull": True, "index": True},
        "action": {"type": "string", "notNull": True, "maxLength": 50},
        "createdAt": {"type": "datetime", "notNull": True, "default": "now"},
    },
    "indexes": [],
    "relations": [
        {
            "name": "tenant",
            "type": "belongsTo",
            "entity": "Tenant",
            "field": "tenantId",
            "onDelete": "Cascade",
        }
    ],
    "acl": {"read": ["admin"]},
}


def test_canonical_form_is_exactly_as_documented() -> None:
    [d], diags = drafts_of(DOC_EXAMPLE)
    assert diags == []
    canon = canonical_entity(d.name, None, d.fields, d.declared, d.relations, d.acl)
    assert canon == CANONICAL_DOC_EXAMPLE
    assert digest(canon) == d.checksum
    # the algorithm as docs/checksum.md states it, written out independently
    dumped = json.dumps(canon, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "sha256:" + hashlib.sha256(dumped.encode("utf-8")).hexdigest() == GOLDEN_DOC_EXAMPLE


def test_number_spelling_does_not_matter() -> None:
    a = BASE.replace("min: 0", "min: 0.0")
    assert checksum_of(a) == checksum_of(BASE)
