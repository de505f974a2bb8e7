"""Phrase matching by positions, against brute force over small made-up postings
(document numbers and positions only: no text), with the number maps of doc_sets
forced on and off."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest

from search_app.search import doc_sets
from search_app.search.phrase_match import _phrase_docs


def postings(occurrences: dict[int, list[int]]) -> SimpleNamespace:
    """A term's postings as the matcher reads them: sorted document numbers, and each
    document's sorted positions at pos[poff[i]:poff[i + 1]]."""
    ids = sorted(occurrences)
    pos = [p for d in ids for p in sorted(occurrences[d])]
    poff = np.cumsum([0] + [len(occurrences[d]) for d in ids])
    return SimpleNamespace(ids=np.array(ids, dtype=np.int64), poff=poff.astype(np.int64),
                           pos=np.array(pos, dtype=np.uint32))


def brute_force(terms: list[dict[int, list[int]]], slop: int) -> list[int]:
    """Documents where term i+1 occurs 1..slop positions after term i, for every i."""
    out = []
    for d in sorted(set.intersection(*(set(t) for t in terms))):
        reach = set(terms[0][d])
        for t in terms[1:]:
            reach = {p for p in t[d] if any(1 <= p - r <= slop for r in reach)}
        if reach:
            out.append(d)
    return out


@pytest.mark.parametrize("cost", [0, 10**9])  # always a binary search, always a map
def test_a_later_term_at_the_start_of_document_0_matches_nothing_before_it(monkeypatch,
                                                                           cost):
    # Start positions are a term's positions less its place in the phrase: negative for
    # a third term at position 0 of document 0, which a map must not be indexed by.
    monkeypatch.setattr(doc_sets, "PROBE_COST", cost)
    monkeypatch.setattr(doc_sets, "MEMBER_COST", cost)
    a, x, b = postings({0: [5]}), postings({0: [6]}), postings({0: [0]})
    ps = [a, x, b]
    cand = np.array([0], dtype=np.int64)
    assert _phrase_docs(ps, cand, 1).tolist() == []
    assert _phrase_docs([b, a, x], cand, 1).tolist() == []
    assert _phrase_docs([a, x, postings({0: [0, 7]})], cand, 1).tolist() == [0]


@pytest.mark.parametrize("cost", [0, 10**9])
@pytest.mark.parametrize("slop", [1, 3])
def test_random_postings_match_as_brute_force_says(monkeypatch, cost, slop):
    monkeypatch.setattr(doc_sets, "PROBE_COST", cost)
    monkeypatch.setattr(doc_sets, "MEMBER_COST", cost)
    rng = random.Random(20261204)
    for _ in range(400):
        n_docs, n_terms = rng.randint(1, 4), rng.randint(2, 4)
        terms = []
        for _ in range(n_terms):
            docs = rng.sample(range(n_docs), rng.randint(1, n_docs))
            terms.append({d: rng.sample(range(8), rng.randint(1, 3)) for d in docs})
        cand = sorted(set.intersection(*(set(t) for t in terms)))
        if not cand:
            continue
        got = _phrase_docs([postings(t) for t in terms], np.array(cand, dtype=np.int64), slop)
        assert got.tolist() == brute_force(terms, slop), terms
