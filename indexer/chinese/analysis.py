"""Whoosh analyzers for Chinese text.

Two representations of every title and body:

- *words* (``ChineseTokenizer``): jieba precise-mode words, positions numbered by word,
  character offsets stored so that highlighting never re-analyses a page. At index time
  each word's dictionary sub-words (人民政府 → 人民, 政府) are added at the word's own
  position, so a search for 政府 finds 人民政府 while 民政 does not.
- *exact* (``BigramTokenizer``): overlapping character bigrams of the normalised text
  with whitespace ignored, as Lucene's CJKBigramFilter does. A quoted phrase of n ≥ 2
  characters becomes n-1 bigrams at consecutive positions and so matches exactly the
  documents that contain it, however jieba cut either side.

Whoosh pickles these classes by import path into the index: keep their module and names.
Both tokenizers keep Whoosh's Tokenizer contract (positions, chars, start_pos,
start_char, mode, tokenize, removestops, keeporiginal) and reuse one Token object.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain, compress
from operator import itemgetter

import numpy as np
from whoosh.analysis import Token, Tokenizer

from indexer.chinese import segment
from indexer.chinese.normalize import normalize
from indexer.index import postings_tables

# Bumped whenever indexed values change for the same input (tokens, normalised facet
# values such as classification levels) or the schema gains a field (3: written_date):
# an index built with another version must be rebuilt (the index writer records it
# beside the index).
ANALYSIS_VERSION = 3


_is_word_cache: dict[str, bool] = {}


def is_word(token: str) -> bool:
    """Punctuation, symbols and spaces are not words."""
    known = _is_word_cache.get(token)
    if known is None:
        known = any(ch.isalnum() for ch in token)
        if len(_is_word_cache) < 500_000:
            _is_word_cache[token] = known
    return known


def words(text: str, mode: str = "query") -> list[tuple[str, int, int, int]]:
    """(word, position, start, end) for *text*; in ``index`` mode with sub-words."""
    out = []
    pos = 0
    for word, start, end in segment.tokenize(normalize(text)):
        if not is_word(word):
            continue
        out.append((word, pos, start, end))
        if mode == "index":
            out.extend((sub, pos, start + s, start + e) for sub, s, e in segment.subwords(word))
        pos += 1
    return out


def bigrams(text: str) -> list[tuple[str, int, int]]:
    """(gram, start, end) for the exact representation: every pair of consecutive
    non-space characters of the normalised text, then the last character alone (so that
    a one-character phrase can be found as a prefix of some token)."""
    norm = normalize(text)
    idx = [i for i, ch in enumerate(norm) if not ch.isspace()]
    out = [(norm[a] + norm[b], a, b + 1) for a, b in zip(idx, idx[1:], strict=False)]
    if idx:
        last = idx[-1]
        out.append((norm[last], last, last + 1))
    return out


def word_postings(text: str) -> dict[str, list[tuple[int, int, int]]]:
    """word → [(position, start, end)] in index mode: what Whoosh's Characters format
    stores (for a segment written by plain Whoosh), grouped from `word_occurrences`."""
    words, pos, starts, ends = word_occurrences(text)
    out: dict[str, list[tuple[int, int, int]]] = {}
    for w, entry in zip(words, zip(pos.tolist(), starts.tolist(), ends.tolist(),
                                   strict=True), strict=True):
        lst = out.get(w)
        if lst is None:
            out[w] = [entry]
        else:
            lst.append(entry)
    return out


_ALNUM_BMP: np.ndarray | None = None


def _alnum(cps: np.ndarray) -> np.ndarray:
    """``str.isalnum`` of each code point in *cps*: a lookup table over the Basic
    Multilingual Plane (built once, ~0.05 s), Python for the rare characters beyond."""
    global _ALNUM_BMP
    if _ALNUM_BMP is None:
        _ALNUM_BMP = np.fromiter((chr(i).isalnum() for i in range(0x10000)), dtype=bool,
                                 count=0x10000)
    out = _ALNUM_BMP[np.minimum(cps, 0xFFFF)]
    astral = np.flatnonzero(cps > 0xFFFF)
    if len(astral):
        out[astral] = [chr(c).isalnum() for c in cps[astral].tolist()]
    return out


@lru_cache(maxsize=200_000)
def _pieces(word: str) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """*word*'s sub-words and their (start, end) offsets inside it, flattened."""
    subs = segment.subwords(word)
    if not subs:
        return None
    return tuple(w for w, _, _ in subs), tuple(chain.from_iterable((a, b) for _, a, b in subs))


def _word_ends(words: list[str], norm: str) -> np.ndarray:
    """End offset of each word of a cut of *norm* (the words concatenate to it): the
    words joined by NUL, whose positions give the ends, instead of a len() per word."""
    if "\x00" in norm:
        return np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)))
    cps = np.frombuffer("\x00".join(words).encode("utf-32-le", "surrogatepass"),
                        dtype=np.uint32)
    ends = np.empty(len(words), dtype=np.int64)
    seps = np.flatnonzero(cps == 0)
    ends[:-1] = seps - np.arange(len(seps))
    ends[-1] = len(cps) - len(seps)
    return ends


def word_occurrences(text: str):
    """(words, positions, starts, ends) of every index-mode occurrence: `word_postings`
    flattened for the table writer (`indexer.index.postings_tables`), in position order, each word's
    sub-words (at the word's position) right after it. The per-token work is
    array arithmetic: which tokens are words (`is_word`) from a running count of
    alphanumeric characters, positions from a running count of words."""
    norm = normalize(text)
    words = segment.cut(norm)
    empty = np.zeros(0, dtype=np.uint32)
    if not words:
        return [], empty, empty, empty
    ends = _word_ends(words, norm)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1]
    cps = np.frombuffer(norm.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    seen = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(_alnum(cps), out=seen[1:])
    keep = seen[ends] > seen[starts]
    kept = list(compress(words, keep.tolist()))
    starts, ends = starts[keep], ends[keep]
    pos = np.arange(len(kept), dtype=np.int64)
    # Sub-words: only words of three or more characters have any; each word's pieces
    # are looked up once per process (`_pieces`) and spread with array arithmetic.
    longer = np.flatnonzero(ends - starts >= 3).tolist()
    found = [(j, e) for j, e in zip(longer, map(_pieces, [kept[j] for j in longer]),
                                    strict=True) if e]
    if found:
        counts = [len(e[0]) for _, e in found]
        at = np.repeat(np.array([j for j, _ in found], dtype=np.int64), counts)
        rel = np.fromiter(chain.from_iterable(e[1] for _, e in found), dtype=np.int64,
                          count=2 * sum(counts)).reshape(-1, 2)
        # Interleave: each word's sub-words right after it (positions stay sorted).
        n, m = len(kept), len(at)
        dest_word = np.arange(n) + np.searchsorted(at, np.arange(n), "left")
        dest_sub = at + 1 + np.arange(m)
        source = np.empty(n + m, dtype=np.int64)  # output slot → index in kept + subs
        source[dest_word], source[dest_sub] = np.arange(n), n + np.arange(m)
        kept += chain.from_iterable(e[0] for _, e in found)
        kept = list(itemgetter(*source.tolist())(kept)) if n + m > 1 else kept
        new_pos = np.empty(n + m, dtype=np.int64)
        new_pos[dest_word], new_pos[dest_sub] = pos, at
        new_starts = np.empty(n + m, dtype=np.int64)
        new_starts[dest_word], new_starts[dest_sub] = starts, starts[at] + rel[:, 0]
        new_ends = np.empty(n + m, dtype=np.int64)
        new_ends[dest_word], new_ends[dest_sub] = ends, starts[at] + rel[:, 1]
        pos, starts, ends = new_pos, new_starts, new_ends
    return kept, pos.astype(np.uint32), starts.astype(np.uint32), ends.astype(np.uint32)


_SPACE = re.compile(r"\s+")


def exact_keys(text: str):
    """`bigram_positions` as an array of term keys indexed by position (the table
    writer's form; see `indexer.index.postings_tables.gram_keys`)."""
    compact = _SPACE.sub("", normalize(text))
    return postings_tables.gram_keys(compact)


def bigram_positions(text: str) -> dict[str, list[int]]:
    """gram → [positions] for the exact representation (what ``bigrams`` yields, without
    character offsets, which the exact fields do not store)."""
    compact = _SPACE.sub("", normalize(text))
    out: dict[str, list[int]] = {}
    if not compact:
        return out
    for i in range(len(compact) - 1):
        gram = compact[i:i + 2]
        lst = out.get(gram)
        if lst is None:
            out[gram] = [i]
        else:
            lst.append(i)
    out.setdefault(compact[-1], []).append(len(compact) - 1)
    return out


def phrase_grams(text: str) -> list[str]:
    """The bigrams a quoted phrase must match at consecutive positions. A one-character
    phrase gives that character (to be matched as a prefix)."""
    grams = [g for g, _, _ in bigrams(text)]
    return grams[:-1] if len(grams) > 1 else grams


class _BaseTokenizer(Tokenizer):
    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __hash__(self):
        return hash(self.__class__.__name__)

    def _spans(self, value: str, mode: str):
        raise NotImplementedError

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):
        assert isinstance(value, str), f"{value!r} is not unicode"
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = normalize(value)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        for text, pos, start, end in self._spans(value, mode):
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = value[start:end]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class ChineseTokenizer(_BaseTokenizer):
    """Words, numbered by word; sub-words at the same position in ``index`` mode."""

    def _spans(self, value, mode):
        return words(value, "index" if mode == "index" else "query")


class BigramTokenizer(_BaseTokenizer):
    """Overlapping character bigrams, numbered by bigram, for exact phrases."""

    def _spans(self, value, mode):
        return ((g, i, s, e) for i, (g, s, e) in enumerate(bigrams(value)))


def ChineseAnalyzer():  # noqa: N802 - named like Whoosh's analyzer factories
    return ChineseTokenizer()


def BigramAnalyzer():  # noqa: N802
    return BigramTokenizer()
