"""The command line: a thin typer layer over `commands` (and `workflow`).

Parses options, resolves the root, calls a plain function, renders its result through
`report`, and maps exceptions to exit codes: 1 findings, 2 usage/config, 3 operational.
A user error never shows a traceback (``--debug`` does).

No ``from __future__ import annotations`` here: typer reads every command's parameters
on every run, and string annotations cost it a ``get_type_hints`` evaluation each time
(15 ms of every command, against 3 ms with the annotations evaluated once at import).
"""

import itertools
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from . import __version__
from .errors import SchemactlError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Schema migrations for monorepos whose packages declare their own entities.",
)


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"


class State:
    root: Path | None = None
    format: str = "text"
    color: bool = True
    quiet: bool = False
    debug: bool = False


state = State()


def _version(value: bool) -> None:
    if value:
        print(f"schemactl {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    root: Annotated[
        Path | None, typer.Option("--root", help="Project root (default: nearest schemactl.toml).")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
    no_color: Annotated[bool, typer.Option("--no-color", help="Never use colour.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only errors.")] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.", hidden=True)] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    state.root = root
    state.format = "json" if json_ else fmt.value
    state.color = not no_color
    state.quiet = quiet
    state.debug = debug
    from . import cache

    cache.enabled = not no_cache and cache.env_enabled()


def _root() -> Path:
    from .config import find_root
    from .errors import UsageError

    if state.root is not None:
        if not state.root.is_dir():
            raise UsageError(f"--root {state.root}: not a directory")
        return state.root.resolve()
    return find_root()


def _run(fn: Any, *args: Any, **kwargs: Any) -> None:
    from . import report

    try:
        result = fn(*args, **kwargs)
    except SchemactlError as e:
        if state.debug:
            raise
        report.error(e, state)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        report.plain_error("interrupted", state)
        raise typer.Exit(130) from None
    report.render(result, state)
    raise typer.Exit(result.code)


Packages = Annotated[list[str] | None, typer.Argument(help="Only these packages.")]


@app.command()
def validate(
    packages: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PACKAGE|FILE",
            help="Only these packages; a file path stands for the package holding it "
            "(what the pre-commit hook passes).",
        ),
    ] = None,
) -> None:
    """Validate entities files: JSON Schema, semantics, checksums and conflicts. Writes nothing."""
    from . import commands

    def root() -> Path:
        from .pathargs import root_for

        found = root_for(packages or []) if state.root is None else None
        return found or _root()

    _run(lambda: commands.validate(root(), packages))


@app.command()
def schema(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write it to FILE (relative to the root), e.g. .schemactl/entities.schema.json, "
            "the file init's editor modeline points to.",
        ),
    ] = None,
) -> None:
    """Print (or write) the JSON Schema of entities.yaml."""
    from . import commands

    if out is not None:
        _run(lambda: commands.schema_out(_root(), out))
    sys.stdout.write(commands.schema())


@app.command()
def init(
    package: Annotated[str, typer.Argument(metavar="PACKAGE", help="Name of the new package.")],
) -> None:
    """Scaffold a package with an example entities.yaml that validates."""
    from . import commands

    _run(lambda: commands.init(_root(), package))


@app.command()
def scan(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan, but write nothing.")] = False,
) -> None:
    """Validate, then plan and queue one migration per changed package."""
    from .scan import scan as scan_project  # not through workflow: the re-scan budget

    _run(lambda: scan_project(_root(), dry_run=dry_run))


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Every migration, not only pending.")] = False,
) -> None:
    """List pending migrations (all with --all)."""
    from . import workflow

    _run(lambda: workflow.list_migrations(_root(), all_=all_))


@app.command()
def show(migration_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Show one migration: changes, destructive flags, operations and SQL."""
    from . import workflow

    _run(lambda: workflow.show(_root(), migration_id))


By = Annotated[
    str | None, typer.Option("--by", help="Who (default: git user.email, else login name).")
]


@app.command()
def approve(
    ids: Annotated[list[str], typer.Argument(metavar="ID|all", help="Migration ids, or all.")],
    by: By = None,
    allow_destructive: Annotated[
        bool, typer.Option("--allow-destructive", help="Also approve destructive migrations.")
    ] = False,
    sign: Annotated[
        bool, typer.Option("--sign", help="Sign the approval with your SSH key (SPEC §14).")
    ] = False,
    key: Annotated[
        str | None,
        typer.Option("--key", help="SSH key to sign with (default: git user.signingKey)."),
    ] = None,
) -> None:
    """Approve pending migrations (exactly their stored SQL), signed with --sign."""
    from . import workflow

    _run(
        lambda: workflow.approve(
            _root(), ids, by=by, allow_destructive=allow_destructive, sign=sign, key=key
        )
    )


@app.command()
def reject(
    migration_id: Annotated[str, typer.Argument(metavar="ID")],
    by: By = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
) -> None:
    """Reject a pending migration; the same plan is not queued again."""
    from . import workflow

    _run(lambda: workflow.reject(_root(), migration_id, by=by, reason=reason))


@app.command()
def generate(
    out: Annotated[Path | None, typer.Option("--out", help="Folder (default: migrations).")] = None,
    prisma: Annotated[
        Path | None,
        typer.Option(
            "--prisma", help="Also write a Prisma schema (a folder: one file per package)."
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if the files are out of date.")
    ] = False,
    drizzle: Annotated[
        Path | None,
        typer.Option("--drizzle", help="Also write drizzle-orm modules (one per package)."),
    ] = None,
) -> None:
    """Write migration.sql and down.sql for every approved migration."""
    from . import workflow

    _run(lambda: workflow.generate(_root(), out=out, prisma=prisma, check=check, drizzle=drizzle))


class PreviewFormat(StrEnum):
    sql = "sql"
    prisma = "prisma"
    drizzle = "drizzle"


@app.command()
def preview(
    package: Annotated[str, typer.Argument(metavar="PACKAGE", help="A packageId.")],
    fmt: Annotated[PreviewFormat, typer.Option("--format", help="sql, prisma or drizzle.")] = (
        PreviewFormat.sql
    ),
) -> None:
    """Print the full DDL (or Prisma models, or a Drizzle module) of a package's current files."""
    from . import workflow

    _run(lambda: workflow.preview(_root(), package, fmt.value))


DbUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="PostgreSQL URL (default: $DATABASE_URL)."),
]
DbUrls = Annotated[
    list[str] | None,
    typer.Option(
        "--database-url",
        help="PostgreSQL URL (default: $DATABASE_URL); give it more than once for many.",
    ),
]
# --- many databases (issue 13, SPEC §15): options shared by apply and status
TargetsFile = Annotated[
    Path | None,
    typer.Option("--targets", help='TOML file of [[targets]] name/url (url = "env:VAR").'),
]
Jobs = Annotated[int, typer.Option("--jobs", min=1, help="Targets worked on at the same time.")]
ConnectTimeout = Annotated[
    float | None,
    typer.Option(
        "--connect-timeout",
        min=1,
        help="Seconds to wait for a connection (default: $SCHEMACTL_CONNECT_TIMEOUT or 10).",
    ),
]


@app.command()
def status(
    database_url: DbUrls = None,
    targets: TargetsFile = None,
    jobs: Jobs = 4,
    connect_timeout: ConnectTimeout = None,
) -> None:
    """Per package: baseline, pending and approved migrations, and drift with a database."""
    from . import fleet

    _run(
        lambda: fleet.status(
            _root(),
            database_urls=database_url,
            targets_file=targets,
            jobs=jobs,
            connect_timeout=_connect_timeout(connect_timeout),
        )
    )


@app.command()
def apply(
    database_url: DbUrls = None,
    targets: TargetsFile = None,
    jobs: Jobs = 4,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Start no further target after a failure.")
    ] = False,
    canary: Annotated[
        str | None,
        typer.Option("--canary", help="Apply to this target first, the rest only if it works."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan only.")] = False,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for the lock.")
    ] = 60.0,
    connect_timeout: ConnectTimeout = None,
) -> None:
    """Apply approved migrations to one or many PostgreSQL databases."""
    from . import fleet

    _run(
        lambda: fleet.apply(
            _root(),
            database_urls=database_url,
            targets_file=targets,
            jobs=jobs,
            fail_fast=fail_fast,
            canary=canary,
            dry_run=dry_run,
            lock_timeout=lock_timeout,
            connect_timeout=_connect_timeout(connect_timeout),
        )
    )


def _connect_timeout(seconds: float | None) -> float | None:
    """--connect-timeout also governs the single-database path (set before any thread)."""
    if seconds is not None:
        from . import db

        db.CONNECT_TIMEOUT = seconds
    return seconds


@app.command()
def check(
    shadow: Annotated[
        bool, typer.Option("--shadow", help="Also apply to a throwaway PostgreSQL.")
    ] = False,
    signers_from: Annotated[
        str | None,
        typer.Option(
            "--signers-from",
            metavar="GITREF",
            help="Read allowed_signers from this git revision (e.g. the target branch).",
        ),
    ] = None,
) -> None:
    """The CI gate: errors, unscanned changes, pending migrations, registry integrity."""
    from . import workflow

    _run(lambda: workflow.check(_root(), shadow=shadow, signers_from=signers_from))


@app.command()
def upgrade() -> None:
    """Convert an older registry format (one registry.json) into one file per package."""
    from . import workflow

    _run(lambda: workflow.upgrade(_root()))


# ---- import (issue 14): adopt an existing database; the logic is in schemactl.importer
@app.command("import")
def import_(
    database_url: DbUrl = None,
    schema: Annotated[
        list[str] | None,
        typer.Option("--schema", help="Import this schema (repeat; default: every one)."),
    ] = None,
    baseline: Annotated[
        bool,
        typer.Option("--baseline", help="Also record the import as approved and applied."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite packages that already exist.")
    ] = False,
    by: By = None,
) -> None:
    """Write entities.yaml files from an existing PostgreSQL database."""
    from .importer.command import run

    _run(
        lambda: run(
            _root(),
            database_url=database_url,
            schemas=schema,
            baseline=baseline,
            force=force,
            by=by,
        )
    )


GLOBAL_OPTIONS = ("--root", "--json", "--format", "--no-color", "-q", "--quiet", "--no-cache")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the app and turns click's usage errors into our output
    (one JSON document with --json; a hint when a global option follows the command)."""
    cx = _click_exceptions()
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args, prog_name="schemactl", standalone_mode=False)
    except cx.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # bare `schemactl`: the help text
            e.show()
            sys.exit(e.exit_code)
        sys.exit(_usage_error(e, args))
    except _abort():
        sys.stderr.write("schemactl: interrupted\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _click_exceptions() -> Any:
    try:  # typer >= 0.22 vendors click
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer on the real click
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def _abort() -> type[BaseException]:
    """click's Abort (Ctrl-C at a prompt); typer >= 0.22 keeps it in typer.exceptions."""
    try:
        from typer.exceptions import Abort
    except ImportError:  # pragma: no cover - older typer on the real click
        from click.exceptions import Abort  # type: ignore[no-redef]
    abort: type[BaseException] = Abort
    return abort


def _usage_error(e: Any, args: list[str]) -> int:
    from .diagnostics import Diagnostic

    message = e.format_message()
    hint = None
    if type(e).__name__ == "NoSuchOption" and e.option_name in GLOBAL_OPTIONS:
        hint = f"global options go before the command: schemactl {e.option_name} ... COMMAND"
    elif e.ctx is not None:
        hint = f"see `{e.ctx.command_path} --help`"
    wants_json = (
        "--json" in args
        or any(a == "--format" and b == "json" for a, b in itertools.pairwise(args))
        or "--format=json" in args
    )
    if wants_json:
        import json

        d = Diagnostic("error", "SC000", message, hint=hint)
        doc = {"ok": False, "exit_code": 2, "diagnostics": [d.to_dict()]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        if e.ctx is not None:
            sys.stderr.write(e.ctx.get_usage() + "\n")
        sys.stderr.write(f"error: {message}\n")
        if hint:
            sys.stderr.write(f"  hint: {hint}\n")
    return 2


if __name__ == "__main__":  # pragma: no cover
    main()
