"""schemactl: schema migrations for monorepos whose packages declare their own entities.

The pipeline, one module a stage:
``load -> validate -> model -> checksum -> conflicts -> plan (ops) -> sql -> registry -> apply``.
"""

__version__ = "0.1.0"
