"""Prisma's own validator (via prisma_check) accepts good multi-schema output and rejects bad."""

from __future__ import annotations

from prisma_check import prisma_validate

VALID = """\
datasource db {
  provider = "postgresql"
  schemas  = ["a"]
}

model Widget {
  id   Int    @id
  name String @db.VarChar(40)

  @@map("widgets")
  @@schema("a")
}
"""


def test_valid_multischema_schema_passes() -> None:
    ok, output = prisma_validate(VALID)
    assert ok, output
    assert "valid" in output


def test_unknown_schema_is_rejected() -> None:
    ok, output = prisma_validate(VALID.replace('@@schema("a")', '@@schema("b")'))
    assert not ok
    assert "P1012" in output
    assert "not defined in the datasource" in output
    assert "schema.prisma:" in output


def test_model_without_identity_is_rejected() -> None:
    ok, output = prisma_validate(VALID.replace("Int    @id", "Int"))
    assert not ok
    assert "unique criteria" in output
