"""Reordering an engine's best candidates by their titles, as BM25 would.

A search engine without term statistics (Typesense ranks by how many query tokens a
field matches and how close together, with no idf and no length normalisation) leaves
a known item among its first 50 candidates but often below the tenth: on 1,000 real
records, 300 known-item queries (bench/relevance.py) found 0.830 in the top 10 and
0.930 in the top 50, against 0.883 for the embedded index. Reordering those 50 by a
BM25 of the query's words in each title (idf from the engine's document counts), the
bonus for every word in the title and the 文号 bonus of the embedded ranking, with the
engine's own order as a small term for everything the title does not decide (the body),
found 0.883. Titles are short: analysing 50 of them costs less than a millisecond.
"""

from __future__ import annotations

from math import log

from indexer.chinese.analysis import word_occurrences
from indexer.chinese.normalize import normalize
from indexer.fields import normalize_doc_no
from search_app.search.query_compile import DOC_NO_BONUS, TITLE_ALL_BONUS

CANDIDATES = 50  # the engine's best, reordered
B, K1 = 0.75, 1.2
AVG_TITLE_WORDS = 20.0  # words in a government document's title, roughly
ENGINE_ORDER = 0.05  # score given up per place in the engine's order
TITLE_BOOST = 3.0  # as the embedded BM25F weighs the title


def _flat(s: str) -> str:
    return "".join(normalize(s).split())


def unit_in_title(label: str, title_words: list[str], flat_title: str) -> int:
    """Times a query word (a unit's label) occurs in a title: as a word (with sub-words,
    as the index holds them) when it is short, as characters when it is long."""
    f = _flat(label)
    if len(f) <= 3:
        return title_words.count(f)
    return flat_title.count(f)


def score(labels: list[str], dfs: dict[str, int], n_docs: int, title: str,
          doc_no: str = "", query_doc_nos: tuple[str, ...] = ()) -> float:
    words, positions, _, _ = word_occurrences(title)
    flat = _flat(title)
    length = max(1, len(set(positions.tolist())))
    total, every = 0.0, bool(labels)
    for label in labels:
        tf = unit_in_title(label, words, flat)
        every = every and tf > 0
        if tf:
            idf = log(n_docs / (dfs.get(label, 0) + 1)) + 1
            norm = 1 - B + B * length / AVG_TITLE_WORDS
            total += TITLE_BOOST * idf * tf * (K1 + 1) / (tf + K1 * norm)
    if every and len(labels) > 1:
        total += TITLE_ALL_BONUS
    if doc_no and normalize_doc_no(doc_no) in query_doc_nos:
        total += DOC_NO_BONUS
    return total


def reorder(hits: list[dict], labels: list[str], dfs: dict[str, int], n_docs: int,
            query_doc_nos: tuple[str, ...] = ()) -> list[dict]:
    """*hits* (engine documents with ``title`` and ``doc_no``, best first): the first
    CANDIDATES by title score, the engine's order deciding what the titles leave equal;
    the rest as they came."""
    head, tail = hits[:CANDIDATES], hits[CANDIDATES:]
    keyed = [(score(labels, dfs, n_docs, h.get("title", ""), h.get("doc_no", ""),
                    query_doc_nos) - ENGINE_ORDER * i, -i, h) for i, h in enumerate(head)]
    keyed.sort(key=lambda t: (t[0], t[1]), reverse=True)
    for value, _, h in keyed:
        h["_score"] = round(value, 4)  # the hit's score
    return [h for _, _, h in keyed] + tail
