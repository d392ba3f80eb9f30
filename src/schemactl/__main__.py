"""``python -m schemactl``."""

from .entry import main

main()
