"""A registry edited by hand in any way never crashes a command: it is read, or refused
with exit 3 and left byte-identical."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation_util import run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
COMMANDS = [
    ["scan"],
    ["list", "--all"],
    ["check"],
    ["generate", "--check"],
    ["status"],
    ["approve", "all", "--by", "f@z"],
]
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.none(), max_size=2),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out += _paths(v, (*prefix, i))
    return out


def _edit(data: Any, path: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not path:
        return new
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return data


REG_FILE = Path(".schemactl") / "registry" / "storage.json"  # the largest example package
TEMPLATE: dict[str, Any] = json.loads((EXAMPLES / REG_FILE).read_text())
PATHS = [p for p in _paths(TEMPLATE) if not (len(p) >= 2 and p[-2] == "sql")]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(PATHS),
    new=junk,
    delete=st.booleans(),
    command=st.sampled_from(COMMANDS),
)
def test_hand_edited_registry_never_crashes(
    tmp_path_factory: Any, path: tuple[Any, ...], new: Any, delete: bool, command: list[str]
) -> None:
    root = Path(tmp_path_factory.mktemp("reg")) / "ex"
    shutil.copytree(EXAMPLES, root)
    reg = root / REG_FILE
    data = _edit(json.loads(reg.read_text()), path, new, delete)
    reg.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    before = reg.read_bytes()
    res = run_cli(root, "--json", *command)  # exceptions propagate: none may
    assert res.exit_code in (0, 1, 2, 3), res.output
    doc = json.loads(res.stdout)
    assert isinstance(doc["diagnostics"], list)
    if res.exit_code == 3:
        assert reg.read_bytes() == before, "an unreadable registry is never rewritten"
