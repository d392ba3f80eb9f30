"""``schemactl import``: adopt an existing PostgreSQL database (SPEC §16, first part).

The pieces, each in its own module:

- :mod:`.catalog` reads what the database holds, one catalog query per kind of object
  (tables, columns, constraints, indexes, comments, views, triggers, ...), never one per
  table;
- :mod:`.mapping` turns that catalog into entity documents (plain dicts shaped like
  entities.yaml) plus the findings: everything the format cannot say exactly is a
  warning naming the object and what happens to it;
- :mod:`.write` writes ``entities.yaml`` (safe dumper, every value quoted, re-read with
  the project's own loader before anything is written), ``metadata.json`` and the
  ``[external]`` entries of ``schemactl.toml``;
- :mod:`.baseline` records the imported state as approved (through ``workflow.scan`` and
  ``workflow.approve``) and as applied in the database's history;
- :mod:`.command` is the command function the CLI calls.
"""
