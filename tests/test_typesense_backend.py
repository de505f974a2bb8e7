"""The Typesense backend answers as the embedded index does, on the sample corpus, on the
session's real 3-node cluster (conftest.py): the same totals, facet counts, suggestions,
relaxation and exact-phrase result sets; indexing keeps the embedded writer's semantics
(incremental, duplicates, --prune, --rebuild through an alias); the CLI, the JSON API
and bad input work the same. (test_search.py runs its query tests on both backends.)"""

from __future__ import annotations

import json

import pytest

from indexer.chinese.normalize import normalize
from search_app.cli import main
from search_app.search import QueryError, SearchRequest, open_backend

pytest_plugins = ["tests.web_fixtures"]

# Words (two, three, four and more characters), phrases of every length, OR, NOT,
# fields, 文号 as text and as a field, relaxation, function words, a one-character
# phrase in and out of OR: each shape the compiler produces.
QUERIES = [
    "住房公积金", "公积金", "人民政府", "民政", "政府信息公开", '"政府信息公开"', '"信息公开"',
    '"公"', '"管理"', "住房 补贴", "多子女家庭", "title:通知", 'title:"管理办法"',
    "住房公积金 -贷款", "住房 OR 租房", '"住房公积金" OR "人民政府"', "NOT 通知",
    "分类:综合政务", "文号:岚综管〔2019〕", "岚综管〔2019〕1号", "year:2020", "年度报告",
    "2020年 政府信息公开 工作 年度报告", "xyzzy 住房", "住房 公积金 xyzzyq", "办公厅",
    "招标投标 管理", "(住房 OR 教育) -通知", "关于 印发", "的", '"公" 住房', '"政" -"政府"',
    '"公" OR 住房', "发文机关:平潭综合实验区管理委员会", "type:通知 住房", "",
]


def url_for(cluster, collection: str) -> str:
    return cluster.url.rsplit("/", 1)[0] + "/" + collection


@pytest.fixture(scope="module")
def ts_url(typesense_cluster, sample_records):
    from indexer.typesense.writer import index_items_typesense

    url = url_for(typesense_cluster, "sample")
    summary = index_items_typesense(url, sample_records, rebuild=True)
    assert summary.failures == []
    return url


@pytest.fixture(scope="module")
def ts(ts_url):
    backend = open_backend(ts_url)
    yield backend
    backend.close()


def shape(result):
    return (result.total, result.relaxed,
            {n: [(v.value, v.count, v.selected) for v in f.values]
             for n, f in result.facets.items()},
            {n: f.distinct for n, f in result.facets.items()},
            [s["label"] for s in result.suggestions])


def all_ids(backend, q: str, **kw) -> set[str]:
    out, page = set(), 1
    while True:
        r = backend.search(SearchRequest(q=q, page=page, size=100, snippets=False, **kw))
        out |= {h.id for h in r.hits}
        if len(r.hits) < 100 or page * 100 >= 1000:
            return out
        page += 1


@pytest.mark.parametrize("q", QUERIES)
def test_every_query_gives_the_embedded_totals_facets_and_suggestions(web_backend, ts, q):
    first_agency = web_backend.stats()["facets"]["agency"][0]["value"]
    for filters in ({}, {"year": ["2019-2021"]}, {"agency": [first_agency]},
                    {"region": ["浙江省"], "doc_type": ["通知"]}):
        req = SearchRequest(q=q, filters=filters, size=100, snippets=False)
        want, got = web_backend.search(req), ts.search(req)
        assert shape(got) == shape(want), (q, filters)
        if want.total <= 100:
            assert {h.id for h in got.hits} == {h.id for h in want.hits}, (q, filters)


@pytest.mark.parametrize("limit", [1, 3])
def test_facets_cut_short_by_the_engine_still_give_the_embedded_values(web_backend, ts,
                                                                       monkeypatch, limit):
    """The engine returns a facet's top values only (2 × limit + 10 here): ties at the
    cut, the distinct count and chosen values beyond the cut are still exact."""
    from search_app.search import typesense_backend

    monkeypatch.setattr(typesense_backend, "FACET_VALUES_MIN", 1)
    rare = web_backend.stats()["facets"]["agency"][-1]["value"]
    for q in ("", "住房", "通知", '"信息公开"', "住房 OR 教育"):
        for filters in ({}, {"agency": [rare]}, {"region": ["浙江省", "北京市"]},
                        {"year": ["2010-2019"], "doc_type": ["通知"]}):
            req = SearchRequest(q=q, filters=filters, size=5, facet_limit=limit)
            assert shape(ts.search(req)) == shape(web_backend.search(req)), (q, filters)


def phrases_from(records, n=40):
    """Real phrases: pieces of 2 to 9 characters cut from the records' own text at
    fixed places (the same every run)."""
    out = []
    for i, r in enumerate(records[::7][:n]):
        text = "".join(normalize(r.body).split())
        if len(text) < 60:
            continue
        size = 2 + i % 8
        at = (i * 37) % (len(text) - size)
        out.append(text[at:at + size])
    return out


def test_exact_phrases_find_exactly_the_documents_that_contain_them(web_backend, ts,
                                                                    sample_records):
    phrases = phrases_from(sample_records)
    assert len(phrases) >= 30
    indexed = all_ids(web_backend, "")
    for p in phrases:
        want = {r.id for r in sample_records if r.id in indexed and (
            p in "".join(normalize(r.title).split()) or p in "".join(normalize(r.body).split()))}
        got = all_ids(ts, f'"{p}"')
        assert got == want == all_ids(web_backend, f'"{p}"'), p


def test_sorted_by_date_both_ways_with_undated_documents_last(ts):
    for sort in ("newest", "oldest"):
        r = ts.search(SearchRequest(q="通知", sort=sort, size=100))
        dates = [h.pub_date for h in r.hits]
        dated = [d for d in dates if d]
        assert dated == sorted(dated, reverse=sort == "newest")
        assert dates[len(dated):] == [""] * (len(dates) - len(dated))


def test_pages_are_disjoint_and_cover_the_total(ts):
    seen = []
    for page in (1, 2, 3):
        seen += [h.id for h in ts.search(SearchRequest(q="住房", page=page, size=20)).hits]
    assert len(seen) == len(set(seen)) == min(60, ts.search(SearchRequest(q="住房")).total)


def test_stats_count_the_same_documents_and_facet_values(web_backend, ts):
    want, got = web_backend.stats(), ts.stats()
    assert got["documents"] == want["documents"]
    assert got["facets"] == want["facets"]
    assert got["last_modified"] and got["backend"].startswith("typesense://127.0.0.1:")
    assert "@" not in got["backend"]  # the key is never shown


def test_document_page_marks_the_query_and_similar_documents_exclude_it(web_backend, ts):
    hit = ts.search(SearchRequest(q="住房公积金")).hits[0]
    doc = ts.document(hit.id, "住房公积金")
    assert doc == {**web_backend.document(hit.id, "住房公积金")}
    assert "<mark>住房公积金</mark>" in doc["body_html"]
    similar = ts.more_like_this(hit.id, 5)
    assert 1 <= len(similar) <= 5 and hit.id not in {h.id for h in similar}
    assert ts.document("no-such-id") is None and ts.more_like_this("no-such-id") == []


def test_a_phrase_too_common_to_test_by_id_is_a_clear_400(ts, monkeypatch):
    from search_app.search import typesense_query

    monkeypatch.setattr(typesense_query, "MATERIALIZE_MAX", 5)
    with pytest.raises(QueryError) as e:
        ts.search(SearchRequest(q='"住房公积金" OR 教育'))
    assert e.value.code == "too-broad-for-backend"
    # The same phrase as a requirement of the whole query needs no ids.
    assert ts.search(SearchRequest(q='"住房公积金" 通知')).total > 5


def test_bad_request_values_are_refused_as_on_the_embedded_index(web_backend, ts):
    for kw in ({"sort": "sideways"}, {"page": 0}, {"size": 101}, {"page": 11, "size": 100},
               {"filters": {"colour": ["red"]}}, {"filters": {"year": ["20x0"]}}):
        codes = []
        for b in (web_backend, ts):
            with pytest.raises(QueryError) as e:
                b.search(SearchRequest(q="住房", **kw))
            codes.append(e.value.code)
        assert codes[0] == codes[1], kw


# --- indexing ---------------------------------------------------------------------------

def test_annual_reports_compare_the_same_on_both_backends(web_backend, ts):
    from search_app.search import reports

    def rows(backend):
        return sorted(reports.report_rows(backend.report_documents()),
                      key=lambda r: (r["reporter"], r["report_year"]))

    embedded = rows(web_backend)
    assert len(embedded) >= 12
    assert rows(ts) == embedded
    got = ts.search(SearchRequest(filters={"report_format": ["2019"]}, snippets=False))
    assert got.total == 2
    # Other facets count under the filter: the years of the 2019-format reports.
    assert {v.value for v in got.facets["report_year"].values} == {"2019", "2020"}


def test_a_collection_without_the_report_fields_still_searches(typesense_cluster, sample_records,
                                                              monkeypatch):
    # A collection written before report_year/report_format were facets.
    from indexer.typesense import writer
    from indexer.typesense.writer import index_items_typesense

    full = writer.collection_schema

    def older(name):
        schema = full(name)
        schema["fields"] = [f for f in schema["fields"]
                            if f["name"] not in ("report_year", "report_format")]
        return schema

    monkeypatch.setattr(writer, "collection_schema", older)
    url = url_for(typesense_cluster, "before-reports")
    records = [r for r in sample_records if not r.report and r.agency][:20]
    assert index_items_typesense(url, records, rebuild=True).failures == []
    backend = open_backend(url)
    try:
        got = backend.search(SearchRequest(snippets=False))
        assert got.total == 20
        assert got.facets["report_year"].values == [] and got.facets["agency"].values
        assert backend.search(SearchRequest(filters={"report_format": ["2021"]})).total == 0
        assert backend.report_documents() == []
        assert backend.stats()["facets"]["report_format"] == []
    finally:
        backend.close()


def test_a_second_run_changes_nothing_and_a_changed_record_is_replaced(typesense_cluster,
                                                                       sample_records):
    import dataclasses

    from indexer.typesense.writer import index_items_typesense

    url = url_for(typesense_cluster, "incremental")
    records = sample_records[:40]
    first = index_items_typesense(url, records, rebuild=True)
    again = index_items_typesense(url, records)
    assert (again.added, again.updated, again.unchanged) == (0, 0, first.added)
    changed = [dataclasses.replace(records[0], title=records[0].title + "（修订）")]
    twin = [dataclasses.replace(records[1], id="another-url-same-text", url="http://x/1")]
    third = index_items_typesense(url, changed + twin)
    assert (third.added, third.updated, third.skipped["duplicate-content"]) == (0, 1, 1)
    backend = open_backend(url)
    assert backend.search(SearchRequest(q='title:"（修订）"')).total == 1
    assert backend.stats()["documents"] == first.documents == len(
        {r.id for r in records}) - first.skipped["duplicate-content"]


def test_rebuild_swaps_the_alias_to_a_new_collection_and_drops_the_old(typesense_cluster,
                                                                       sample_records):
    from indexer.typesense import connection
    from indexer.typesense.writer import index_items_typesense

    url = url_for(typesense_cluster, "rebuilt")
    index_items_typesense(url, sample_records[:10], rebuild=True)
    client = connection.client(connection.parse_url(url))
    before = client.aliases["rebuilt"].retrieve()["collection_name"]
    backend = open_backend(url)
    index_items_typesense(url, sample_records[10:15], rebuild=True)
    after = client.aliases["rebuilt"].retrieve()["collection_name"]
    names = {c["name"] for c in client.collections.retrieve()}
    assert before != after and after in names and before not in names
    assert backend.stats()["documents"] == 5  # an open backend follows the alias


def test_prune_removes_documents_whose_file_is_gone(typesense_cluster, tmp_path):
    from indexer.typesense.writer import index_paths_typesense

    src = tmp_path / "pages"
    src.mkdir()
    for name in ("a", "b"):
        (src / f"{name}.md").write_text(f"# 测试文件{name}\n\n住房公积金管理办法的正文{name}。\n",
                                        encoding="utf-8")
    url = url_for(typesense_cluster, "pruned")
    assert index_paths_typesense(url, [src], rebuild=True, procs=1).documents == 2
    (src / "b.md").unlink()
    summary = index_paths_typesense(url, [src], prune=True, procs=1)
    assert (summary.removed, summary.documents) == (1, 1)


# --- command line and web --------------------------------------------------------------

def test_cli_indexes_searches_and_reports_through_backend_url(typesense_cluster, tmp_path,
                                                              capsys, monkeypatch):
    url = url_for(typesense_cluster, "cli")
    assert main(["index", "index_data/sample/laws_regulations.jsonl", "--backend", url,
                 "--rebuild", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["documents"] > 0 and "@" not in summary["index"]
    monkeypatch.setenv("GONGKAI_BACKEND", url)
    assert main(["search", "条例", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] > 0
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["documents"] == summary["documents"]


@pytest.mark.parametrize("argv, words", [
    (["search", "x", "--backend", "typesense://127.0.0.1:1/c"], ["API key"]),
    (["search", "x", "--backend", "http://k@h:1/c"], ["typesense://"]),
    (["stats", "--backend", "typesense://k@127.0.0.1:9/c", "--index", "d"], ["--index"]),
])
def test_a_bad_backend_url_is_a_one_line_error(argv, words, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("gongkai: error: ")
    assert all(w in err for w in words)


def test_a_missing_collection_is_a_one_line_error(typesense_cluster, capsys):
    assert main(["search", "x", "--backend", url_for(typesense_cluster, "nothing_here")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no collection nothing_here" in err and "@" not in err


def test_the_json_api_over_typesense_gives_the_embedded_answer(web_backend, ts):
    from tests.web_fixtures import make_app

    for path in ("/api/search?q=住房公积金&year=2020-2024", "/api/search?q=%22信息公开%22",
                 "/api/search?q=住房+OR+租房&sort=newest"):
        want = make_app(web_backend).test_client().get(path).get_json()
        got = make_app(ts).test_client().get(path).get_json()
        for key in ("total", "facets", "facet_distinct", "relaxed", "pages"):
            assert got[key] == want[key], (path, key)
    bad = make_app(ts).test_client().get("/api/search?q=住房&sort=sideways")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad-sort"


def test_known_items_are_found_as_often_as_on_the_embedded_index(web_backend, ts,
                                                                 sample_records):
    """2-4 content words of a title (bench/relevance.py's queries, seeded) find that
    document in the top 10 on Typesense within 0.02 as often as on the embedded index."""
    import random
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from relevance import known_item_queries

    indexed = all_ids(web_backend, "")
    queries = known_item_queries([r for r in sample_records if r.id in indexed], 120,
                                 random.Random(20261204))
    assert len(queries) >= 100

    def success(backend):
        return sum(target in [h.id for h in backend.search(
            SearchRequest(q=q, snippets=False)).hits] for q, target in queries) / len(queries)

    assert success(ts) >= success(web_backend) - 0.02


def test_title_ranking_puts_every_word_in_a_short_title_first():
    from search_app.search import title_rank

    hits = [{"id": "body-only", "title": "关于开展年度检查的通知", "doc_no": ""},
            {"id": "long", "title": "关于印发住房公积金缴存管理办法和提取使用若干问题处理意见的通知",
             "doc_no": ""},
            {"id": "one-word", "title": "住房公积金年度报告", "doc_no": ""},
            {"id": "short", "title": "住房公积金管理办法", "doc_no": ""}]
    dfs = {"住房公积金": 10, "管理办法": 40}
    order = title_rank.reorder(hits, ["住房公积金", "管理办法"], dfs, 1000)
    assert [h["id"] for h in order] == ["short", "long", "one-word", "body-only"]
    # A 文号 typed as the query lifts its own document, whatever the engine's order.
    hits.append({"id": "docno", "title": "通知", "doc_no": "岚综管〔2019〕1号"})
    order = title_rank.reorder(hits, ["岚综管〔2019〕1号"], {}, 1000, ("岚综管〔2019〕1号",))
    assert order[0]["id"] == "docno"


def test_a_cluster_that_does_not_answer_is_a_one_line_error_and_a_503(ts, capsys):
    import socket

    from indexer.typesense.connection import ClusterUnavailable
    from tests.web_fixtures import FailingBackend, make_app

    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["search", "住房", "--backend", f"typesense://k@127.0.0.1:{port}/c"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not accept" in err and "k@" not in err
    down = FailingBackend(ts, ClusterUnavailable("the Typesense cluster did not accept a search"))
    r = make_app(down).test_client().get("/api/search?q=住房")
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "index-unavailable"
    assert r.headers["Retry-After"] == "10"
