"""The query language, text to AST: a small tokenizer and a recursive-descent parser.

whoosh.qparser is deliberately not used: it accepts any field name, expands wildcards
and recurses without bound. Here every construct is explicit, an unknown ``foo:bar`` is
plain text, ``*``/``?`` are ordinary characters, and the only exception that can leave
`parse` is `QueryError`. Nothing here imports Whoosh; `query_compile` turns the AST into
a Whoosh query.

Syntax (see `parse`): words (all required), "phrases" (also “” 「」 『』 《》), OR / |,
-word / NOT word, parentheses (depth ≤ 8), and the fields title: agency:/机构:
year:/年份: classification:/分类: type:/类型: 文号:/doc_no:.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.chinese.normalize import normalize
from search_app.search.types import MAX_QUERY_CHARS, QueryError

MAX_DEPTH = 8
# Field names (normalised: lower case, NFKC) → canonical field.
FIELD_NAMES = {
    "title": "title", "标题": "title",
    "agency": "agency", "机构": "agency",
    "year": "year", "年份": "year",
    "classification": "classification", "分类": "classification",
    "type": "doc_type", "类型": "doc_type",
    "文号": "doc_no", "doc_no": "doc_no",
}
# Quote pairs, as they are after normalisation: ＂ is ", and the normaliser's Traditional
# table turns 「」 into “” and 『』 into ‘’.
QUOTES = {'"': '"', "“": "”", "‘": "’", "《": "》", "”": "”"}
_CLOSERS = set(QUOTES.values())
YEAR_MIN, YEAR_MAX = 1000, 2999
_YEAR_RE = re.compile(r"^\s*(\d{4})\s*(?:(?:-|–|—|~|\.\.|至|到)\s*(\d{4}))?\s*$")

# --- AST ---------------------------------------------------------------------------

@dataclass
class Text:
    """Plain words, analysed; ``field`` is None (title or body) or "title"."""
    raw: str
    field: str | None = None


@dataclass
class Phrase:
    raw: str
    field: str | None = None


@dataclass
class FieldValue:
    """agency / year / classification / doc_type / doc_no with its raw value."""
    field: str
    raw: str
    quoted: bool = False


@dataclass
class And:
    children: list


@dataclass
class Or:
    children: list


@dataclass
class Not:
    child: object


# --- tokenizer ---------------------------------------------------------------------

@dataclass
class Tok:
    kind: str  # "(" ")" "or" "not" "phrase" "field" "text"
    raw: str = ""
    name: str = ""  # field name for "field"
    quoted: bool = False
    neg: bool = False  # a leading '-' on this term


def _closing_paren(norm: str, i: int) -> int:
    """Index of the ')' closing the '(' at i when nothing between is a space, else -1."""
    depth = 0
    for j in range(i, len(norm)):
        ch = norm[j]
        if ch.isspace():
            return -1
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j
    return -1


def tokenize(q: str) -> list[Tok]:
    """Tokens of *q*. Structure is read from the normalised text (full-width （ ｜ ＂
    are ( | "), values are sliced from the raw text: normalisation keeps lengths."""
    norm = normalize(q)
    toks: list[Tok] = []
    i, n = 0, len(norm)
    while i < n:
        ch = norm[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            toks.append(Tok(ch))
            i += 1
            continue
        if ch == "|":
            toks.append(Tok("or"))
            i += 1
            continue
        neg = False
        if ch == "-" and i + 1 < n and not norm[i + 1].isspace() and norm[i + 1] != "-":
            neg, i = True, i + 1
            ch = norm[i]
        elif ch == "-":
            i += 1  # a lone '-' means nothing
            continue
        if ch in QUOTES:
            close = QUOTES[ch]
            end = norm.find(close, i + 1)
            end = n if end < 0 else end  # unclosed quote: the rest of the query
            toks.append(Tok("phrase", q[i + 1:end], neg=neg))
            i = end + 1
            continue
        if ch in "()|":  # '-(' : negate a group
            if neg and ch == "(":
                toks.append(Tok("not"))
            continue
        # A bare term: up to whitespace or a special character; a '(' inside a word
        # whose ')' comes before any space is literal (赣府发(2020)2号, 通知(征求意见稿)).
        j = i
        while j < n and not norm[j].isspace():
            c = norm[j]
            if c == "(":
                close = _closing_paren(norm, j) if j > i else -1
                if close > 0:
                    j = close + 1
                    continue
                break
            if c in ")|" or c in QUOTES or c in _CLOSERS:
                break
            j += 1
        if j == i:  # a special character that could not start a term
            i += 1
            continue
        word_norm, word_raw = norm[i:j], q[i:j]
        if word_raw == "OR" and not neg:
            toks.append(Tok("or"))
        elif word_raw == "AND" and not neg:
            pass  # AND is the default
        elif word_raw == "NOT" and not neg:
            toks.append(Tok("not"))
        else:
            colon = word_norm.find(":")
            name = word_norm[:colon] if colon > 0 else ""
            if name in FIELD_NAMES:
                value = word_raw[colon + 1:]
                if not value and j < n and norm[j] in QUOTES:  # field:"quoted value"
                    close = QUOTES[norm[j]]
                    end = norm.find(close, j + 1)
                    end = n if end < 0 else end
                    toks.append(Tok("field", q[j + 1:end], FIELD_NAMES[name], True, neg))
                    i = end + 1
                    continue
                if value:
                    toks.append(Tok("field", value, FIELD_NAMES[name], False, neg))
                # "title:" alone says nothing
            else:
                toks.append(Tok("text", word_raw, neg=neg))
        i = j
    return toks


# --- parser ------------------------------------------------------------------------

class _Parser:
    def __init__(self, toks: list[Tok]):
        self.toks = toks
        self.i = 0

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self):
        node = self.or_expr(0)
        while self.peek() is not None:  # a stray ')' : skip it and go on
            self.i += 1
            more = self.or_expr(0)
            if more is not None:
                node = more if node is None else And([node, more])
        return node

    def or_expr(self, depth: int):
        parts = []
        while True:
            node = self.and_expr(depth)
            if node is not None:
                parts.append(node)
            tok = self.peek()
            if tok is not None and tok.kind == "or":
                self.i += 1
                continue  # a lone OR (leading, trailing, doubled) is dropped
            break
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Or(parts)

    def and_expr(self, depth: int):
        parts = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind in (")", "or"):
                break
            node = self.unary(depth)
            if node is not None:
                parts.append(node)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(parts)

    def unary(self, depth: int):
        negate = False
        while (tok := self.peek()) is not None and tok.kind == "not":
            negate = not negate
            self.i += 1
        tok = self.peek()
        if tok is None or tok.kind in (")", "or"):
            return None
        node = self.primary(depth)
        if node is None:
            return None
        return Not(node) if negate else node

    def primary(self, depth: int):
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "(":
            if depth + 1 > MAX_DEPTH:
                raise QueryError("nesting-too-deep",
                                 f"parentheses nest deeper than {MAX_DEPTH} levels")
            node = self.or_expr(depth + 1)
            if self.peek() is not None and self.peek().kind == ")":
                self.i += 1
            return node  # an unclosed '(' closes at the end
        if tok.kind == "phrase":
            node = Phrase(tok.raw) if tok.raw.strip() else None
        elif tok.kind == "field":
            if tok.name == "title":
                node = Phrase(tok.raw, "title") if tok.quoted else Text(tok.raw, "title")
            else:
                node = FieldValue(tok.name, tok.raw, tok.quoted)
        else:
            node = Text(tok.raw)
        if node is not None and tok.neg:
            return Not(node)
        return node


def parse(q: str):
    """The AST of *q* (None when it has nothing to search for)."""
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError("query-too-long",
                         f"the query is longer than {MAX_QUERY_CHARS} characters")
    return _Parser(tokenize(q)).parse()


def parse_year(raw: str) -> tuple[int, int]:
    """"2020" → (2020, 2020); "2018-2020" → (2018, 2020); anything else: QueryError."""
    m = _YEAR_RE.match(normalize(str(raw)))
    if not m:
        raise QueryError("bad-year", f"not a year or year range: {raw!r}")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    if lo > hi:
        lo, hi = hi, lo
    if lo < YEAR_MIN or hi > YEAR_MAX:
        raise QueryError("bad-year", f"year out of range: {raw!r}")
    return lo, hi
