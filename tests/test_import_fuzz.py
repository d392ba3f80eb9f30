"""Generated schemas through ``import`` (issue 14): a random package is created in
PostgreSQL with schemactl's own DDL, imported back, and every entity's checksum must equal
the original's modulo the documented renames (tests/import_util.expected_canonical).

Example counts are modest (one database for all examples, one schema per example); under
CI the examples are derandomized so a run is reproducible.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import psycopg
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemactl.importer.command import run as import_run
from schemactl.project import load_project
from schemactl.workflow import preview
from test_import import _checksums_survive

ENTITY_NAMES = [
    "Order",
    "Item",
    "Category",
    "Person",
    "Status",
    "Box",
    "Address",
    "Day",
    "Child",
    "AuditLog",
    "FileTag",
    "IrcChannel",
    "Data",
]
FIELD_NAMES = [
    "name",
    "tenantId",
    "createdAt",
    "amountCents",
    "isActive",
    "order",
    "user",
    "label",
    "score",
    "payload",
    "due",
    "blob",
    "ratio",
    "code",
    "body",
    "lineNo2",
]


@st.composite
def field_spec(draw: Any) -> dict[str, Any]:
    typ = draw(
        st.sampled_from(
            [
                "string",
                "text",
                "cuid",
                "int",
                "bigint",
                "float",
                "decimal",
                "boolean",
                "uuid",
                "json",
                "datetime",
                "date",
                "bytes",
            ]
        )
    )
    spec: dict[str, Any] = {"type": typ}
    if draw(st.booleans()):
        spec["required"] = True
    if typ == "string":
        choice = draw(st.sampled_from(["plain", "max", "enum"]))
        if choice == "max":
            spec["maxLength"] = draw(st.integers(1, 300))
            if draw(st.booleans()):
                spec["default"] = "x"
        elif choice == "enum":
            values = draw(
                st.lists(st.sampled_from(["a", "b", "it's", "PG-13"]), min_size=1, unique=True)
            )
            spec["enum"] = values
            if draw(st.booleans()):
                spec["default"] = values[0]
        elif draw(st.booleans()):
            spec["default"] = draw(st.sampled_from(["", "open", 'say "hi"', "two\nlines"]))
    elif typ in ("int", "bigint"):
        kind = draw(st.sampled_from(["plain", "range", "enum"]))
        if kind == "range":
            lo = draw(st.integers(-5, 5))
            spec["min"] = lo
            if draw(st.booleans()):
                spec["max"] = lo + draw(st.integers(0, 100))
            if draw(st.booleans()):
                spec["default"] = lo
        elif kind == "enum":
            spec["enum"] = [1, 2, 3]
        elif draw(st.booleans()):
            spec["default"] = draw(st.integers(-(2**31), 2**31 - 1))
    elif typ == "float":
        if draw(st.booleans()):
            spec["default"] = draw(st.sampled_from([0, 1.5, -2.25]))
        if draw(st.booleans()):
            spec["min"] = 0
    elif typ == "decimal":
        if draw(st.booleans()):
            spec["precision"] = 10
            spec["scale"] = 2
        if draw(st.booleans()):
            spec["default"] = draw(st.sampled_from([0, 9.99, "10.50", -1]))
    elif typ == "boolean":
        if draw(st.booleans()):
            spec["default"] = draw(st.booleans())
    elif typ == "uuid":
        if draw(st.booleans()):
            spec["generated"] = True
    elif typ == "json":
        if draw(st.booleans()):
            spec["default"] = draw(st.sampled_from(["{}", "[]"]))
    elif typ == "datetime":
        if draw(st.booleans()):
            spec["default"] = "now"
    elif typ == "date" and draw(st.booleans()):
        spec["default"] = "2024-01-31"
    if typ not in ("json", "bytes") and draw(st.integers(0, 4)) == 0:
        spec["unique"] = True
    elif typ not in ("json", "bytes") and draw(st.integers(0, 4)) == 0:
        spec["index"] = True
    return spec


@st.composite
def package(draw: Any) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(ENTITY_NAMES), min_size=1, max_size=3, unique=True))
    pks: dict[str, str] = {}
    entities = []
    for i, name in enumerate(names):
        pk_type = draw(st.sampled_from(["cuid", "string", "int", "bigint", "uuid"]))
        key = {"type": pk_type, "primary": True}
        if pk_type in ("int", "bigint", "uuid", "cuid") and draw(st.booleans()):
            key["generated"] = True
        fields: dict[str, Any] = {"id": key}
        for fname in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=5, unique=True)):
            fields[fname] = draw(field_spec())
        relations: list[dict[str, Any]] = []
        for target in names[:i]:
            if draw(st.booleans()):
                fk = target[0].lower() + target[1:] + "Id"
                spec: dict[str, Any] = {"type": "string" if pks[target] == "cuid" else pks[target]}
                if draw(st.booleans()):
                    spec["required"] = True
                fields[fk] = spec
                rel = {"name": target[0].lower() + target[1:], "type": "belongsTo"}
                rel.update({"entity": target, "field": fk})
                act = draw(st.sampled_from([None, "Cascade", "Restrict", "SetNull", "NoAction"]))
                if act == "SetNull" and spec.get("required"):
                    act = "Cascade"
                if act:
                    rel["onDelete"] = act
                if draw(st.booleans()):
                    rel["optional"] = True
                relations.append(rel)
        if i and draw(st.booleans()):
            relations.append({"name": "siblings", "type": "hasMany", "entity": names[0]})
        extra = [f for f, s in fields.items() if f != "id" and s["type"] not in ("json", "bytes")]
        indexes = []
        if len(extra) >= 2 and draw(st.booleans()):
            cols = draw(st.lists(st.sampled_from(extra), min_size=2, max_size=3, unique=True))
            ix: dict[str, Any] = {"fields": cols}
            if draw(st.booleans()):
                ix["unique"] = True
            if draw(st.booleans()):
                ix["name"] = f"custom_{name.lower()}_ix"
            indexes.append(ix)
        ent: dict[str, Any] = {"name": name, "fields": fields}
        if indexes:
            ent["indexes"] = indexes
        if relations:
            ent["relations"] = relations
        if draw(st.booleans()):
            ent["acl"] = {"read": ["public"]}
        entities.append(ent)
        pks[name] = pk_type
    return {"entities": entities}


_counter = itertools.count(1)


@pytest.fixture(scope="module")
def fuzz_db(pg_server: Any) -> Any:
    with pg_server.fresh_database() as url:
        yield url


@settings(
    max_examples=int(os.environ.get("SCHEMACTL_IMPORT_EXAMPLES", "12")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=package())
def test_generated_schemas_import_back_with_their_checksums(
    doc: dict[str, Any], fuzz_db: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ns = f"h{next(_counter)}"
    base = tmp_path_factory.mktemp("fuzz")
    root, back = base / "orig", base / "back"
    pkg = root / "packages" / ns / "seed" / "schema"
    pkg.mkdir(parents=True)
    (pkg / "entities.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    pr = load_project(root)
    assume(not [d for d in pr.diagnostics if d.severity == "error"])
    ddl = preview(root, ns).data["text"]
    with psycopg.connect(fuzz_db, autocommit=True) as conn:
        conn.execute(ddl)
    back.mkdir()
    res = import_run(back, database_url=fuzz_db, schemas=[ns])
    assert res.code == 0, [d.to_dict() for d in res.diagnostics]
    lossy = [d.message for d in res.diagnostics if d.severity != "note"]
    assert lossy == [], json.dumps(doc)
    _checksums_survive(root, back)
    # nothing a schemactl-made schema holds is outside the format
    assert (back / "packages" / ns / "seed" / "schema" / "entities.yaml").is_file()
