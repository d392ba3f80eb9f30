"""The registry index (registry_index.py): a registry read through its index behaves exactly
like one parsed in full, and is written back byte-identical; a bad index is never trusted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation_util import run_cli
from registry_util import REGISTRY
from schemactl import cache, registry, registry_index

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHANGE = {"entity": "X", "action": "alter", "from": None, "to": None}


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(folder))
    monkeypatch.setattr(cache, "enabled", True)
    return folder


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    return root


def _plain(value: Any) -> Any:
    """Records and containers as plain JSON data."""
    return orjson.loads(orjson.dumps(value, default=dict))


# ----------------------------------------------------------------------------- render

scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=6),
    st.floats(allow_nan=False, allow_infinity=False),
)
value = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)
record = st.dictionaries(st.text(max_size=8), value, max_size=6)
registries = st.fixed_dictionaries(
    {
        "format": st.integers(0, 3),
        "baseline": st.dictionaries(st.text(max_size=8), record, max_size=4),
        "migrations": st.lists(record, max_size=4),
    },
    optional={"extra": value},
)


@settings(max_examples=300, deadline=None)
@given(registries)
def test_render_writes_sorted_two_space_json(data: dict[str, Any]) -> None:
    """What orjson writes for the whole document, assembled record by record."""
    text = registry_index.render(data).text
    assert json.loads(text) == data
    assert text == registry_index.render(data).text  # deterministic
    if not any(abs(n) >= 2**63 for n in _ints(data)):
        opts = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
        assert text == orjson.dumps(data, option=opts)


@settings(max_examples=200, deadline=None)
@given(registries)
def test_records_read_through_the_index_equal_the_parsed_ones(data: dict[str, Any]) -> None:
    if any(abs(n) >= 2**63 for n in _ints(data)):
        return  # beyond 64 bits only entity definitions are kept exact (the next test)
    rendered = registry_index.render(data)
    index = rendered.index
    if "extra" in data and not isinstance(data["extra"], registry_index._SCALARS):
        assert index is None  # only the usual top level is indexed
        return
    assert index is not None
    view = memoryview(rendered.text)
    parsed = json.loads(rendered.text)
    for name, start, end, keys, head in index["baseline"]:
        rec = registry_index.Record(view[start:end], keys, head)
        assert dict(rec) == parsed["baseline"][name]
    pairs = zip(index["migrations"], parsed["migrations"], strict=True)
    for (start, end, keys, head), want in pairs:
        rec = registry_index.Record(view[start:end], keys, head)
        assert sorted(rec) == sorted(want)
        assert all(rec[k] == v for k, v in want.items())


def _ints(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _ints(v)]
    if isinstance(value, list):
        return [n for v in value for n in _ints(v)]
    return [value] if type(value) is int else []


def test_integers_beyond_64_bits_in_definitions_stay_exact(tmp_path: Path, own_cache: Path) -> None:
    """orjson reads such an integer as a float; the registry and the cache notice it."""
    from registry_util import cli, entities, entity, project, registry_bytes

    big = "-9999999999999999999"  # 19 digits (the loader's limit), below -2**63
    fields = {
        "id": "type: cuid, primary: true",
        "amount": f"type: decimal, precision: 20, scale: 0, default: {big}, min: {big}",
    }
    root = project(tmp_path, {"shop": entities(entity("Price", fields))})
    assert cli(root, "scan").exit_code == 0
    assert cli(root, "approve", "all", "--by", "zoe").exit_code == 0
    assert cli(root, "list").exit_code == 0  # indexed now
    before = registry_bytes(root)
    assert before.count(big.encode()) >= 4  # baseline and target: default and bound
    for _ in range(2):  # once parsed in full, once through the index and the cache
        assert cli(root, "check").exit_code == 0
        assert cli(root, "scan").exit_code == 0
        assert registry_bytes(root) == before
    data = registry.read(root / REGISTRY)
    (entry,) = data["baseline"].values()
    amount = next(f for f in entry["definition"]["fields"] if f["name"] == "amount")
    assert amount["default"] == int(big)
    preview = cli(root, "preview", "shop")
    assert preview.exit_code == 0 and big in preview.output


def test_the_examples_registry_renders_to_its_own_bytes(examples: Path) -> None:
    raw = (examples / REGISTRY).read_bytes()
    assert registry_index.render(json.loads(raw)).text == raw


# ----------------------------------------------------------------------------- read / write


def _only_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on a read can only come from the index: parsing the file fails."""

    def refuse(*_: Any) -> Any:
        raise AssertionError("the file was parsed")

    monkeypatch.setattr(registry, "_stream", refuse)
    monkeypatch.setattr(registry, "_parse", refuse)


def test_a_read_remembers_a_registry_and_the_next_read_is_lazy(
    examples: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = examples / REGISTRY
    want = json.loads(path.read_bytes())
    first = registry.read(path)  # streamed record by record, then indexed
    assert _plain(first) == want
    assert len(list((own_cache / "registry").glob("*.json"))) == 1
    _only_the_index(monkeypatch)
    lazy = registry.read(path)
    assert all(isinstance(m, registry_index.Record) for m in lazy["migrations"])
    assert all(m.pristine() is not None for m in lazy["migrations"])
    # reading a scalar leaves a record unparsed; anything else parses it
    m = lazy["migrations"][0]
    assert m["status"] == want["migrations"][0]["status"] and m.pristine() is not None
    assert "sql" in m and m.pristine() is not None
    assert registry_index.peek(m)["sql"] == want["migrations"][0]["sql"]
    assert m.pristine() is not None  # a peek is not kept
    assert m["sql"] == want["migrations"][0]["sql"] and m.pristine() is None
    assert _plain(lazy) == want


def test_a_registry_in_our_layout_is_streamed_and_any_other_parsed_whole(examples: Path) -> None:
    path = examples / REGISTRY
    raw = path.read_bytes()
    streamed = registry._stream(raw)
    assert streamed is not None
    assert all(isinstance(m, registry_index.Record) for m in streamed["migrations"])
    assert _plain(streamed) == registry._parse(path, raw)
    data = json.loads(raw)
    compact = json.dumps(data, sort_keys=True).encode()
    assert registry._stream(compact) is None  # same data, another layout
    names = sorted(data["baseline"])
    shuffled = {"baseline": {n: data["baseline"][n] for n in reversed(names)}}
    unsorted = json.dumps({**data, **shuffled}, indent=2).encode() + b"\n"
    assert registry._stream(unsorted) is None
    doubled = raw.replace(
        b'\n  "baseline": {\n', b'\n  "baseline": {\n    "%s": {},\n' % names[0].encode(), 1
    )
    assert registry._stream(doubled) is None
    broken = dict(data, migrations=[{**data["migrations"][0], "status": 7}])
    assert registry._stream(registry.dumps(broken).encode()) is None  # _parse says why


def test_untouched_records_are_written_back_as_their_bytes(examples: Path, own_cache: Path) -> None:
    path = examples / REGISTRY
    before = path.read_bytes()
    registry.read(path)
    with registry.transaction(path) as data:
        assert isinstance(data["migrations"][0], registry_index.Record)
    assert path.read_bytes() == before


def test_changes_to_lazy_records_are_written(examples: Path, own_cache: Path) -> None:
    path = examples / REGISTRY
    registry.read(path)  # index it
    with registry.transaction(path) as data:
        data["migrations"][0]["reason"] = "edited in place"  # a scalar
        data["migrations"][1]["changes"].append(CHANGE)  # inside a container
        name = sorted(data["baseline"])[0]
        data["baseline"][name]["definition"]["table"] = "renamed"
        del data["baseline"][sorted(data["baseline"])[1]]
    want = json.loads(before_edit := (EXAMPLES / REGISTRY).read_bytes())
    want["migrations"][0]["reason"] = "edited in place"
    want["migrations"][1]["changes"].append(CHANGE)
    want["baseline"][name]["definition"]["table"] = "renamed"
    del want["baseline"][sorted(want["baseline"])[1]]
    assert path.read_bytes() == registry.dumps(want).encode("utf-8") != before_edit
    # and what was written is indexed as written: the next read gives the same data
    assert _plain(registry.read(path)) == want


def test_a_scan_with_the_index_writes_what_a_scan_without_it_writes(
    examples: Path, tmp_path: Path, own_cache: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(examples, other)
    for root in (examples, other):
        f = root / "packages/forum/seed/schema/entities.yaml"
        f.write_text(f.read_text().replace("required: true", "required: false", 1))
    assert run_cli(examples, "list").exit_code == 0  # indexes the registry
    lazy = run_cli(examples, "--json", "scan")
    plain = run_cli(other, "--no-cache", "--json", "scan")
    assert lazy.exit_code == plain.exit_code == 0
    strip = {"created_at", "id", "superseded_at"}  # the clock's, not the index's

    def same(root: Path) -> Any:
        data = json.loads((root / REGISTRY).read_text())
        return [{k: v for k, v in m.items() if k not in strip} for m in data["migrations"]]

    assert same(examples) == same(other)
    assert [m["status"] for m in same(examples)].count("pending") == 1
    assert json.loads(lazy.stdout)["diagnostics"] == json.loads(plain.stdout)["diagnostics"]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda doc: b"{not json",
        lambda doc: doc.replace(b'"salt": "schemactl', b'"salt": "other'),
        lambda doc: doc.replace(b'"size":', b'"size":1'),
        lambda doc: doc[:-200] + b"}",
        lambda doc: doc.replace(b"[[", b"[[0,", 1),
    ],
    ids=["garbage", "other-version", "other-size", "truncated", "reshaped"],
)
def test_a_bad_index_is_ignored(
    examples: Path, own_cache: Path, spoil: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = examples / REGISTRY
    stream = registry._stream
    full = registry.read(path)
    (index,) = (own_cache / "registry").glob("*.json")
    index.write_bytes(spoil(index.read_bytes()))
    streams = []
    monkeypatch.setattr(registry, "_stream", lambda raw: streams.append(1) or stream(raw))
    again = registry.read(path)
    assert streams == [1]  # parsed again, not trusted
    assert _plain(again) == _plain(full)


def test_an_index_that_points_outside_its_records_is_refused(
    examples: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = examples / REGISTRY
    registry.read(path)
    (index,) = (own_cache / "registry").glob("*.json")
    doc = orjson.loads(index.read_bytes())
    doc["body"]["migrations"][0][0] += 1  # a span off by one byte, checksum recomputed
    body = orjson.dumps(doc["body"])
    doc["check"] = registry_index.hashlib.sha256(body).hexdigest()
    index.write_bytes(orjson.dumps(doc))
    _only_the_index(monkeypatch)
    with pytest.raises(AssertionError, match="the file was parsed"):
        registry.read(path)


def test_a_hand_edit_is_parsed_and_shape_checked_again(examples: Path, own_cache: Path) -> None:
    path = examples / REGISTRY
    registry.read(path)
    data = json.loads(path.read_bytes())
    data["migrations"][0]["status"] = 7
    path.write_text(registry.dumps(data))
    res = run_cli(examples, "list")
    assert res.exit_code == 3
    assert "has a malformed 'status'" in res.output


def test_no_cache_neither_reads_nor_writes_an_index(
    examples: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "enabled", False)
    data = registry.read(examples / REGISTRY)
    assert _plain(data) == json.loads((examples / REGISTRY).read_bytes())
    assert not (own_cache / "registry").exists()


def test_only_the_newest_indexes_are_kept(examples: Path, own_cache: Path) -> None:
    path = examples / REGISTRY
    data = json.loads(path.read_bytes())
    for n in range(registry_index.KEEP + 3):
        data["format"] = 1
        data["migrations"][0]["reason"] = f"variant {n}"
        path.write_text(registry.dumps(data))
        registry.read(path)
    assert len(list((own_cache / "registry").glob("*.json"))) == registry_index.KEEP


def test_records_built_in_worker_processes_are_the_ones_built_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold scan renders the migrations of its share of packages in forked workers and
    takes their records as bytes: the registry and the output are those of a serial scan."""
    from schemactl import parallel

    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    outputs = []
    for jobs in ("3", "1"):
        root = tmp_path / f"jobs{jobs}"
        shutil.copytree(EXAMPLES, root)
        (root / REGISTRY).unlink()
        shutil.rmtree(root / "migrations")
        monkeypatch.setenv("SCHEMACTL_JOBS", jobs)
        res = run_cli(root, "--no-cache", "--json", "scan")
        assert res.exit_code == 0, res.output
        data = json.loads((root / REGISTRY).read_text())
        assert len(data["migrations"]) == 8
        for m in data["migrations"]:
            m.pop("created_at")
            m["id"] = m["id"][15:]  # the timestamp is the clock's
        doc = json.loads(res.stdout)
        for m in doc["migrations"]:
            m["id"] = m["id"][15:]
        outputs.append((data, doc["migrations"], doc["diagnostics"]))
    assert outputs[0] == outputs[1]
