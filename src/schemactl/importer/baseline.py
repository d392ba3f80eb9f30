"""``import --baseline``: the imported state becomes approved and applied.

Works only through public command functions, so the registry's layout is not its
concern: ``workflow.scan`` plans the imported packages, ``workflow.approve`` approves
their migrations (by the ``--by`` actor), ``workflow.list_migrations`` and
``workflow.show`` give their ids and SQL checksums.  Then, in one transaction on the
database, under the apply lock:

1. the statements of the import plan's ``conform`` list run: constraint names the format
   cannot say (primary keys, foreign keys, checks) are renamed to the names schemactl
   gives them, and unique indexes become unique constraints (``ADD CONSTRAINT ... USING
   INDEX``: same name, no rebuild);
2. each approved migration of those packages that ``schemactl.history`` lacks is recorded
   there with its SQL checksum, as ``apply`` would have recorded it;
3. the catalog is compared with the model (:func:`schemactl.drift.compare`); any drift
   rolls the whole transaction back and is reported (SC768).

Afterwards ``apply`` has nothing to do, ``status`` reports no drift and ``check`` passes.
Run again, it records only what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..diagnostics import Diagnostic, has_errors
from .mapping import Conform

if TYPE_CHECKING:
    from ..model import Entity


@dataclass
class BaselineResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    conformed: list[str] = field(default_factory=list)


class _Drift(Exception):
    def __init__(self, diags: list[Diagnostic]) -> None:
        super().__init__("drift")
        self.diags = diags


def run(
    config: Config,
    url: str,
    packages: list[str],
    conform: list[Conform],
    *,
    by: str | None,
    lock_timeout: float = 60.0,
) -> BaselineResult:
    from .. import workflow
    from ..project import load_project

    out = BaselineResult()
    scanned = workflow.scan(config.root, config=config)
    out.diagnostics += [d for d in scanned.diagnostics if d.package in packages]
    if has_errors(scanned.diagnostics):
        out.diagnostics += [d for d in scanned.diagnostics if d.severity == "error"]
        return out
    ids = [
        m["id"]
        for m in scanned.migrations or ()
        if m["package"] in packages and m["status"] == workflow.PENDING
    ]
    if ids:
        # Nothing of these migrations ever runs: the database already has it.  So a plan
        # that re-imports a package over an older baseline may be approved even when it
        # would have been destructive.
        approved = workflow.approve(config.root, ids, by=by, allow_destructive=True, config=config)
        out.diagnostics += approved.diagnostics
        if has_errors(approved.diagnostics):
            return out
        out.approved = [m["id"] for m in approved.migrations or ()]
    listed = workflow.list_migrations(config.root, all_=True)
    mine = [
        m
        for m in listed.migrations or ()
        if m["package"] in packages and m["status"] == workflow.APPROVED
    ]
    checksums = {
        m["id"]: workflow.show(config.root, m["id"]).data["migration"]["sql_checksum"] for m in mine
    }
    pr = load_project(config.root, config=config)
    expected: list[Entity] = [
        e for p in pr.project.packages if p.id in packages for e in p.owned_entities()
    ]
    schemas = sorted({p.namespace for p in pr.project.packages if p.id in packages})
    import psycopg

    try:
        _record(config, url, mine, checksums, conform, expected, schemas, out, lock_timeout)
    except psycopg.Error as e:
        detail = str(getattr(getattr(e, "diag", None), "message_primary", None) or e).strip()
        out.conformed.clear()
        out.recorded.clear()
        out.diagnostics.append(
            Diagnostic(
                "error",
                "SC768",
                f"baseline not recorded: the database refused it ({detail}); "
                "the database is unchanged",
                hint="the files and approvals are written; fix the cause and run "
                "`schemactl import --baseline --force` again",
            )
        )
    except _Drift as d:
        out.diagnostics += d.diags
        out.diagnostics.append(
            Diagnostic(
                "error",
                "SC768",
                "baseline not recorded: the database would still differ from the imported "
                "model (see the drift above); the database is unchanged",
                hint="the files and approvals are written; fix the database and run "
                "`schemactl import --baseline --force` again",
            )
        )
    return out


def _record(
    config: Config,
    url: str,
    mine: list[dict[str, Any]],
    checksums: dict[str, str],
    conform: list[Conform],
    expected: list[Entity],
    schemas: list[str],
    out: BaselineResult,
    lock_timeout: float,
) -> None:
    from .. import db, dblock, drift, history, introspect
    from ..apply import actor

    who = actor()
    # one transaction, the history table included: a failure leaves no trace
    with (
        db.connect(url, purpose="import --baseline lock") as lock_conn,
        dblock.advisory_lock(lock_conn, timeout=lock_timeout),
        db.connect(url, purpose="import --baseline") as conn,
        conn.transaction(),
    ):
        history.ensure(conn)
        applied = history.read(conn)
        todo = [m for m in mine if m["id"] not in applied]
        for c in conform:
            conn.execute(c.sql)
            out.conformed.append(c.what)
        for m in todo:
            conn.execute(history.insert_sql(m["id"], m["package"], checksums[m["id"]], who))
            out.recorded.append(m["id"])
        catalog = introspect.read_catalog(conn, schemas)
        found = drift.compare(
            expected,
            catalog,
            schemas=schemas,
            ignore_tables={(x.namespace, x.table) for x in config.externals},
            hint="the import could not express this object exactly",
        )
        if found:
            out.conformed.clear()
            out.recorded.clear()
            raise _Drift(found)
    if not todo and not conform:
        out.messages.append("baseline: the database history already has every migration")
