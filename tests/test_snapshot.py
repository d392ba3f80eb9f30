"""The project snapshot (snapshot.py): a project loaded through it is the project loaded
from scratch, whatever sequence of edits came before, and a bad snapshot is ignored."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schemactl import cache, snapshot
from schemactl.config import load_config
from schemactl.model import LazyEntities
from schemactl.project import ProjectResult, load_project

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Entities that make every cross-package rule fire in some combination: owners and
# duplicates (SC400/SC401), relation targets found, missing (SC307 and its hint), of the
# wrong type (SC309) or without the field (SC308), and table or name collisions.
MENU: dict[str, str] = {
    "tag": """
  - name: Tag
    fields:
      id: {type: cuid, primary: true}
      label: {type: string, required: true}
""",
    "tag2": """
  - name: Tag
    fields:
      id: {type: cuid, primary: true}
      label: {type: text}
""",
    "tagg": """
  - name: Tagg
    fields:
      id: {type: int, primary: true}
""",
    "post": """
  - name: Post
    fields:
      id: {type: cuid, primary: true}
      tagId: {type: cuid, required: true}
    relations:
      - {name: tag, type: belongsTo, entity: Tag, field: tagId}
""",
    "note": """
  - name: Note
    fields:
      id: {type: cuid, primary: true}
      tagId: {type: cuid}
    relations:
      - {name: tag, type: belongsTo, entity: Tagx, field: tagId}
""",
    "comment": """
  - name: Comment
    fields:
      id: {type: cuid, primary: true}
      postId: {type: int}
    relations:
      - {name: post, type: belongsTo, entity: Post, field: postId}
""",
    "item": """
  - name: Item
    fields:
      id: {type: cuid, primary: true}
    relations:
      - {name: posts, type: hasMany, entity: Post, field: itemId}
""",
    "label": """
  - name: Label
    table: tags
    fields:
      id: {type: cuid, primary: true}
""",
    "broken": """
  - name: Broken
    fields:
      id: {type: nonsense, primary: true}
""",
}
PACKAGES = ["alpha", "beta", "gamma", "delta"]

content = st.lists(st.sampled_from(sorted(MENU)), max_size=4, unique_by=lambda k: k[:3])
step = st.tuples(st.sampled_from(PACKAGES), st.one_of(st.none(), content))


_writes = itertools.count()


def write(root: Path, pkg: str, items: list[str] | None, *, aged: bool = False) -> None:
    """``aged``: the file's mtime is set far in the past (a new one each write), so that
    the snapshot trusts the stamps of the files that did not change (``stamps``)."""
    folder = root / "packages" / pkg
    if items is None:
        shutil.rmtree(folder, ignore_errors=True)
        return
    path = folder / "seed" / "schema" / "entities.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("entities:" + ("".join(MENU[i] for i in items) or " []\n"), "utf-8")
    if aged:
        old = 1_000_000_000 + next(_writes)
        os.utime(path, (old, old))


def observed(pr: ProjectResult) -> Any:
    """Everything a command can read of a loaded project, entities built."""
    return (
        [d.to_dict() for d in pr.diagnostics],
        [
            (p.id, p.namespace, p.path, p.file, p.owned, p.metadata_file, p.entity_summary())
            for p in pr.project.packages
        ],
        [repr(tuple(p.entities)) for p in pr.project.packages],
    )


def load(root: Path, *, use_cache: bool, monkeypatch: pytest.MonkeyPatch) -> ProjectResult:
    monkeypatch.setattr(cache, "enabled", use_cache)
    return load_project(root, config=load_config(root))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.fixed_dictionaries({p: content for p in PACKAGES[:3]}),
    steps=st.lists(step, min_size=1, max_size=5),
    owners=st.booleans(),
    lean=st.booleans(),
    aged=st.booleans(),
)
def test_a_project_loaded_through_the_snapshot_is_the_project_loaded_afresh(
    start: dict[str, list[str]],
    steps: list[tuple[str, list[str] | None]],
    owners: bool,
    lean: bool,
    aged: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """... and a large project's load (``lean``: no drafts held, entities built from the
    cache on first use) is a small one's (the uncached loads keep their drafts); with
    ``aged`` files, the unchanged ones are known by their stamps, not read."""
    import schemactl.project as project_mod

    lean_bytes = project_mod.LEAN_BYTES
    real_load = load

    def load_as(root: Path, *, use_cache: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
        monkeypatch.setattr(project_mod, "LEAN_BYTES", 0 if lean and use_cache else lean_bytes)
        return real_load(root, use_cache=use_cache, monkeypatch=monkeypatch)

    root = Path(tempfile.mkdtemp(prefix="schemactl-snapshot-"))
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(root / ".cache"))
    try:
        config = 'packages = ["packages/*"]\n' + ('[owners]\nTag = "beta"\n' if owners else "")
        (root / "schemactl.toml").write_text(config, "utf-8")
        for pkg, items in start.items():
            write(root, pkg, items, aged=aged)
        assert observed(load_as(root, use_cache=True, monkeypatch=monkeypatch)) == observed(
            load_as(root, use_cache=False, monkeypatch=monkeypatch)
        )
        for pkg, items in steps:
            write(root, pkg, items, aged=aged)
            cached = load_as(root, use_cache=True, monkeypatch=monkeypatch)
            reused = sum(isinstance(p.entities, LazyEntities) for p in cached.project.packages)
            event(f"packages reused from the snapshot: {min(reused, 2)}+")
            fresh = load_as(root, use_cache=False, monkeypatch=monkeypatch)
            assert observed(cached) == observed(fresh), (pkg, items)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "enabled", True)
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    return root


def test_unchanged_packages_are_not_built_until_read(
    examples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schemactl.project as project_mod

    monkeypatch.setattr(project_mod, "LEAN_BYTES", 0)  # as in a large project
    checked: list[str] = []
    settle = project_mod._settle

    def counting(f: Any, *args: Any) -> Any:
        checked.append(f.id)
        return settle(f, *args)

    monkeypatch.setattr(project_mod, "_settle", counting)
    first = load_project(examples)
    # a large project's load holds no package's entities: each is built on first use
    # (a cold load is bounded by its largest package)
    assert all(isinstance(p.entities, LazyEntities) for p in first.project.packages)
    assert not any(p.entities.loaded for p in first.project.packages)  # type: ignore[attr-defined]
    assert sorted(checked) == sorted(p.id for p in first.project.packages)
    checked.clear()
    built = [tuple(p.entities) for p in first.project.packages]  # before the file changes
    f = examples / "packages/forum/seed/schema/entities.yaml"
    f.write_text(f.read_text() + "\n# a comment changes the file, not its entities\n")
    second = load_project(examples)
    assert "forum" in checked  # changed: checked afresh
    assert len(checked) <= 3  # the others come from the snapshot (or depend on forum)
    assert not any(p.entities.loaded for p in second.project.packages)  # type: ignore[attr-defined]
    summaries = [p.entity_summary() for p in second.project.packages]
    assert summaries == [p.entity_summary() for p in first.project.packages]
    assert [tuple(p.entities) for p in second.project.packages] == built


@pytest.mark.parametrize(
    "spoil",
    [b"{not json", b'{"salt": "other", "packages": {}}', b'{"salt": 1}', b"[]"],
    ids=["garbage", "foreign", "malformed", "wrong-shape"],
)
def test_a_bad_snapshot_is_ignored(
    examples: Path, spoil: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = observed(load_project(examples))
    (path,) = (examples.parent / "cache" / "projects").glob("*.json")
    path.write_bytes(spoil)
    assert observed(load_project(examples)) == want
    monkeypatch.setattr(cache, "enabled", False)
    assert observed(load_project(examples)) == want


def test_a_snapshot_entry_with_the_wrong_shape_is_ignored(examples: Path) -> None:
    want = observed(load_project(examples))
    (path,) = (examples.parent / "cache" / "projects").glob("*.json")
    import orjson

    doc = orjson.loads(path.read_bytes())
    entry = doc["body"][0]  # [package id, state], one per line
    pid, state = entry
    state[6] = "not a list of foreign keys"
    path.write_bytes(orjson.dumps(doc))
    assert snapshot.load(load_config(examples)) == {}  # the check no longer matches
    assert observed(load_project(examples)) == want

    def forge(fks: object) -> None:  # with a matching check, as if schemactl wrote it
        state[6] = fks
        body = orjson.dumps(doc["body"])
        doc["check"] = snapshot.hashlib.sha256(body).hexdigest()
        path.write_bytes(orjson.dumps(doc))

    forge(["not the JSON text of the foreign keys"])
    assert snapshot.load(load_config(examples)) == {}  # the wrong type: never used
    assert observed(load_project(examples)) == want
    for text in ("not JSON", "[]", '[[["too short"]]]'):  # parsed when first used
        forge(text)
        assert pid in snapshot.load(load_config(examples))
        loaded = load_project(examples)
        p = loaded.project.package(pid)
        assert p is not None and p.references() == want_refs(examples, pid)
        assert observed(loaded) == want  # its entities: from a load without the snapshot


def want_refs(root: Path, pid: str) -> tuple[tuple[str, str], ...]:
    p = load_project(root, use_snapshot=False).project.package(pid)
    assert p is not None
    return tuple(
        (fk.ref_namespace, fk.ref_table) for e in p.owned_entities() for fk in e.foreign_keys
    )


def test_a_file_changed_before_its_entities_are_built_stops_the_command(examples: Path) -> None:
    from schemactl.errors import OperationalError

    load_project(examples)
    second = load_project(examples)
    lazy = next(p for p in second.project.packages if isinstance(p.entities, LazyEntities))
    f = examples / lazy.file
    f.write_text(f.read_text() + "\n# edited while a command ran\n")
    with pytest.raises(OperationalError, match="changed while schemactl was running"):
        tuple(lazy.entities)


def test_a_file_saved_while_the_project_loads_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor saves B while the command runs, then the user goes back to A: the next
    run must not reuse what was built from B under A's key (found in review)."""
    import schemactl.project as project_mod

    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "p"
    (root).mkdir()
    (root / "schemactl.toml").write_text('packages = ["packages/*"]\n', "utf-8")
    write(root, "alpha", ["tag"])
    write(root, "beta", ["tagg"])
    load(root, use_cache=True, monkeypatch=monkeypatch)
    write(root, "alpha", ["tag", "label"])  # A: alpha must be redone
    keys_of = project_mod._file_keys

    def racing(found: Any, config: Any, old: Any) -> Any:
        out = keys_of(found, config, old)
        write(root, "alpha", ["tag", "comment"])  # B, saved between two reads
        return out

    monkeypatch.setattr(project_mod, "_file_keys", racing)
    load(root, use_cache=True, monkeypatch=monkeypatch)
    monkeypatch.setattr(project_mod, "_file_keys", keys_of)
    write(root, "alpha", ["tag", "label"])  # back to A
    cached = load(root, use_cache=True, monkeypatch=monkeypatch)
    fresh = load(root, use_cache=False, monkeypatch=monkeypatch)
    assert observed(cached) == observed(fresh)


def test_a_small_project_keeps_what_it_read(examples: Path) -> None:
    first = load_project(examples)
    assert not any(isinstance(p.entities, LazyEntities) for p in first.project.packages)
    f = examples / "packages/forum/seed/schema/entities.yaml"
    f.write_text(f.read_text() + "\n# a comment changes the file, not its entities\n")
    second = load_project(examples)
    lazy = {p.id: isinstance(p.entities, LazyEntities) for p in second.project.packages}
    assert lazy["forum"] is False  # changed: loaded afresh
    assert sum(lazy.values()) >= len(lazy) - 3  # the others wait (or depend on forum)
    assert [tuple(p.entities) for p in second.project.packages] == [
        tuple(p.entities) for p in first.project.packages
    ]


def test_the_hint_of_an_unknown_relation_follows_the_names_of_other_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package with an unknown target is checked again when any package's names
    change, though it names none of them: its did-you-mean hint depends on them all."""
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "p"
    root.mkdir()
    (root / "schemactl.toml").write_text('packages = ["packages/*"]\n', "utf-8")
    write(root, "alpha", ["note"], aged=True)  # Note -> Tagx, unknown
    write(root, "beta", ["item"], aged=True)
    hints = []
    for items in (["item", "tag"], ["item"]):  # Tag comes, then goes
        write(root, "beta", items, aged=True)
        cached = load(root, use_cache=True, monkeypatch=monkeypatch)
        fresh = load(root, use_cache=False, monkeypatch=monkeypatch)
        assert observed(cached) == observed(fresh)
        hints.append([d.hint for d in cached.diagnostics if d.code == "SC307"])
    assert hints[0] != hints[1] and any("Tag" in (h or "") for h in hints[0])


def test_states_stored_as_loaded_are_written_back_as_the_same_bytes(examples: Path) -> None:
    """``store`` writes a loaded state's own line back; encoding it again gives the same."""
    load_project(examples)
    (path,) = (examples.parent / "cache" / "projects").glob("*.json")
    before = path.read_bytes()
    config = load_config(examples)
    states = snapshot.load(config)
    assert states and all(s.line for s in states.values())
    snapshot.store(config, states)
    assert path.read_bytes() == before
    afresh = {p: replace(s, line=None) for p, s in states.items()}  # encoded again
    snapshot.store(config, afresh)  # still the same bytes
    assert path.read_bytes() == before
