"""User queries to FTS5 expressions: FTS5 syntax is kept, everything else is made literal.

People type ``foo-bar``, ``100%`` or ``src/login.py`` into a search box; raw FTS5 rejects all three. Each word
that is not valid FTS5 syntax is quoted (FTS5 then matches its words as a phrase), so only real mistakes, an
unclosed quote or parenthesis or a dangling operator, are errors, and those say what to fix.
"""

from __future__ import annotations

import re
import sqlite3

import peewee

MAX_QUERY_CHARS = 1000
SYNTAX_HELP = ('Search syntax: words (all must match), "an exact phrase", prefix* (words starting with prefix), '
               "OR, NOT, NEAR(word1 word2, 10) and parentheses.")
_OPERATORS = frozenset({"AND", "OR", "NOT"})
# FTS5 barewords: ASCII letters, digits, "_", \x1a and any non-ASCII character; "^" anchors, "*" makes a prefix
_BAREWORD = re.compile("\\^?[0-9A-Za-z_\x1a\u0080-\U0010ffff]+\\*?")
_PUNCTUATION = "(),"
# FTS5's messages about the expression (fts5_expr.c); any other error is the archive's, not the query's
_SQLITE_SYNTAX = ("fts5", "unterminated string", "no such column", "unknown special query", "expected integer")


class SearchSyntaxError(ValueError):
    """The query is not valid search syntax; the message says where and how to write it."""


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _has_word(text: str) -> bool:
    """FTS5's tokenizer indexes letters and digits only: a word without any would match nothing."""
    return any(ch.isalnum() for ch in text)


def _quoted(query: str, start: int) -> tuple[str, int]:
    """The double-quoted phrase starting at ``start`` (``""`` inside is a literal quote) and the index after it."""
    i = start + 1
    while True:
        end = query.find('"', i)
        if end < 0:
            raise SearchSyntaxError(f"The phrase starting at character {start + 1} has no closing double quote. "
                                    + SYNTAX_HELP)
        if query.startswith('""', end):
            i = end + 2
            continue
        end += 1
        if query.startswith("*", end):
            end += 1
        return query[start:end], end


def _tokens(query: str) -> list[str]:
    tokens: list[str] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            token, i = _quoted(query, i)
            tokens.append(token)
        elif ch in _PUNCTUATION:
            tokens.append(ch)
            i += 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '"' + _PUNCTUATION:
                j += 1
            word, i = query[i:j], j
            if word in _OPERATORS or (word == "NEAR" and query.startswith("(", j)):
                tokens.append(word)
            elif not _has_word(word):
                continue  # e.g. "-" or an emoji: no letters or digits, so nothing in the index could match it
            elif _BAREWORD.fullmatch(word):
                tokens.append(word)
            else:
                tokens.append(_phrase(word))  # foo-bar, 100%, a.b, src/x.py: searched as the words they contain
    return tokens


def _join(tokens: list[str]) -> str:
    out: list[str] = []
    for token in tokens:
        if out and ((out[-1] == "NEAR" and token == "(") or token in ",)" or out[-1] == "("):
            out[-1] += token
        else:
            out.append(token)
    return " ".join(out)


def to_fts(query: str, lenient: bool = False) -> str | None:
    """The FTS5 expression for ``query``. Strict (``/api/search``): raises SearchSyntaxError on mistakes.
    ``lenient`` (a filter box): a query that is not valid syntax is searched as one literal phrase; None when
    there is nothing to search for."""
    text = query.strip()
    if len(text) > MAX_QUERY_CHARS:
        raise SearchSyntaxError(f"The query is longer than {MAX_QUERY_CHARS} characters.")
    try:
        tokens = _tokens(text)
        if not any(t not in _OPERATORS and t not in _PUNCTUATION and t != "NEAR" for t in tokens):
            raise SearchSyntaxError("Nothing to search for: the query has no words (letters or digits). "
                                    + SYNTAX_HELP)
        return _join(tokens)
    except SearchSyntaxError:
        if not lenient:
            raise
        return _phrase(text) if _has_word(text) else None


def literal(query: str) -> str | None:
    """The whole query as one phrase (the lenient fallback when FTS5 itself rejects the expression)."""
    text = query.strip()
    return _phrase(text) if _has_word(text) else None


def is_syntax_error(exc: Exception) -> bool:
    """Whether an SQLite error raised by MATCH is about the query (400), not about the archive (500)."""
    return isinstance(exc, sqlite3.OperationalError | peewee.OperationalError) and str(exc).startswith(_SQLITE_SYNTAX)


def explain(exc: Exception) -> SearchSyntaxError:
    """A SearchSyntaxError from FTS5's own message (``fts5: syntax error near "AND"``)."""
    message = str(exc)
    near = re.search(r'near "(.*)"', message)
    if near is not None:
        where = f'near "{near.group(1)}"' if near.group(1) else "at the end of the query"
        return SearchSyntaxError(f"Search syntax error {where}: check for a dangling AND/OR/NOT or an unclosed "
                                 f"parenthesis. {SYNTAX_HELP}")
    return SearchSyntaxError(f"Search syntax error ({message}). {SYNTAX_HELP}")

