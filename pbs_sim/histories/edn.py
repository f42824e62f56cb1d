"""Reading a Jepsen history file in EDN, one operation map a line, streamed.

Owns: :func:`edn_records` -- the maps of a ``history.edn`` file (Jepsen's store writes one operation
map per line, no enclosing vector; a file that is one vector with one map per line, as
jepsen.history's README prints it, is read too), each with its line number, and the one-line
reason a line is not EDN. What the maps mean is ``pbs_sim.histories.records``.

Why a reader of our own in front of ``edn_format``: ``edn_format`` (a maintained EDN reader, ply
lexer) takes about 0.4 ms a line, 7 minutes for a 10^6-operation history, and its errors carry no
line numbers. :func:`parse_form` reads the subset Jepsen writes -- maps, vectors, lists, sets,
keywords, strings, numbers, ``nil``/``true``/``false``, symbols, characters, ``#_`` discards, and
tagged values (``#jepsen.history.Op{...}``, ``#object[...]``: the tag is dropped, the value kept) --
about 30x faster. A line it cannot read goes to ``edn_format``: if that reads it, its value is
used (our subset was too narrow); otherwise ``edn_format``'s reason is the error, with our line
number. So ``edn_format`` stays the judge of what is EDN.
Must not touch: what a history means, the checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError


class Keyword(str):
    """An EDN keyword, kept as its name (``:ok`` -> ``Keyword("ok")``); a ``str`` so that maps look
    up by name, distinct from an EDN string by type."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f":{str(self)}"


class _Unreadable(Exception):
    """Our subset reader gave up on a line (the fallback decides whether it is EDN)."""


# One token: a delimiter, a string literal, a character literal, or an atom (anything up to the next
# whitespace, comma or delimiter). ``;`` starts a comment to the end of the line.
_TOKEN = re.compile(r"""[\s,]*(?:(;[^\n]*)|(\#\{|\#_|[{}\[\]()])|("(?:[^"\\]|\\.)*")|(\\(?:[a-z]+|.))|([^\s,{}\[\]()";]+)|(\S))""")
_INT = re.compile(r"[+-]?\d+N?\Z")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?\Z")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "backspace": "\b", "formfeed": "\f"}
_CLOSE = {"{": "}", "[": "]", "(": ")", "#{": "}"}


def _tokens(text: str) -> list[tuple[int, str]]:
    """(kind, text) per token: 0 delimiter, 1 string, 2 character, 3 atom."""
    out: list[tuple[int, str]] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:  # only whitespace left
            break
        pos = m.end()
        if m.group(1) is not None:
            continue
        if m.group(2) is not None:
            out.append((0, m.group(2)))
        elif m.group(3) is not None:
            out.append((1, m.group(3)))
        elif m.group(4) is not None:
            out.append((2, m.group(4)))
        elif m.group(5) is not None:
            out.append((3, m.group(5)))
        elif m.group(6) is not None:
            raise _Unreadable(m.group(6))
        else:
            break
    return out


def _string(tok: str) -> str:
    body = tok[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            e = body[i + 1]
            if e == "u":
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            if e not in _ESCAPES:
                raise _Unreadable(tok)
            out.append(_ESCAPES[e])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _atom(tok: str) -> Any:
    if tok == "nil":
        return None
    if tok == "true":
        return True
    if tok == "false":
        return False
    if tok[0] == ":":
        if len(tok) == 1:
            raise _Unreadable(tok)
        return Keyword(tok[1:])
    if _INT.match(tok):
        return int(tok.rstrip("N"))
    if _FLOAT.match(tok):
        return float(tok.rstrip("M"))
    if tok[0] == "#":  # a tag: read by the caller
        return tok
    if tok[0].isdigit():
        raise _Unreadable(tok)  # 12abc, 0x1F, 1/2: leave them to edn_format
    return tok  # a symbol, kept as its name


def parse_form(toks: list[tuple[int, str]], i: int) -> tuple[Any, int]:
    """One EDN value from ``toks`` at ``i``; returns it and the next index."""
    if i >= len(toks):
        raise _Unreadable("end of line inside a form")
    kind, tok = toks[i]
    if kind == 1:
        return _string(tok), i + 1
    if kind == 2:
        name = tok[1:]
        return (_CHARS[name] if name in _CHARS else name if len(name) == 1 else _bad(tok)), i + 1
    if kind == 3:
        if tok[0] == "#" and len(tok) > 1:  # #inst "...", #uuid "...", #object[...], #jepsen.history.Op{...}
            return parse_form(toks, i + 1)
        return _atom(tok), i + 1
    if tok == "#_":
        _, j = parse_form(toks, i + 1)
        return parse_form(toks, j)
    if tok not in _CLOSE:
        raise _Unreadable(tok)
    close = _CLOSE[tok]
    items: list[Any] = []
    j = i + 1
    while True:
        if j >= len(toks):
            raise _Unreadable("end of line inside a form")
        k2, t2 = toks[j]
        if k2 == 0 and t2 in ("}", "]", ")"):
            if t2 != close:
                raise _Unreadable(t2)
            j += 1
            break
        if k2 == 0 and t2 == "#_":
            _, j = parse_form(toks, j + 1)
            continue
        v, j = parse_form(toks, j)
        items.append(v)
    if tok == "{":
        if len(items) % 2:
            raise _Unreadable("odd map")
        try:
            return dict(zip(items[::2], items[1::2], strict=True)), j
        except TypeError:  # an unhashable key (a vector as a map key): edn_format's business
            raise _Unreadable("key") from None
    if tok == "#{":
        try:
            return frozenset(items), j
        except TypeError:
            raise _Unreadable("set") from None
    return items, j


def _bad(tok: str) -> Any:
    raise _Unreadable(tok)


def _fallback(text: str) -> Any:
    """``edn_format``'s reading of ``text`` (converted to our types), or its reason as ValueError."""
    import edn_format

    try:
        forms = edn_format.loads_all(text)
    except Exception as exc:  # EDNDecodeError, NotImplementedError (an unknown tag), ...: one reason
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"not EDN: {reason}") from None
    return [_convert(f) for f in forms]


def _convert(x: Any) -> Any:
    import edn_format

    if isinstance(x, edn_format.Keyword):
        return Keyword(x.name)
    if isinstance(x, edn_format.Symbol):
        return str(x)
    if isinstance(x, (str, bytes)):
        return str(x)
    if isinstance(x, Mapping):
        return {_convert(k): _convert(v) for k, v in x.items()}
    if isinstance(x, (set, frozenset)):
        return frozenset(_convert(v) for v in x)
    if isinstance(x, Sequence):
        return [_convert(v) for v in x]
    return x


def _line_forms(text: str) -> list[Any]:
    try:
        toks = _tokens(text)
        forms: list[Any] = []
        i = 0
        while i < len(toks):
            v, i = parse_form(toks, i)
            forms.append(v)
        return forms
    except (_Unreadable, IndexError, ValueError):
        return _fallback(text)


def edn_records(path: str | Path) -> Iterator[tuple[int, dict[Any, Any]]]:
    """(line number, map) for each operation map of the EDN history at ``path``, streamed line by
    line (module docstring). A line that is not EDN, holds something other than one map, or breaks
    the enclosing vector, is a :class:`ConfigError` naming the file, the line and the reason."""
    p = Path(path)
    in_vector = None  # unknown until the first form: a bare sequence of maps, or one vector of them
    closed = False
    from .records import text_lines

    line_no = 0
    for line_no, text in text_lines(p):
        stripped = text.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if closed:
            raise ConfigError(str(p), None, f"line {line_no}: text after the history's closing ]")
        if in_vector is None:
            in_vector = stripped.startswith("[") and stripped[1:].lstrip()[:1] in ("{", "#", "")
            if in_vector:
                stripped = stripped[1:]
        if in_vector and stripped.endswith("]") and _closes(stripped):
            stripped, closed = stripped[:-1], True
        try:
            forms = _line_forms(stripped)
        except ValueError as exc:
            raise ConfigError(str(p), None, f"line {line_no}: {exc}") from None
        if not forms and closed:
            continue
        if len(forms) != 1:
            what = "nothing" if not forms else f"{len(forms)} forms"
            raise ConfigError(str(p), None, f"line {line_no}: {what}; expected one operation map a line "
                                            "(as Jepsen writes history.edn)")
        rec = forms[0]
        if not isinstance(rec, dict):
            raise ConfigError(str(p), None, f"line {line_no}: {_kind(rec)}; expected an operation map "
                                            "{:type ..., :f ..., :value ..., :process ...}")
        yield line_no, rec
    if in_vector and not closed:
        raise ConfigError(str(p), None, f"line {line_no}: the history's vector is not closed (a truncated file?)")


def _closes(text: str) -> bool:
    """Whether the final ``]`` of ``text`` closes the enclosing vector rather than a vector of the map
    (the map's own brackets balance without it)."""
    try:
        toks = _tokens(text)
    except _Unreadable:
        return True
    depth = 0
    for kind, tok in toks:
        if kind == 0 and tok in ("{", "[", "(", "#{"):
            depth += 1
        elif kind == 0 and tok in ("}", "]", ")"):
            depth -= 1
    return depth < 0


def _kind(x: Any) -> str:
    if isinstance(x, list):
        return "a vector"
    if isinstance(x, Keyword):
        return f"the keyword {x!r}"
    if x is None:
        return "nil"
    return f"{type(x).__name__} {x!r}"


__all__ = ["Keyword", "edn_records", "parse_form"]
