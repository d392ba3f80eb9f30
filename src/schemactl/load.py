"""Stage 1, load: read one entities.yaml safely into plain data that remembers positions.

Hardened on purpose (SPEC §11): a size limit, strict UTF-8, no anchors/aliases/tags (so no
billion-laughs), a nesting limit checked *before* anything recursive runs (libyaml's
composer would overflow the C stack), duplicate keys refused, and YAML 1.1 surprises
(``on``/``yes``/``no``/``off``, octal, sexagesimal, ``version: 1.0``) reported rather than
silently turned into booleans or floats.

We drive libyaml's event parser (PyYAML's C ``CParser`` when present) and build the data
ourselves in one iterative pass: that is both safer and faster than ``yaml.load``.
Mappings are ``YMap`` (a dict) and sequences ``YList`` (a list); both carry the 1-based
line/column of themselves and of each key and item, so any later stage can point at the
exact place of a problem.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import yaml

from .diagnostics import Diagnostic

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
MAX_INT_DIGITS = 19

try:  # PyYAML built with libyaml
    from yaml import CBaseLoader as _Parser

    LIBYAML = True
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import BaseLoader as _Parser  # type: ignore[assignment]

    LIBYAML = False


def _lc(mark: Any) -> tuple[int, int]:
    """The 1-based (line, column) of a parser mark."""
    return mark.line + 1, mark.column + 1


class YMap(dict[str, Any]):
    """A mapping with positions: ``pos`` of itself, ``key_pos``/``value_pos`` of each key
    and its value.  The parser's marks are kept as they are (``mark``, and ``kpos[key]`` =
    (key mark, value mark)) and turned into line/column only when asked: most never are."""

    __slots__ = ("kpos", "mark")
    mark: Any
    kpos: dict[str, tuple[Any, Any]]

    @property
    def pos(self) -> tuple[int, int]:
        return _lc(self.mark)

    def key_pos(self, key: str) -> tuple[int, int]:
        p = self.kpos.get(key)
        return _lc(p[0]) if p else self.pos

    def value_pos(self, key: str) -> tuple[int, int]:
        p = self.kpos.get(key)
        return _lc(p[1]) if p else self.pos


class YList(list[Any]):
    """A sequence with positions: ``pos`` of itself and ``item_pos(i)`` of each item
    (kept as marks, like ``YMap``'s)."""

    __slots__ = ("ipos", "mark")
    mark: Any
    ipos: list[Any]

    @property
    def pos(self) -> tuple[int, int]:
        return _lc(self.mark)

    def item_pos(self, i: int) -> tuple[int, int]:
        return _lc(self.ipos[i]) if 0 <= i < len(self.ipos) else self.pos


def position(data: Any, path: tuple[Any, ...] | list[Any], *, key: bool = False) -> tuple[int, int]:
    """The line/column of the node at ``path`` (of its key when ``key``), as deep as exists."""
    node = data
    pos = getattr(data, "pos", (1, 1))
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, YMap) and isinstance(step, str):
            if step not in node:
                return node.pos
            pos = node.key_pos(step) if (key and last) else node.value_pos(step)
            node = node[step]
        elif isinstance(node, YList) and isinstance(step, int):
            if not 0 <= step < len(node):
                return node.pos
            pos = node.item_pos(step)
            node = node[step]
        else:
            break
    return pos


@dataclass(frozen=True, slots=True)
class Loaded:
    data: Any  # YMap normally; None when loading failed
    diagnostics: tuple[Diagnostic, ...]


_CONTENT = re.compile(r"^[ \t]*[^\s#]", re.M)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_YAML11_BOOL = frozenset(
    {
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
    }
)
# YAML 1.1 also lists y/n as booleans, but no mainstream parser (PyYAML, ruamel in its
# default mode, js-yaml) applies that, and fields named x/y are common: they stay text.
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
# Forms YAML 1.1 reads as numbers that a reader would not expect to be numbers.
_YAML11_NUMBER = re.compile(
    r"[-+]?(?:0[0-9]+|0o[0-7]+|0x[0-9a-fA-F_]+|0b[01_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
    r"|[0-9]+(?:_[0-9]+)+(?:\.[0-9_]*)?|\.(?:inf|Inf|INF|nan|NaN|NAN))\Z"
)
_STD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class _Abort(Exception):
    def __init__(self, diag: Diagnostic):
        self.diag = diag


def load_text(text: str, file: str) -> Loaded:
    """Parse YAML text (already decoded).  Never raises for bad input."""
    diags: list[Diagnostic] = []

    def err(code: str, msg: str, line: int, col: int, hint: str | None = None) -> Diagnostic:
        return Diagnostic("error", code, msg, file, line, col, hint=hint)

    def too_deep(line: int, col: int) -> Diagnostic:
        return err(
            "SC105",
            f"nesting deeper than {MAX_DEPTH} levels",
            line,
            col,
            "entities.yaml needs at most 6 levels",
        )

    if _CONTENT.search(text) is None:  # nothing but blank lines and comments
        return Loaded(
            None,
            (err("SC106", "the file is empty", 1, 1, "start with `entities:` and a list"),),
        )

    def refuse_node(ev: Any, line: int, col: int) -> None:
        if ev.anchor is not None:
            raise _Abort(
                err(
                    "SC104",
                    f"anchor &{ev.anchor} is not allowed",
                    line,
                    col,
                    "write the value out in full; anchors and aliases are refused "
                    "so that a small file cannot expand into a huge one",
                )
            )
        tag = ev.tag
        if tag is not None and tag not in _STD_TAGS and tag != "!":
            raise _Abort(
                err(
                    "SC104",
                    f"YAML tag {tag} is not allowed",
                    line,
                    col,
                    "remove the tag; plain values are typed by the schema",
                )
            )

    def key_of(value: Any, top: YMap, mark: Any) -> str:
        line, col = _lc(mark)
        if not isinstance(value, str):
            diags.append(err("SC200", f"key {value!r} is not a string", line, col, "quote the key"))
            value = str(value)
        if value in top:
            kl, _ = top.key_pos(value)
            diags.append(
                err(
                    "SC103",
                    f"duplicate key '{value}' (first at line {kl})",
                    line,
                    col,
                    "remove one of the two; YAML keeps only the last",
                )
            )
        return value

    # The hot loop: one branch per event class, names bound locally.  ``keys[-1]`` is the
    # pending key of the innermost mapping with its mark, or None when a key is next.
    # ``plain`` memoises what an untagged plain scalar reads as (keys and most values
    # repeat), for the scalars that raised no diagnostic.
    parser = _Parser(text)
    get_event = parser.get_event
    scalar_event, map_start, seq_start = (
        yaml.ScalarEvent,
        yaml.MappingStartEvent,
        yaml.SequenceStartEvent,
    )
    map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    stack: list[Any] = []  # open containers
    keys: list[Any] = []
    plain: dict[str, Any] = {}
    root: Any = None
    try:
        try:
            while True:
                ev: Any = get_event()
                if ev is None:
                    break
                cls = type(ev)
                if cls is scalar_event:
                    mark = ev.start_mark
                    tag = ev.tag
                    if ev.anchor is not None or tag is not None:
                        refuse_node(ev, *_lc(mark))
                    if ev.style:
                        value = ev.value
                    elif tag is None:
                        text_ = ev.value
                        value = plain.get(text_, plain)
                        if value is plain:
                            seen = len(diags)
                            value = _scalar(ev, err, diags, *_lc(mark))
                            if len(diags) == seen:
                                plain[text_] = value
                    else:
                        value = _scalar(ev, err, diags, *_lc(mark))
                    if not stack:
                        root = value
                        continue
                    top = stack[-1]
                    if type(top) is YMap:
                        pending = keys[-1]
                        if pending is None:  # this scalar is a key
                            if type(value) is str and value not in top:
                                keys[-1] = (value, mark)
                            else:
                                keys[-1] = (key_of(value, top, mark), mark)
                        else:
                            k = pending[0]
                            top[k] = value
                            top.kpos[k] = (pending[1], mark)
                            keys[-1] = None
                    else:
                        top.append(value)
                        top.ipos.append(mark)
                elif cls is map_start or cls is seq_start:
                    mark = ev.start_mark
                    if ev.anchor is not None or ev.tag is not None:
                        refuse_node(ev, *_lc(mark))
                    container: Any
                    if cls is map_start:
                        container = YMap()
                        container.kpos = {}
                    else:
                        container = YList()
                        container.ipos = []
                    container.mark = mark
                    if stack:
                        top = stack[-1]
                        if type(top) is YMap:
                            pending = keys[-1]
                            if pending is None:  # a mapping or sequence as a key
                                raise _Abort(
                                    err("SC200", "a mapping key must be a plain name", *_lc(mark))
                                )
                            k = pending[0]
                            top[k] = container
                            top.kpos[k] = (pending[1], mark)
                            keys[-1] = None
                        else:
                            top.append(container)
                            top.ipos.append(mark)
                    else:
                        root = container
                    if len(stack) >= MAX_DEPTH:
                        raise _Abort(too_deep(*_lc(mark)))
                    stack.append(container)
                    keys.append(None)
                elif cls is map_end or cls is seq_end:
                    stack.pop()
                    keys.pop()
                elif cls is yaml.AliasEvent:
                    raise _Abort(
                        err(
                            "SC104",
                            f"alias *{ev.anchor} is not allowed",
                            *_lc(ev.start_mark),
                            "write the value out in full; anchors and aliases are refused "
                            "so that a small file cannot expand into a huge one",
                        )
                    )
                elif cls is yaml.DocumentStartEvent and root is not None:
                    raise _Abort(
                        err(
                            "SC102",
                            "more than one YAML document in the file",
                            *_lc(ev.start_mark),
                            "remove the second `---` document",
                        )
                    )
        finally:
            dispose = getattr(parser, "dispose", None)
            if dispose:
                dispose()
    except _Abort as a:
        return Loaded(None, (*diags, a.diag))
    except yaml.MarkedYAMLError as e:
        m = e.problem_mark or e.context_mark
        line, col = (m.line + 1, m.column + 1) if m else (1, 1)
        msg = " ".join(str(x) for x in (e.context, e.problem) if x)
        if "nesting depth" in msg:  # PyYAML >= 6.0.4 has a flow-depth limit of its own
            return Loaded(None, (*diags, too_deep(line, col)))
        return Loaded(None, (*diags, err("SC102", f"malformed YAML: {msg}", line, col)))
    except yaml.YAMLError as e:  # reader errors (control characters...)
        m = getattr(e, "position", None)
        return Loaded(None, (*diags, err("SC102", f"malformed YAML: {e}", 1, 1)))
    if root is None:
        return Loaded(None, (*diags, err("SC106", "the file holds no data", 1, 1)))
    return Loaded(None if diags else root, tuple(diags))


_WORDS: dict[str, object] = {
    **dict.fromkeys(_NULLS - {""}, None),
    **dict.fromkeys(_TRUE, True),
    **dict.fromkeys(_FALSE, False),
}
_NUMERIC_START = frozenset("0123456789+-.")


def _scalar(ev: Any, err: Any, diags: list[Diagnostic], line: int, col: int) -> Any:
    v: str = ev.value
    if ev.style or ev.tag == "tag:yaml.org,2002:str" or not ev.implicit[0]:
        return v  # quoted, block or explicitly tagged: a string
    if not v:
        return None
    if v in _WORDS:
        return _WORDS[v]
    if v[0] not in _NUMERIC_START:
        if v in _YAML11_BOOL:
            diags.append(
                err(
                    "SC107",
                    f"'{v}' is a boolean in YAML 1.1 but a string in YAML 1.2",
                    line,
                    col,
                    f"write true/false for a boolean, or quote it ('{v}') for text",
                )
            )
        return v
    if _INT.match(v):
        digits = len(v.lstrip("+-"))
        if digits > MAX_INT_DIGITS:
            diags.append(
                err(
                    "SC109",
                    f"integer with {digits} digits is too large",
                    line,
                    col,
                    "integers must fit in 64 bits; quote it if it is text",
                )
            )
            return 0
        return int(v)
    if _YAML11_NUMBER.match(v):  # before _FLOAT, which would read 0755 as 755.0
        diags.append(
            err(
                "SC107",
                f"'{v}' is read as a number by some YAML parsers and as text by others",
                line,
                col,
                f"quote it ('{v}') for text, or write a plain decimal number",
            )
        )
        return v
    if _FLOAT.match(v):
        return float(v)
    return v


def read_capped(path: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, at most one byte past the limit (enough to tell it is too large)."""
    with open(path, "rb") as fh:
        # read(n) allocates n bytes up front: ask for no more than the file holds
        size = os.fstat(fh.fileno()).st_size
        return fh.read(min(size, max_bytes) + 1)


def load_file(path: str, file: str, *, max_bytes: int = MAX_FILE_BYTES) -> Loaded:
    """Read and parse ``path``; ``file`` is the root-relative name used in diagnostics."""
    try:
        raw = read_capped(path, max_bytes)
    except OSError as e:
        reason = e.strerror or str(e)
        if getattr(e, "errno", None) == 40:  # ELOOP
            return Loaded(None, (Diagnostic("error", "SC111", f"symlink loop: {reason}", file),))
        return Loaded(None, (Diagnostic("error", "SC110", f"cannot read file: {reason}", file),))
    return load_raw(raw, file, max_bytes=max_bytes)


def load_raw(raw: bytes, file: str, *, max_bytes: int = MAX_FILE_BYTES) -> Loaded:
    """Parse bytes already read with ``read_capped``."""
    if len(raw) > max_bytes:
        return Loaded(
            None,
            (
                Diagnostic(
                    "error",
                    "SC100",
                    f"file is larger than the limit of {max_bytes} bytes",
                    file,
                    hint="split the entities across packages, or check the file is not generated",
                ),
            ),
        )
    return load_bytes(raw, file)


def load_bytes(raw: bytes, file: str) -> Loaded:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = raw[: e.start]
        line = before.count(b"\n") + 1
        col = e.start - (before.rfind(b"\n") + 1) + 1
        return Loaded(
            None,
            (
                Diagnostic(
                    "error",
                    "SC101",
                    f"not valid UTF-8 (byte 0x{raw[e.start]:02x})",
                    file,
                    line,
                    col,
                    hint="save the file as UTF-8",
                ),
            ),
        )
    return load_text(text, file)
