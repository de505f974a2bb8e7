"""The query AST → a Whoosh query, with what ranking, relaxation and highlighting need
(`Compiled`). Words match the word fields (jieba words, sub-words at the parent's
position), quoted phrases match the character-bigram fields, so that they never miss."""

from __future__ import annotations

from dataclasses import dataclass, field

from whoosh import query as wq

from indexer.chinese.analysis import phrase_grams, words
from indexer.chinese.normalize import is_traditional, localize_query, normalize
from indexer.chinese.segment import tiling
from indexer.fields import DOC_NO_RE, normalize_doc_no
from indexer.index.schema import classification_levels
from search_app.search.query_parser import (
    And,
    FieldValue,
    Not,
    Phrase,
    Text,
    parse,
    parse_year,
)
from search_app.search.types import MAX_QUERY_TERMS, QueryError

# One-character function words: left out of the required words unless they are the
# whole query (购房的条件 needs 购房 and 条件, not 的).
STOP_CHARS = frozenset("的了和与及之在是对等为于中")

# Boosts of the optional clauses that lift better matches (BM25F does the rest).
PHRASE_BONUS = 2.0
EXACT_TITLE_BONUS = 4.0
DOC_NO_BONUS = 8.0
TITLE_ALL_BONUS = 2.0

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
        pieces = tiling(w)
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
            # Levels joined by " / " as the indexer writes them (分类:城乡建设\城市规划).
            full = classification_levels(raw)[0]
            return wq.Or([wq.Term("classification", full),
                          wq.Term("classification_l1", full)])
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


def combine(parts: list[wq.Query]) -> wq.Query | None:
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
    query = combine([uq for _, uq in units] + rest)
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



_combine = combine  # the name whoosh_backend used before the split
