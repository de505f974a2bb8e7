"""A compiled query (`query_compile`, the same one the embedded backend evaluates) as
Typesense searches that match exactly the same documents.

Typesense gives two tools: ``q`` (tokens and quoted phrases, all required, ``-x`` to
exclude; no OR) and ``filter_by`` (membership tests on fields with ``&&``, ``||`` and
``!=``; no phrases). Our documents spell every token in our own analysis
(`indexer.typesense.documents`), so:

- a word is a membership test on the word sets (``tw``/``bw``), in ``filter_by`` or as
  a q token; a query word of four or more characters is its bigrams in a row (the
  embedded query's other branches imply that one), a three-character word its
  membership in the word sets (the writer adds those found through their pieces);
- a quoted phrase, words in a row and a one-character phrase are *positional*: as a
  conjunct of the whole query (or its negation) each becomes part of ``q``; anywhere
  else (inside OR or NOT) the documents that match it are fetched by a search of their
  own and tested by id (`Materialize`), up to MATERIALIZE_MAX documents: beyond that the
  query is refused with a 400 (``too-broad-for-backend``), which the README lists.

The plan's q tokens also rank (Typesense's text match over the fields in QUERY_BY).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import combinations

from whoosh import query as wq

from indexer.chinese.analysis import phrase_grams
from indexer.chinese.segment import tiling
from indexer.typesense.documents import DOC_NO, GRAM, encode
from search_app.search.query_compile import word_query
from search_app.search.types import QueryError

TITLE, BODY = "title", "body"
BOTH = frozenset((TITLE, BODY))
MATERIALIZE_MAX = 20_000
# Fields a q element is looked up in (namespaces keep words, bigrams and 文号 bigrams
# apart), and their weights: the title counts three times, as in the embedded BM25F.
QUERY_BY = ("tw", "tws", "tgs", "bw", "bws", "bgs", "dgs")
QUERY_BY_WEIGHTS = (3, 3, 3, 1, 1, 1, 1)
# Fields by what a leaf looks at: the title alone, or the title and the body (the b*
# fields hold both; the compiler never asks for the body alone).
_WORDS = {frozenset((TITLE,)): "tw", BOTH: "bw"}
_WORD_STREAMS = {frozenset((TITLE,)): "tws", BOTH: "bws"}
_GRAMS = {frozenset((TITLE,)): "tgs", BOTH: "bgs", frozenset(("doc_no",)): "dgs"}
# Typesense 0.24 refuses a filter of more than about 100 operands, operators and
# brackets ("Filter expression is not valid"): measured, 99 passed and 103 failed.
MAX_FILTER_TOKENS = 96
_VALUES = {"agency": "agency", "agency_text": "at", "classification": "cl",
           "classification_l1": "cl", "doc_type": "doc_type", "doc_no": "dn"}
TRUE, FALSE = "*true*", "*false*"


@dataclass(frozen=True)
class Leaf:
    """One test: *kind* word (membership), wphrase (words in a row), gram (one bigram),
    gphrase (bigrams in a row), gprefix (a character), value (a field's exact value),
    year (a range), all."""
    kind: str
    fields: frozenset = frozenset()
    tokens: tuple = ()

    def q_text(self) -> str:
        """The leaf as a q element (tokens or a quoted phrase)."""
        if self.kind == "word":
            return self.tokens[0]
        return " ".join(self.tokens) if len(self.tokens) == 1 else (
            '"' + " ".join(self.tokens) + '"')

    def field(self) -> str:
        table = {"word": _WORDS, "wphrase": _WORD_STREAMS}.get(self.kind, _GRAMS)
        if self.fields not in table:
            raise QueryError("unsupported-on-backend",
                             "this search cannot run on the Typesense backend (body alone)")
        return table[self.fields]


@dataclass
class Node:
    op: str  # and, or, not
    kids: list = field(default_factory=list)


def _leaf_of(q) -> Leaf | Node:
    if isinstance(q, wq.Every):
        return Leaf("all")
    if isinstance(q, wq.NumericRange) and q.fieldname == "year":
        return Leaf("year", tokens=(q.start, q.end))
    f = getattr(q, "fieldname", None)
    base = f[:-6] if f and f.endswith("_exact") else f
    space = DOC_NO if base == "doc_no" else GRAM
    if isinstance(q, wq.Term):
        if f in (TITLE, BODY):
            return Leaf("word", frozenset((f,)), (encode(q.text),))
        if f and f.endswith("_exact"):
            return Leaf("gram", frozenset((base,)), (encode(q.text, space),))
        if f in _VALUES:
            value = {"agency_text": encode(q.text), "doc_no": encode(q.text, DOC_NO)
                     }.get(f, q.text)
            return Leaf("value", frozenset((_VALUES[f],)), (value,))
    if isinstance(q, wq.Prefix) and f and f.endswith("_exact"):
        return Leaf("gprefix", frozenset((base,)), (encode(q.text, space),))
    if isinstance(q, wq.Phrase) and q.slop <= 1:
        if f in (TITLE, BODY):
            return Leaf("wphrase", frozenset((f,)), tuple(encode(w) for w in q.words))
        if f and f.endswith("_exact"):
            return Leaf("gphrase", frozenset((base,)), tuple(encode(g, space) for g in q.words))
    raise QueryError("unsupported-on-backend",
                     f"this search cannot run on the Typesense backend ({type(q).__name__})")


def _word_unit(q: wq.Or) -> Leaf | None:
    """*q* when it is `word_query(w, fields)`, as the one test it amounts to."""
    terms = [c for c in q.subqueries if isinstance(c, wq.Term) and c.fieldname in (TITLE, BODY)]
    if not terms or len({t.text for t in terms}) != 1:
        return None
    w, fields = terms[0].text, tuple(t.fieldname for t in terms)
    if word_query(w, fields) != q:
        return None
    if len(w) >= 4:  # the word's characters: implied by the word itself
        grams = phrase_grams(w)
        kind = "gphrase" if len(grams) > 1 else "gram"
        return Leaf(kind, frozenset(fields), tuple(encode(g, GRAM) for g in grams))
    if len(w) == 3 and tiling(w):  # pieces in a row: in the writer's word sets
        return Leaf("word", frozenset(fields), (encode(w),))
    return None


def to_tree(q):
    """The Whoosh query *q* as Leaf / Node, with the embedded compiler's patterns folded
    (a word over title and body is one leaf over both fields)."""
    if isinstance(q, wq.Or):
        unit = _word_unit(q)
        if unit is not None:
            return unit
        kids = [to_tree(c) for c in q.subqueries]
        merged: list = []
        for k in kids:  # the same test over several fields: one leaf
            for i, m in enumerate(merged):
                if (isinstance(k, Leaf) and isinstance(m, Leaf) and k.kind == m.kind
                        and k.tokens == m.tokens and k.kind not in ("value", "year")):
                    merged[i] = Leaf(k.kind, m.fields | k.fields, k.tokens)
                    break
            else:
                merged.append(k)
        return merged[0] if len(merged) == 1 else Node("or", merged)
    if isinstance(q, wq.And):
        return Node("and", [to_tree(c) for c in q.subqueries])
    if isinstance(q, wq.AndNot):
        return Node("and", [to_tree(q.a), Node("not", [to_tree(q.b)])])
    if isinstance(q, wq.Not):
        return Node("not", [to_tree(q.query)])
    return _leaf_of(q)


def _quote(v: str) -> str:
    if "`" in v:
        raise QueryError("bad-value", "a filter value may not contain a backtick (`)")
    return f"`{v}`"


_LIST = re.compile(r"^(\w+):(=|!=)\[([^\[\]()]*)\]$")


def _join(parts: list[str], op: str) -> str:
    """*parts* joined by *op* (``&&``/``||``), TRUE and FALSE folded, and tests of one
    field merged into one list where that means the same (``f:=[a] || f:=[b]`` is
    ``f:=[a,b]``; ``f:!=[a] && f:!=[b]`` is ``f:!=[a,b]``)."""
    absorbing, neutral = (FALSE, TRUE) if op == "&&" else (TRUE, FALSE)
    if absorbing in parts:
        return absorbing
    parts = [p for p in parts if p != neutral]
    mergeable = "=" if op == "||" else "!="
    lists: dict[str, int] = {}
    out: list[str] = []
    for p in parts:
        m = _LIST.match(p)
        if m and m.group(2) == mergeable:
            at = lists.get(m.group(1))
            if at is not None:
                out[at] = out[at][:-1] + "," + m.group(3) + "]"
                continue
            lists[m.group(1)] = len(out)
        out.append(p)
    if not out:
        return neutral
    return out[0] if len(out) == 1 else "(" + f" {op} ".join(out) + ")"


def filter_size(text: str) -> int:
    """Operands, operators and brackets of a filter, as the engine counts them."""
    return (text.count("&&") + text.count("||") + text.count("(") + text.count(")")
            + len(re.findall(r"\w+:(?:!=|=|<|>|\[)?", text)))


class Filters:
    """Leaf / Node → ``filter_by`` text; positional leaves through *materialize*
    (leaf → ids of the documents it matches)."""

    def __init__(self, materialize):
        self.materialize = materialize

    def of(self, node, negate: bool = False) -> str:
        if isinstance(node, Node):
            if node.op == "not":
                return self.of(node.kids[0], not negate)
            op = "&&" if (node.op == "and") != negate else "||"
            return _join([self.of(k, negate) for k in node.kids], op)
        return self.leaf(node, negate)

    def leaf(self, leaf: Leaf, negate: bool) -> str:
        if leaf.kind == "all":
            return FALSE if negate else TRUE
        if leaf.kind == "year":
            lo, hi = leaf.tokens
            if negate:
                return f"(year:<{lo} || year:>{hi})"
            return f"year:[{lo}..{hi}]"
        if leaf.kind in ("word", "value"):
            name = leaf.field() if leaf.kind == "word" else next(iter(leaf.fields))
            return f"{name}:{'!=' if negate else '='}[{_quote(leaf.tokens[0])}]"
        if leaf.kind == "gram" and not negate:
            # A bigram is a token of the bigram stream (a text field's filter matches
            # a token); a negated one needs the ids.
            return f"{leaf.field()}:{leaf.tokens[0]}"
        ids = self.materialize(leaf)
        if not ids:
            return TRUE if negate else FALSE
        listed = ",".join(_quote(i) for i in ids)
        return f"key:!=[{listed}]" if negate else f"key:=[{listed}]"


@dataclass
class Plan:
    q: str  # "*" when nothing is required of the text
    filter: str  # TRUE when nothing is filtered
    ranked: bool  # q has positive elements (Typesense's text match means something)
    # The last q element is a one-character phrase: a prefix of the bigrams in ``bgs``
    # (the engine treats only the last word of q as a prefix, per field).
    prefix_last: bool = False

    def params(self) -> dict:
        if not self.prefix_last:
            return {"q": self.q}
        return {"q": self.q, "prefix": ",".join("true" if f == "bgs" else "false"
                                                for f in QUERY_BY)}


def _q_element(node) -> tuple[str, bool] | None:
    """(q text, positive) when *node* can stand in q as it is."""
    neg = isinstance(node, Node) and node.op == "not"
    leaf = node.kids[0] if neg else node
    if not isinstance(leaf, Leaf):
        return None
    if leaf.kind in ("word", "gram", "gphrase", "wphrase") and (
            leaf.fields == BOTH or (leaf.kind != "word" and leaf.fields == {"doc_no"})):
        # In q, an element is looked up in every QUERY_BY field: only a test of the
        # title and the body (or of the 文号's own namespace) means the same there.
        return ("-" if neg else "") + leaf.q_text(), not neg
    return None


def _conjuncts(node) -> list:
    """The requirements of *node* as a flat AND: nested ANDs opened, and NOT(a OR b)
    (the compiler's form of ``-a -b``) as NOT a, NOT b, so that each can be a q
    exclusion."""
    if isinstance(node, Node) and node.op == "and":
        return [c for k in node.kids for c in _conjuncts(k)]
    if isinstance(node, Node) and node.op == "not":
        inner = node.kids[0]
        if isinstance(inner, Node) and inner.op == "or":
            return [c for k in inner.kids for c in _conjuncts(Node("not", [k]))]
        if isinstance(inner, Node) and inner.op == "not":
            return _conjuncts(inner.kids[0])
    return [node]


def plan(query, materialize) -> Plan:
    """The search for compiled *query* (None: every document)."""
    if query is None:
        return Plan("*", TRUE, False)
    conjuncts = _conjuncts(to_tree(query))
    qs, rest, prefix = [], [], None
    for c in conjuncts:
        el = _q_element(c)
        if el is not None:
            qs.append(el)
        elif (prefix is None and isinstance(c, Leaf) and c.kind == "gprefix"
              and c.fields == BOTH):
            prefix = c.tokens[0]
        else:
            rest.append(c)
    positive = [t for t, pos in qs if pos] + ([prefix] if prefix else [])
    negative = [t for t, pos in qs if not pos]
    q = " ".join(negative + (positive or ["*"]))
    return Plan(q, Filters(materialize).of(Node("and", rest)) if rest else TRUE,
                bool(positive), prefix_last=prefix is not None)


def materialize_params(leaf: Leaf) -> dict:
    """The search that finds every document *leaf* matches."""
    return {"q": leaf.q_text(), "query_by": leaf.field(), "query_by_weights": "1",
            "prefix": "true" if leaf.kind == "gprefix" else "false"}


def at_least(units: list[str], k: int) -> str:
    """Documents matching at least *k* of *units*: any k of them (an OR of ANDs), or
    equally, one of every n-k+1 of them (an AND of ORs, whose tests of one field merge
    into one list); the shorter, as the engine's filters are short."""
    n = len(units)
    anyk = _join([_join([units[i] for i in c], "&&") for c in combinations(range(n), k)], "||")
    every = _join([_join([units[i] for i in c], "||")
                   for c in combinations(range(n), n - k + 1)], "&&")
    return min(anyk, every, key=filter_size)
