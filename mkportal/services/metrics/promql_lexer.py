"""Tokens of PromQL: numbers, durations, identifiers, operators and decoded strings.

Comments and whitespace are dropped; strings are decoded exactly as Prometheus decodes
them (Go escapes, raw backtick strings) and `quote` writes them back unambiguously.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mkportal.services.errors import Invalid

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\n\r]+)
  | (?P<comment>\#[^\n]*)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)(?![\w.])
  | (?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))(?![\w.])
  | (?P<ident>[a-zA-Z_][a-zA-Z0-9_:]*)
  | (?P<string>"|'|`)
  | (?P<op>==|!=|=~|!~|<=|>=|[-+*/%^<>=(){}\[\],:@])
    """,
    re.VERBOSE | re.ASCII,
)
_ESCAPES = {
    "a": 7,
    "b": 8,
    "f": 12,
    "n": 10,
    "r": 13,
    "t": 9,
    "v": 11,
    "\\": 92,
    '"': 34,
    "'": 39,
}


def fail(message: str) -> Invalid:
    """Return the Invalid error of a query (field "query")."""
    return Invalid({"query": message})


@dataclass(frozen=True)
class Token:
    """One lexical token: kind (number, duration, ident, string, op, eof) and value."""

    kind: str
    value: str
    pos: int


def tokenize(query: str) -> list[Token]:
    """Split a query into tokens (comments and whitespace dropped, strings decoded).

    Raises:
        Invalid: An unknown character, an unterminated string or a bad escape.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None:
            raise fail(f"Unexpected character {query[pos]!r} at position {pos + 1}.")
        kind = m.lastgroup or ""
        if kind == "string":
            value, pos = _read_string(query, pos)
            tokens.append(Token("string", value, m.start()))
            continue
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("eof", "", len(query)))
    return tokens


def _read_string(query: str, start: int) -> tuple[str, int]:
    quote = query[start]
    pos = start + 1
    if quote == "`":
        end = query.find("`", pos)
        if end < 0:
            raise fail(f"Unterminated string at position {start + 1}.")
        return query[pos:end], end + 1
    out = bytearray()
    while pos < len(query):
        ch = query[pos]
        if ch == quote:
            try:
                return out.decode("utf-8"), pos + 1
            except UnicodeDecodeError:
                raise fail(f"Invalid UTF-8 in the string at position {start + 1}.") from None
        if ch == "\n":
            break
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            pos += 1
            continue
        pos = _read_escape(query, pos + 1, quote, out)
    raise fail(f"Unterminated string at position {start + 1}.")


def _read_escape(query: str, pos: int, quote: str, out: bytearray) -> int:
    esc = query[pos : pos + 1]
    if esc in _ESCAPES and (esc not in "\"'" or esc == quote):
        out.append(_ESCAPES[esc])
        return pos + 1
    widths = {"x": (1, 2, 16), "u": (1, 4, 16), "U": (1, 8, 16)}
    skip, width, base = widths.get(esc, (0, 3, 8))
    digits = query[pos + skip : pos + skip + width]
    allowed = "0123456789abcdefABCDEF" if base == 16 else "01234567"
    if len(digits) != width or any(d not in allowed for d in digits):
        raise fail(f"Invalid escape sequence at position {pos}.")
    code = int(digits, base)
    if esc in "uU":
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise fail(f"Invalid escape sequence at position {pos}.")
        out += chr(code).encode("utf-8")
    elif code > 255:
        raise fail(f"Invalid escape sequence at position {pos}.")
    else:
        out.append(code)
    return pos + skip + width


def quote(value: str) -> str:
    """Return `value` as a double-quoted PromQL string Prometheus decodes back exactly."""
    parts = ['"']
    for ch in value:
        if ch in '"\\':
            parts.append("\\" + ch)
        elif ch == "\n":
            parts.append("\\n")
        elif ch == "\t":
            parts.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            parts.append(f"\\x{ord(ch):02x}")
        else:
            parts.append(ch)
    parts.append('"')
    return "".join(parts)
