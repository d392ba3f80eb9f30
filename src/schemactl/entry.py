"""Console entry point.  ``--version`` answers before the CLI (typer) is even imported."""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--version"]:
        from . import __version__

        sys.stdout.write(f"schemactl {__version__}\n")
        return
    # A command is a short-lived process that builds millions of objects it keeps to the
    # end.  The cyclic collector traverses all of them again and again and frees next to
    # nothing (reference counting frees what is dropped): a third of a cold scan, measured.
    # The library leaves the caller's collector alone; only the command switches it off.
    import gc

    gc.disable()
    from .cli import main as cli_main

    try:
        cli_main()
        code: object = 0
    except SystemExit as e:
        code = e.code
    _exit(code)


def _exit(code: object) -> None:
    """End the process as ``sys.exit`` would, but without tearing the interpreter down:
    freeing a large heap object by object took a tenth of a second of a re-scan, and the
    operating system takes it back at once.  ``atexit`` callbacks still run and output is
    flushed first."""
    import atexit
    import contextlib
    import os

    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_functions is None:  # not CPython: the ordinary way
        sys.exit(code)
    run_exit_functions()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe: Python itself would exit 120
        code = code or 120
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)
