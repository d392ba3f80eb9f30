"""Configuration (schemactl.toml / [tool.schemactl]) and discovery (SPEC §2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foundation_util import json_doc, make_project, run_cli, write_package
from schemactl.config import Config, find_root, load_config
from schemactl.discover import discover
from schemactl.errors import ConfigError
from schemactl.model import External

THING = """\
entities:
  - name: Thing
    fields:
      id: {type: cuid, primary: true}
"""


def config_error(tmp_path: Path, text: str, *, file: str = "schemactl.toml") -> ConfigError:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / file).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.exit_code == 2
    return info.value


# --- root resolution ----------------------------------------------------------------------


def test_find_root_nearest_ancestor_with_schemactl_toml(tmp_path: Path) -> None:
    (tmp_path / "schemactl.toml").write_text("", encoding="utf-8")
    deep = tmp_path / "packages" / "a" / "seed"
    deep.mkdir(parents=True)
    assert find_root(deep) == tmp_path.resolve()
    inner = tmp_path / "packages" / "a"
    (inner / "schemactl.toml").write_text("", encoding="utf-8")
    assert find_root(deep) == inner.resolve()


def test_find_root_falls_back_to_the_start(tmp_path: Path) -> None:
    start = tmp_path / "x"
    start.mkdir()
    assert find_root(start) == start.resolve()


def test_cli_without_root_uses_nearest_config(tmp_path: Path, monkeypatch) -> None:
    root = make_project(tmp_path / "proj", {"one": THING}, config='packages = "packages/*"\n')
    monkeypatch.chdir(root / "packages" / "one" / "seed")
    doc = json_doc(run_cli(None, "--json", "validate"))
    assert [p["id"] for p in doc["packages"]] == ["one"]


def test_cli_root_that_is_not_a_directory(tmp_path: Path) -> None:
    res = run_cli(tmp_path / "missing", "validate")
    assert res.exit_code == 2
    assert "not a directory" in res.stderr and "Traceback" not in res.output


# --- the config file ----------------------------------------------------------------------


def test_defaults_without_a_config(tmp_path: Path) -> None:
    c = load_config(tmp_path)
    assert c == Config(root=tmp_path.resolve())
    assert (c.packages, c.registry, c.migrations) == (
        ("packages/*",),
        ".schemactl/registry",
        "migrations",
    )
    assert (c.table_style, c.column_style, c.source) == ("snake_plural", "snake", None)


def test_every_key(tmp_path: Path) -> None:
    (tmp_path / "schemactl.toml").write_text(
        """
packages = ["packages/*", "libs/*/db"]
registry = "db/registry.json"
migrations = "db/migrations"

[naming]
tables = "snake"
columns = "preserve"

[namespaces]
audit_log = "audit"

[owners]
Tag = "cms"

[external.User]
table = "auth.users"
key = "uid"
type = "Int"

[external.Tenant]
table = "tenants"
""",
        encoding="utf-8",
    )
    c = load_config(tmp_path)
    assert c.source == "schemactl.toml"
    assert c.packages == ("packages/*", "libs/*/db")
    assert c.registry_path == tmp_path.resolve() / "db/registry"  # format 1 named a file
    assert c.migrations_path == tmp_path.resolve() / "db/migrations"
    assert (c.table_style, c.column_style) == ("snake", "preserve")
    assert c.namespaces == {"audit_log": "audit"} and c.owners == {"Tag": "cms"}
    assert c.externals == (
        External("Tenant", "public", "tenants", "id", "string"),
        External("User", "auth", "users", "uid", "int"),
    )
    assert c.external("User") is c.externals[1] and c.external("Nope") is None


def test_packages_may_be_a_single_glob(tmp_path: Path) -> None:
    (tmp_path / "schemactl.toml").write_text('packages = "mods/*"\n', encoding="utf-8")
    assert load_config(tmp_path).packages == ("mods/*",)


def test_pyproject_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.schemactl]\npackages = ["mods/*"]\n', encoding="utf-8"
    )
    c = load_config(tmp_path)
    assert (c.packages, c.source) == (("mods/*",), "pyproject.toml [tool.schemactl]")
    e = config_error(tmp_path / "b", '[tool.schemactl]\npackage = "x/*"\n', file="pyproject.toml")
    assert e.message == "pyproject.toml [tool.schemactl]: unknown key 'package'"


def test_schemactl_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.schemactl]\npackages = "a/*"\n')
    (tmp_path / "schemactl.toml").write_text('packages = "b/*"\n')
    assert load_config(tmp_path).packages == ("b/*",)


def test_pyproject_without_tool_table_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert load_config(tmp_path).source is None


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ('pakages = "x"\n', "unknown key 'pakages'", "did you mean 'packages'?"),
        (
            '[naming]\ntable = "snake"\n',
            "unknown key 'naming.table'",
            "did you mean 'naming.tables'?",
        ),
        (
            '[external.User]\ntable = "public.users"\nkeys = "id"\n',
            "unknown key 'external.User.keys'",
            "did you mean 'external.User.key'?",
        ),
        ("registri = 'r.json'\n", "unknown key 'registri'", "did you mean 'registry'?"),
        (
            "frobnicate = 1\n",
            "unknown key 'frobnicate'",
            "allowed: packages, registry, migrations, naming, namespaces, owners, external, "
            "approval, citus, acl",
        ),
    ],
)
def test_sc501_unknown_keys(tmp_path: Path, text: str, message: str, hint: str) -> None:
    e = config_error(tmp_path, text)
    assert (e.code, e.message, e.hint) == ("SC501", f"schemactl.toml: {message}", hint)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("packages = []\n", "'packages' must be a glob or a non-empty list of globs"),
        ("packages = 3\n", "'packages' must be a glob"),
        ('packages = ["../other/*"]\n', "leaves the root"),
        ('packages = ["/abs/*"]\n', "leaves the root"),
        ('registry = "/tmp/r.json"\n', "'registry' must be a relative path inside the root"),
        ('migrations = "../m"\n', "'migrations' must be a relative path inside the root"),
        ('[naming]\ntables = "camel"\n', "'naming.tables' is 'camel'"),
        ('[naming]\ncolumns = "snake_plural"\n', "'naming.columns' is 'snake_plural'"),
        ("naming = 1\n", "'naming' must be a table"),
        ("[owners]\nTag = 1\n", "'owners' must be a table of strings"),
        ('[external.User]\nkey = "id"\n', "'external.User.table' is required"),
        ('[external.User]\ntable = "a.b.c"\n', "is not schema.table"),
        ('[external.User]\ntable = "users; drop"\n', "is not schema.table"),
        ('[external.User]\ntable = "users"\ntype = "strng"\n', "unknown type 'strng'"),
        ('[external.User]\ntable = "users"\nkey = "a b"\n', "must be a column name"),
        ("external = 1\n", "'external' must be a table of tables"),
    ],
)
def test_sc502_bad_values(tmp_path: Path, text: str, needle: str) -> None:
    e = config_error(tmp_path, text)
    assert e.code == "SC502"
    assert needle in e.message


@pytest.mark.parametrize("ns", ["Audit", "pg_audit", "schemactl", "a-b", "x" * 64])
def test_sc505_bad_namespace_in_config(tmp_path: Path, ns: str) -> None:
    e = config_error(tmp_path, f'[namespaces]\naudit_log = "{ns}"\n')
    assert e.code == "SC505"
    assert e.message.startswith(f"schemactl.toml: namespaces.audit_log: namespace '{ns}'")


def test_sc500_unparsable_config(tmp_path: Path) -> None:
    e = config_error(tmp_path, "packages = [\n")
    assert e.code == "SC500" and e.message.startswith("schemactl.toml: ")
    (tmp_path / "schemactl.toml").write_bytes(b"packages = '\xff'\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.code == "SC500" and "UTF-8" in info.value.message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("packages = [\n", "SC500"),
        ('naming = {tables = "x"}\n', "SC502"),
        ("[namespaces]\na = 'B'\n", "SC505"),
    ],
)
def test_config_errors_exit_2_through_the_cli(tmp_path: Path, text: str, code: str) -> None:
    root = make_project(tmp_path, {"one": THING}, config=text)
    res = run_cli(root, "--json", "validate")
    assert res.exit_code == 2
    [d] = json_doc(res)["diagnostics"]
    assert d["code"] == code and d["severity"] == "error"


# --- discovery ----------------------------------------------------------------------------


def found(root: Path) -> tuple[list, list]:
    return discover(load_config(root))


def test_discovery_ids_paths_and_namespaces(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"b_pkg": THING}, config='[namespaces]\nb_pkg = "bee"\n')
    write_package(root, "a_pkg", THING, metadata={"packageId": "alpha"})
    write_package(
        root, "c_pkg", THING, metadata={"packageId": "gamma", "schema": {"namespace": "gee"}}
    )
    (root / "packages" / "no_schema" / "seed").mkdir(parents=True)  # not a schema package
    (root / "packages" / "README.md").write_text("not a dir")
    fs, diags = found(root)
    assert diags == []
    assert [(f.id, f.namespace, f.path, f.file, f.metadata_file) for f in fs] == [
        (
            "alpha",
            "alpha",
            "packages/a_pkg",
            "packages/a_pkg/seed/schema/entities.yaml",
            "packages/a_pkg/seed/metadata.json",
        ),
        ("b_pkg", "bee", "packages/b_pkg", "packages/b_pkg/seed/schema/entities.yaml", None),
        (
            "gamma",
            "gee",
            "packages/c_pkg",
            "packages/c_pkg/seed/schema/entities.yaml",
            "packages/c_pkg/seed/metadata.json",
        ),
    ]


def test_metadata_namespace_wins_over_config(tmp_path: Path) -> None:
    root = make_project(tmp_path, {}, config='[namespaces]\np = "from_config"\n')
    write_package(root, "p", THING, metadata={"schema": {"namespace": "from_meta"}})
    [f], _ = found(root)
    assert f.namespace == "from_meta"


def test_several_globs_and_schema_path(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"one": THING}, config='packages = ["packages/*", "libs/*"]\n')
    lib = root / "libs" / "two" / "seed" / "db"
    lib.mkdir(parents=True)
    (lib / "model.yaml").write_text(THING.replace("Thing", "Other"))
    (root / "libs" / "two" / "seed" / "metadata.json").write_text(
        json.dumps({"schema": {"path": "db/model.yaml", "entities": ["Other"]}})
    )
    fs, diags = found(root)
    assert diags == []
    assert [(f.id, f.file, f.listed_entities) for f in fs] == [
        ("two", "libs/two/seed/db/model.yaml", ("Other",)),
        ("one", "packages/one/seed/schema/entities.yaml", None),
    ]


def test_a_directory_matched_twice_is_one_package(tmp_path: Path) -> None:
    root = make_project(tmp_path, {"one": THING}, config='packages = ["packages/*", "packages/o*"]')
    fs, _ = found(root)
    assert [f.id for f in fs] == ["one"]


@pytest.mark.parametrize(
    ("meta", "needle", "line"),
    [
        ("{not json", "metadata.json: Expecting property name", 1),
        ('{\n  "packageId": "x",\n}', "metadata.json: ", 3),
        ("[1, 2]", "metadata.json must hold an object", None),
        ('{"schema": "schema/entities.yaml"}', "'schema' must be an object", None),
        ('{"schema": {"pth": "x.yaml"}}', "unknown key 'schema.pth'", None),
        ('{"schema": {"entities": "Thing"}}', "schema.entities must be a list of names", None),
        ('{"packageId": 7}', "packageId must be a string", None),
        ('{"schema": {"path": 7}}', "schema.path must be a string", None),
    ],
)
def test_sc503_invalid_metadata(tmp_path: Path, meta: str, needle: str, line: int | None) -> None:
    root = make_project(tmp_path, {})
    write_package(root, "p", THING, metadata=meta)
    fs, diags = found(root)
    assert fs == []
    [d] = diags
    assert (d.code, d.file, d.line) == ("SC503", "packages/p/seed/metadata.json", line)
    assert needle in d.message


def test_sc504_schema_path_missing(tmp_path: Path) -> None:
    root = make_project(tmp_path, {})
    write_package(root, "p", None, metadata={"schema": {"path": "schema/nope.yaml"}})
    _, [d] = found(root)
    assert (d.code, d.message) == ("SC504", "schema.path 'schema/nope.yaml' does not exist")


def test_sc504_absolute_schema_path(tmp_path: Path) -> None:
    root = make_project(tmp_path, {})
    (tmp_path / "abs.yaml").write_text(THING)
    write_package(root, "p", None, metadata={"schema": {"path": str(tmp_path / "abs.yaml")}})
    _, [d] = found(root)
    assert d.code == "SC504" and "points outside the package" in d.message


@pytest.mark.parametrize(
    ("package_id", "problem"),
    [
        ("My-Pkg", "is not a lower-case identifier"),
        ("pg_stuff", "is reserved"),
        ("information_schema", "is reserved"),
        ("p" * 64, "is longer than 63 bytes"),
    ],
)
def test_sc505_invalid_namespace_from_package_id(
    tmp_path: Path, package_id: str, problem: str
) -> None:
    root = make_project(tmp_path, {})
    write_package(root, "p", THING, metadata={"packageId": package_id})
    fs, [d] = found(root)
    assert fs == []
    assert d.code == "SC505"
    assert d.message.startswith(f"namespace {package_id!r} of package {package_id} {problem}")
    assert d.hint and "[namespaces]" in d.hint


def test_sc506_no_packages_is_a_warning(tmp_path: Path) -> None:
    res = run_cli(tmp_path, "--json", "validate")
    assert res.exit_code == 0
    [d] = json_doc(res)["diagnostics"]
    assert (d["severity"], d["code"]) == ("warning", "SC506")
    assert "packages/*" in d["message"]


@pytest.mark.parametrize("glob", [".", "./", "*/", "./packages/*"])
def test_globs_that_name_the_root_or_end_in_a_slash_never_crash(tmp_path: Path, glob: str) -> None:
    """pathlib's glob raised IndexError on "." (issue 10): every glob gives an answer."""
    (tmp_path / "schemactl.toml").write_text(f'packages = ["{glob}"]\n', encoding="utf-8")
    pkg = tmp_path / "packages" / "shop" / "seed" / "schema"
    pkg.mkdir(parents=True)
    (pkg / "entities.yaml").write_text("entities: []\n", encoding="utf-8")
    res = run_cli(tmp_path, "--json", "validate")
    assert res.exit_code in (0, 1), res.output
    assert "Traceback" not in res.output
    doc = json.loads(res.stdout)
    ids = [p["id"] for p in doc["packages"]]
    assert ids == (["shop"] if glob == "./packages/*" else [])
