"""The Prisma fragment: faithful to the original format, and accepted by Prisma's engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from factories import Ref, belongs_to, entity, field, packages
from prisma_check import prisma_validate
from schemactl.model import Entity, Package, Project
from schemactl.prisma import render_entities, render_prisma

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
USER = Ref("User", "public", "users", "id")


def _valid(text: str) -> None:
    ok, output = prisma_validate(text)
    assert ok, output + "\n" + text


def _project(*entities: Entity) -> Project:
    by_pkg: dict[str, list[Entity]] = {}
    for e in entities:
        by_pkg.setdefault(e.package, []).append(e)
    return Project(
        "/x",
        tuple(
            Package(
                pid,
                es[0].namespace,
                f"packages/{pid}",
                f"packages/{pid}/e.yaml",
                tuple(es),
                tuple(e.name for e in es),
            )
            for pid, es in by_pkg.items()
        ),
    )


def _blog() -> list[Entity]:
    author = entity(
        "Author",
        [
            field("id", "uuid", primary=True, generated=True),
            field("email", required=True, unique=True, description='Login "email"\nsecond line'),
            field("role", enum=("user", "admin"), default="user"),
            field("createdAt", "datetime", default_now=True, required=True),
        ],
        namespace="blog",
        package="blog",
        description="A writer",
    )
    post = entity(
        "Post",
        [
            field("id", "int", primary=True, generated=True),
            field("authorId", "uuid", required=True),
            field("editorId", "uuid"),
            field("parentId", "int"),
            field("ownerId", required=True),
            field("price", "decimal", precision=10, scale=2, default=1.5),
            field("meta", "json", default='{"a": "b\\\\c"}'),
            field("day", "date", default="2024-02-29"),
            field("blob", "bytes"),
            field("big", "bigint", default=9_000_000_000),
            field("ratio", "float", default=0.25),
            field("title", required=True, max_length=200, default='say "hi"'),
        ],
        namespace="blog",
        package="blog",
        indexes=[(["authorId", "title"], True), (["day"], False), (["meta"], False)],
        relations=[
            belongs_to("author", "authorId", author, on_delete="Cascade"),
            belongs_to("editor", "editorId", author, on_delete="SetNull", on_update="Cascade"),
            belongs_to("parent", "parentId", "Post", on_delete="SetNull"),
            belongs_to("owner", "ownerId", USER, on_delete="Cascade"),
        ],
    )
    profile = entity(
        "Profile",
        [field("authorId", "uuid", primary=True), field("bio", "text")],
        namespace="people",
        package="people",
        relations=[belongs_to("author", "authorId", author, on_delete="Cascade")],
    )
    member = entity(
        "Membership",
        [field("orgId", "bigint", primary=True), field("userId", primary=True)],
        namespace="people",
        package="people",
        relations=[belongs_to("user", "userId", USER)],
    )
    return [author, post, profile, member]


def test_fragment_shape() -> None:
    raw = render_prisma(_project(*_blog()))
    text = " ".join(raw.split())  # alignment aside
    assert 'schemas = ["blog", "people", "public"]' in text
    assert "model Post {" in text and '@@map("posts")' in text and '@@schema("blog")' in text
    assert '@id(map: "pk_posts") @default(autoincrement())' in text
    assert '@default(dbgenerated("gen_random_uuid()")) @db.Uuid' in text
    assert '@map("author_id") @db.Uuid' in text
    assert "@db.Decimal(10, 2)" in text and "@db.Timestamptz(6)" in text
    assert '@@unique([authorId, title], map: "uq_posts_author_id_title")' in text
    assert '@@id([orgId, userId], map: "pk_memberships")' in text
    assert (
        'author Author @relation("Post_author", fields: [authorId], references: [id], '
        'onDelete: Cascade, map: "fk_posts_author_id")'
    ) in text
    assert 'posts Post[] @relation("Post_parent")' in text  # self-relation back side
    assert 'postsEditor Post[] @relation("Post_editor")' in text  # second relation, same pair
    assert 'profile Profile? @relation("Profile_author")' in text  # one-to-one (FK is the PK)
    assert "/// stub: external table public.users" in text
    assert '/// one of: "user", "admin" (CHECK constraint in the database)' in text
    assert "/// second line" in raw
    assert '@default("say \\"hi\\"")' in text
    assert '@@index([meta], map: "idx_posts_meta")' in text


def test_fragment_validates_with_prisma() -> None:
    _valid(render_prisma(_project(*_blog())))


def test_preview_of_one_package_stubs_the_others() -> None:
    text = render_prisma(_project(*_blog()), only={"people"})
    assert "model Profile {" in text and "model Post {" not in text
    assert "/// stub: entity of package blog" in text
    _valid(text)


def test_duplicate_entity_is_rendered_once_by_its_owner() -> None:
    a = entity("Tag", [field("id", primary=True)], namespace="a", package="a")
    b = entity("Tag", [field("id", primary=True)], namespace="b", package="b")
    project = Project(
        "/x",
        (
            Package("a", "a", "p/a", "p/a/e.yaml", (a,), ("Tag",)),
            Package("b", "b", "p/b", "p/b/e.yaml", (b,), ()),
        ),
    )
    text = render_prisma(project)
    assert text.count("model Tag {") == 1 and '@@schema("a")' in text
    _valid(text)


def test_reserved_words_as_names() -> None:
    e = entity(
        "Order",
        [field("user", primary=True), field("select", "int"), field("timestamp", "datetime")],
        namespace="order",
        table="order",
        indexes=[(["select"], True)],
    )
    _valid(render_entities([e]))


def _corpus_project(tmp_path: Path, corpus_dir: Path) -> Project:
    from schemactl.project import load_project

    root = tmp_path / "corpus"
    shutil.copytree(corpus_dir, root / "packages")
    shutil.rmtree(root / "packages" / "json_script_example")
    (root / "schemactl.toml").write_text(
        '[external.User]\ntable = "public.users"\nkey = "id"\ntype = "string"\n\n'
        '[external.Tenant]\ntable = "public.tenants"\nkey = "id"\ntype = "string"\n'
    )
    result = load_project(root)
    assert result.ok, [str(d) for d in result.diagnostics]
    return result.project


def test_examples_fragment_validates() -> None:
    from schemactl.project import load_project

    result = load_project(EXAMPLES)
    assert result.ok, [str(d) for d in result.diagnostics]
    text = render_prisma(result.project)
    assert text.count("\nmodel ") >= sum(len(p.owned) for p in result.project.packages)
    _valid(text)
    for p in result.project.packages:  # every preview validates on its own
        _valid(render_prisma(result.project, only={p.id}))


def test_corpus_fragment_validates(tmp_path: Path, corpus_dir: Path) -> None:
    project = _corpus_project(tmp_path, corpus_dir)
    text = render_prisma(project)
    owned = [e for p in project.packages for e in p.owned_entities()]
    assert len(owned) >= 50
    for e in owned:
        assert f"model {e.name} {{" in text
        assert f'@@map("{e.table}")' in text
    _valid(text)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(packages())
def test_random_packages_validate(entities: list[Entity]) -> None:
    _valid(render_entities(entities))


@pytest.mark.parametrize("only", [None, {"blog"}])
def test_output_is_deterministic(only: set[str] | None) -> None:
    assert render_prisma(_project(*_blog()), only) == render_prisma(_project(*_blog()), only)


def test_generate_prisma_dir_writes_a_multi_file_schema_that_prisma_accepts(
    tmp_path: Path,
) -> None:
    """``--prisma DIR``: a base file plus one file per package, valid as one schema for
    Prisma's engine; a change to one package rewrites only its own file."""
    import shutil

    from prisma_check import prisma_validate
    from registry_util import cli as run_cli_inproc

    root = tmp_path / "ex"
    shutil.copytree(Path(__file__).resolve().parent.parent / "examples", root)
    out = root / "prisma" / "schema"
    out.mkdir(parents=True)
    res = run_cli_inproc(root, "generate", "--prisma", "prisma/schema")
    assert res.exit_code == 0, res.output
    files = {p.name: p.read_text() for p in sorted(out.iterdir())}
    assert set(files) == {
        "schema.prisma",
        *(f"{p}.prisma" for p in ("audit_log", "auth", "credits", "forum", "my_package",
                                  "notifications", "settings", "storage")),
    }  # fmt: skip
    assert "datasource db" in files["schema.prisma"]
    assert all("datasource" not in t for n, t in files.items() if n != "schema.prisma")
    ok, output = prisma_validate(files)
    assert ok, output
    assert run_cli_inproc(root, "generate", "--check", "--prisma", "prisma/schema").exit_code == 0
    # a new field in one package: scan, approve, generate; only that package's file changes
    ent = root / "packages" / "my_package" / "seed" / "schema" / "entities.yaml"
    text = ent.read_text()
    assert "entities:\n" in text
    ent.write_text(
        text.replace("    fields:\n", "    fields:\n      extraNote:\n        type: text\n", 1)
    )
    assert run_cli_inproc(root, "scan").exit_code == 0
    assert run_cli_inproc(root, "approve", "all", "--by", "a@x").exit_code == 0
    assert run_cli_inproc(root, "generate", "--prisma", "prisma/schema").exit_code == 0
    after = {p.name: p.read_text() for p in sorted(out.iterdir())}
    assert [n for n in after if after[n] != files[n]] == ["my_package.prisma"]
    ok, output = prisma_validate(after)
    assert ok, output
