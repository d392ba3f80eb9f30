"""Diagnostics: the stable codes and the record every stage reports problems with.

Codes are part of the public contract (SPEC §10) and each is documented in
``docs/diagnostics.md``; a test keeps the two in sync.  Group by hundreds:
SC1xx reading files, SC2xx the JSON Schema, SC3xx semantic checks, SC4xx conflicts across
packages, SC5xx configuration and discovery, SC6xx registry and workflow, SC7xx database,
SC8xx access control (SPEC §13).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "note"]

CODES: dict[str, str] = {
    "SC000": "the command could not run (usage, configuration or operation)",
    # reading files
    "SC100": "file over the size limit",
    "SC101": "file is not valid UTF-8",
    "SC102": "malformed YAML",
    "SC103": "duplicate key",
    "SC104": "YAML anchors, aliases and tags are not allowed",
    "SC105": "nesting too deep",
    "SC106": "empty file",
    "SC107": "YAML 1.1 ambiguity (on/yes/no/off, octal, sexagesimal...)",
    "SC108": "number where a string is meant (e.g. version: 1.0)",
    "SC109": "integer too large",
    "SC110": "file cannot be read",
    "SC111": "symlink loop or path outside the root",
    # JSON Schema
    "SC200": "wrong type or shape",
    "SC201": "unknown key",
    "SC202": "missing required key",
    "SC203": "unknown field type",
    "SC204": "value not allowed",
    # semantic
    "SC300": "entity has no primary key",
    "SC301": "invalid identifier",
    "SC302": "identifier longer than 63 bytes",
    "SC303": "required and nullable both true",
    "SC304": "default does not fit the field",
    "SC305": "invalid decimal precision or scale",
    "SC306": "constraint does not fit the field (enum, min/max, maxLength, generated)",
    "SC307": "relation to an unknown entity",
    "SC308": "unknown field",
    "SC309": "foreign key type does not match the referenced key",
    "SC310": "onDelete/onUpdate SetNull on a NOT NULL column",
    "SC311": "duplicate name within an entity or file",
    "SC312": "pinned checksum does not match",
    "SC313": "metadata.json schema.entities differs from the entities file",
    "SC314": "relation references a field that is not a key",
    # conflicts
    "SC400": "same entity defined differently in two packages",
    "SC401": "same entity defined identically in two packages (compatible)",
    "SC402": "two packages with the same packageId",
    "SC403": "two packages with the same namespace",
    "SC404": "two entities with the same table in one namespace",
    "SC405": "two fields with the same column",
    "SC406": "index or constraint name collision in a namespace",
    # configuration and discovery
    "SC500": "configuration file cannot be parsed",
    "SC501": "unknown configuration key",
    "SC502": "invalid configuration value",
    "SC503": "metadata.json is invalid",
    "SC504": "schema path outside its package or missing",
    "SC505": "invalid namespace",
    "SC506": "no packages found",
    # registry and workflow
    "SC600": "package changed since its baseline (not scanned)",
    "SC601": "migration pending approval",
    "SC602": "registry record edited by hand",
    "SC603": "plan matches a rejected migration",
    "SC604": "migration is stale: its package changed since it was planned",
    "SC605": "destructive migration needs --allow-destructive",
    "SC606": "migration files out of date",
    "SC607": "entity owned by a package that no longer defines it",
    "SC608": "migration needs a table another, unapproved migration creates",
    "SC609": "registry file holds git merge-conflict markers",
    "SC610": "registry format this release does not read (older or newer)",
    "SC611": "registry file claims another package",
    "SC612": "registry of a package mixes two histories",
    "SC613": "registry file of a package that no longer exists",
    # signed approvals (SPEC §14)
    "SC650": "approved migration without a valid signature from an allowed signer",
    "SC651": "approval signature is invalid",
    "SC652": "approval signature is not from an allowed signer",
    "SC653": "destructive migration short of the signatures it needs",
    "SC654": "allowed_signers file is malformed",
    "SC655": "cannot sign: no usable key",
    "SC656": "approval must be signed",
    "SC657": "--signers-from revision cannot be read",
    # database
    "SC700": "applied migration checksum differs from the registry",
    "SC701": "drift: missing object",
    "SC702": "drift: extra object",
    "SC703": "drift: definition differs",
    "SC704": "migration failed",
    "SC705": "applied migration is not approved in the registry",
    "SC706": "cannot connect to the database",
    "SC707": "database authentication failed",
    "SC708": "no database URL",
    "SC709": "database server too old",
    "SC710": "timed out waiting for the apply lock",
    "SC711": "no throwaway PostgreSQL for the shadow check",
    "SC712": "shadow check passed (note)",
    "SC713": "database error outside a migration",
    # ORM output (issue 15)
    "SC870": "generated Drizzle module of no approved package",
    # many databases (issue 13, SPEC §15)
    "SC720": "targets file unreadable or not valid TOML",
    "SC721": "invalid target entry",
    "SC722": "duplicate target",
    "SC723": "target URL variable not set",
    "SC724": "invalid database URL",
    "SC725": "conflicting or invalid target options",
    "SC726": "--canary names no target",
    "SC727": "unexpected error on one target",
    "SC728": "target skipped (warning)",
    # Citus (issue 13, SPEC §15)
    "SC850": "foreign key between two distributed schemas",
    "SC851": "foreign key from a distributed table to a table Citus does not know",
    "SC852": "foreign key from a reference table into a distributed schema",
    "SC853": "[citus] reference names no package",
    "SC855": "distributed table's primary key lacks the tenant column",
    "SC856": "distributed table's unique key lacks the tenant column",
    "SC857": "foreign key between distributed tables without the tenant column",
    "SC858": "foreign key from a reference table to a distributed table",
    "SC859": "tenant columns of different types cannot be colocated",
    "SC860": "invalid [citus] configuration",
    # import (issue 14): what an existing database holds that entities.yaml cannot say
    "SC750": "import: view or materialized view not imported",
    "SC751": "import: trigger not imported",
    "SC752": "import: function or procedure not imported",
    "SC753": "import: column type approximated",
    "SC754": "import: check constraint not imported",
    "SC755": "import: index not imported",
    "SC756": "import: foreign key not imported",
    "SC757": "import: column default not imported",
    "SC758": "import: table or schema not imported",
    "SC759": "import: column not imported",
    "SC760": "import: partitioning not imported",
    "SC761": "import: constraint named differently from schemactl's name",
    "SC762": "import: other object or property not imported",
    "SC763": "import: type definition not imported",
    "SC764": "import: the package already exists",
    "SC765": "import: unknown or system schema",
    "SC766": "import: schema without tables (note)",
    "SC767": "import --baseline refused: the import is not exact",
    "SC768": "import --baseline: the database would still drift",
    "SC769": "import: cannot add [external] entries to the configuration",
    "SC770": "import: entity renamed to stay unique (note)",
    "SC771": "import: the generated entities file does not validate",
    # access control (SPEC §13)
    "SC800": "unknown key in [acl]",
    "SC801": "invalid [acl] value",
    "SC802": "invalid PostgreSQL role mapping",
    "SC803": "[acl.roles] missing while enforced",
    "SC804": "invalid or looping row role",
    "SC805": "cross_tenant names an unknown role",
    "SC810": "ACL expression does not parse",
    "SC811": "construct not allowed in an ACL expression",
    "SC812": "unknown variable in an ACL expression",
    "SC813": "ACL expression names an unknown field or relation, or mistypes",
    "SC814": "unknown ACL role",
    "SC815": "owner/self without a user role",
    "SC816": "owner/self on an entity that has no owner",
    "SC817": "relation path to a table the role may not read",
    "SC820": "ACL drift: row-level security, a grant or a policy differs",
    # 880-899: tooling around schemactl (editor support)
    "SC880": "the editor's schema copy is out of date",
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    package: str | None = None
    entity: str | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "package": self.package,
            "entity": self.entity,
            "hint": self.hint,
        }

    @property
    def location(self) -> str:
        if not self.file:
            return ""
        if self.line:
            return f"{self.file}:{self.line}:{self.column or 1}"
        return self.file

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file or "", self.line or 0, self.column or 0, self.code, self.message)


def has_errors(diags: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diags)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The closest choice to ``word`` (case and ``_`` insensitive first), or None."""
    import difflib

    def norm(s: str) -> str:
        return s.replace("_", "").replace("-", "").lower()

    by_norm = {norm(c): c for c in choices}
    if norm(word) in by_norm:
        return by_norm[norm(word)]
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return close[0]
    close = difflib.get_close_matches(norm(word), list(by_norm), n=1, cutoff=0.6)
    return by_norm[close[0]] if close else None
