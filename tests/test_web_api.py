"""The JSON API over the real sample index, and its one error shape."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

pytest_plugins = ["tests.web_fixtures"]

ENVELOPE = {"query", "filters", "sort", "total", "page", "size", "pages", "relaxed", "took_ms",
            "results", "facets", "facet_distinct", "suggestions", "next", "previous"}
HIT_KEYS = {"id", "title", "agency", "pub_date", "year", "classification", "doc_type",
            "doc_no", "url", "source", "score", "snippet", "snippet_html"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_search_returns_the_contract_envelope(client):
    r = client.get("/api/search?q=住房公积金")
    assert r.status_code == 200 and r.mimetype == "application/json"
    data = r.get_json()
    assert set(data) == ENVELOPE
    assert data["query"] == "住房公积金" and data["page"] == 1 and data["size"] == 10
    assert data["total"] > 10 and len(data["results"]) == 10
    assert set(data["results"][0]) == HIT_KEYS
    assert "<mark>" in "".join(h["snippet_html"] for h in data["results"])
    assert "<mark>" not in "".join(h["snippet"] for h in data["results"])
    assert set(data["facets"]) == {"agency", "year", "classification", "doc_type"}
    # Chinese stays readable in the raw JSON.
    assert "住房公积金" in r.get_data(as_text=True)


def test_next_and_previous_walk_every_page(client):
    seen: list[str] = []
    url = "/api/search?q=住房&size=25"
    data = client.get(url).get_json()
    assert data["previous"] is None
    pages = 0
    while True:
        seen += [h["id"] for h in data["results"]]
        pages += 1
        if data["next"] is None:
            break
        nxt = urlsplit(data["next"])
        assert parse_qs(nxt.query)["size"] == ["25"]
        data = client.get(f"{nxt.path}?{nxt.query}").get_json()
        prev = parse_qs(urlsplit(data["previous"]).query)
        assert prev.get("page", ["1"]) == [str(data["page"] - 1)]
    assert pages == data["pages"] > 1
    assert len(seen) == len(set(seen)) == data["total"]


def test_repeated_parameters_are_or_filters(client):
    one = client.get("/api/search?q=住房&type=通知").get_json()
    other = client.get("/api/search?q=住房&type=意见").get_json()
    both = client.get("/api/search?q=住房&type=通知&type=意见").get_json()
    assert both["filters"] == {"doc_type": ["通知", "意见"]}
    assert both["total"] == one["total"] + other["total"]
    assert {h["doc_type"] for h in both["results"]} <= {"通知", "意见"}


def test_year_range_and_agency_filters(client):
    data = client.get("/api/search?year=2018-2020&size=100").get_json()
    assert data["total"] > 0
    assert all(2018 <= h["year"] <= 2020 for h in data["results"])
    agency = data["results"][0]["agency"] or "中华人民共和国国务院"
    by_agency = client.get("/api/search", query_string={"agency": agency}).get_json()
    assert by_agency["total"] > 0
    assert {h["agency"] for h in by_agency["results"]} == {agency}


def test_sort_oldest(client):
    data = client.get("/api/search?q=住房&sort=oldest&size=50").get_json()
    dates = [h["pub_date"] for h in data["results"] if h["pub_date"]]
    assert dates == sorted(dates)


@pytest.mark.parametrize("query, code", [
    ("page=abc", "bad-page"),
    ("page=0", "bad-page"),
    ("page=1.5", "bad-page"),
    ("size=0", "bad-size"),
    ("size=101", "bad-size"),
    ("size=ten", "bad-size"),
    ("page=11&size=100", "page-too-deep"),
    ("sort=score", "bad-sort"),
    ("year=abcd", "bad-year"),
    ("year=1800", "bad-year"),
    ("year=2021-2019", "bad-year"),
    ("q=" + "a" * 501, "query-too-long"),
    ("type=" + "x" * 201, "bad-filter"),
    ("&".join(f"agency=a{i}" for i in range(21)), "bad-filter"),
])
def test_bad_parameters_are_400_in_the_error_shape(client, query, code):
    assert_error(client.get("/api/search?" + query), 400, code)


def test_query_errors_from_the_backend_are_400(client):
    assert_error(client.get("/api/search?q=" + "+".join(f"词{i}" for i in range(80))),
                 400, "too-many-terms")


def test_document_returns_stored_fields_marked_body_and_similar(client, indexed_ids):
    doc_id = client.get("/api/search?q=住房公积金").get_json()["results"][0]["id"]
    data = client.get(f"/api/documents/{doc_id}?q=住房公积金").get_json()
    assert data["id"] == doc_id
    for key in ("title", "body", "body_html", "agency", "pub_date", "doc_no", "index_no",
                "classification", "validity", "scope", "publish_mode", "attachments",
                "source", "url"):
        assert key in data
    assert "<mark>" in data["body_html"]
    assert urlsplit(data["permalink"]).path == f"/documents/{doc_id}"
    assert data["similar"] and all(s["id"] in indexed_ids for s in data["similar"])
    assert doc_id not in {s["id"] for s in data["similar"]}


@pytest.mark.parametrize("doc_id", ["0000000000000000", "..%2F..%2Fetc", "a" * 65, "x.y"])
def test_unknown_document_is_404_in_the_error_shape(client, doc_id):
    assert_error(client.get(f"/api/documents/{doc_id}"), 404, "not-found")


def test_document_query_is_validated(client, indexed_ids):
    doc_id = sorted(indexed_ids)[0]
    assert_error(client.get(f"/api/documents/{doc_id}?q=" + "字" * 501), 400, "query-too-long")


def test_stats(client, indexed_ids):
    data = client.get("/api/stats").get_json()
    assert data["documents"] == len(indexed_ids)
    assert "facets" in data and "last_modified" in data


def test_unknown_api_route_and_method(client):
    assert_error(client.get("/api/nothing"), 404, "not-found")
    r = client.post("/api/search?q=住房")
    assert_error(r, 405, "method-not-allowed")
    assert "GET" in r.headers["Allow"]


def test_crash_is_a_500_without_traceback(failing_client):
    client = failing_client
    body = assert_error(client.get("/api/search?q=住房"), 500, "internal-error")
    assert "boom" not in str(body) and "/secret/" not in str(body)
    # The same crash on an HTML route is an HTML page, also without details.
    r = client.get("/search?q=住房")
    assert r.status_code == 500 and r.mimetype == "text/html"
    assert "boom" not in r.get_data(as_text=True)


def test_missing_index_is_503_and_the_home_page_still_renders(tmp_path):
    from search_app import create_app

    app = create_app({"TESTING": True, "INDEX_DIR": str(tmp_path / "none"),
                      "RATELIMIT_ENABLED": False})
    client = app.test_client()
    r = client.get("/api/search?q=住房")
    assert_error(r, 503, "index-unavailable")
    assert r.headers["Retry-After"]
    home = client.get("/")
    assert home.status_code == 200 and "索引尚未建立" in home.get_data(as_text=True)


def test_cors_allows_reading_the_public_api(client):
    assert client.get("/api/stats").headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in client.get("/").headers
