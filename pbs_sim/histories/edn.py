"""Reading a Jepsen history file in EDN, one operation map a line, streamed.

Owns: :func:`edn_records` -- the maps of a ``history.edn`` file (Jepsen's store writes one operation
map per line, no enclosing vector; a file that is one vector with one map per line, as
jepsen.history's README prints it, is read too), each with its line number, and the one-line
reason a line is not EDN. What the maps mean is ``pbs_sim.histories.records``.

Why a reader of our own in front of ``edn_format``: ``edn_format`` (a maintained EDN reader, ply
lexer) takes about 0.4 ms a line, 7 minutes for a 10^6-operation history, and its errors carry no
line numbers. :func:`_parse_line` reads the subset Jepsen writes -- maps, vectors, lists, sets,
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


# One token: a comment (``;`` to the end of the line), a delimiter, a string literal, a character
# literal, an atom (anything up to the next whitespace, comma or delimiter), or a stray character.
# ``findall`` skips whitespace and commas between them.
_TOKEN = re.compile(r"""(;[^\n]*)|(\#\{|\#_|[{}\[\]()])|("(?:[^"\\]|\\.)*")|(\\(?:[a-z]+|.))|([^\s,{}\[\]()";]+)|([^\s,])""")
_INT = re.compile(r"[+-]?\d+N?\Z")
_FLOAT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?M?\Z")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "backspace": "\b", "formfeed": "\f"}
_CLOSE = {"{": "}", "[": "]", "(": ")", "#{": "}"}
_OPEN = frozenset(_CLOSE)
_KEYWORDS: dict[str, Any] = {"nil": None, "true": True, "false": False}  # atoms seen, by text (keywords)


def _parse_line(text: str) -> list[Any]:
    """Every EDN form of one line (module docstring: the subset Jepsen writes), iteratively: a stack
    of open collections, ``#_`` counted per level, a tag dropped before the value it tags."""
    out: list[Any] = []
    stack: list[tuple[str, list[Any], int]] = []
    items, discards = out, 0
    kw = _KEYWORDS
    for com, delim, string, char, atom, other in _TOKEN.findall(text):
        v: Any
        if atom:
            if atom in kw:
                v = kw[atom]
            elif atom.isdigit():
                v = int(atom)
            elif atom[0] == "#":
                if len(atom) == 1:
                    raise _Unreadable(atom)
                continue  # a tag (#inst, #uuid, #object, #jepsen.history.Op): the value follows
            else:
                v = _atom(atom)
                if isinstance(v, Keyword) and len(kw) < 4096:  # a history uses a few dozen keywords
                    kw[atom] = v
        elif delim:
            if delim in _OPEN:
                stack.append((delim, items, discards))
                items, discards = [], 0
                continue
            if delim == "#_":
                discards += 1
                continue
            if not stack or discards:
                raise _Unreadable(delim)
            opener, parent, pdisc = stack.pop()
            if _CLOSE[opener] != delim:
                raise _Unreadable(delim)
            v = _collection(opener, items)
            items, discards = parent, pdisc
        elif string:
            v = _string(string)
        elif com:
            continue
        elif char:
            name = char[1:]
            v = _CHARS[name] if name in _CHARS else name if len(name) == 1 else _bad(char)
        else:
            raise _Unreadable(other)
        if discards:
            discards -= 1
            continue
        items.append(v)
    if stack or discards:
        raise _Unreadable("end of line inside a form")
    return out


def _collection(opener: str, items: list[Any]) -> Any:
    if opener == "{":
        if len(items) % 2:
            raise _Unreadable("odd map")
        try:
            return dict(zip(items[::2], items[1::2], strict=True))
        except TypeError:  # an unhashable key (a vector as a map key): edn_format's business
            raise _Unreadable("key") from None
    if opener == "#{":
        try:
            return frozenset(items)
        except TypeError:
            raise _Unreadable("set") from None
    return items


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
        return _parse_line(text)
    except (_Unreadable, IndexError, ValueError, KeyError):
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
    depth = 0
    for tok in _TOKEN.findall(text):
        delim = tok[1]
        if delim in _OPEN:
            depth += 1
        elif delim in ("}", "]", ")"):
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


__all__ = ["Keyword", "edn_records"]
