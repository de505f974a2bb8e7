"""Exact-phrase recall: a quoted phrase finds exactly the documents whose normalised
title or body (whitespace removed) contains it. 208 real records, 600 random substrings
of 2–12 characters of indexed bodies and titles (seeded), checked against brute force."""

from __future__ import annotations

import random

import pytest
from test_search import RECORDS, flat, index_dir

from search_app.search import SearchRequest, open_backend

SEED = 20261128
N_BODY, N_TITLE = 500, 100


@pytest.fixture(scope="module")
def backend():
    b = open_backend(index_dir("single"))
    yield b
    b.close()


def expected(phrase: str) -> set[str]:
    p = flat(phrase)
    return {r.id for r in RECORDS if p in flat(r.title) or p in flat(r.body)}


def all_ids(backend, q: str) -> set[str]:
    out: set[str] = set()
    page = 1
    while True:
        res = backend.search(SearchRequest(q=q, page=page, size=100, snippets=False))
        out |= {h.id for h in res.hits}
        if page * 100 >= res.total or page * 100 >= 1000:
            assert res.total == len(out) or res.total > 1000
            return out
        page += 1


def samples(rng: random.Random, texts: list[str], n: int) -> list[str]:
    out = []
    while len(out) < n:
        t = rng.choice(texts)
        size = rng.randint(2, 12)
        if len(t) < size:
            continue
        start = rng.randrange(0, len(t) - size + 1)
        s = t[start:start + size]
        if len(flat(s)) < 2 or any(q in s for q in '"“”‘’「」『』《》＂'):
            continue  # a quote character inside would end the phrase
        out.append(s)
    return out


def test_enough_real_records():
    assert len(RECORDS) >= 150


def test_random_substrings_have_perfect_recall_and_precision(backend):
    rng = random.Random(SEED)
    phrases = (samples(rng, [r.body for r in RECORDS], N_BODY)
               + samples(rng, [r.title for r in RECORDS], N_TITLE))
    wrong = []
    for p in phrases:
        got = backend.search(SearchRequest(q=f'"{p}"', size=100, snippets=False))
        want = expected(p)
        ids = {h.id for h in got.hits} if got.total <= 100 else all_ids(backend, f'"{p}"')
        if ids != want or got.total != len(want):
            wrong.append((p, len(ids), len(want)))
    assert not wrong, wrong[:10]


def test_phrase_with_space_and_full_width_forms(backend):
    r = next(r for r in RECORDS if "住房公积金" in r.body)
    assert r.id in all_ids(backend, '"住房 公积金"')
    fw = next(r for r in RECORDS if "2023" in r.body)
    assert fw.id in all_ids(backend, '"２０２３"')


def test_repeated_grams(backend):
    # Phrases whose bigrams repeat (一一, 〇〇〇) still match exactly.
    for p in ("一一", "十一条", "〇〇"):
        assert all_ids(backend, f'"{p}"') == expected(p)
