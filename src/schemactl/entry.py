"""Console entry point.  ``--version`` answers before the CLI (typer) is even imported."""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--version"]:
        from . import __version__

        sys.stdout.write(f"schemactl {__version__}\n")
        return
    from .cli import main as cli_main

    cli_main()
