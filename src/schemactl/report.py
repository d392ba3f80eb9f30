"""Rendering results for people (rich text), machines (one JSON document) and GitHub Actions.

Part of the CLI layer: the only module besides `cli` that imports rich.  Text diagnostics
read ``file:line:col: error CODE message`` with the hint below; colour only on a terminal.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic

if TYPE_CHECKING:
    from .commands import Result
    from .errors import SchemactlError

STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}


def _console(stderr: bool = False, state: Any = None) -> Any:
    from rich.console import Console

    color = bool(getattr(state, "color", True))
    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream,
        no_color=not color,
        highlight=False,
        soft_wrap=True,
        force_terminal=None if color else False,
        emoji=False,
    )


def render(result: Result, state: Any) -> None:
    fmt = state.format
    if fmt == "json":
        doc: dict[str, Any] = {"ok": result.code == 0, "exit_code": result.code}
        doc["diagnostics"] = [d.to_dict() for d in result.diagnostics]
        if result.packages is not None:
            doc["packages"] = result.packages
        if result.migrations is not None:
            doc["migrations"] = result.migrations
        for k, v in result.data.items():
            doc.setdefault(k, v)
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
        return
    if fmt == "github":
        for d in result.diagnostics:
            if state.quiet and d.severity != "error":
                continue
            sys.stdout.write(github_annotation(d) + "\n")
        for m in result.messages:
            if not state.quiet:
                sys.stdout.write(m + "\n")
        return
    shown = [d for d in result.diagnostics if not state.quiet or d.severity == "error"]
    if state.quiet and not shown:
        return  # nothing to say: rich is not even imported
    con = _console(state=state)
    for d in shown:
        _print_diag(con, d)
    if not state.quiet:
        for m in result.messages:
            con.print(m, markup=False)
        text = result.data.get("text")
        if isinstance(text, str):
            sys.stdout.write(text)
        if isinstance(result.data.get("targets"), list):
            _targets_table(con, result.data["targets"])
        summary = summarize(result)
        if summary:
            con.print(summary, markup=False, style="bold" if result.code else None)


TARGET_STYLE = {"failed": "bold red", "skipped": "yellow", "drift": "bold red", "applied": "green"}


def _targets_table(con: Any, rows: list[dict[str, Any]]) -> None:
    """The summary of ``apply``/``status`` over many targets (issue 13): one row each."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    has_pending = any("pending" in r for r in rows)
    for col in ("target", "database", "status", "applied", *(["pending"] * has_pending), "error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        cells = [r["name"], r.get("database") or "", r["status"], str(len(r.get("applied", [])))]
        if has_pending:
            cells.append(str(len(r.get("pending", []))))
        drift = r.get("drift") or []
        cells.append(r.get("error") or (f"{len(drift)} drift finding(s)" if drift else ""))
        table.add_row(*cells, style=TARGET_STYLE.get(r["status"]))
    con.print(table)


def _print_diag(con: Any, d: Diagnostic) -> None:
    from rich.text import Text

    line = Text()
    if d.location:
        line.append(d.location + ": ")
    line.append(f"{d.severity} {d.code}", style=STYLE.get(d.severity))
    line.append(" " + d.message)
    con.print(line)
    if d.hint:
        con.print(Text("  hint: " + d.hint, style="dim"))


def summarize(result: Result) -> str:
    parts = []
    if result.packages is not None:
        n_ent = sum(len(p["entities"]) for p in result.packages)
        n_pkg = len(result.packages)
        parts.append(
            f"{n_pkg} package{'s' if n_pkg != 1 else ''}, "
            f"{n_ent} entit{'ies' if n_ent != 1 else 'y'}"
        )
    counts = {
        s: sum(1 for d in result.diagnostics if d.severity == s)
        for s in ("error", "warning", "note")
    }
    if result.packages is not None or any(counts.values()):
        parts.append(", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items()))
    return ": ".join(parts)


def github_annotation(d: Diagnostic) -> str:
    kind = {"error": "error", "warning": "warning", "note": "notice"}[d.severity]
    props = []
    if d.file:
        props.append(f"file={_prop(d.file)}")
    if d.line:
        props.append(f"line={d.line}")
    if d.column:
        props.append(f"col={d.column}")
    props.append(f"title={_prop(d.code)}")
    msg = d.message + (f" (hint: {d.hint})" if d.hint else "")
    return f"::{kind} {','.join(props)}::{_data(msg)}"


def _data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


def error(e: SchemactlError, state: Any) -> None:
    """An exception that stopped the command (exit 1/2/3)."""
    # an error about a file's line (allowed_signers) carries where it is
    where = {"file": getattr(e, "file", None), "line": getattr(e, "line", None)}
    if state.format == "json":
        d = Diagnostic("error", e.code or "SC000", e.message, hint=e.hint, **where)
        doc = {"ok": False, "exit_code": e.exit_code, "diagnostics": [d.to_dict()]}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    if state.format == "github":
        d = Diagnostic("error", e.code or "SC000", e.message, hint=e.hint, **where)
        sys.stdout.write(github_annotation(d) + "\n")
    con = _console(stderr=True, state=state)
    from rich.text import Text

    t = Text()
    t.append("error", style="bold red")
    if e.code:
        t.append(f" {e.code}", style="bold red")
    t.append(": " + e.message)
    con.print(t)
    if e.hint:
        con.print(Text("  hint: " + e.hint, style="dim"))


def plain_error(message: str, state: Any) -> None:
    sys.stderr.write(f"schemactl: {message}\n")
