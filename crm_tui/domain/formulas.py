"""Formula fields: a small spreadsheet-like language over ``Decimal``, parsed and evaluated, never eval'd.

>>> f = compile_formula("ROUND({Amount} * {Probability} / 100, 2)", ["Amount", "Probability"])
>>> f.evaluate({"Amount": Decimal("1234.56"), "Probability": Decimal("35")})
Decimal('432.1')

Syntax. ``{Field name}`` (anything but ``}``; matched case-insensitively, reported canonically);
numbers ``12 3.5 .5`` (``Decimal``); strings ``"a \\" b"`` or ``'it\\'s'`` (escapes ``\\" \\' \\\\ \\n \\t``);
``TRUE FALSE``; operators, loosest first: ``= != <> < > <= >=``, ``&`` (join text), ``+ -``, ``* /``,
unary ``- +``; parentheses; functions (any case) ``IF(c, a[, b]) ROUND(x[, digits]) MIN MAX ABS SUM
AVERAGE CONCAT DAYS_BETWEEN(a, b) TODAY() AND OR NOT LEN UPPER LOWER BLANK() TRUE() FALSE()``.
Positions in ``FormulaSyntaxError`` messages count from 1.

Values. In: ``None``, ``Decimal``/``int``, ``str``, ``bool``, ``date``, lists of these (a multi-valued
lookup). Out: ``Decimal`` (normalised: ``1000`` not ``1E+3``), ``str``, ``bool``, ``date``, ``None``
or ``FormulaError``. Empty is 0 in ``+ - *``, "" in ``&``/``CONCAT``; ``=``/``!=`` treat ``None`` and ""
as blank (``{x} = ""`` is the blank test); ``< > <= >=`` with a blank are FALSE. A list acts as its only
element in arithmetic/comparison (empty → blank, several → ``#VALUE!``), joins with ", " as text, and
is flattened by ``SUM AVERAGE MIN MAX`` (which ignore blanks). ``date ± n`` shifts by whole days
(truncated), ``date - date`` is a number of days. Division rounds half-up to 10 places.

Errors are values: ``#DIV/0!`` (division by zero, ``AVERAGE`` of nothing), ``#VALUE!`` (wrong type),
``#NUM!`` (out of range). An error operand makes the result that error; ``IF`` evaluates only the
branch it takes, so ``IF({n} = 0, 0, 1 / {n})`` is safe.
"""

from __future__ import annotations

import difflib
import operator
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import (ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation,
                     Overflow, localcontext)
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

__all__ = ["FormulaSyntaxError", "FormulaError", "Formula", "compile_formula", "FUNCTIONS", "KINDS"]

KINDS = ("number", "text", "date", "boolean")
_CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_DIVISION_PLACES = Decimal("1e-10")
_MAX_NESTING = 40


class FormulaSyntaxError(ValueError):
    """The formula text cannot be compiled; the message says what and where. ``position`` counts from 1."""

    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.position = position


class FormulaError:
    """A runtime error value such as ``#DIV/0!``; equal by ``code``; ``str()`` is the code."""

    __slots__ = ("code",)
    DIV0, VALUE, NUM = "#DIV/0!", "#VALUE!", "#NUM!"

    def __init__(self, code: str):
        self.code = code

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"FormulaError({self.code!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FormulaError) and other.code == self.code

    def __hash__(self) -> int:
        return hash(("FormulaError", self.code))


# ---------------------------------------------------------------- tokenizer

class _Token(NamedTuple):
    kind: str      # num str field name op end
    text: str      # as written
    value: object  # Decimal, str (unescaped / field name), or the op text
    pos: int       # 1-based


_SIMPLE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                     r"|(?P<op><=|>=|<>|!=|[-+*/&=<>(),])")
_ESCAPES = {"n": "\n", "t": "\t"}


def _tokenize(text: str) -> list[_Token]:
    tokens, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "{":
            end = text.find("}", i + 1)
            if end < 0:
                raise FormulaSyntaxError(f"missing '}}' for field reference at position {i + 1}", i + 1)
            name = text[i + 1:end].strip()
            if not name:
                raise FormulaSyntaxError(f"empty field name at position {i + 1}", i + 1)
            tokens.append(_Token("field", text[i:end + 1], name, i + 1))
            i = end + 1
        elif ch in "\"'":
            out, j = [], i + 1
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                    out.append(_ESCAPES.get(text[j], text[j]))
                else:
                    out.append(text[j])
                j += 1
            if j >= n:
                raise FormulaSyntaxError(f"unterminated string starting at position {i + 1}", i + 1)
            tokens.append(_Token("str", text[i:j + 1], "".join(out), i + 1))
            i = j + 1
        else:
            m = _SIMPLE.match(text, i)
            if not m:
                raise FormulaSyntaxError(f"unexpected {ch!r} at position {i + 1}", i + 1)
            kind, word = m.lastgroup, m.group()
            tokens.append(_Token(kind, word, Decimal(word) if kind == "num" else word, i + 1))
            i = m.end()
    tokens.append(_Token("end", "", None, n + 1))
    return tokens


# ---------------------------------------------------------------- AST

@dataclass(frozen=True, slots=True)
class Literal:
    value: object                       # Decimal, str or bool


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str                           # canonical


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: object


@dataclass(frozen=True, slots=True)
class Chain:
    """``first op1 x1 op2 x2 …`` at one precedence level, folded left (keeps long sums shallow)."""
    first: object
    rest: tuple                         # ((op, node), ...)


@dataclass(frozen=True, slots=True)
class Call:
    name: str                           # upper case
    args: tuple


# ---------------------------------------------------------------- parser

_LEVELS = (("=", "!=", "<>", "<", ">", "<=", ">="), ("&",), ("+", "-"), ("*", "/"))
_ARITY = {"IF": (2, 3), "ROUND": (1, 2), "MIN": (1, None), "MAX": (1, None), "ABS": (1, 1),
          "SUM": (1, None), "AVERAGE": (1, None), "CONCAT": (1, None), "DAYS_BETWEEN": (2, 2),
          "TODAY": (0, 0), "AND": (1, None), "OR": (1, None), "NOT": (1, 1), "LEN": (1, 1),
          "UPPER": (1, 1), "LOWER": (1, 1), "BLANK": (0, 0), "TRUE": (0, 0), "FALSE": (0, 0)}


def _arity_text(name: str) -> str:
    low, high = _ARITY[name]
    if high is None:
        return f"{name} takes at least {low} argument{'s' * (low != 1)}"
    if low == high:
        return f"{name} takes {'no' if low == 0 else low} argument{'s' * (low != 1)}"
    return f"{name} takes {low} or {high} arguments"


def _did_you_mean(word: str, choices: Iterable[str], show: Callable[[str], str]) -> str:
    by_fold = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(word.casefold(), list(by_fold), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(show(by_fold[c]) for c in close)}?)" if close else ""


class _Parser:
    def __init__(self, tokens: list[_Token], known: list[str] | None):
        self.tokens, self.i, self.depth = tokens, 0, 0
        self.known = known
        self.by_fold = {} if known is None else {f.casefold(): f for f in reversed(known)}
        self.by_fold.update({f: f for f in known or ()})  # an exact spelling wins over a case variant
        self.references: set[str] = set()
        self.uses_today = False

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        self.i += 1
        return self.tokens[self.i - 1]

    def accept(self, ops: tuple) -> _Token | None:
        tok = self.peek()
        return self.take() if tok.kind == "op" and tok.text in ops else None

    def unexpected(self, tok: _Token) -> FormulaSyntaxError:
        if tok.kind == "end":
            return FormulaSyntaxError(f"unexpected end of formula at position {tok.pos}", tok.pos)
        return FormulaSyntaxError(f"unexpected {tok.text!r} at position {tok.pos}", tok.pos)

    def nest(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise FormulaSyntaxError(f"formula nested too deeply at position {tok.pos}", tok.pos)

    def parse(self):
        if self.peek().kind == "end":
            raise FormulaSyntaxError("empty formula", 1)
        node = self.level(0)
        if self.peek().kind != "end":
            raise self.unexpected(self.peek())
        return node

    def level(self, k: int):
        if k == len(_LEVELS):
            return self.unary()
        first, rest = self.level(k + 1), []
        while (tok := self.accept(_LEVELS[k])) is not None:
            rest.append((tok.text, self.level(k + 1)))
        return Chain(first, tuple(rest)) if rest else first

    def unary(self):
        tok = self.accept(("-", "+"))
        if tok is None:
            return self.primary()
        self.nest(tok)
        node = Unary(tok.text, self.unary())
        self.depth -= 1
        return node

    def primary(self):
        tok = self.take()
        if tok.kind in ("num", "str"):
            return Literal(tok.value)
        if tok.kind == "field":
            return FieldRef(self.field_name(tok))
        if tok.kind == "op" and tok.text == "(":
            self.nest(tok)
            node = self.level(0)
            self.close(tok)
            self.depth -= 1
            return node
        if tok.kind == "name":
            return self.name(tok)
        raise self.unexpected(tok)

    def close(self, opening: _Token) -> None:
        if self.accept((")",)) is None:
            tok = self.peek()
            if tok.kind == "end":
                raise FormulaSyntaxError(f"missing ')' for '(' at position {opening.pos}", tok.pos)
            raise self.unexpected(tok)

    def field_name(self, tok: _Token) -> str:
        name = tok.value
        if self.known is not None:
            canonical = self.by_fold.get(name) or self.by_fold.get(name.casefold())
            if canonical is None:
                hint = _did_you_mean(name, self.known, lambda f: "{" + f + "}")
                raise FormulaSyntaxError(f"unknown field {{{name}}} at position {tok.pos}{hint}", tok.pos)
            name = canonical
        self.references.add(name)
        return name

    def name(self, tok: _Token):
        upper = tok.text.upper()
        paren = self.accept(("(",))
        if paren is None:
            if upper in ("TRUE", "FALSE"):
                return Literal(upper == "TRUE")
            if upper in _ARITY:
                raise FormulaSyntaxError(f"expected '(' after {upper} at position {self.peek().pos}",
                                         self.peek().pos)
            raise FormulaSyntaxError(f"unknown name {tok.text} at position {tok.pos} "
                                     f"(write field names in braces: {{{tok.text}}})", tok.pos)
        if upper not in _ARITY:
            hint = _did_you_mean(upper, _ARITY, str)
            raise FormulaSyntaxError(f"unknown function {upper} at position {tok.pos}{hint}", tok.pos)
        self.nest(paren)
        args = []
        if self.accept((")",)) is None:
            args.append(self.level(0))
            while self.accept((",",)) is not None:
                args.append(self.level(0))
            self.close(paren)
        self.depth -= 1
        low, high = _ARITY[upper]
        if len(args) < low or (high is not None and len(args) > high):
            raise FormulaSyntaxError(f"{_arity_text(upper)} (got {len(args)}) at position {tok.pos}", tok.pos)
        if upper in ("TRUE", "FALSE"):
            return Literal(upper == "TRUE")
        self.uses_today |= upper == "TODAY"
        return Call(upper, tuple(args))


# ---------------------------------------------------------------- values

def _err(v) -> bool:
    return isinstance(v, FormulaError)


def _first_error(values) -> FormulaError | None:
    return next((v for v in values if isinstance(v, FormulaError)), None)


def _norm(d: Decimal) -> Decimal:
    """No trailing zeros, no exponent notation, no negative zero."""
    if d.is_zero():
        return Decimal(0)
    d = d.normalize()
    return d.quantize(Decimal(1)) if d.as_tuple().exponent > 0 else d


def _incoming(v):
    """A Python value from a record → a formula value (lists flattened; an error inside wins)."""
    if v is None or isinstance(v, (str, bool, FormulaError)):
        return v
    if isinstance(v, Decimal):
        return v if v.is_finite() else FormulaError(FormulaError.NUM)
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return _incoming(Decimal(repr(v)))
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, (list, tuple)):
        items = []
        for item in map(_incoming, v):
            if _err(item):
                return item
            items.extend(item if isinstance(item, list) else [item])
        return items
    return FormulaError(FormulaError.VALUE)


def _scalar(v):
    if isinstance(v, list):
        return v[0] if len(v) == 1 else None if not v else FormulaError(FormulaError.VALUE)
    return v


def _num(v):
    """Decimal for arithmetic: blank → 0, TRUE → 1; text/date → #VALUE!."""
    v = _scalar(v)
    if v is None:
        return Decimal(0)
    if isinstance(v, bool):
        return Decimal(int(v))
    return v if isinstance(v, (Decimal, FormulaError)) else FormulaError(FormulaError.VALUE)


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, Decimal):
        return format(_norm(v), "f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, list):
        return ", ".join(_text(x) for x in v if x is not None)
    return str(v)


def _truthy(v) -> bool:
    if isinstance(v, Decimal):
        return not v.is_zero()
    return bool(v)  # None, "", [] and FALSE are false; dates are true


def _date(v):
    """date from a date or ISO text; blank stays None; anything else #VALUE!."""
    v = _scalar(v)
    if v is None or isinstance(v, (date, FormulaError)):
        return v
    if isinstance(v, str) and v.strip():
        try:
            return datetime.fromisoformat(v.strip()).date()
        except ValueError:
            pass
    return FormulaError(FormulaError.VALUE)


# ---------------------------------------------------------------- operators

def _arith(op: str, a, b):
    a, b = _scalar(a), _scalar(b)
    if (e := _first_error((a, b))) is not None:
        return e
    if op in "+-" and (isinstance(a, date) or isinstance(b, date)):
        if isinstance(a, date) and isinstance(b, date):
            return Decimal((a - b).days) if op == "-" else FormulaError(FormulaError.VALUE)
        if not isinstance(a, date) and op == "-":
            return FormulaError(FormulaError.VALUE)       # number - date
        day, n = (a, _num(b)) if isinstance(a, date) else (b, _num(a))
        if _err(n):
            return n
        shift = timedelta(days=int(n))
        return day + shift if op == "+" else day - shift
    x, y = _num(a), _num(b)
    if (e := _first_error((x, y))) is not None:
        return e
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y.is_zero():
        return FormulaError(FormulaError.DIV0)
    return (x / y).quantize(_DIVISION_PLACES, rounding=ROUND_HALF_UP)


def _comparable(a, b):
    """A pair Python can order, or #VALUE! for mismatched kinds (numbers/TRUE mix; ISO text meets dates)."""
    numeric = (Decimal, bool)
    if isinstance(a, numeric) and isinstance(b, numeric):
        return (a, b) if type(a) is type(b) else (_num(a), _num(b))
    if isinstance(a, date) or isinstance(b, date):
        a, b = _date(a), _date(b)
        return (a, b) if isinstance(a, date) and isinstance(b, date) else FormulaError(FormulaError.VALUE)
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    return FormulaError(FormulaError.VALUE)


_ORDER = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}


def _compare(op: str, a, b):
    a, b = _scalar(a), _scalar(b)
    if (e := _first_error((a, b))) is not None:
        return e
    if op in ("=", "!=", "<>"):
        blank_a, blank_b = a is None or a == "", b is None or b == ""
        if blank_a or blank_b:
            equal = blank_a and blank_b
        else:
            pair = _comparable(a, b)
            equal = not _err(pair) and pair[0] == pair[1]
        return equal if op == "=" else not equal
    if a is None or b is None:
        return False
    pair = _comparable(a, b)
    return pair if _err(pair) else _ORDER[op](*pair)


def _binary(op: str, a, b):
    if op == "&":
        return _first_error((a, b)) or _text(a) + _text(b)
    return _arith(op, a, b) if op in "+-*/" else _compare(op, a, b)


# ---------------------------------------------------------------- functions

def _flat(args) -> list:
    out = []
    for a in args:
        out.extend(a if isinstance(a, list) else [a])
    return [a for a in out if a is not None]


def _sum(args):
    nums = [_num(x) for x in _flat(args)]
    return _first_error(nums) or sum(nums, Decimal(0))


def _average(args):
    items = _flat(args)
    total = _sum(items)
    return total if _err(total) else _arith("/", total, Decimal(len(items)))


def _extreme(pick, args):
    items = _flat(args)
    if items and all(isinstance(x, date) for x in items):
        return pick(items)
    nums = [FormulaError(FormulaError.VALUE) if isinstance(x, date) else _num(x) for x in items]
    return _first_error(nums) or (pick(nums) if nums else None)


def _round(x, digits=Decimal(0)):
    x, digits = _num(x), _num(digits)
    if (e := _first_error((x, digits))) is not None or int(digits) >= -x.as_tuple().exponent:
        return e or x  # error, or already that precise
    return x.quantize(Decimal(1).scaleb(-int(digits)), rounding=ROUND_HALF_UP)


def _abs(x):
    x = _num(x)
    return x if _err(x) else abs(x)


def _days_between(a, b):
    a, b = _date(a), _date(b)
    return _first_error((a, b)) or (None if a is None or b is None else Decimal((b - a).days))


_FUNCTIONS: dict[str, Callable] = {  # IF and TODAY are special-cased in _eval
    "ROUND": _round, "ABS": _abs, "DAYS_BETWEEN": _days_between,
    "MIN": lambda *a: _extreme(min, a), "MAX": lambda *a: _extreme(max, a),
    "SUM": lambda *a: _sum(a), "AVERAGE": lambda *a: _average(a),
    "CONCAT": lambda *a: "".join(map(_text, a)),
    "AND": lambda *a: all(map(_truthy, a)), "OR": lambda *a: any(map(_truthy, a)),
    "NOT": lambda x: not _truthy(x), "LEN": lambda x: Decimal(len(_text(x))),
    "UPPER": lambda x: _text(x).upper(), "LOWER": lambda x: _text(x).lower(), "BLANK": lambda: None,
}
FUNCTIONS = frozenset(_ARITY)


# ---------------------------------------------------------------- evaluator

class _Env(NamedTuple):
    values: Mapping[str, object]
    today: date | None


def _eval(node, env: _Env):
    kind = type(node)
    if kind is Literal:
        return node.value
    if kind is FieldRef:
        return _incoming(env.values.get(node.name))
    if kind is Chain:
        acc = _eval(node.first, env)
        for op, operand in node.rest:
            acc = _binary(op, acc, _eval(operand, env))
        return acc
    if kind is Unary:
        x = _num(_eval(node.operand, env))
        return x if _err(x) or node.op == "+" else -x
    if node.name == "IF":
        cond = _eval(node.args[0], env)
        cond = cond[0] if isinstance(cond, list) and len(cond) == 1 else cond  # else: non-empty is true
        if _err(cond):
            return cond
        branch = node.args[1] if _truthy(cond) else node.args[2] if len(node.args) > 2 else None
        return None if branch is None else _eval(branch, env)
    if node.name == "TODAY":
        return env.today if env.today is not None else date.today()
    args = [_eval(a, env) for a in node.args]
    return _first_error(args) or _FUNCTIONS[node.name](*args)


def _outgoing(v):
    if isinstance(v, list):
        v = None if not v else v[0] if len(v) == 1 else _text(v)
    return _norm(v) if isinstance(v, Decimal) else v


# ---------------------------------------------------------------- static kind

_FIELD_KIND = {"number": "number", "percent": "number", "currency": "number", "rating": "number",
               "date": "date", "boolean": "boolean", "checkbox": "boolean"}
_CALL_KIND = {"ROUND": "number", "ABS": "number", "SUM": "number", "AVERAGE": "number", "LEN": "number",
              "DAYS_BETWEEN": "number", "CONCAT": "text", "UPPER": "text", "LOWER": "text",
              "TODAY": "date", "AND": "boolean", "OR": "boolean", "NOT": "boolean", "BLANK": None}


def _kind(node, kinds: Mapping[str, str]) -> str | None:
    """"number" | "text" | "date" | "boolean", or None for a bare BLANK()."""
    kind = type(node)
    if kind is Literal:
        v = node.value
        return "boolean" if isinstance(v, bool) else "text" if isinstance(v, str) else "number"
    if kind is FieldRef:
        return _FIELD_KIND.get(kinds.get(node.name, "number"), "text")
    if kind is Unary:
        return "number"
    if kind is Chain:
        acc = _kind(node.first, kinds)
        for op, operand in node.rest:
            right = _kind(operand, kinds)
            if op in _LEVELS[0]:
                acc = "boolean"
            elif op == "&":
                acc = "text"
            elif op == "+" and "date" in (acc, right) and acc != right:
                acc = "date"
            elif op == "-" and acc == "date":
                acc = "number" if right == "date" else "date"
            else:
                acc = "number"
        return acc
    if node.name == "IF":
        branches = {_kind(a, kinds) for a in node.args[1:]} - {None}
        return branches.pop() if len(branches) == 1 else "text" if branches else None
    if node.name in ("MIN", "MAX"):
        return "date" if all(_kind(a, kinds) == "date" for a in node.args) else "number"
    return _CALL_KIND[node.name]


# ---------------------------------------------------------------- public

@dataclass(frozen=True, eq=False)
class Formula:
    """A compiled formula. ``references``: canonical field names used; ``uses_today``: recompute on read."""

    text: str
    references: frozenset[str]
    uses_today: bool
    _node: object = field(repr=False)
    _kinds: Mapping[str, str] = field(repr=False, default_factory=dict)

    def evaluate(self, values: Mapping[str, object], today: date | None = None) -> object:
        """Value for one record (``values`` by canonical name; missing = blank). Never raises for data."""
        try:
            with localcontext(_CONTEXT):
                return _outgoing(_eval(self._node, _Env(values, today)))
        except (InvalidOperation, Overflow, OverflowError):
            return FormulaError(FormulaError.NUM)
        except RecursionError:  # pragma: no cover - nesting is bounded at compile time
            return FormulaError(FormulaError.VALUE)

    def result_kind(self) -> str:
        """Best static guess of the result: "number" | "text" | "date" | "boolean"."""
        return _kind(self._node, self._kinds) or "text"


def compile_formula(text: str, known_fields: Iterable[str] | None = None,
                    field_kinds: Mapping[str, str] | None = None) -> Formula:
    """Parse ``text``. ``known_fields`` None accepts any ``{name}``; else names must match (any case).

    ``field_kinds`` (canonical name → "number" | "text" | "date" | "boolean"; field type names such as
    "currency" or "checkbox" are understood too) only feeds ``Formula.result_kind``.
    Raises ``FormulaSyntaxError`` naming the problem and its position.
    """
    if not isinstance(text, str):
        raise FormulaSyntaxError("formula must be text")
    parser = _Parser(_tokenize(text), None if known_fields is None else list(known_fields))
    try:
        node = parser.parse()
    except RecursionError:  # pragma: no cover - guarded by _MAX_NESTING
        raise FormulaSyntaxError("formula nested too deeply") from None
    kinds: dict[str, str] = {}
    for name, kind in (field_kinds or {}).items():
        kinds[name] = kind
        kinds.setdefault(name.casefold(), kind)
    resolved = {ref: kinds.get(ref, kinds.get(ref.casefold(), "number")) for ref in parser.references}
    return Formula(text, frozenset(parser.references), parser.uses_today, node, resolved)
