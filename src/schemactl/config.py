"""Configuration: find the project root and read ``schemactl.toml`` or ``[tool.schemactl]``.

Every key is checked; an unknown key or a bad value raises ``ConfigError`` (exit 2) with
the file, the key and a "did you mean" where one fits.  See docs/configuration.md.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .acl.settings import AclConfig, parse_acl
from .approval import ApprovalPolicy, parse_policy
from .diagnostics import did_you_mean
from .errors import ConfigError
from .model import External

CONFIG_FILE = "schemactl.toml"
NAMESPACE_RE = re.compile(r"[a-z_][a-z0-9_]*\Z")
RESERVED_NAMESPACES = frozenset({"schemactl", "information_schema"})
TOP_KEYS = (
    "packages",
    "registry",
    "migrations",
    "naming",
    "namespaces",
    "owners",
    "external",
    "approval",  # signed approvals (SPEC §14): approval.py
    "citus",  # issue 13: read by schemactl.citus
    "acl",  # SPEC §13, parsed by acl/settings.py
)
NAMING_KEYS = ("tables", "columns")
TABLE_STYLES = ("snake_plural", "snake", "preserve")
COLUMN_STYLES = ("snake", "preserve")
EXTERNAL_KEYS = ("table", "key", "type")


@dataclass(frozen=True)
class Config:
    root: Path
    source: str | None = None  # the file it came from, relative to root
    packages: tuple[str, ...] = ("packages/*",)
    registry: str = ".schemactl/registry"
    migrations: str = "migrations"
    table_style: str = "snake_plural"
    column_style: str = "snake"
    namespaces: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    externals: tuple[External, ...] = ()
    approval: ApprovalPolicy = field(default_factory=ApprovalPolicy)  # [approval]
    citus: Any = None  # schemactl.citus.CitusConfig when [citus] is set (issue 13)
    acl: AclConfig = field(default_factory=AclConfig)  # SPEC §13

    @property
    def registry_path(self) -> Path:
        """The registry folder (a ``.json`` name stands for the folder of the same stem:
        format 1 named a file there, which `schemactl upgrade` converts)."""
        path = self.root / self.registry
        return path.with_suffix("") if path.suffix == ".json" else path

    @property
    def migrations_path(self) -> Path:
        return self.root / self.migrations

    def external(self, name: str) -> External | None:
        for e in self.externals:
            if e.name == name:
                return e
        return None


def find_root(start: Path | None = None) -> Path:
    """The nearest ancestor of ``start`` holding schemactl.toml, else ``start`` itself."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / CONFIG_FILE).is_file():
            return d
    return here


def load_config(root: Path) -> Config:
    root = root.resolve()
    if not root.is_dir():
        raise ConfigError(f"root {root} is not a directory", code="SC502")
    path = root / CONFIG_FILE
    table: dict[str, Any] | None = None
    source = None
    if path.is_file():
        table = _read_toml(path, CONFIG_FILE)
        source = CONFIG_FILE
    elif (root / "pyproject.toml").is_file():
        doc = _read_toml(root / "pyproject.toml", "pyproject.toml")
        tool = doc.get("tool", {})
        if isinstance(tool, dict) and "schemactl" in tool:
            table = tool["schemactl"]
            source = "pyproject.toml [tool.schemactl]"
    if table is None:
        return Config(root=root)
    return _parse(root, source or CONFIG_FILE, table)


def _read_toml(path: Path, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{name}: not valid UTF-8 ({e.reason})", code="SC500") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{name}: {e}", code="SC500") from None
    except OSError as e:
        raise ConfigError(f"{name}: cannot read: {e.strerror}", code="SC500") from None


def _unknown(source: str, where: str, key: str, allowed: tuple[str, ...]) -> ConfigError:
    guess = did_you_mean(key, allowed)
    return ConfigError(
        f"{source}: unknown key '{where}{key}'",
        hint=f"did you mean '{where}{guess}'?" if guess else f"allowed: {', '.join(allowed)}",
        code="SC501",
    )


def _bad(source: str, key: str, msg: str, hint: str | None = None) -> ConfigError:
    return ConfigError(f"{source}: '{key}' {msg}", hint=hint, code="SC502")


def _str_map(source: str, key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _bad(source, key, "must be a table of strings")
    return dict(value)


def _parse(root: Path, source: str, t: dict[str, Any]) -> Config:
    for k in t:
        if k not in TOP_KEYS:
            raise _unknown(source, "", k, TOP_KEYS)
    kw: dict[str, Any] = {"root": root, "source": source}
    if "packages" in t:
        pk = t["packages"]
        if isinstance(pk, str):
            pk = [pk]
        if not isinstance(pk, list) or not pk or not all(isinstance(p, str) and p for p in pk):
            raise _bad(source, "packages", "must be a glob or a non-empty list of globs")
        for p in pk:
            if Path(p).is_absolute() or ".." in Path(p).parts:
                raise _bad(source, "packages", f"glob {p!r} leaves the root", "use relative globs")
        kw["packages"] = tuple(pk)
    for key in ("registry", "migrations"):
        if key in t:
            v = t[key]
            if not isinstance(v, str) or not v or Path(v).is_absolute() or ".." in Path(v).parts:
                raise _bad(source, key, "must be a relative path inside the root")
            kw[key] = v
    naming = t.get("naming", {})
    if not isinstance(naming, dict):
        raise _bad(source, "naming", "must be a table")
    for k, v in naming.items():
        if k not in NAMING_KEYS:
            raise _unknown(source, "naming.", k, NAMING_KEYS)
        allowed = TABLE_STYLES if k == "tables" else COLUMN_STYLES
        if v not in allowed:
            raise _bad(source, f"naming.{k}", f"is {v!r}", f"one of: {', '.join(allowed)}")
    kw["table_style"] = naming.get("tables", "snake_plural")
    kw["column_style"] = naming.get("columns", "snake")
    namespaces = _str_map(source, "namespaces", t.get("namespaces", {}))
    for pkg, ns in namespaces.items():
        check_namespace(ns, f"{source}: namespaces.{pkg}")
    kw["namespaces"] = namespaces
    kw["owners"] = _str_map(source, "owners", t.get("owners", {}))
    ext = t.get("external", {})
    if not isinstance(ext, dict):
        raise _bad(source, "external", "must be a table of tables: [external.User]")
    externals = []
    from .naming import canonical_type  # local: naming imports nothing heavy

    for name, spec in sorted(ext.items()):
        if not isinstance(spec, dict):
            raise _bad(source, f"external.{name}", "must be a table with table/key/type")
        for k in spec:
            if k not in EXTERNAL_KEYS:
                raise _unknown(source, f"external.{name}.", k, EXTERNAL_KEYS)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise _bad(source, f"external.{name}", "is not an entity name")
        table = spec.get("table")
        if not isinstance(table, str) or not table:
            raise _bad(source, f"external.{name}.table", "is required", 'e.g. "public.users"')
        ns, _, tbl = table.rpartition(".")
        ns = ns or "public"
        for part in (ns, tbl):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) or len(part.encode()) > 63:
                raise _bad(source, f"external.{name}.table", f"{table!r} is not schema.table")
        key = spec.get("key", "id")
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise _bad(source, f"external.{name}.key", "must be a column name")
        typ = canonical_type(str(spec.get("type", "string")))
        if typ is None:
            raise _bad(source, f"external.{name}.type", f"unknown type {spec.get('type')!r}")
        externals.append(External(name=name, namespace=ns, table=tbl, key=key, type=typ))
    kw["externals"] = tuple(externals)
    if "approval" in t:  # signed approvals: approval.parse_policy owns the table
        kw["approval"] = parse_policy(source, t["approval"])
    if "citus" in t:  # issue 13 (SPEC §15): parsed by its own module
        from .citus import parse as parse_citus

        kw["citus"] = parse_citus(source, t["citus"], t.get("acl"))
    if "acl" in t:
        kw["acl"] = parse_acl(source, t["acl"])
    return Config(**kw)


def check_namespace(ns: str, where: str) -> None:
    problem = namespace_problem(ns)
    if problem:
        raise ConfigError(f"{where}: namespace {ns!r} {problem}", code="SC505")


def namespace_problem(ns: str) -> str | None:
    if not NAMESPACE_RE.match(ns):
        return "is not a lower-case identifier (a-z, 0-9, _)"
    if len(ns.encode()) > 63:
        return "is longer than 63 bytes"
    if ns.startswith("pg_") or ns in RESERVED_NAMESPACES:
        return "is reserved"
    return None
