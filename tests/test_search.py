"""Search over a small index of real records (tests/fixtures/search_records.jsonl):
word matching, phrases, operators, fields, ranking, sorting, paging, documents,
more-like-this, suggestions and index refresh. Expected sets are computed by brute force
over the records.

The index helpers here are shared by the other search test modules (one build per
session, single- and multi-segment)."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from indexer.chinese.normalize import normalize
from indexer.index.schema import build_schema, classification_levels, record_to_document
from indexer.index.segment_writer import TablesWriter
from indexer.record import Record
from search_app.search import QueryError, SearchRequest, open_backend

FIXTURE = Path(__file__).parent / "fixtures" / "search_records.jsonl"
RECORDS = [Record.from_dict(json.loads(line))
           for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
# The multi-segment index deletes this record in its last commit.
DELETED_ID = RECORDS[5].id

_BUILT: dict[str, Path] = {}
_ROOT = Path(tempfile.mkdtemp(prefix="gongkai-search-tests-"))
atexit.register(shutil.rmtree, _ROOT, True)


def build(path: Path, records, segments: int = 1, delete: tuple[str, ...] = (),
          plain: bool = False) -> Path:
    """An index of *records* in *segments* segments, written as the indexer writes
    (`TablesWriter`), or with *plain*, by Whoosh's own writer (every posting in
    Whoosh's files; the backend must answer the same from either)."""
    path.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(path), build_schema())

    def writer():
        return ix.writer() if plain else TablesWriter(ix)

    step = -(-len(records) // segments)
    for i in range(0, len(records), step):
        w = writer()
        for r in records[i:i + step]:
            w.add_document(**record_to_document(r))
        w.commit(merge=False)
    if delete:
        w = writer()
        for doc_id in delete:
            w.delete_by_term("id", doc_id)
        w.commit(merge=False)
    return path


def index_dir(kind: str = "single") -> Path:
    """The fixture index: "single" (one segment), "multi" (three segments and one
    deleted document) or "plain" (one segment written by Whoosh's own writer)."""
    if kind not in _BUILT:
        if kind == "single":
            _BUILT[kind] = build(_ROOT / kind, RECORDS)
        elif kind == "plain":
            _BUILT[kind] = build(_ROOT / kind, RECORDS, plain=True)
        else:
            _BUILT[kind] = build(_ROOT / kind, RECORDS, segments=3, delete=(DELETED_ID,))
    return _BUILT[kind]


def live_records(kind: str = "single") -> list[Record]:
    return [r for r in RECORDS if kind == "single" or r.id != DELETED_ID]


def flat(s: str) -> str:
    return "".join(normalize(s).split())


def contains(r: Record, phrase: str, title_only: bool = False) -> bool:
    p = flat(phrase)
    return p in flat(r.title) or (not title_only and p in flat(r.body))


def facet_value(r: Record, name: str):
    if name == "agency":
        return r.agency.strip()
    if name == "year":
        return str(r.year) if r.year else ""
    if name == "classification":
        return classification_levels(r.classification)[0]
    if name == "doc_type":
        return r.doc_type
    if name == "region":  # counted by province/city
        return "/".join(r.region.split("/")[:2])
    if name == "report_year":
        return str(r.report_year) if r.report_year else ""
    if name == "report_format":
        return r.report_format
    return r.validity.strip()


@pytest.fixture(scope="module", params=["embedded", "typesense"])
def backend(request):
    """Every test of this module runs on both backends: the embedded index, and the same
    records in a collection of the session's 3-node Typesense cluster."""
    if request.param == "embedded":
        b = open_backend(index_dir("single"))
    else:
        from indexer.typesense.writer import index_items_typesense

        cluster = request.getfixturevalue("typesense_cluster")
        url = cluster.url.rsplit("/", 1)[0] + "/search_tests"
        index_items_typesense(url, RECORDS, rebuild=True)
        b = open_backend(url)
    yield b
    b.close()


def ids(backend, q: str, **kw) -> set[str]:
    res = backend.search(SearchRequest(q=q, size=100, snippets=False, **kw))
    assert res.total <= 100, "test query too broad for one page"
    return {h.id for h in res.hits}


def expect(pred) -> set[str]:
    return {r.id for r in RECORDS if pred(r)}


# --- words ------------------------------------------------------------------------------

def test_word_query_finds_every_document_containing_the_word(backend):
    got = ids(backend, "购房资格")
    assert expect(lambda r: contains(r, "购房资格")) <= got
    assert got  # and nothing that lacks either piece
    for r in RECORDS:
        if r.id in got:
            assert contains(r, "购房") and contains(r, "资格")


def test_minzheng_word_does_not_match_renmin_zhengfu(backend):
    only_renmin = expect(lambda r: "民政" not in flat(r.title + r.body).replace("人民政府", "")
                         and "人民政府" in flat(r.title + r.body))
    assert len(only_renmin) >= 10
    got = ids(backend, "民政")
    assert got and not (got & only_renmin)


def test_traditional_query_finds_simplified_text(backend):
    want = expect(lambda r: contains(r, "政府信息公开"))
    assert want
    assert want <= ids(backend, "政府資訊公開")


def test_all_words_required(backend):
    got = ids(backend, "公积金 多子女")
    assert got == expect(lambda r: contains(r, "公积金") and contains(r, "多子女"))


def test_function_words_are_not_required_unless_alone(backend):
    assert ids(backend, "多子女的家庭") == ids(backend, "多子女 家庭")
    res = backend.search(SearchRequest(q="的", size=1))
    assert res.total > 100


# --- doc numbers ------------------------------------------------------------------------

def test_doc_no_as_plain_text_finds_other_bracket_spelling(backend):
    want = expect(lambda r: "赣府发〔2020〕2号" in r.body)
    assert len(want) == 2
    assert want <= ids(backend, "赣府发[2020]2号")
    assert want <= ids(backend, "赣府发（2020）2号")


def test_doc_no_field_exact_and_partial(backend):
    target = next(r for r in RECORDS if r.doc_no == "杭房公委〔2022〕9号")
    assert ids(backend, "文号:杭房公委[2022]9号") == {target.id}
    assert ids(backend, "doc_no:杭房公委(2022)9号") == {target.id}
    partial = ids(backend, "文号:杭房公委")
    assert partial == expect(lambda r: "杭房公委" in r.doc_no)
    assert len(partial) >= 2


def test_doc_no_plain_text_ranks_own_document_first(backend):
    res = backend.search(SearchRequest(q="京政发〔2023〕14号", size=5))
    assert res.hits[0].doc_no == "京政发〔2023〕14号"


# --- phrases and operators --------------------------------------------------------------

@pytest.mark.parametrize("q,phrase", [('"公积金贷款"', "公积金贷款"), ("“住房限购”", "住房限购"),
                                      ("「人才」", "人才"), ("《住房公积金管理条例》", "住房公积金管理条例"),
                                      ('"民政"', "民政")])
def test_quoted_phrase_matches_exactly_the_containing_documents(backend, q, phrase):
    assert ids(backend, q) == expect(lambda r: contains(r, phrase))


def test_one_character_phrase(backend):
    res = backend.search(SearchRequest(q='"癌"', size=100))
    assert {h.id for h in res.hits} == expect(lambda r: contains(r, "癌"))


def test_or_and_pipe(backend):
    want = expect(lambda r: contains(r, "中医药") or contains(r, "契税"))
    assert ids(backend, '"中医药" OR "契税"') == want
    assert ids(backend, '"中医药" | "契税"') == want


def test_not_and_minus(backend):
    want = expect(lambda r: contains(r, "公积金贷款") and not contains(r, "杭州"))
    assert ids(backend, '"公积金贷款" -"杭州"') == want
    assert ids(backend, '"公积金贷款" NOT "杭州"') == want


def test_parentheses_group(backend):
    want = expect(lambda r: (contains(r, "中医药") or contains(r, "契税")) and r.year == 2023)
    assert ids(backend, '("中医药" OR "契税") year:2023') == want


def test_title_field(backend):
    assert ids(backend, 'title:"公积金"') == expect(lambda r: contains(r, "公积金", True))
    got = ids(backend, "title:公积金")
    assert got and all(contains(r, "公积金", True) for r in RECORDS if r.id in got)


def test_agency_field_exact_and_words(backend):
    want = expect(lambda r: r.agency == "北京市中医管理局")
    assert ids(backend, "agency:北京市中医管理局") == want
    assert want <= ids(backend, "机构:中医管理局")


def test_year_type_classification_fields(backend):
    assert ids(backend, "year:2017") == expect(lambda r: r.year == 2017)
    assert ids(backend, "year:2017-2019") == expect(lambda r: r.year and 2017 <= r.year <= 2019)
    assert ids(backend, "类型:条例") == expect(lambda r: r.doc_type == "条例")
    assert ids(backend, "分类:调控政策") == expect(lambda r: r.classification == "调控政策")


def test_unknown_field_is_plain_text(backend):
    assert ids(backend, "foo:公积金贷款") == ids(backend, "foo 公积金贷款")


def test_bad_year_field_is_a_query_error(backend):
    with pytest.raises(QueryError) as err:
        backend.search(SearchRequest(q="year:20x0"))
    assert err.value.code == "bad-year"


# --- relaxation and suggestions ---------------------------------------------------------

def test_relaxed_when_no_document_has_every_word(backend):
    res = backend.search(SearchRequest(q="公积金 火星车", size=100))
    assert res.relaxed
    assert res.total == len(ids(backend, "公积金"))
    assert not backend.search(SearchRequest(q="公积金 贷款")).relaxed


def test_suggestions_drop_a_filter(backend):
    res = backend.search(SearchRequest(q='"公积金"', filters={"agency": ["北京市中医管理局"]}))
    assert res.total == 0
    labels = [s["label"] for s in res.suggestions]
    assert any("北京市中医管理局" in lab for lab in labels)
    drop = next(s for s in res.suggestions if "北京市中医管理局" in s["label"])
    assert drop["request"]["filters"] == {}
    assert drop["count"] == len(expect(lambda r: contains(r, "公积金")))


# --- ranking, sorting, paging -----------------------------------------------------------

def test_title_query_ranks_its_document_first(backend):
    target = next(r for r in RECORDS if r.title == "志愿服务条例")
    res = backend.search(SearchRequest(q="志愿服务条例", size=3))
    assert res.hits[0].id == target.id


def test_browse_is_newest_first_with_undated_last(backend):
    res = backend.search(SearchRequest(q="", size=100, page=3))
    assert res.total == len(RECORDS)
    dates = [h.pub_date for h in res.hits]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True)
    assert dates[-1] == ""  # the undated documents are on the last page, last


def test_oldest_sort(backend):
    res = backend.search(SearchRequest(q='"通知"', sort="oldest", size=20))
    dates = [h.pub_date for h in res.hits if h.pub_date]
    assert dates == sorted(dates)
    assert dates[0] == min(r.pub_date for r in RECORDS if r.pub_date and contains(r, "通知"))


def test_pages_are_disjoint_and_total_exact(backend):
    want = expect(lambda r: contains(r, "住房"))
    seen: list[str] = []
    for page in (1, 2, 3, 4, 5, 6, 7):
        res = backend.search(SearchRequest(q='"住房"', page=page, size=20, snippets=False))
        assert res.total == len(want)
        seen += [h.id for h in res.hits]
    assert len(seen) == len(set(seen)) == len(want)


@pytest.mark.parametrize("kw,code", [({"page": 101, "size": 10}, "page-too-deep"),
                                     ({"page": 0}, "bad-page"), ({"size": 0}, "bad-size"),
                                     ({"size": 101}, "bad-size"), ({"sort": "x"}, "bad-sort"),
                                     ({"filters": {"colour": ["x"]}}, "bad-filter"),
                                     ({"filters": {"year": ["20"]}}, "bad-year")])
def test_request_rejections(backend, kw, code):
    with pytest.raises(QueryError) as err:
        backend.search(SearchRequest(q="住房", **kw))
    assert err.value.code == code


def test_hits_carry_snippets_and_title_html(backend):
    res = backend.search(SearchRequest(q="公积金贷款", size=3))
    h = res.hits[0]
    assert "<mark>" in h.snippet and "<mark>" not in h.snippet_text
    assert "<mark>" in h.title_html
    assert h.to_json()["snippet"] == h.snippet_text


# --- documents, more like this, stats --------------------------------------------------

def test_document_marks_matches_in_body(backend):
    r = next(r for r in RECORDS if "购房资格" in r.body)
    d = backend.document(r.id, "购房资格")
    assert d["title"] == r.title and d["body"] == r.body
    assert d["body_html"].count("<mark>购房资格</mark>") == r.body.count("购房资格")
    assert backend.document("no-such-id") is None


def test_more_like_this_excludes_itself(backend):
    r = next(r for r in RECORDS if r.doc_no == "杭房公委〔2022〕9号")
    hits = backend.more_like_this(r.id, limit=4)
    assert 1 <= len(hits) <= 4
    assert r.id not in {h.id for h in hits}
    assert any("公积金" in h.title for h in hits)


def test_stats(backend):
    s = backend.stats()
    assert s["documents"] == len(RECORDS)
    agencies = {v["value"]: v["count"] for v in s["facets"]["agency"]}
    assert agencies["北京市中医管理局"] == len(expect(lambda r: r.agency == "北京市中医管理局"))


# --- refresh ----------------------------------------------------------------------------

def test_backend_sees_new_commits_and_survives_concurrent_searches(tmp_path):
    path = build(tmp_path / "ix", RECORDS[:20])
    b = open_backend(path)
    try:
        newcomer = RECORDS[30]
        assert b.document(newcomer.id) is None
        errors: list[BaseException] = []
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    b.search(SearchRequest(q="住房", size=5))
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        ix = whoosh_index.open_dir(str(path))
        w = ix.writer()
        w.add_document(**record_to_document(newcomer))
        w.commit(merge=False)
        deadline = time.monotonic() + 120
        while b.document(newcomer.id) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join()
        assert not errors
        assert b.document(newcomer.id) is not None
        assert b.stats()["documents"] == 21
    finally:
        b.close()


def test_missing_index_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_backend(tmp_path / "nothing-here")


def test_snippet_marks_word_not_inside_longer_word(backend):
    res = backend.search(SearchRequest(q="民政", size=10))
    for h in res.hits:
        assert "人<mark>民政</mark>府" not in h.snippet + h.title_html


def test_negation_inside_groups(backend):
    want = expect(lambda r: (contains(r, "中医药") and not contains(r, "北京")) or contains(r, "契税"))
    assert ids(backend, '("中医药" -"北京") OR "契税"') == want
    res = backend.search(SearchRequest(q='"契税" OR -"住房"', size=1))
    assert res.total == len(expect(lambda r: contains(r, "契税") or not contains(r, "住房")))


def test_backend_follows_a_rebuilt_index_generation(tmp_path):
    from indexer.index.writer import build_index

    path = tmp_path / "index"
    build_index(path, RECORDS[:5])
    b = open_backend(path)
    try:
        assert b.stats()["documents"] == 5
        build_index(path, RECORDS[5:12])  # a new generation, swapped in atomically
        deadline = time.monotonic() + 120
        while b.stats()["documents"] != 7 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert b.stats()["documents"] == 7
        assert b.document(RECORDS[0].id) is None and b.document(RECORDS[6].id) is not None
    finally:
        b.close()


EVAL_QUERIES = ["住房公积金管理中心", "购房 条件", "公积金贷款 -商业", '"公积金贷款"', "“住房限购”",
                "民政", "title:住房", "(住房 OR 公积金) 通知", "购房资格", "赣府发[2020]2号",
                "year:2020-2024 住房", '"房"', "多子女 家庭"]


def whoosh_result(gen, q):
    import numpy as np

    mask = np.zeros(gen.columns.size, dtype=bool)
    score = np.zeros(gen.columns.size)
    for h in gen.searcher.search(q, limit=None):
        mask[h.docnum] = True
        score[h.docnum] = h.score
    return mask, score


@pytest.mark.parametrize("kind", ["single", "multi"])
def test_evaluator_matches_whoosh_documents_and_scores(kind):
    """The numpy evaluator gives Whoosh's own matches and BM25F scores, for the query
    and for its bonus clauses."""
    import numpy as np
    from whoosh import query as wq

    from search_app.search.query import compile_query

    b = open_backend(index_dir(kind))
    try:
        gen = b._gen
        for q in EVAL_QUERIES:
            c = compile_query(q)
            for qq in (c.query, wq.Or(c.bonus) if c.bonus else None):
                if qq is None:
                    continue
                got = gen.evaluator().run(qq)
                want, score = whoosh_result(gen, qq.a if isinstance(qq, wq.AndNot) else qq)
                if isinstance(qq, wq.AndNot):
                    # Whoosh's AndNot matcher lets negated documents through on a
                    # multi-segment index (公积金贷款 -商业 keeps a document with 商业).
                    want &= ~whoosh_result(gen, qq.b)[0]
                    score[~want] = 0.0
                assert np.array_equal(got.mask, want), q
                assert np.allclose(got.dense_scores(), score, rtol=1e-5, atol=1e-6), q
    finally:
        b.close()


def test_repeated_request_is_served_from_the_page_cache(backend):
    req = SearchRequest(q="公积金  贷款", filters={"year": ["2020-2025"]})
    first = backend.search(req)
    again = backend.search(SearchRequest(q="公积金 贷款", filters={"year": ["2020-2025"]}))
    assert again.request.q == "公积金 贷款"
    assert [h.id for h in again.hits] == [h.id for h in first.hits]
    assert [h.snippet for h in again.hits] == [h.snippet for h in first.hits]
    assert again.total == first.total and again.facets == first.facets
    other = backend.search(SearchRequest(q="公积金 贷款", filters={"year": ["2020-2025"]},
                                         page=2))
    assert not {h.id for h in other.hits} & {h.id for h in first.hits}
