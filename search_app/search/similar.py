"""Similar documents ("more like this") at about the cost of a search.

Whoosh's ``Searcher.more_like`` took 0.3–2.7 s per document at 100,000 documents (a
document page p50 / p95 of 4.7 / 22.5 s in bench/speed.py on a loaded machine): it
looked up every distinct word of the text in every segment (the collection frequency of
a common word reads all its postings' frequencies), then ran the OR of the key terms
through Whoosh's matchers, a document at a time in Python.

Here the document's text is analysed as the indexer analysed it (index mode: words and
their sub-words), only a bounded start of it (`TEXT_CHARS`), so that the work does not
grow with the document. The words it repeats most (at most `CANDIDATES`) are looked up
for their document frequency, one table lookup per segment each (`doc_frequency`, no
postings read). The `TERMS` best by tf·idf (Whoosh's idf, as BM25F scores) that some
other document has, and that are not in so many documents that they say nothing about
this one (`MAX_DF_SHARE`, unless too few are left), become an OR of body terms weighted
by that score; the OR is evaluated by the search evaluator (`evaluate.Evaluator`:
cached posting arrays, numpy over the whole collection, BM25F as for a search), and the
best documents other than this one are the similar documents. Document frequencies are
exact (cached per index generation), ties are broken by word and by document number:
the same index gives the same similar documents every time.
"""

from __future__ import annotations

from collections import Counter
from math import log

import numpy as np
from whoosh import query as wq

from indexer.chinese import segment
from indexer.chinese.analysis import is_word
from indexer.chinese.normalize import normalize
from indexer.index.codec import tables_of

FIELD = "body"  # the word field the key terms come from and are matched in
# Title + start of the body analysed: bounds the work per document. Against Whoosh's
# lists (4,000 characters, 12 terms) on 80 real documents, 2,000 characters and 8 terms
# share as many of the top 5 (overlap@5 0.71) as 4,000 and 12 do here (0.70), for half
# the segmentation and fewer postings read.
TEXT_CHARS = 2000
CANDIDATES = 32  # most repeated words whose document frequency is looked up
TERMS = 8  # key terms in the query
MIN_DF = 2  # a word in no other document finds nothing
# A word in more than this share of the documents (工作, 政府) describes no document in
# particular, and its postings are the longest to read.
MAX_DF_SHARE = 0.2
MIN_TERMS = 4  # fewer key terms than this below the share: common words fill up
MIN_WORD_CHARS = 2  # one character (的, 和, 第) is a function word or part of one
DF_CACHE = 100_000  # document frequencies remembered per index generation


def analysed_text(title: str, body: str) -> str:
    """The text whose words are looked at: the title, then the start of the body."""
    return (title + "\n" + body)[:TEXT_CHARS]


def word_counts(text: str) -> Counter:
    """How often each word of *text* is indexed in a word field: its jieba words, and
    each word's dictionary sub-words at its place (what `indexer.chinese.analysis.words` gives
    in index mode), counted per distinct word instead of per occurrence."""
    counts = Counter(segment.cut(normalize(text)))
    for w, c in list(counts.items()):
        if len(w) >= 3:
            for sub, _, _ in segment.subwords(w):
                counts[sub] += c
    return counts


def candidate_words(text: str) -> list[tuple[str, int]]:
    """(word, count) of the words of *text* most repeated, at most `CANDIDATES`:
    ties by length (longer words are rarer and say more), then by the word, so that
    the choice does not depend on the order of counting."""
    ranked = [(w, c) for w, c in word_counts(text).items()
              if len(w) >= MIN_WORD_CHARS and is_word(w)]
    ranked.sort(key=lambda wc: (-wc[1], -len(wc[0]), wc[0]))
    return ranked[:CANDIDATES]


def doc_frequency(leaves, field: str, word: str) -> int:
    """Documents containing *word* (deleted ones too, as Whoosh's idf counts them):
    one term lookup per segment, no postings read (the tables' term index where the
    segment has them, else Whoosh's)."""
    btext = word.encode("utf-8")
    total = 0
    for reader, _ in leaves:
        table = tables_of(reader).get(field)
        if table is not None:
            t = table.find(btext)
            if t >= 0:
                total += int(table.tpost[t + 1] - table.tpost[t])
        elif (field, btext) in reader:
            total += reader.doc_frequency(field, btext)
    return total


def key_terms(evaluator, text: str, dfs: dict | None = None) -> list[tuple[str, float]]:
    """The `TERMS` words of *text* that best tell its document apart, with weights in
    (0, 1]: tf·idf, divided by the largest. *dfs*: document frequencies known already
    (of this index generation), added to."""
    return choose_terms(evaluator.n, lambda words: [
        doc_frequency(evaluator.leaves, FIELD, w) for w in words], text, dfs)


def choose_terms(n: int, frequencies, text: str, dfs: dict | None = None
                 ) -> list[tuple[str, float]]:
    """`key_terms` for any backend: *n* documents, *frequencies* (words → their
    document frequencies, in one call so that a remote engine is asked once)."""
    if not n:
        return []
    if dfs is None:
        dfs = {}
    candidates = candidate_words(text)
    unknown = [w for w, _ in candidates if w not in dfs]
    if unknown:
        if len(dfs) + len(unknown) > DF_CACHE:
            dfs.clear()  # a new start rather than bookkeeping per lookup
        dfs.update(zip(unknown, frequencies(unknown), strict=True))
    scored, common = [], []
    for word, tf in candidates:
        df = dfs[word]
        if df < MIN_DF:
            continue
        (common if df > MAX_DF_SHARE * n else scored).append(
            (tf * (log(n / (df + 1)) + 1), word))
    scored.sort(key=lambda sw: (-sw[0], sw[1]))
    if len(scored) < MIN_TERMS:
        # Every word it repeats is a common one (a short notice, a page of boilerplate):
        # the least common of them rather than nothing at all.
        common.sort(key=lambda sw: (-sw[0], sw[1]))
        scored += common[:MIN_TERMS - len(scored)]
        scored.sort(key=lambda sw: (-sw[0], sw[1]))
    top = scored[:TERMS]
    if not top or top[0][0] <= 0:
        return []
    best = top[0][0]
    return [(w, s / best) for s, w in top]


def similar_query(terms: list[tuple[str, float]]) -> wq.Query | None:
    if not terms:
        return None
    return wq.Or([wq.Term(FIELD, w, boost=weight) for w, weight in terms])


def similar_docs(evaluator, docnum: int, text: str, limit: int, dfs: dict | None = None
                 ) -> list[tuple[int, float]]:
    """(document number, score) of the *limit* documents most like document *docnum*
    (whose analysed text is *text*), best first, equal scores by document number."""
    q = similar_query(key_terms(evaluator, text, dfs))
    if q is None:
        return []
    r = evaluator.run(q)
    other = r.ids != docnum
    docs, scores = r.ids[other], r.scores[other]
    if not len(docs):
        return []
    if len(docs) > limit:
        # Only those that can make the top *limit* (all tied with the last one too) are
        # sorted: a common key term matches a large part of the collection.
        kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        keep = scores >= kth
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:limit]
    return [(int(docs[i]), float(scores[i])) for i in order]
