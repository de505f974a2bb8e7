"""Similar documents (`WhooshBackend.more_like_this`, `search_app.search.similar`) over
the real fixture records (tests/fixtures/search_records.jsonl), plus a near-duplicate,
an empty document and a document whose words no other has: what is similar, what never
is, determinism, limits, and agreement with Whoosh's own statistics and search (the
same key terms searched by Whoosh give the same documents with the same scores)."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import pytest
from test_search import DELETED_ID, RECORDS, build, index_dir
from whoosh.searching import Searcher

from indexer.chinese.analysis import is_word, word_occurrences
from search_app.search import MAX_PAGE_SIZE, open_backend, similar

pytest_plugins = ["tests.web_fixtures"]

SHENYANG = "沈阳市城市房屋使用安全管理办法"
BASE = next(r for r in RECORDS if r.doc_no == "杭房公委〔2022〕9号")
# The same notice published again under another address, its last paragraph dropped.
NEAR_DUPLICATE = dataclasses.replace(
    BASE, id="", url="https://example.gov.cn/copy/9.html", source="tests/near-duplicate",
    body=BASE.body.rsplit("\n", 1)[0])
EMPTY = dataclasses.replace(BASE, id="", url="https://example.gov.cn/empty.html", title="",
                            body="", doc_no="", source="tests/empty", body_kind="none")
# Words that no other document has: nothing to be similar by.
UNIQUE = dataclasses.replace(BASE, id="", url="https://example.gov.cn/unique.html",
                             title="qzxv wvkj", body="qzxv wvkj plmq qzxv", doc_no="",
                             source="tests/unique")
# Nothing but words that a large part of the records have.
COMMON_WORDS = ("发展", "管理", "政策", "住房", "工作")
COMMON = dataclasses.replace(BASE, id="", url="https://example.gov.cn/common.html",
                             title="", body="，".join(COMMON_WORDS * 3), doc_no="",
                             source="tests/common")
EXTRA = [NEAR_DUPLICATE, EMPTY, UNIQUE, COMMON]
SAMPLE = RECORDS[::7]  # 30 real records


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    b = open_backend(build(tmp_path_factory.mktemp("similar") / "ix", RECORDS + EXTRA))
    yield b
    b.close()


def similar_ids(backend, doc_id: str, limit: int = 5) -> list[str]:
    return [h.id for h in backend.more_like_this(doc_id, limit)]


def fresh(backend):
    """The backend with its cached similar documents and document frequencies dropped."""
    with backend._use() as gen:
        gen.similar.clear()
        gen.doc_freqs.clear()
    return backend


# --- what is similar ---------------------------------------------------------------

def test_near_duplicate_is_the_most_similar_document_both_ways(backend):
    assert BASE.id != NEAR_DUPLICATE.id
    assert similar_ids(backend, BASE.id)[0] == NEAR_DUPLICATE.id
    assert similar_ids(backend, NEAR_DUPLICATE.id)[0] == BASE.id


def test_the_two_jiangxi_texts_citing_one_decree_are_each_others_first(backend):
    a, b = [r for r in RECORDS if "赣府发〔2020〕2号" in r.body]
    assert similar_ids(backend, a.id)[0] == b.id
    assert similar_ids(backend, b.id)[0] == a.id


def test_commentary_finds_the_measures_it_explains_and_their_other_commentary(backend):
    doc = next(r for r in RECORDS if r.title == SHENYANG + "政策解读")
    related = {r.id for r in RECORDS if SHENYANG in r.title and r.id != doc.id}
    assert len(related) == 2
    assert related <= set(similar_ids(backend, doc.id, 3))


def test_housing_fund_notice_finds_housing_fund_documents(backend):
    hits = backend.more_like_this(BASE.id, 5)
    assert len(hits) == 5
    assert all("公积金" in h.title for h in hits)


# --- what never is ---------------------------------------------------------------------

def test_a_document_is_never_similar_to_itself(backend):
    for r in SAMPLE + [NEAR_DUPLICATE]:
        assert r.id not in similar_ids(backend, r.id, 10)


def test_unknown_ids_empty_documents_and_unique_words_give_nothing(backend):
    assert backend.more_like_this("no-such-id") == []
    assert backend.more_like_this("") == []
    assert backend.document(EMPTY.id) is not None  # indexed, but has no words
    assert backend.more_like_this(EMPTY.id) == []
    assert backend.document(UNIQUE.id) is not None
    assert backend.more_like_this(UNIQUE.id) == []


def test_a_document_of_common_words_only_is_similar_by_the_least_common_of_them(backend):
    with backend._use() as gen:
        reader = gen.searcher.reader()
        n = reader.doc_count_all()
        df = {w: reader.doc_frequency("body", w) for w in COMMON_WORDS}
        assert all(d > similar.MAX_DF_SHARE * n for d in df.values())
        text = similar.analysed_text(COMMON.title, COMMON.body)
        terms = [w for w, _ in similar.key_terms(gen.evaluator(), text)]
    assert terms == sorted(COMMON_WORDS, key=lambda w: (df[w], w))[:similar.MIN_TERMS]
    hits = backend.more_like_this(COMMON.id, 5)
    assert len(hits) == 5 and COMMON.id not in {h.id for h in hits}


def test_deleted_documents_are_never_similar():
    b = open_backend(index_dir("multi"))
    try:
        deleted = next(r for r in RECORDS if r.id == DELETED_ID)
        assert b.more_like_this(DELETED_ID) == []
        # The deleted record's own neighbours in the one-segment index, asked the other way.
        single = open_backend(index_dir("single"))
        try:
            near = similar_ids(single, deleted.id)
        finally:
            single.close()
        for doc_id in near:
            assert DELETED_ID not in similar_ids(b, doc_id, 20)
    finally:
        b.close()


# --- determinism and limits --------------------------------------------------------------

def test_same_documents_in_the_same_order_every_time(backend, tmp_path):
    first = {r.id: [(h.id, h.score) for h in backend.more_like_this(r.id)] for r in SAMPLE}
    again = {r.id: [(h.id, h.score) for h in fresh(backend).more_like_this(r.id)]
             for r in SAMPLE}
    assert again == first
    other = open_backend(build(tmp_path / "again", RECORDS + EXTRA))
    try:
        assert {r.id: [(h.id, h.score) for h in other.more_like_this(r.id)]
                for r in SAMPLE} == first
    finally:
        other.close()


def test_limit_is_respected_and_a_smaller_limit_is_a_prefix(backend):
    for r in SAMPLE[:10]:
        ten = similar_ids(backend, r.id, 10)
        assert len(ten) == 10
        for limit in (1, 3, 5):
            assert similar_ids(fresh(backend), r.id, limit) == ten[:limit]
    assert len(similar_ids(backend, BASE.id, 0)) == 1  # at least one is asked for
    assert len(similar_ids(backend, BASE.id, 10_000)) <= MAX_PAGE_SIZE


def test_scores_descend(backend):
    for r in SAMPLE:
        scores = [h.score for h in backend.more_like_this(r.id, 10)]
        assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


# --- agreement with Whoosh ---------------------------------------------------------------

def test_word_counts_are_the_indexed_words_and_sub_words():
    for r in SAMPLE:
        text = similar.analysed_text(r.title, r.body)
        indexed = Counter(word_occurrences(text)[0])
        counted = {w: c for w, c in similar.word_counts(text).items() if is_word(w)}
        assert counted == indexed


@pytest.mark.parametrize("kind", ["single", "multi", "plain"])
def test_document_frequencies_are_whooshs(kind):
    b = open_backend(index_dir(kind))
    try:
        with b._use() as gen:
            e = gen.evaluator()
            reader = gen.searcher.reader()
            for r in SAMPLE:
                for word, _ in similar.candidate_words(similar.analysed_text(r.title, r.body)):
                    assert similar.doc_frequency(e.leaves, "body", word) == \
                        reader.doc_frequency("body", word)
    finally:
        b.close()


def test_key_terms_are_the_words_best_by_tf_idf_with_whooshs_frequencies(backend):
    """Counted from the indexer's own analysis, document frequencies from Whoosh's
    reader: a word in no other document is never a key term, one in more than
    MAX_DF_SHARE of them only when fewer than MIN_TERMS others are left."""
    with backend._use() as gen:
        reader = gen.searcher.reader()
        n = reader.doc_count_all()
        for r in SAMPLE:
            text = similar.analysed_text(r.title, r.body)
            counts = Counter(w for w in word_occurrences(text)[0] if len(w) >= 2)
            cands = sorted(counts.items(), key=lambda wc: (-wc[1], -len(wc[0]), wc[0]))
            scored, common = [], []
            for w, tf in cands[:similar.CANDIDATES]:
                df = reader.doc_frequency("body", w)
                if df >= 2:
                    (scored if df <= similar.MAX_DF_SHARE * n else common).append(
                        (tf * (math.log(n / (df + 1)) + 1), w))
            scored.sort(key=lambda sw: (-sw[0], sw[1]))
            common.sort(key=lambda sw: (-sw[0], sw[1]))
            if len(scored) < similar.MIN_TERMS:
                scored = sorted(scored + common[:similar.MIN_TERMS - len(scored)],
                                key=lambda sw: (-sw[0], sw[1]))
            best = scored[0][0]
            expected = [(w, pytest.approx(sc / best)) for sc, w in scored[:similar.TERMS]]
            assert similar.key_terms(gen.evaluator(), text) == expected


@pytest.mark.parametrize("kind", ["single", "multi", "plain"])
def test_key_terms_searched_by_whoosh_give_the_same_documents_and_scores(kind):
    """The evaluator's ranking of the key terms is Whoosh's BM25F ranking of them
    (written by the indexer's tables or by Whoosh's own writer, in one or three
    segments)."""
    b = open_backend(index_dir(kind))
    try:
        with b._use() as gen:
            s = gen.searcher
            whoosh = Searcher(s.reader(), fromindex=gen.ix)
            checked = 0
            for r in SAMPLE:
                docnum = s.document_number(id=r.id)
                if docnum is None:  # the deleted one
                    continue
                text = similar.analysed_text(r.title, r.body)
                q = similar.similar_query(similar.key_terms(gen.evaluator(), text))
                ours = b.more_like_this(r.id, 5)
                theirs = whoosh.search(q, limit=5, mask={docnum})
                assert [h.score for h in ours] == pytest.approx(
                    [round(h.score, 4) for h in theirs], abs=1e-4)
                # The same documents, except where two have the same score.
                scores = [h.score for h in theirs]
                for h, hs in zip(ours, theirs, strict=True):
                    if scores.count(hs.score) == 1:
                        assert h.id == hs["id"]
                checked += 1
            assert checked >= len(SAMPLE) - 1
    finally:
        b.close()


# --- the site ----------------------------------------------------------------------------

def test_document_page_and_api_show_the_similar_documents(client, web_backend):
    doc_id = client.get("/api/search?q=住房公积金").get_json()["results"][0]["id"]
    expected = web_backend.more_like_this(doc_id, 5)
    assert len(expected) == 5 and doc_id not in {h.id for h in expected}
    data = client.get(f"/api/documents/{doc_id}").get_json()
    assert [s["id"] for s in data["similar"]] == [h.id for h in expected]
    assert all(s["title"] for s in data["similar"])
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    links = [f'href="/documents/{h.id}"' for h in expected]
    assert all(link in page for link in links)
    assert page.index(links[0]) < page.index(links[-1])
