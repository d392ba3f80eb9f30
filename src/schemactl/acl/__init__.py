"""The ACL enforced by PostgreSQL (SPEC §13): config, expression language, compilation
into grants and row-level security policies, their planning operations and drift.

Modules: :mod:`.settings` (the ``[acl]`` config table), :mod:`.expr` (the ``rowLevel`` /
``when`` language: tokenizer, parser, AST, SQL rendering), :mod:`.compile` (an entity ->
its ``TableSecurity``), :mod:`.ops` (plan operations), :mod:`.plan` (diff of two states),
:mod:`.hooks` (the small calls the workflow makes), :mod:`.drift` (database vs expected).
Nothing here is imported unless ``[acl] enforce = true`` or a registry holds security.
"""
