"""CloudWatch Logs filter patterns, as subscription filters match log events with them.

The syntax and its meaning follow "Filter pattern syntax for metric filters, subscription
filters, filter log events, and Live Tail"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):

- The empty pattern matches every event.
- Terms: "You can specify multiple terms in a metric filter pattern, but all terms must
  appear in a log event for there to be a match. Metric filters are case sensitive."
  A term matches as a substring: "ERROR" matches "Exiting with ERRORCODE: -1". A quoted
  term ("Internal Server Error") matches that exact phrase; "To exclude a term, use a
  minus sign (-) before the term" (`-WARN`, `- "Exiting"`).
- OR: "Use a question mark for OR, such as `?term`": `?ERROR ?WARN` matches an event
  with either. The page does not say what a mix of `?` terms and plain terms means; here
  the plain terms are all required and at least one `?` term must appear.
- JSON: `{ SELECTOR OPERATOR VALUE }`, selectors `$.a.b`, `$.list[0].c`; strings with
  `=` / `!=` ("You can use the asterisk '*' wildcard character to match any text at,
  before, or after a search term"; `Ev*ent` matches only itself), numbers with `=`,
  `!=`, `<`, `<=`, `>`, `>=`; `IS NULL`, `NOT EXISTS`, `IS TRUE`, `IS FALSE`;
  conditions joined with `&&` and `||` ("Parenthesis are allowed and the syntax follows
  standard order of operations () > && > ||"). "The SELECTOR must point to a value node
  (string or number) in the JSON. If it points to an array or object, the filter will not
  be applied". An event that is not JSON never matches a JSON pattern.
- Regular expressions: `%regex%` on its own, or as a JSON string value.

Space-delimited patterns (`[ip, user, ...]`) are refused with `UnsupportedPattern`: the
local cloud says it can't honour them rather than deliver events AWS would not.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MISSING = object()
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SELECTOR_STEP = re.compile(r"\.([A-Za-z0-9_\-@]+)|\[(\d+)\]")
_JSON_TOKEN = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<logic>&&|\|\|)
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<quoted>"(?:[^"\\]|\\.)*")
      | (?P<regex>%[^%]+%)
      | (?P<word>[^\s()=!<>&|"]+)
    )""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class FilterPatternError(ValueError):
    """A pattern CloudWatch Logs would refuse (InvalidParameterException)."""


class UnsupportedPattern(FilterPatternError):
    """Valid on AWS, but not something the local cloud can honour."""


Matcher = Callable[[str], bool]


def compile_pattern(pattern: str | None) -> Matcher:
    """A predicate on a log event's message; raises FilterPatternError when invalid."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise FilterPatternError(f"Invalid filter pattern: {pattern}")
        return _json_matcher(_JsonParser(text[1:-1]).parse())
    if text.startswith("["):
        raise UnsupportedPattern(
            "the local cloud does not support space-delimited filter patterns "
            f"(rollout/local/filter_patterns.py): {pattern}"
        )
    if len(text) > 1 and text.startswith("%") and text.endswith("%"):
        regex = _regex(text[1:-1])
        return lambda message: regex.search(message) is not None
    return _terms_matcher(text)


# -- terms ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Terms:
    required: tuple[str, ...]
    any_of: tuple[str, ...]
    excluded: tuple[str, ...]

    def matches(self, message: str) -> bool:
        return (
            all(term in message for term in self.required)
            and (not self.any_of or any(term in message for term in self.any_of))
            and not any(term in message for term in self.excluded)
        )


def _terms_matcher(text: str) -> Matcher:
    required: list[str] = []
    any_of: list[str] = []
    excluded: list[str] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        kind = text[position] if text[position] in "?-" else ""
        position += len(kind)
        while kind == "-" and position < len(text) and text[position] == " ":
            position += 1  # `- "Exiting"`, as the page writes it
        term, position = _term(text, position)
        {"": required, "?": any_of, "-": excluded}[kind].append(term)
    return _Terms(tuple(required), tuple(any_of), tuple(excluded)).matches


def _term(text: str, position: int) -> tuple[str, int]:
    if position < len(text) and text[position] == '"':
        end = position + 1
        while end < len(text) and text[end] != '"':
            end += 2 if text[end] == "\\" else 1
        if end >= len(text):
            raise FilterPatternError(f"Invalid filter pattern (unclosed quote): {text}")
        return _unquote(text[position : end + 1]), end + 1
    end = position
    while end < len(text) and not text[end].isspace():
        end += 1
    if end == position:
        raise FilterPatternError(f"Invalid filter pattern (empty term): {text}")
    return text[position:end], end


def _unquote(quoted: str) -> str:
    return str(json.loads(quoted)) if "\\" in quoted else quoted[1:-1]


def _regex(source: str) -> re.Pattern[str]:
    try:
        return re.compile(source)
    except re.error as error:
        raise FilterPatternError(f"Invalid regular expression %{source}%: {error}") from None


# -- JSON -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    selector: tuple[str | int, ...]
    test: Callable[[Any], bool]


@dataclass(frozen=True)
class _Either:
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Both:
    left: _Node
    right: _Node


_Node = _Condition | _Either | _Both


def _json_matcher(tree: _Node) -> Matcher:
    def matches(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return _evaluate(tree, document)

    return matches


def _evaluate(node: _Node, document: Any) -> bool:
    if isinstance(node, _Either):
        return _evaluate(node.left, document) or _evaluate(node.right, document)
    if isinstance(node, _Both):
        return _evaluate(node.left, document) and _evaluate(node.right, document)
    return node.test(_select(document, node.selector))


def _select(document: Any, selector: tuple[str | int, ...]) -> Any:
    node = document
    for step in selector:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return MISSING
            node = node[step]
        else:
            if not isinstance(node, dict) or step not in node:
                return MISSING
            node = node[step]
    return node


class _JsonParser:
    """Recursive descent: expression := both ('||' both)*; both := atom ('&&' atom)*."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.index = 0

    def parse(self) -> _Node:
        tree = self._expression()
        if self.index != len(self.tokens):
            raise self._invalid("unexpected " + self.tokens[self.index][1])
        return tree

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while position < len(text):
            match = _JSON_TOKEN.match(text, position)
            if match is None or match.end() == position:
                if text[position:].strip() == "":
                    break
                raise self._invalid(text[position:])
            kind = match.lastgroup
            assert kind is not None
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise self._invalid("it ends too early")
        self.index += 1
        return token

    def _expression(self) -> _Node:
        node = self._both()
        while self._peek() == ("logic", "||"):
            self.index += 1
            node = _Either(node, self._both())
        return node

    def _both(self) -> _Node:
        node = self._atom()
        while self._peek() == ("logic", "&&"):
            self.index += 1
            node = _Both(node, self._atom())
        return node

    def _atom(self) -> _Node:
        kind, value = self._take()
        if (kind, value) == ("paren", "("):
            node = self._expression()
            if self._take() != ("paren", ")"):
                raise self._invalid("unbalanced parentheses")
            return node
        if kind != "word" or not value.startswith("$"):
            raise self._invalid(f"a condition starts with a $ selector, not {value}")
        selector = self._selector(value)
        kind, value = self._take()
        if kind == "word" and value in ("IS", "NOT"):
            return _Condition(selector, self._keyword_test(value))
        if kind != "op":
            raise self._invalid(f"expected an operator after the selector, not {value}")
        return _Condition(selector, self._value_test(value, self._take()))

    def _selector(self, text: str) -> tuple[str | int, ...]:
        steps: list[str | int] = []
        position = 1
        while position < len(text):
            match = _SELECTOR_STEP.match(text, position)
            if match is None:
                raise self._invalid(f"selector {text}")
            name, index = match.groups()
            steps.append(int(index) if index is not None else name)
            position = match.end()
        return tuple(steps)

    def _keyword_test(self, first: str) -> Callable[[Any], bool]:
        second = self._take()[1]
        if (first, second) == ("NOT", "EXISTS"):
            return lambda value: value is MISSING
        if (first, second) == ("IS", "NULL"):
            return lambda value: value is None
        if first == "IS" and second in ("TRUE", "FALSE"):
            wanted = second == "TRUE"
            return lambda value: isinstance(value, bool) and value is wanted
        raise self._invalid(f"{first} {second}")

    def _value_test(self, op: str, token: tuple[str, str]) -> Callable[[Any], bool]:
        kind, raw = token
        if kind == "word" and _NUMBER.match(raw):
            return _numeric_test(op, float(raw))
        if kind not in ("word", "quoted", "regex"):
            raise self._invalid(f"expected a value after {op}, not {raw}")
        if op not in ("=", "!="):
            raise self._invalid(f"{op} compares numbers only, not {raw}")
        text = _unquote(raw) if kind == "quoted" else raw
        return _string_test(op, text)

    def _invalid(self, detail: str) -> FilterPatternError:
        return FilterPatternError(f"Invalid filter pattern {{{self.text}}}: {detail}")


def _is_value_node(value: Any) -> bool:
    return value is not MISSING and not isinstance(value, dict | list)


def _numeric_test(op: str, number: float) -> Callable[[Any], bool]:
    compare = _COMPARE[op]

    def test(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return compare(float(value), number)

    return test


def _string_test(op: str, text: str) -> Callable[[Any], bool]:
    if text == "*":
        matcher: Callable[[str], bool] = lambda candidate: True  # noqa: E731
    elif len(text) > 1 and text.startswith("%") and text.endswith("%"):
        regex = _regex(text[1:-1])
        matcher = lambda candidate: regex.search(candidate) is not None  # noqa: E731
    else:
        leading, trailing = text.startswith("*"), text.endswith("*") and len(text) > 1
        core = text[int(leading) : len(text) - int(trailing)]
        regex = re.compile(
            ("" if leading else "^") + re.escape(core) + ("" if trailing else "$"), re.DOTALL
        )
        matcher = lambda candidate: regex.search(candidate) is not None  # noqa: E731

    def test(value: Any) -> bool:
        if not _is_value_node(value):
            return False
        found = matcher(_as_text(value))
        return found if op == "=" else not found

    return test


def _as_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
