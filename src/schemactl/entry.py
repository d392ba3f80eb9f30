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

    cli_main()
