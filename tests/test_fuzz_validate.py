"""Mangled entities files never crash validation: whatever the bytes, `load_project`
returns diagnostics (and the CLI an exit code), never an exception."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemactl.project import load_project

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SOURCE = EXAMPLES / "packages" / "storage" / "seed" / "schema" / "entities.yaml"
TOKENS = [
    "", " ", "\n", ":", "- ", "[", "]", "{", "}", "'", '"', "&a", "*a", "!!str ", "~", "null",
    "yes", "1.0", "-1", "99999999999999999999", "\t", "#", "name: x", "type: int", "\x00",
    "fields:", "entity: Nope", "primary: true", "default: 'x'", "é", "\ufeff",
]  # fmt: skip

edits = st.lists(
    st.tuples(st.floats(0, 1), st.integers(0, 40), st.sampled_from(TOKENS)),
    min_size=1,
    max_size=6,
)


def _mangle(text: str, plan: list[tuple[float, int, str]]) -> str:
    for where, cut, token in plan:
        i = int(where * len(text))
        text = text[:i] + token + text[i + cut :]
    return text


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=edits)
def test_mangled_files_give_diagnostics_not_exceptions(
    tmp_path_factory: object, plan: list[tuple[float, int, str]]
) -> None:
    root = Path(tmp_path_factory.mktemp("fuzz"))  # type: ignore[attr-defined]
    shutil.copytree(EXAMPLES, root / "ex", ignore=shutil.ignore_patterns("migrations"))
    target = root / "ex" / "packages" / "storage" / "seed" / "schema" / "entities.yaml"
    target.write_text(_mangle(SOURCE.read_text(), plan), encoding="utf-8", errors="replace")
    result = load_project(root / "ex")  # must not raise
    for d in result.diagnostics:
        assert d.code.startswith("SC") and d.message
        if d.severity == "error" and d.file and d.file.endswith("entities.yaml"):
            assert d.line is None or d.line >= 1


KEYS = [
    "entities", "name", "fields", "type", "primary", "required", "nullable", "default",
    "enum", "min", "max", "maxLength", "precision", "scale", "generated", "unique", "index",
    "relations", "entity", "target", "field", "foreignKey", "references", "onDelete",
    "indexes", "acl", "read", "rowLevel", "table", "column", "renamedFrom", "checksum",
    "version", "id", "userId",
]  # fmt: skip
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["string", "int", "uuid", "decimal", "json", "datetime", "now", "User", "Folder",
         "belongsTo", "hasMany", "Cascade", "SetNull", "Thing", "id", "a;b", "x" * 70]
    ),
)  # fmt: skip
documents = st.recursive(
    VALUES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    ),
    max_leaves=40,
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=documents, shaped=st.booleans())
def test_arbitrary_documents_give_diagnostics_not_exceptions(
    tmp_path_factory: object, doc: object, shaped: bool
) -> None:
    import yaml

    root = Path(tmp_path_factory.mktemp("fuzzdoc"))  # type: ignore[attr-defined]
    pkg = root / "packages" / "p" / "seed" / "schema"
    pkg.mkdir(parents=True)
    body = {"entities": [doc]} if shaped else doc
    (pkg / "entities.yaml").write_text(yaml.safe_dump(body, allow_unicode=True))
    (root / "schemactl.toml").write_text('[external.User]\ntable = "public.users"\n')
    result = load_project(root)  # must not raise
    assert all(d.code.startswith("SC") for d in result.diagnostics)


def test_unhashable_values_where_a_string_is_expected(tmp_path: Path) -> None:
    """Found by the fuzzer: a list or mapping as `checksum` (top level or entity) crashed
    the memo of the entity shell."""
    pkg = tmp_path / "packages" / "p" / "seed" / "schema"
    pkg.mkdir(parents=True)
    entity = (
        "entities:\n  - name: A\n    checksum: {}\n"
        "    fields: {{id: {{type: int, primary: true}}}}\n"
    )
    for text in ("checksum: []\n", entity.format("[1]"), entity.format("{a: 1}")):
        (pkg / "entities.yaml").write_text(text)
        result = load_project(tmp_path)
        errors = {d.code for d in result.diagnostics if d.severity == "error"}
        assert errors and errors <= {"SC200", "SC201", "SC202"}, result.diagnostics


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["packageId", "schema", "path", "entities", "namespace", "x"]),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
toml_values = st.one_of(
    st.booleans(),
    st.integers(-3, 3),
    st.text(alphabet="abc_./*-PUs ", max_size=12),
    st.lists(st.text(alphabet="abc/*", max_size=6), max_size=3),
)
toml_tables = st.dictionaries(
    st.sampled_from(
        ["packages", "registry", "migrations", "naming", "namespaces", "owners", "external",
         "bogus"]
    ),
    st.one_of(
        toml_values,
        st.dictionaries(
            st.sampled_from(["tables", "columns", "User", "storage", "table", "key", "type"]),
            st.one_of(
                toml_values,
                st.dictionaries(st.sampled_from(["table", "key", "type", "x"]), toml_values),
            ),
            max_size=3,
        ),
    ),
    max_size=4,
)  # fmt: skip


def _toml(table: dict[str, object]) -> str:
    import json as _json

    def value(v: object) -> str:
        return _json.dumps(v)  # JSON scalars and lists are TOML too

    lines, subtables = [], []
    for k, v in table.items():
        if isinstance(v, dict):
            subtables.append((k, v))
        else:
            lines.append(f"{k} = {value(v)}")
    for name, sub in subtables:
        nested = [(k, v) for k, v in sub.items() if isinstance(v, dict)]
        lines.append(f"[{name}]")
        lines += [f'"{k}" = {value(v)}' for k, v in sub.items() if not isinstance(v, dict)]
        for k, v in nested:
            lines.append(f'[{name}."{k}"]')
            lines += [f"{kk} = {value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(meta=json_values, config=toml_tables)
def test_arbitrary_metadata_and_config_never_crash_the_cli(
    tmp_path_factory: object, meta: object, config: dict[str, object]
) -> None:
    import json as _json

    from foundation_util import run_cli

    root = Path(tmp_path_factory.mktemp("fuzzcfg"))  # type: ignore[attr-defined]
    shutil.copytree(EXAMPLES / "packages" / "storage", root / "packages" / "storage")
    (root / "packages" / "storage" / "seed" / "metadata.json").write_text(_json.dumps(meta))
    (root / "schemactl.toml").write_text(_toml(config))
    res = run_cli(root, "--json", "validate")  # exceptions propagate: none may
    assert res.exit_code in (0, 1, 2), res.output
    doc = _json.loads(res.stdout)
    assert all(d["code"].startswith("SC") for d in doc["diagnostics"])
