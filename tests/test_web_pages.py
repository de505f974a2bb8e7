"""HTML pages over the real sample index: search, facets, timeline, pagination, the
document page, help, and the HTML error pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

pytest_plugins = ["tests.web_fixtures"]


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def query_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


def hits(page):
    return page.select("ol.hits > li.hit")


def hit_ids(page) -> list[str]:
    return [urlsplit(a["href"]).path.rsplit("/", 1)[1] for a in page.select("li.hit h2 a")]


def total(page) -> int:
    return int(page.select_one("#total").get_text())


def test_home_is_a_chinese_mobile_page_with_a_search_form(client, indexed_ids):
    r = client.get("/")
    assert r.status_code == 200
    page = soup(r)
    assert page.html["lang"] == "zh-CN"
    assert "width=device-width" in page.select_one('meta[name="viewport"]')["content"]
    form = page.select_one("form[role=search]")
    assert form["action"] == "/search" and form["method"] == "get"
    assert form.select_one('input[name="q"]') is not None
    assert page.select_one(".stats strong").get_text() == str(len(indexed_ids))
    # The stylesheet is our own file; no external CDN or font.
    for el in page.select("link[href], script[src]"):
        url = el.get("href") or el.get("src")
        assert url.startswith("/") or url.startswith("data:"), url


def test_search_shows_count_time_and_linked_results(client):
    page = soup(client.get("/search?q=住房公积金"))
    assert total(page) > 10
    assert "毫秒" in page.select_one(".summary .count").get_text()
    items = hits(page)
    assert len(items) == 10
    for item in items:
        link = item.select_one("h2 a")
        assert urlsplit(link["href"]).path.startswith("/documents/")
        assert query_of(link["href"])["q"] == ["住房公积金"]
        assert link.get_text().strip()
    # Matches are marked in the snippets (the one field rendered as HTML).
    assert page.select("li.hit .snippet mark")
    assert any("住房公积金" in m.get_text() for m in page.select("li.hit .snippet mark"))
    originals = page.select("li.hit a.original")
    assert originals and all(a["href"].startswith(("http://", "https://")) for a in originals)


def test_search_page_links_its_json_twin_with_the_same_results(client):
    page = soup(client.get("/search?q=住房公积金&type=通知&sort=newest&page=2"))
    twin = page.select_one('footer a[type="application/json"]')["href"]
    assert urlsplit(twin).path == "/api/search"
    assert query_of(twin) == {"q": ["住房公积金"], "type": ["通知"], "sort": ["newest"],
                              "page": ["2"]}
    data = client.get(twin).get_json()
    assert data["total"] == total(page)
    assert [h["id"] for h in data["results"]] == hit_ids(page)


def test_facet_toggle_adds_then_removes_a_filter(client):
    page = soup(client.get("/search?q=住房公积金"))
    link = page.select_one('section[data-facet="doc_type"] a.facet-value[data-value="通知"]')
    expected = int(link.select_one(".count").get_text())
    assert query_of(link["href"]) == {"q": ["住房公积金"], "type": ["通知"]}

    filtered = soup(client.get(link["href"]))
    assert total(filtered) == expected
    assert all(h.select_one(".doc-type").get_text() == "通知" for h in hits(filtered))
    selected = filtered.select_one('section[data-facet="doc_type"] a.facet-value.selected')
    assert selected["data-value"] == "通知"
    chip = filtered.select_one("ul.chips a.chip")
    assert "通知" in chip.get_text()
    # The selected value's link and the chip both lead back to the unfiltered search.
    assert query_of(selected["href"]) == {"q": ["住房公积金"]}
    assert query_of(chip["href"]) == {"q": ["住房公积金"]}
    assert total(soup(client.get(chip["href"]))) == total(page)


def test_values_of_one_facet_combine_with_or(client):
    page = soup(client.get("/search?q=住房"))
    counts = {a["data-value"]: int(a.select_one(".count").get_text())
              for a in page.select('section[data-facet="doc_type"] a.facet-value')}
    assert counts["通知"] and counts["意见"]
    both = soup(client.get("/search?q=住房&type=通知&type=意见"))
    assert total(both) == counts["通知"] + counts["意见"]
    assert len(both.select("ul.chips a.chip:not(.clear)")) == 2
    # Facet state lives in the URL: the search form carries the filters along.
    hidden = [(i["name"], i["value"]) for i in both.select("form[role=search] input[type=hidden]")]
    assert hidden == [("type", "通知"), ("type", "意见")]


def test_timeline_bars_link_to_their_year(client):
    page = soup(client.get("/search?q=住房"))
    bars = page.select("figure.timeline svg a.bar")
    assert len(bars) >= 3
    year_counts = {int(a["data-value"]): int(a.select_one(".count").get_text())
                   for a in page.select('section[data-facet="year"] a.facet-value')}
    for bar in bars:
        assert bar.select_one("rect.fill")
    bar = bars[-1]
    (year,) = query_of(bar["href"])["year"]
    assert "条" in bar.select_one("title").get_text()
    filtered = soup(client.get(bar["href"]))
    assert total(filtered) == year_counts[int(year)]
    assert all(h.select_one("time")["datetime"].startswith(year) for h in hits(filtered)
               if h.select_one("time"))
    # The selected year's bar is marked and clicking it again removes the filter.
    selected = filtered.select_one("figure.timeline a.bar.selected")
    assert "year" not in query_of(selected["href"])


def test_sort_newest_orders_by_date(client):
    page = soup(client.get("/search?q=住房&sort=newest"))
    assert page.select_one(".sorts .current").get_text() == "最新"
    dates = [t["datetime"] for t in page.select("li.hit time")]
    assert len(dates) >= 5 and dates == sorted(dates, reverse=True)
    links = {a.get_text(): a["href"] for a in page.select(".sorts a.sort")}
    assert query_of(links["相关度"]) == {"q": ["住房"]}
    assert query_of(links["最早"]) == {"q": ["住房"], "sort": ["oldest"]}


def test_pagination_walks_the_result_set(client):
    first = soup(client.get("/search?q=住房"))
    nav = first.select_one("nav.pagination")
    assert nav.select_one('[aria-current="page"]').get_text() == "1"
    assert nav.select_one('a[rel="prev"]') is None
    nxt = nav.select_one('a[rel="next"]')["href"]
    assert query_of(nxt) == {"q": ["住房"], "page": ["2"]}
    second = soup(client.get(nxt))
    assert second.select_one('nav.pagination [aria-current="page"]').get_text() == "2"
    assert not set(hit_ids(first)) & set(hit_ids(second))
    assert second.select_one("ol.hits")["start"] == "11"


def test_relaxed_notice_when_no_document_has_every_word(client):
    page = soup(client.get("/search?q=住房公积金 中医药 黄金"))
    assert page.select_one(".notice.relaxed") is not None
    assert total(page) > 0
    assert soup(client.get("/search?q=住房公积金")).select_one(".notice.relaxed") is None


def test_no_results_page_offers_the_backends_suggestions(client):
    page = soup(client.get("/search?q=住房公积金&year=1990"))
    assert total(page) == 0
    assert page.select_one(".no-results h2").get_text() == "没有找到匹配的文件"
    suggestion = page.select_one("ul.suggestions a")
    assert query_of(suggestion["href"]) == {"q": ["住房公积金"]}
    assert total(soup(client.get(suggestion["href"]))) > 0


def test_document_page_shows_metadata_marked_text_and_similar(client, sample_records):
    search = soup(client.get("/search?q=住房公积金"))
    href = search.select_one("li.hit h2 a")["href"]
    page = soup(client.get(href))
    assert page.html["lang"] == "zh-CN"
    assert page.select_one("h1.doc-title").get_text().strip()
    labels = [th.get_text() for th in page.select("table.metadata th")]
    assert "来源文件" in labels and "原文链接" in labels
    assert page.select(".fulltext mark")
    assert page.select(".similar li a")
    doc_id = urlsplit(href).path.rsplit("/", 1)[1]
    twin = page.select_one('footer a[type="application/json"]')["href"]
    assert urlsplit(twin).path == f"/api/documents/{doc_id}"
    assert client.get(twin).get_json()["id"] == doc_id


def test_document_metadata_table_uses_the_disclosure_labels(client, sample_records,
                                                            indexed_ids):
    record = next(r for r in sample_records if r.id in indexed_ids and r.index_no
                  and r.doc_no and r.agency and r.pub_date)
    page = soup(client.get(f"/documents/{record.id}"))
    rows = {tr.th.get_text(): tr.td.get_text() for tr in page.select("table.metadata tr")}
    assert rows["索引号"] == record.index_no
    assert rows["发布机构"] == record.agency
    assert rows["发布日期"] == record.pub_date
    assert rows["文号"]
    assert page.select_one(".fulltext mark") is None  # no query, nothing marked


def test_document_attachments_are_links(client, sample_records, indexed_ids):
    record = next((r for r in sample_records if r.id in indexed_ids and r.attachments), None)
    if record is None:
        pytest.skip("the sample corpus has no document with attachments")
    page = soup(client.get(f"/documents/{record.id}"))
    links = page.select(".attachments li a")
    assert links and all(a["href"].startswith(("http://", "https://")) for a in links)


@pytest.mark.parametrize("path", [
    "/documents/0000000000000000",
    "/documents/..%2F..%2Fetc%2Fpasswd",
    "/documents/....",
    "/documents/abc-def",
    "/documents/" + "a" * 65,
    "/documents/%E4%BD%8F%E6%88%BF",
])
def test_unknown_or_malformed_document_ids_are_a_404_page(client, path):
    r = client.get(path)
    assert r.status_code == 404
    page = soup(r)
    assert page.html["lang"] == "zh-CN"
    assert page.select_one(".error-page .error-message")["data-code"] == "not-found"
    assert "Traceback" not in r.get_data(as_text=True)


def test_help_examples_all_find_documents(client):
    page = soup(client.get("/help"))
    examples = page.select("table.syntax a.example")
    assert len(examples) >= 11
    for a in examples:
        result = soup(client.get(a["href"]))
        assert total(result) > 0, a.get_text()


@pytest.mark.parametrize("query, code", [
    ("page=abc", "bad-page"),
    ("page=0", "bad-page"),
    ("page=-1", "bad-page"),
    ("sort=random", "bad-sort"),
    ("year=20x0", "bad-year"),
    ("year=2020-2010", "bad-year"),
    ("page=200", "page-too-deep"),
    ("q=" + "字" * 501, "query-too-long"),
    ("agency=" + "局" * 201, "bad-filter"),
])
def test_bad_parameters_are_a_400_page(client, query, code):
    r = client.get("/search?" + query)
    assert r.status_code == 400
    page = soup(r)
    assert page.select_one(".error-message")["data-code"] == code
    assert page.select_one("form[role=search]") is not None


def test_backend_query_errors_are_a_400_page(client):
    r = client.get("/search?q=" + " ".join(f"词{i}" for i in range(80)))
    assert r.status_code == 400
    assert soup(r).select_one(".error-message")["data-code"] == "too-many-terms"


def test_size_is_fixed_on_html_pages(client):
    # Pages always show 10; size is an API parameter (the JSON twin keeps it).
    page = soup(client.get("/search?q=住房&size=50"))
    assert len(hits(page)) == 10


def test_unknown_page_is_a_404_page(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert soup(r).select_one(".error-message")["data-code"] == "not-found"
