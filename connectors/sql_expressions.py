"""Figure expressions from ``erp.toml``, parsed and rebuilt as SQLAlchemy expressions.

A config file is not a place for SQL: an expression such as ::

    SUM(lines.quantity * lines.unit_price * (100 - COALESCE(lines.discount, 0)) / 100)

is read by a small grammar (arithmetic, comparisons, ``AND``/``OR``/``NOT``, ``IS [NOT] NULL``,
``CASE WHEN … THEN … ELSE … END``, ``COALESCE``, ``NULLIF``, ``ROUND`` and the aggregates
``SUM``, ``COUNT`` (``*`` and ``DISTINCT``), ``MIN``, ``MAX``, ``AVG``) and rebuilt from
SQLAlchemy constructs: every column is a ``table.column`` name resolved against the tables the
config declares (so it is quoted by the dialect), every string a bound parameter, every number
checked digit by digit. Nothing of the text reaches the database as written: no sub-query, no
function outside that list, no comment or second statement can pass.

Every column reference sits inside an aggregate (a figure is one value per customer), no
aggregate inside another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Numeric, String, and_, bindparam, case, func, literal_column, not_, or_
from sqlalchemy.sql.elements import ColumnElement

Resolve = Callable[[str, str], ColumnElement[Any]]  # (table, column) -> the column

AGGREGATES = ("SUM", "COUNT", "MIN", "MAX", "AVG")
SCALARS = ("COALESCE", "NULLIF", "ROUND")
_KEYWORDS = {"CASE", "WHEN", "THEN", "ELSE", "END", "AND", "OR", "NOT", "IS", "NULL",
             "DISTINCT", *AGGREGATES, *SCALARS}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|[-+*/(),.=<>])
""", re.VERBOSE)
MAX_LENGTH = 2000


class ExpressionError(ValueError):
    """An expression the grammar refuses; ``position`` is the 1-based character."""

    def __init__(self, message: str, position: int) -> None:
        self.position = position
        super().__init__(f"{message} (at character {position})")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number | string | name | keyword | op | end
    text: str  # keywords in upper case
    at: int
    raw: str = ""  # as written


@dataclass(frozen=True, slots=True)
class Figure:
    """A parsed expression: the SQLAlchemy expression and the tables its columns come from."""

    expression: ColumnElement[Any]
    tables: frozenset[str]


def tables_of(text: str) -> frozenset[str]:
    """The tables an expression names (``table.column``), without resolving them.

    :raises ExpressionError: the expression does not parse.
    """
    seen: set[str] = set()

    def note(table: str, column: str) -> ColumnElement[Any]:
        seen.add(table)
        return literal_column("0")

    parse_figure(text, note)
    return frozenset(seen)


def parse_figure(text: str, resolve: Resolve) -> Figure:
    """``text`` as a SQLAlchemy expression; ``resolve`` turns ``table.column`` into a column
    (raising ``ExpressionError``/``KeyError`` for one it does not know).

    :raises ExpressionError: outside the grammar, a column outside an aggregate, an aggregate in
        an aggregate, or no aggregate at all.
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters", MAX_LENGTH)
    parser = _Parser(_tokens(text), resolve)
    expression = parser.expression()
    parser.expect_end()
    if not parser.aggregated:
        raise ExpressionError("a figure needs an aggregate (SUM, COUNT, MIN, MAX, AVG)", 1)
    return Figure(expression, frozenset(parser.tables))


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise ExpressionError(f"unexpected character {text[at]!r}", at + 1)
        kind = match.lastgroup or ""
        word = match.group()
        if kind == "name" and word.upper() in _KEYWORDS:
            out.append(_Token("keyword", word.upper(), at + 1, word))
        elif kind != "space":
            out.append(_Token(kind, word, at + 1, word))
        at = match.end()
    out.append(_Token("end", "", len(text) + 1))
    return out


class _Parser:
    """Recursive descent, one method per precedence level (lowest first)."""

    def __init__(self, tokens: list[_Token], resolve: Resolve) -> None:
        self.tokens = tokens
        self.i = 0
        self.resolve = resolve
        self.in_aggregate = False
        self.aggregated = False
        self.tables: set[str] = set()

    # --- token plumbing ----------------------------------------------------------------------

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def take(self, *texts: str) -> _Token | None:
        if self.token.text in texts and self.token.kind in ("keyword", "op"):
            token = self.token
            self.i += 1
            return token
        return None

    def need(self, text: str) -> _Token:
        token = self.take(text)
        if token is None:
            raise ExpressionError(f"expected {text!r}, found {self.token.text or 'the end'!r}",
                                  self.token.at)
        return token

    def expect_end(self) -> None:
        if self.token.kind != "end":
            raise ExpressionError(f"unexpected {self.token.text!r}", self.token.at)

    # --- grammar -----------------------------------------------------------------------------

    def expression(self) -> ColumnElement[Any]:
        left = self.conjunction()
        while self.take("OR"):
            left = or_(left, self.conjunction())
        return left

    def conjunction(self) -> ColumnElement[Any]:
        left = self.negation()
        while self.take("AND"):
            left = and_(left, self.negation())
        return left

    def negation(self) -> ColumnElement[Any]:
        if self.take("NOT"):
            return not_(self.negation())
        return self.comparison()

    def comparison(self) -> ColumnElement[Any]:
        left = self.sum()
        if self.take("IS"):
            negated = self.take("NOT") is not None
            self.need("NULL")
            return left.is_not(None) if negated else left.is_(None)
        op = self.take("=", "<>", "!=", "<", "<=", ">", ">=")
        if op is None:
            return left
        right = self.sum()
        return {
            "=": lambda: left == right, "<>": lambda: left != right,
            "!=": lambda: left != right, "<": lambda: left < right,
            "<=": lambda: left <= right, ">": lambda: left > right,
            ">=": lambda: left >= right,
        }[op.text]()

    def sum(self) -> ColumnElement[Any]:
        left = self.product()
        while (op := self.take("+", "-")) is not None:
            right = self.product()
            left = left + right if op.text == "+" else left - right
        return left

    def product(self) -> ColumnElement[Any]:
        left = self.unary()
        while (op := self.take("*", "/")) is not None:
            right = self.unary()
            left = left * right if op.text == "*" else left / right
        return left

    def unary(self) -> ColumnElement[Any]:
        if self.take("-"):
            return -self.unary()
        return self.primary()

    def primary(self) -> ColumnElement[Any]:
        token = self.token
        if token.kind == "number":
            self.i += 1
            kind = Numeric(asdecimal=True) if "." in token.text else None
            return literal_column(token.text, kind) if kind else literal_column(token.text)
        if token.kind == "string":
            self.i += 1
            return bindparam(None, token.text[1:-1].replace("''", "'"), type_=String())
        if self.take("("):
            inner = self.expression()
            self.need(")")
            return inner
        if self.take("NULL"):
            return literal_column("NULL")
        if self.take("CASE"):
            return self.case()
        if token.kind == "keyword" and token.text in AGGREGATES:
            self.i += 1
            return self.aggregate(token)
        if token.kind == "keyword" and token.text in SCALARS:
            self.i += 1
            return self.scalar(token)
        if token.kind == "name":
            return self.column()
        raise ExpressionError(f"unexpected {token.text or 'end'!r}", token.at)

    def case(self) -> ColumnElement[Any]:
        whens: list[tuple[Any, Any]] = []
        while self.take("WHEN"):
            condition = self.expression()
            self.need("THEN")
            whens.append((condition, self.expression()))
        if not whens:
            raise ExpressionError("CASE needs WHEN … THEN …", self.token.at)
        otherwise = self.expression() if self.take("ELSE") else None
        self.need("END")
        return case(*whens, else_=otherwise)

    def aggregate(self, name: _Token) -> ColumnElement[Any]:
        if self.in_aggregate:
            raise ExpressionError(f"{name.text} inside another aggregate", name.at)
        self.need("(")
        if name.text == "COUNT" and self.take("*"):
            self.need(")")
            self.aggregated = True
            return func.count()
        distinct = self.take("DISTINCT") is not None
        self.in_aggregate = True
        try:
            argument = self.expression()
        finally:
            self.in_aggregate = False
        self.need(")")
        self.aggregated = True
        if distinct:
            argument = argument.distinct()
        return getattr(func, name.text.lower())(argument)  # type: ignore[no-any-return]

    def scalar(self, name: _Token) -> ColumnElement[Any]:
        self.need("(")
        args = [self.expression()]
        while self.take(","):
            args.append(self.expression())
        self.need(")")
        wanted = {"COALESCE": (2, 10), "NULLIF": (2, 2), "ROUND": (1, 2)}[name.text]
        if not wanted[0] <= len(args) <= wanted[1]:
            raise ExpressionError(f"{name.text} takes {wanted[0]} to {wanted[1]} arguments",
                                  name.at)
        return getattr(func, name.text.lower())(*args)  # type: ignore[no-any-return]

    def column(self) -> ColumnElement[Any]:
        table = self.token
        self.i += 1
        if not self.take("."):
            raise ExpressionError(f"write columns as table.column ({table.text!r})", table.at)
        column = self.token
        if column.kind not in ("name", "keyword"):
            raise ExpressionError("a column name after the dot", column.at)
        self.i += 1
        if not self.in_aggregate:
            raise ExpressionError(f"{table.raw}.{column.raw} outside an aggregate: a figure "
                                  "is one value per customer", table.at)
        try:
            resolved = self.resolve(table.raw, column.raw)
        except KeyError as exc:
            raise ExpressionError(str(exc.args[0]) if exc.args else "unknown column",
                                  table.at) from None
        self.tables.add(table.raw)
        return resolved
