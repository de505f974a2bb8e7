"""CSV export of a whole result set and the Atom feed, over the real sample index."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest

from search_app.search.csv_lines import csv_cell as _cell

pytest_plugins = ["tests.web_fixtures"]

ATOM = "{http://www.w3.org/2005/Atom}"


def read_csv(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM so that Excel reads Chinese"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_csv_streams_every_match_across_backend_pages(client, indexed_ids):
    # No query: every document, more than one backend page (100) of them.
    r = client.get("/api/search.csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and ".csv" in disposition
    rows = read_csv(r)
    assert rows[0] == ["id", "title", "agency", "region", "pub_date", "written_date", "year",
                       "doc_no", "classification", "doc_type", "url", "permalink"]
    ids = [row[0] for row in rows[1:]]
    assert len(indexed_ids) > 100
    assert len(ids) == len(set(ids)) == len(indexed_ids)
    assert set(ids) == indexed_ids
    assert r.headers["X-Total-Count"] == r.headers["X-Export-Rows"] == str(len(indexed_ids))


def test_csv_rows_match_the_search(client):
    api = client.get("/api/search?q=住房公积金&type=通知&sort=newest&size=100").get_json()
    rows = read_csv(client.get("/api/search.csv?q=住房公积金&type=通知&sort=newest"))
    assert [row[0] for row in rows[1:]] == [h["id"] for h in api["results"]]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["title"] == api["results"][0]["title"]
    assert first["permalink"].endswith(f"/documents/{first['id']}")


def test_csv_cap_is_configurable_and_reported(app_factory):
    client = app_factory(EXPORT_MAX_ROWS=30).test_client()
    r = client.get("/api/search.csv?q=住房")
    rows = read_csv(r)
    assert len(rows) == 31
    assert int(r.headers["X-Total-Count"]) > 30 and r.headers["X-Export-Rows"] == "30"


def test_csv_past_the_result_depth_is_cut_by_year(client, web_backend, monkeypatch):
    """A backend pages to MAX_RESULT_DEPTH per request; bigger exports go year by year.
    Shown here with the depth lowered to 50 so the sample corpus is "big"."""
    from search_app.search.types import SearchRequest
    from search_app.web import export

    monkeypatch.setattr(export, "DEPTH", 50)
    years = web_backend.search(SearchRequest(facet_limit=100)).facets["year"].values
    expected = sum(min(v.count, 50) for v in years)
    r = client.get("/api/search.csv?sort=newest")
    header, *rows = read_csv(r)
    year = header.index("year")
    assert len(rows) == expected == int(r.headers["X-Export-Rows"])
    assert int(r.headers["X-Total-Count"]) > 50
    assert len({row[0] for row in rows}) == len(rows)
    got_years = [int(row[year]) for row in rows]
    assert got_years == sorted(got_years, reverse=True)
    # A year filter limits the years walked; oldest first when sorted that way.
    r = client.get("/api/search.csv?sort=oldest&year=2016-2021")
    got_years = [int(row[year]) for row in read_csv(r)[1:]]
    assert got_years == sorted(got_years) and set(got_years) <= set(range(2016, 2022))
    assert len(got_years) == sum(v.count for v in years if 2016 <= int(v.value) <= 2021)


def test_csv_of_nothing_is_just_the_header(client):
    rows = read_csv(client.get("/api/search.csv?q=住房公积金&year=1990"))
    assert len(rows) == 1


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("国办发〔2001〕85号", "国办发〔2001〕85号"), (None, ""), (2020, "2020"),
])
def test_csv_cells_cannot_be_formulas(value, expected):
    assert _cell(value) == expected


def test_csv_bad_parameters_are_json_errors(client):
    r = client.get("/api/search.csv?year=nope")
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "bad-year"


def test_atom_feed_is_valid_and_newest_first(client):
    r = client.get("/search.atom?q=住房公积金")
    assert r.status_code == 200
    assert r.mimetype == "application/atom+xml"
    feed = ET.fromstring(r.get_data())
    assert feed.tag == f"{ATOM}feed"
    assert "住房公积金" in feed.findtext(f"{ATOM}title")
    assert feed.findtext(f"{ATOM}id") and feed.findtext(f"{ATOM}updated")
    entries = feed.findall(f"{ATOM}entry")
    assert 0 < len(entries) <= 20
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert feed.findtext(f"{ATOM}updated") == updated[0]
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids)
    for e in entries:
        assert e.findtext(f"{ATOM}title")
        link = e.find(f"{ATOM}link[@rel='alternate']").get("href")
        assert "/documents/" in link
    self_link = feed.find(f"{ATOM}link[@rel='self']").get("href")
    assert "/search.atom?q=" in self_link


def test_atom_matches_the_newest_search(client):
    feed = ET.fromstring(client.get("/search.atom?q=住房&type=通知").get_data())
    api = client.get("/api/search?q=住房&type=通知&sort=newest&size=20").get_json()
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert titles == [h["title"] for h in api["results"]]


def test_atom_escapes_the_query(client):
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)>&'
    r = client.get("/search.atom", query_string={"q": payload})
    assert r.status_code == 200
    feed = ET.fromstring(r.get_data())  # still well-formed XML
    assert payload in feed.findtext(f"{ATOM}title")
    assert b"<script>" not in r.get_data()


def test_atom_bad_parameters_are_json_errors(client):
    r = client.get("/search.atom?sort=sideways")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad-sort"
    r = client.get("/search.atom?page=x")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad-page"
