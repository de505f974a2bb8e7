"""Sets of documents with scores (search_app.search.doc_sets): what each node of a query
evaluates to. Both ways of taking a union (sorting the parts, adding into dense arrays)
must give the same documents and the same sums."""

import numpy as np
import pytest

from search_app.search import doc_sets as ds
from search_app.search.doc_sets import Result


def hits(pairs):
    ids = np.array([d for d, _ in pairs], dtype=np.int64)
    return ds.Hits(ids, np.array([s for _, s in pairs], dtype=np.float64))


def pairs(h):
    return list(zip(h.ids.tolist(), h.scores.tolist(), strict=True))


A = hits([(1, 1.0), (4, 2.0), (7, 3.0)])
B = hits([(0, 0.5), (4, 0.25), (9, 1.0)])
C = hits([(4, 4.0), (7, 8.0)])


@pytest.mark.parametrize("share", [1.0, 0.0])  # sorted parts; dense arrays
def test_a_union_has_every_document_once_with_the_sum_of_its_scores(monkeypatch, share):
    monkeypatch.setattr(ds, "DENSE_SHARE", share)
    assert pairs(ds.union([A, B, C], 10)) == [(0, 0.5), (1, 1.0), (4, 6.25), (7, 11.0),
                                              (9, 1.0)]
    assert ds.union_ids([A.ids, B.ids, C.ids], 10).tolist() == [0, 1, 4, 7, 9]


@pytest.mark.parametrize("share", [1.0, 0.0])
def test_both_ways_of_a_union_agree_on_random_sets(monkeypatch, share):
    rng = np.random.default_rng(5)
    parts = []
    for size in (3, 40, 400):
        ids = np.unique(rng.integers(0, 1000, size))
        parts.append(ds.Hits(ids, rng.random(len(ids))))
    want = np.zeros(1000)
    for p in parts:
        want[p.ids] += p.scores
    monkeypatch.setattr(ds, "DENSE_SHARE", share)
    got = ds.union(parts, 1000)
    assert got.ids.tolist() == np.flatnonzero(want).tolist()
    assert np.allclose(got.scores, want[got.ids], rtol=0, atol=1e-12)


def test_an_intersection_adds_both_scores_whichever_side_is_smaller():
    assert pairs(ds.intersect(A, C)) == [(4, 6.0), (7, 11.0)]
    assert pairs(ds.intersect(C, A)) == [(4, 6.0), (7, 11.0)]
    assert pairs(ds.intersect(A, ds.EMPTY)) == []
    assert ds.intersect_all([A.ids, B.ids, C.ids]).tolist() == [4]


def test_without_and_plus_keep_the_first_sets_documents():
    assert pairs(ds.without(A, C.ids)) == [(1, 1.0)]
    assert pairs(ds.plus(A, B)) == [(1, 1.0), (4, 2.25), (7, 3.0)]
    assert A.scores.tolist() == [1.0, 2.0, 3.0]  # never changed in place


def test_a_results_scores_are_looked_up_from_either_side():
    r = Result(A.ids, A.scores, 10)
    assert r.scores_of(np.array([0, 1, 2, 3, 4, 5, 6, 7, 8])).tolist() == [
        0, 1.0, 0, 0, 2.0, 0, 0, 3.0, 0]
    assert r.scores_of(np.array([4, 9])).tolist() == [2.0, 0.0]
    assert r.scores_of(A.ids).tolist() == [1.0, 2.0, 3.0]
    assert np.flatnonzero(r.mask).tolist() == [1, 4, 7]
    assert r.dense_scores()[[1, 4, 7]].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("cost", [0, 10**9])  # always a binary search, always a map
def test_membership_and_place_are_the_same_by_search_or_by_map(monkeypatch, cost):
    monkeypatch.setattr(ds, "PROBE_COST", cost)
    monkeypatch.setattr(ds, "MEMBER_COST", cost)
    rng = np.random.default_rng(5)
    for size, probes in [(1, 5), (50, 400), (3000, 200), (2000, 2000)]:
        ids = np.unique(rng.integers(10, 5000, size))
        # Probes below, among and beyond the ids' numbers.
        probe = np.unique(np.concatenate([rng.integers(0, 6000, probes), ids[:3]]))
        ok, at = ds.found(ids, probe)
        assert ok.tolist() == np.isin(probe, ids).tolist()
        assert ds.member(ids, probe).tolist() == ok.tolist()
        assert ids[at[ok]].tolist() == probe[ok].tolist()
        assert ((at >= 0) & (at < len(ids))).all()
    assert ds.intersect_ids(np.array([1, 4, 9]), np.array([0, 4, 9, 12])).tolist() == [4, 9]


@pytest.mark.parametrize("cost", [0, 10**9])  # always a binary search, would be a map
def test_negative_numbers_are_found_where_they_are_and_nowhere_else(monkeypatch, cost):
    # Phrase matching probes position keys less a term's place in the phrase: near the
    # start of document 0 they are negative, and a map indexed by them would wrap round.
    monkeypatch.setattr(ds, "PROBE_COST", cost)
    monkeypatch.setattr(ds, "MEMBER_COST", cost)
    for ids, probe in [([-2], [-2, 3]), ([-2, 5], [-3, -2, 1, 5]), ([0, 5], [-1, 0, 5]),
                       ([-1], [-2])]:
        ids, probe = np.array(ids, dtype=np.int64), np.array(probe, dtype=np.int64)
        expected = np.isin(probe, ids).tolist()
        assert ds.member(ids, probe).tolist() == expected
        ok, at = ds.found(ids, probe)
        assert ok.tolist() == expected
        assert ids[at[ok]].tolist() == probe[ok].tolist()
