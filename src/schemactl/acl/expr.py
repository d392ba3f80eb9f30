"""The expression language of ``rowLevel`` and ``[acl.row_roles.*] when`` (SPEC §13).

An allow-list, not a filter: a tokenizer that knows only the tokens below, a
recursive-descent parser for exactly this grammar, and an AST that is rendered to SQL
through :mod:`schemactl.sql.quote`.  Input text never reaches SQL; only quoted
identifiers of known columns, literals re-written by ``quote`` and the fixed setting
subselect do.

    expr      := or
    or        := and ("OR" and)*
    and       := unary ("AND" unary)*
    unary     := "NOT" unary | primary
    primary   := "(" expr ")"
               | operand [ cmp operand | ["NOT"] "IN" "(" operand ("," operand)* ")"
                         | "IS" ["NOT"] "NULL" ]
    operand   := field | relation "." field | "$user.id" | "$tenant.id"
               | 'string' | "string" | number | true | false | null
    cmp       := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="

Keywords are case-insensitive.  Anything else (function calls, subqueries, casts, ``;``,
comments, other ``$`` variables) is an ``ExprError`` at its offset in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})
SQL_WORDS = frozenset(
    {"select", "from", "where", "union", "exists", "case", "when", "then", "drop", "insert",
     "update", "delete", "with", "cast", "like", "ilike", "between", "any", "all", "limit"}
)  # fmt: skip
VARIABLES = ("$user.id", "$tenant.id")
CMP_OPS = ("=", "!=", "<>", "<", "<=", ">", ">=")


class ExprError(Exception):
    """A problem at ``offset`` (0-based) of the expression text."""

    def __init__(self, message: str, offset: int, hint: str | None = None, code: str = "SC810"):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint
        self.code = code


# ----------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # ident, kw, var, str, num, op, lp, rp, comma, dot, end
    text: str
    pos: int
    value: object = None


_NUM = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?)(?:[eE][-+]?[0-9]+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VAR = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_LEN = 4000


def tokenize(text: str) -> list[Tok]:
    if len(text) > _MAX_LEN:
        raise ExprError(f"expression is longer than {_MAX_LEN} characters", 0)
    out: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if text.startswith("--", i) or text.startswith("/*", i) or ch == "#":
            raise ExprError("comments are not allowed in an ACL expression", i, code="SC811")
        if ch == ";":
            raise ExprError("';' is not allowed: an ACL expression is one condition", i,
                            code="SC811")  # fmt: skip
        if text.startswith("::", i):
            raise ExprError("casts are not allowed: settings and literals are compared as the "
                            "column's type already", i, code="SC811")  # fmt: skip
        if ch == "$":
            m = _VAR.match(text, i)
            word = m.group(0) if m else "$"
            if word not in VARIABLES:
                from ..diagnostics import did_you_mean

                guess = did_you_mean(word, VARIABLES)
                if word in ("$user.tenantId", "$user.tenant_id", "$user.tenant"):
                    guess = "$tenant.id"
                raise ExprError(
                    f"unknown variable {word!r}",
                    i,
                    f"did you mean '{guess}'?" if guess else "use $user.id or $tenant.id",
                    code="SC812",
                )
            out.append(Tok("var", word, i, word))
            i += len(word)
            continue
        if ch in "'\"":
            j = i + 1
            buf: list[str] = []
            while True:
                if j >= n:
                    raise ExprError("unterminated string literal", i, code="SC810")
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        buf.append(ch)
                        j += 2
                        continue
                    break
                if text[j] == "\\":
                    raise ExprError("backslashes are not allowed in string literals", j,
                                    code="SC811")  # fmt: skip
                buf.append(text[j])
                j += 1
            out.append(Tok("str", text[i : j + 1], i, "".join(buf)))
            i = j + 1
            continue
        m = _NUM.match(text, i)
        if m and (ch != "-" or _prev_allows_sign(out)):
            s = m.group(0)
            if i + len(s) < n and (text[i + len(s)].isalnum() or text[i + len(s)] == "_"):
                raise ExprError(f"malformed number {text[i : i + len(s) + 1]!r}", i)
            value: object = float(s) if any(c in s for c in ".eE") else int(s)
            out.append(Tok("num", s, i, value))
            i += len(s)
            continue
        m = _IDENT.match(text, i)
        if m:
            word = m.group(0)
            low = word.lower()
            if low in KEYWORDS:
                out.append(Tok("kw", low, i))
            else:
                out.append(Tok("ident", word, i))
            i += len(word)
            continue
        two = text[i : i + 2]
        if two in ("!=", "<>", "<=", ">="):
            out.append(Tok("op", two, i))
            i += 2
            continue
        if ch in "=<>":
            out.append(Tok("op", ch, i))
            i += 1
            continue
        simple = {"(": "lp", ")": "rp", ",": "comma", ".": "dot"}
        if ch in simple:
            out.append(Tok(simple[ch], ch, i))
            i += 1
            continue
        if two in ("&&", "||"):
            raise ExprError(f"{two!r} is not allowed", i, "use AND / OR", code="SC811")
        raise ExprError(f"unexpected character {ch!r}", i, code="SC811")
    out.append(Tok("end", "", n))
    return out


def _prev_allows_sign(out: list[Tok]) -> bool:
    return not out or out[-1].kind in ("op", "lp", "comma", "kw")


# ----------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class RelRef:
    relation: str
    field: str
    pos: int
    field_pos: int


@dataclass(frozen=True, slots=True)
class Var:
    name: str  # "$user.id" | "$tenant.id"
    pos: int


@dataclass(frozen=True, slots=True)
class Lit:
    value: str | int | float | bool | None
    pos: int


Operand = FieldRef | RelRef | Var | Lit


@dataclass(frozen=True, slots=True)
class Cmp:
    op: str
    left: Operand
    right: Operand
    pos: int


@dataclass(frozen=True, slots=True)
class In:
    operand: Operand
    items: tuple[Operand, ...]
    negated: bool
    pos: int


@dataclass(frozen=True, slots=True)
class IsNull:
    operand: Operand
    negated: bool
    pos: int


@dataclass(frozen=True, slots=True)
class Truth:
    """A bare operand used as a condition: a boolean field, true or false."""

    operand: Operand
    pos: int


@dataclass(frozen=True, slots=True)
class Not:
    item: Node
    pos: int


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "AND" | "OR"
    items: tuple[Node, ...]
    pos: int


Node = Cmp | In | IsNull | Truth | Not | BoolOp

_MAX_DEPTH = 50


class _Parser:
    def __init__(self, text: str):
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def is_kw(self, word: str) -> bool:
        return self.tok.kind == "kw" and self.tok.text == word

    def expect(self, kind: str, what: str) -> Tok:
        if self.tok.kind != kind:
            raise self.unexpected(what)
        return self.take()

    def unexpected(self, wanted: str) -> ExprError:
        t = self.tok
        if t.kind == "end":
            return ExprError(f"expected {wanted} at the end of the expression", t.pos)
        return ExprError(f"expected {wanted}, found {t.text!r}", t.pos)

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.kind != "end":
            raise self.unexpected("AND, OR or the end of the expression")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExprError("expression is nested too deeply", self.tok.pos)
        try:
            return self.bool_op("or", self.and_)
        finally:
            self.depth -= 1

    def and_(self) -> Node:
        return self.bool_op("and", self.unary)

    def bool_op(self, word: str, sub: object) -> Node:
        first = sub()  # type: ignore[operator]
        items = [first]
        pos = self.tok.pos
        while self.is_kw(word):
            self.take()
            items.append(sub())  # type: ignore[operator]
        if len(items) == 1:
            node: Node = first
            return node
        return BoolOp(word.upper(), tuple(items), pos)

    def unary(self) -> Node:
        if self.is_kw("not"):
            t = self.take()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise ExprError("expression is nested too deeply", t.pos)
            try:
                return Not(self.unary(), t.pos)
            finally:
                self.depth -= 1
        return self.primary()

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "lp":
            self.take()
            if self.tok.kind == "ident" and self.tok.text.lower() in SQL_WORDS:
                raise ExprError("subqueries are not allowed", self.tok.pos, code="SC811")
            node = self.expr()
            self.expect("rp", "')'")
            return node
        left = self.operand()
        t = self.tok
        if t.kind == "op":
            self.take()
            return Cmp(t.text, left, self.operand(), t.pos)
        if self.is_kw("in") or (self.is_kw("not") and self.toks[self.i + 1].text == "in"):
            negated = self.is_kw("not")
            if negated:
                self.take()
            self.take()
            self.expect("lp", "'(' after IN")
            items = [self.operand()]
            while self.tok.kind == "comma":
                self.take()
                items.append(self.operand())
            self.expect("rp", "')' or ',' in the IN list")
            return In(left, tuple(items), negated, t.pos)
        if self.is_kw("is"):
            self.take()
            negated = False
            if self.is_kw("not"):
                self.take()
                negated = True
            if not self.is_kw("null"):
                raise self.unexpected("NULL after IS")
            self.take()
            return IsNull(left, negated, t.pos)
        return Truth(left, left.pos)

    def operand(self) -> Operand:
        t = self.tok
        if t.kind == "ident":
            low = t.text.lower()
            nxt = self.toks[self.i + 1]
            if nxt.kind == "lp":
                raise ExprError(f"function calls are not allowed ({t.text}(...))", t.pos,
                                code="SC811")  # fmt: skip
            if low == "select":
                raise ExprError("subqueries are not allowed", t.pos, code="SC811")
            self.take()
            if self.tok.kind == "dot":
                self.take()
                f = self.expect("ident", "a field name after '.'")
                if self.tok.kind == "dot":
                    raise ExprError("only one relation step is allowed (relation.field)",
                                    self.tok.pos, code="SC813")  # fmt: skip
                return RelRef(t.text, f.text, t.pos, f.pos)
            return FieldRef(t.text, t.pos)
        if t.kind == "var":
            self.take()
            return Var(t.text, t.pos)
        if t.kind in ("str", "num"):
            self.take()
            return Lit(t.value, t.pos)  # type: ignore[arg-type]
        if t.kind == "kw" and t.text in ("true", "false", "null"):
            self.take()
            return Lit({"true": True, "false": False, "null": None}[t.text], t.pos)
        if t.kind == "lp":
            raise ExprError("subqueries and row values are not allowed here", t.pos,
                            code="SC811")  # fmt: skip
        raise self.unexpected("a field, $user.id, $tenant.id or a literal")


def parse(text: str) -> Node:
    """The AST of ``text``; raises ``ExprError`` with the offset of the first problem."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression", 0)
    return _Parser(text).parse()
