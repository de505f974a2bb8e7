"""Sets of documents as sorted arrays of document numbers, with a score each: what the
search evaluator (`evaluate`) combines at every node of a query.

Why not a mask and a score array over the whole collection per node: at a million
documents each node then costs 9 MB of arrays and several passes over them, whatever it
matches, and each cached result kept 9 MB. Here a node costs what it matches (at a
million documents the results page stayed where it was, reading postings being most of
it; cached results, similar documents and phrases got cheaper). Intersections search
the smaller set in the larger; a union sorts the concatenated (already sorted) parts,
except when the parts hold a good share of the collection, where adding into one dense
array is faster (measured at a million documents, load average about 3: four parts of
10,000 documents each, 0.7 ms sorted, 1.2 ms dense; of 100,000 each, 32 ms sorted, 15 ms
dense).

Arrays are never changed in place: a term's document numbers and scores are the cached
postings' own arrays.
"""

from __future__ import annotations

import numpy as np

from indexer.index.distinct import distinct

_IDS = np.zeros(0, dtype=np.int64)
_SCORES = np.zeros(0, dtype=np.float64)
# A union of parts holding more than this share of the collection adds into dense arrays.
DENSE_SHARE = 1 / 8
# A binary search per probe costs about this many times a map's slot (written or read):
# `found` maps the numbers when the probes would cost more.
PROBE_COST = 100
# The same for `member`, whose map is a byte per number.
MEMBER_COST = 40


class Hits:
    """Documents (ascending, unique) and their scores."""

    __slots__ = ("ids", "scores")

    def __init__(self, ids: np.ndarray, scores: np.ndarray):
        self.ids = ids
        self.scores = scores

    def __len__(self) -> int:
        return len(self.ids)

    def boosted(self, boost: float) -> Hits:
        return self if boost == 1.0 else Hits(self.ids, self.scores * boost)


EMPTY = Hits(_IDS, _SCORES)


def _mappable(ids: np.ndarray, probe: np.ndarray) -> bool:
    """Whether a map indexed by number can answer: no negative numbers on either side.
    Phrase matching probes position keys less the term's place in the phrase, which
    are negative for a word near the start of document 0 (a negative index would wrap
    round to the map's end: an IndexError, or a wrong answer)."""
    return int(ids[0]) >= 0 and (not len(probe) or int(probe[0]) >= 0)


def found(ids: np.ndarray, probe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of the sorted *probe*: whether it is in the sorted *ids*, and where (the
    place is meaningless where it is not)."""
    if not len(ids):
        return np.zeros(len(probe), dtype=bool), np.zeros(len(probe), dtype=np.int64)
    top = int(ids[-1]) + 1
    if len(probe) * PROBE_COST > top + 4 * len(ids) and _mappable(ids, probe):
        # Many probes: a map from document number to place, written and read in one
        # pass each, instead of a binary search per probe (measured at a million
        # documents, 100,000 probes into 400,000 numbers: 0.5 ms against 2.9 ms).
        place = np.full(top + 1, -1, dtype=np.int32)
        place[ids] = np.arange(len(ids), dtype=np.int32)
        at = place[np.minimum(probe, top)]
        ok = at >= 0
        at[~ok] = 0
        return ok, at
    at = np.minimum(np.searchsorted(ids, probe), len(ids) - 1)
    return ids[at] == probe, at


def member(ids: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Which of the sorted *probe* are in the sorted *ids*."""
    if not len(ids):
        return np.zeros(len(probe), dtype=bool)
    top = int(ids[-1]) + 1
    if len(probe) * MEMBER_COST > len(ids) + top // 40 and _mappable(ids, probe):
        # A bitmap of the numbers, a byte each (measured at a million documents:
        # 100,000 probes into 400,000 numbers, 0.5 ms against 3.4 ms searching).
        hit = np.zeros(top + 1, dtype=bool)
        hit[ids] = True
        return hit[np.minimum(probe, top)]
    return found(ids, probe)[0]


def select(ids: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Places in the sorted *ids* of those of the sorted *docs* that it holds."""
    ok, at = found(ids, docs)
    return at[ok]


def intersect_ids(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Document numbers in both sorted arrays: the smaller searched in the larger."""
    if len(a) > len(b):
        a, b = b, a
    return a[member(b, a)] if len(a) else a


def intersect_all(arrays: list[np.ndarray]) -> np.ndarray:
    """Document numbers in every one of the sorted *arrays*, rarest first."""
    arrays = sorted(arrays, key=len)
    out = arrays[0]
    for ids in arrays[1:]:
        if not len(out):
            break
        out = out[member(ids, out)]
    return out


def union_ids(arrays: list[np.ndarray], n: int) -> np.ndarray:
    """Document numbers in any of the sorted *arrays* (of a collection of *n*)."""
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return _IDS
    if len(arrays) == 1:
        return arrays[0]
    if sum(len(a) for a in arrays) > n * DENSE_SHARE:
        hit = np.zeros(n, dtype=bool)
        for a in arrays:
            hit[a] = True
        return np.flatnonzero(hit)
    return distinct(np.concatenate(arrays))


def union(parts: list[Hits], n: int) -> Hits:
    """Documents in any part, each scored by the sum of its parts' scores (added in the
    order of *parts*, as a dense sum would add them)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    if sum(len(p) for p in parts) > n * DENSE_SHARE:
        hit = np.zeros(n, dtype=bool)
        acc = np.zeros(n, dtype=np.float64)
        for p in parts:
            hit[p.ids] = True
            acc[p.ids] += p.scores  # a part's documents are unique: no lost updates
        ids = np.flatnonzero(hit)
        return Hits(ids, acc[ids])
    ids = np.concatenate([p.ids for p in parts])
    scores = np.concatenate([p.scores for p in parts])
    # A stable sort of sorted runs (timsort finds them) keeps each document's scores in
    # the order of the parts.
    order = np.argsort(ids, kind="stable")
    ids, scores = ids[order], scores[order]
    first = np.ones(len(ids), dtype=bool)
    np.not_equal(ids[1:], ids[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return Hits(ids[starts], np.add.reduceat(scores, starts))


def intersect(a: Hits, b: Hits) -> Hits:
    """Documents in both, scored by the sum (a's score first)."""
    if len(a) <= len(b):
        ok, at = found(b.ids, a.ids)
        return Hits(a.ids[ok], a.scores[ok] + b.scores[at[ok]])
    ok, at = found(a.ids, b.ids)
    return Hits(b.ids[ok], a.scores[at[ok]] + b.scores[ok])


def without(a: Hits, ids: np.ndarray) -> Hits:
    """The documents of *a* that are not in the sorted *ids*."""
    if not len(ids) or not len(a):
        return a
    drop = np.zeros(len(a), dtype=bool)
    drop[select(a.ids, ids)] = True
    return a if not drop.any() else Hits(a.ids[~drop], a.scores[~drop])


def plus(a: Hits, b: Hits) -> Hits:
    """*a*, with b's scores added where b has the document too."""
    if not len(b) or not len(a):
        return a
    ok, at = found(b.ids, a.ids)
    if not ok.any():
        return a
    scores = a.scores.copy()
    scores[ok] += b.scores[at[ok]]
    return Hits(a.ids, scores)


def from_mask(mask: np.ndarray, score: float) -> Hits:
    ids = np.flatnonzero(mask)
    return Hits(ids, np.full(len(ids), score, dtype=np.float64))


class Result:
    """A query's matching documents (ascending) and their scores."""

    __slots__ = ("ids", "scores", "n", "_mask")

    def __init__(self, ids: np.ndarray, scores: np.ndarray, n: int):
        self.ids = ids
        self.scores = scores
        self.n = n
        self._mask = None

    @property
    def mask(self) -> np.ndarray:
        """The matching documents as a mask over the collection (made once; shared:
        callers copy before changing it)."""
        if self._mask is None:
            mask = np.zeros(self.n, dtype=bool)
            mask[self.ids] = True
            self._mask = mask
        return self._mask

    def scores_of(self, docs: np.ndarray) -> np.ndarray:
        """Scores of the sorted document numbers *docs* (0 where not matching): the
        fewer of the two searched in the other (a page's documents are often all the
        matches, a bonus clause's matches a few of them)."""
        if len(self.ids) == len(docs) and np.array_equal(self.ids, docs):
            return self.scores.copy()
        out = np.zeros(len(docs), dtype=np.float64)
        if len(self.ids) < len(docs):
            ok, at = found(docs, self.ids)
            out[at[ok]] = self.scores[ok]
        else:
            ok, at = found(self.ids, docs)
            out[ok] = self.scores[at[ok]]
        return out

    def dense_scores(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float64)
        out[self.ids] = self.scores
        return out
