"""The query language: a small tokenizer and recursive-descent parser → a typed AST →
a Whoosh query.

whoosh.qparser is deliberately not used: it accepts any field name, expands wildcards
and recurses without bound. Here every construct is explicit, an unknown ``foo:bar`` is
plain text, ``*``/``?`` are ordinary characters, and the only exception that can leave
`parse` or `compile_query` is `QueryError`.

Syntax (see `parse`): words (all required), "phrases" (also “” 「」 『』 《》), OR / |,
-word / NOT word, parentheses (depth ≤ 8), and the fields title: agency:/机构:
year:/年份: classification:/分类: type:/类型: 文号:/doc_no:.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import query as wq

from indexer.analysis import phrase_grams, words
from indexer.fields import DOC_NO_RE, normalize_doc_no
from indexer.normalize import is_traditional, localize_query, normalize
from indexer.segment import subwords
from search_app.search.types import MAX_QUERY_CHARS, MAX_QUERY_TERMS, QueryError

MAX_DEPTH = 8
# One-character function words: left out of the required words unless they are the
# whole query (购房的条件 needs 购房 and 条件, not 的).
STOP_CHARS = frozenset("的了和与及之在是对等为于中")
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

# Boosts of the optional clauses that lift better matches (BM25F does the rest).
PHRASE_BONUS = 2.0
EXACT_TITLE_BONUS = 4.0
DOC_NO_BONUS = 8.0
TITLE_ALL_BONUS = 2.0


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


# --- compilation ---------------------------------------------------------------------

@dataclass
class Compiled:
    """A compiled query and what ranking, relaxation and highlighting need from it."""
    query: wq.Query | None  # None: nothing to match on (browse)
    scored: bool = False  # has words or phrases (relevance means something)
    # The required top-level word units: (label, whoosh query); relaxation drops these.
    units: list[tuple[str, wq.Query]] = field(default_factory=list)
    rest: list[wq.Query] = field(default_factory=list)  # other top-level requirements
    bonus: list[wq.Query] = field(default_factory=list)  # optional clauses
    marks: set[str] = field(default_factory=set)  # normalised strings to highlight
    # Marks that are short words: highlighted only where they are words (not 民政 in 人民政府).
    word_marks: set[str] = field(default_factory=set)
    terms: int = 0


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def exact_phrase(text: str, fields=("title_exact", "body_exact"), boost=1.0):
    """Documents whose normalised text (spaces ignored) contains *text*; None if empty."""
    grams = phrase_grams(text)
    if not grams:
        return None
    qs = []
    for f in fields:
        if len(grams) == 1 and len(grams[0]) == 1:
            # One character: any bigram starting with it (the vocabulary of a bigram field
            # has at most a few thousand such terms), or the text's last character alone.
            qs.append(wq.Prefix(f, grams[0]))
        elif len(grams) == 1:
            qs.append(wq.Term(f, grams[0]))
        else:
            qs.append(wq.Phrase(f, grams))
    q = qs[0] if len(qs) == 1 else wq.Or(qs)
    if boost != 1.0:
        q = q.with_boost(boost)
    return q


def _tiling(word: str) -> list[str]:
    """The top-level pieces of *word* (dictionary sub-words, lone characters between)."""
    subs = subwords(word)
    top = [(s, i, j) for s, i, j in subs
           if not any(i2 <= i and j <= j2 and (i2, j2) != (i, j) for _, i2, j2 in subs)]
    if not top:
        return []
    top.sort(key=lambda p: p[1])
    out, pos = [], 0
    for s, i, j in top:
        out.extend(word[pos:i])
        out.append(s)
        pos = j
    out.extend(word[pos:])
    return out if len(out) > 1 else []


def word_query(w: str, fields=("title", "body")) -> wq.Query:
    """One query word: the word itself, or its exact characters in a long word
    (≥ 4 characters: 住房公积金管理中心 cut as 住房公积金/管理中心 or 住房/公积金管理中心),
    or, for a three-character word, its dictionary pieces in a row *and* its characters
    (the pieces alone would match 购房人资格 for 购房资格: a sub-word is indexed at its
    parent's position). A two-character word is only ever the word: 民政 never matches
    the 民政 inside 人民政府."""
    alts: list[wq.Query] = [wq.Term(f, w) for f in fields]
    exact_fields = tuple(f + "_exact" for f in fields)
    cjk = all(_is_cjk(c) for c in w)
    if len(w) >= 4 and cjk:
        alts.append(exact_phrase(w, exact_fields))
    elif len(w) == 3 and cjk:
        pieces = _tiling(w)
        if pieces:
            in_row = [wq.Phrase(f, pieces) for f in fields]
            alts.append(wq.And([in_row[0] if len(in_row) == 1 else wq.Or(in_row),
                                exact_phrase(w, exact_fields)]))
    return alts[0] if len(alts) == 1 else wq.Or(alts)


def _units(raw: str, fields, drop_stops: bool) -> list[tuple[str, wq.Query, list[str]]]:
    """(label, query, words) for each required unit of a plain-text chunk."""
    text = localize_query(raw)
    out = []
    # A 文号 typed as text (赣府发[2020]2号): its normalised value or its words in a row.
    m = DOC_NO_RE.search(text)
    if m:
        before, after = text[:m.start()], text[m.end():]
        docno = normalize_doc_no(m.group(0))
        ws = [w for w, *_ in words(m.group(0))]
        alts = [wq.Phrase(f, ws) if len(ws) > 1 else wq.Term(f, ws[0]) for f in fields]
        if "body" in fields:
            alts.insert(0, wq.Term("doc_no", docno, boost=DOC_NO_BONUS))
        out.append((m.group(0), wq.Or(alts), [docno, m.group(0)]))
        return (_units(before, fields, drop_stops) + out
                + _units(after, fields, drop_stops))
    toks = words(text)
    for group in _groups(toks):
        if len(group) == 1:
            w = group[0][0]
            if len(w) == 1 and w in STOP_CHARS and drop_stops:
                continue
            out.append((w, word_query(w, fields), [w]))
            continue
        # A character jieba left alone, written against its neighbours (多子女 → 多 子女,
        # 赣府发 → 赣 府 发): the group must appear as written, as words in a row or
        # as exact characters.
        label = text[group[0][2]:group[-1][3]]
        ws = [t[0] for t in group]
        alts = [wq.Phrase(f, ws) for f in fields]
        alts.append(exact_phrase(label, tuple(f + "_exact" for f in fields)))
        out.append((label, wq.Or(alts), [label]))
    return out


def _loose(word: str) -> bool:
    return len(word) == 1 and _is_cjk(word) and word not in STOP_CHARS


def _groups(toks):
    """Tokens grouped so that a lone character sticks to the tokens written against it."""
    groups: list[list] = []
    for tok in toks:
        if (groups and groups[-1][-1][3] == tok[2]
                and (_loose(tok[0]) or _loose(groups[-1][-1][0]))):
            groups[-1].append(tok)
        else:
            groups.append([tok])
    return groups


class _Compiler:
    def __init__(self, drop_stops: bool):
        self.drop_stops = drop_stops
        self.marks: set[str] = set()
        self.word_marks: set[str] = set()
        self.phrase_marks: set[str] = set()  # exact anywhere, even if also a word mark
        self.terms = 0
        self.scored = False
        self.phrase_words: list[str] = []  # words of the top-level text, in order

    def count(self, n: int = 1) -> None:
        self.terms += n
        if self.terms > MAX_QUERY_TERMS:
            raise QueryError("too-many-terms",
                             f"the query has more than {MAX_QUERY_TERMS} terms")

    def text_units(self, node: Text):
        fields = ("title",) if node.field == "title" else ("title", "body")
        units = _units(node.raw, fields, self.drop_stops)
        self.count(len(units))
        for label, _, ws in units:
            self.marks.update(normalize(w) for w in ws)
            if 2 <= len(label) <= 3 and all(_is_cjk(c) for c in label) and ws == [label]:
                self.word_marks.add(normalize(label))
        if units:
            self.scored = True
        return units

    def phrase(self, node: Phrase):
        self.count()
        fields = ("title_exact",) if node.field == "title" else ("title_exact", "body_exact")
        raw = node.raw
        norm = normalize(raw)
        qs = [exact_phrase(norm, fields)]
        if is_traditional(raw):  # 「政府資訊公開」 also as mainland vocabulary
            loc = localize_query(raw)
            if loc != norm:
                qs.append(exact_phrase(loc, fields))
                self.marks.add(loc)
        qs = [q for q in qs if q is not None]
        if not qs:
            return None
        self.marks.add(norm)
        self.phrase_marks.add("".join(norm.split()))
        self.scored = True
        return qs[0] if len(qs) == 1 else wq.Or(qs)

    def field_value(self, node: FieldValue):
        self.count()
        raw = node.raw.strip()
        if not raw:
            return None
        if node.field == "year":
            return year_query(raw)
        if node.field == "agency":
            alts = [wq.Term("agency", raw)]
            ws = [w for w, *_ in words(localize_query(raw))]
            if ws:
                alts.append(wq.And([wq.Term("agency_text", w) for w in ws]))
            return wq.Or(alts)
        if node.field == "classification":
            return wq.Or([wq.Term("classification", raw), wq.Term("classification_l1", raw)])
        if node.field == "doc_type":
            return wq.Term("doc_type", raw)
        if node.field == "doc_no":
            docno = normalize_doc_no(raw)
            self.marks.add(normalize(docno))
            alts = [wq.Term("doc_no", docno)]
            partial = exact_phrase(docno, ("doc_no_exact",))
            if partial is not None:
                alts.append(partial)
            return wq.Or(alts)
        return None

    def node(self, node):
        if node is None:
            return None
        if isinstance(node, Text):
            units = self.text_units(node)
            qs = [q for _, q, _ in units]
            if not qs:
                return None
            return qs[0] if len(qs) == 1 else wq.And(qs)
        if isinstance(node, Phrase):
            return self.phrase(node)
        if isinstance(node, FieldValue):
            return self.field_value(node)
        if isinstance(node, Not):
            inner = self.node(node.child)
            return None if inner is None else wq.Not(inner)
        kids = [self.node(c) for c in node.children]
        kids = [k for k in kids if k is not None]
        if not kids:
            return None
        if len(kids) == 1:
            return kids[0]
        return wq.And(kids) if isinstance(node, And) else wq.Or(kids)


def _combine(parts: list[wq.Query]) -> wq.Query | None:
    """AND of *parts*; negations need something positive to subtract from."""
    pos = [p for p in parts if not isinstance(p, wq.Not)]
    neg = [p for p in parts if isinstance(p, wq.Not)]
    if not pos and not neg:
        return None
    if not pos:
        pos = [wq.Every()]
    base = pos[0] if len(pos) == 1 else wq.And(pos)
    if neg:
        return wq.AndNot(base, wq.Or([n.query for n in neg]) if len(neg) > 1 else neg[0].query)
    return base


def compile_query(q: str) -> Compiled:
    """Parse and compile *q*; only QueryError can come out of here."""
    ast = parse(q)
    out = _compile(ast, drop_stops=True)
    if out.query is None and ast is not None:
        # Nothing but function words (的): search for them after all.
        out = _compile(ast, drop_stops=False)
    return out


def _compile(ast, drop_stops: bool) -> Compiled:
    comp = _Compiler(drop_stops)
    top = ast.children if isinstance(ast, And) else ([ast] if ast is not None else [])
    units: list[tuple[str, wq.Query]] = []
    rest: list[wq.Query] = []
    title_text: list[str] = []
    for node in top:
        if isinstance(node, Text) and node.field is None:
            for label, uq, _ in comp.text_units(node):
                units.append((label, uq))
            title_text.append(localize_query(node.raw))
        else:
            cq = comp.node(node)
            if cq is not None:
                rest.append(cq)
    query = _combine([uq for _, uq in units] + rest)
    bonus: list[wq.Query] = []
    if units:
        # Words next to each other as typed, and the whole text as an exact title.
        whole = "".join(title_text)
        ws = [w for part in title_text for w, *_ in words(part)]
        if len(ws) > 1:
            bonus.append(wq.Phrase("body", ws, slop=2, boost=PHRASE_BONUS))
            bonus.append(wq.Phrase("title", ws, slop=2, boost=PHRASE_BONUS))
        exact = exact_phrase(whole, ("title_exact",), boost=EXACT_TITLE_BONUS)
        if exact is not None and len(normalize(whole).replace(" ", "")) >= 2:
            bonus.append(exact)
        if len(units) > 1:
            # Every word in the title: what a known-item search usually wants.
            in_title = [q for part in title_text
                        for _, q, _ in _units(part, ("title",), drop_stops)]
            if in_title:
                bonus.append(wq.And(in_title, boost=TITLE_ALL_BONUS))
    return Compiled(query=query, scored=comp.scored, units=units, rest=rest, bonus=bonus,
                    marks={m for m in comp.marks if m.strip()}, terms=comp.terms,
                    word_marks=comp.word_marks - comp.phrase_marks)


def year_query(raw: str) -> wq.Query:
    lo, hi = parse_year(raw)
    return wq.NumericRange("year", lo, hi)


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
