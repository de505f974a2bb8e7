"""The JSON API over the real sample index, and its one error shape."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

pytest_plugins = ["tests.web_fixtures"]

ENVELOPE = {"query", "filters", "sort", "total", "page", "size", "pages", "relaxed", "took_ms",
            "results", "facets", "facet_distinct", "suggestions", "next", "previous"}
HIT_KEYS = {"id", "title", "agency", "region", "pub_date", "written_date", "year",
            "classification", "doc_type",
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
    assert set(data["facets"]) == {"agency", "region", "year", "classification", "doc_type",
                                   "report_year", "report_format"}
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
    for key in ("title", "body", "body_html", "agency", "region", "pub_date", "written_date",
                "doc_no", "index_no", "classification", "validity", "scope", "publish_mode",
                "attachments", "body_kind", "source", "url"):
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


def test_a_reindex_is_visible_without_a_restart(tmp_path):
    """`gongkai index` into the served directory shows up in the running app."""
    import time

    from indexer.index.writer import build_index
    from indexer.ingest import iter_records
    from indexer.record import Record
    from search_app import create_app
    from tests.web_fixtures import SAMPLE

    def records(folder):
        return [r for r in iter_records([SAMPLE / folder]) if isinstance(r, Record)]

    index_dir = tmp_path / "index"
    first = records("example_page_text")
    build_index(index_dir, first)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir), "RATELIMIT_ENABLED": False})
    client = app.test_client()
    try:
        assert client.get("/api/stats").get_json()["documents"] == len(first)
        second = records("jiangxi_txt")
        # A rebuild in the same second gets a directory of its own (indexer.index.store names
        # generations with mkdtemp), so no wait is needed before it; the app notices it
        # at its next check (CHECK_EVERY), waited for here as the condition itself.
        build_index(index_dir, first + second)
        deadline = time.monotonic() + 120
        while client.get("/api/stats").get_json()["documents"] != len(first) + len(second):
            assert time.monotonic() < deadline, "the new index never became visible"
            time.sleep(0.2)
        found = client.get("/api/search", query_string={"q": f'"{second[0].title}"'})
        assert second[0].id in {h["id"] for h in found.get_json()["results"]}
    finally:
        app.extensions["gongkai"].close()


def test_serve_command_runs_waitress(web_index_dir):
    """`gongkai serve` on an existing index: waitress answers, and exits on SIGTERM."""
    import json
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "search_app", "serve", "--index", str(web_index_dir),
         "--port", str(port), "--threads", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats",
                                            timeout=120) as r:
                    assert r.headers["Server"] == "gongkai"  # waitress, not werkzeug
                    assert json.load(r)["documents"] > 0
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    assert "serving" in proc.stderr.read()


def test_serve_command_rejects_bad_arguments(tmp_path):
    from search_app.cli import main

    assert main(["serve", "--port", "0", "--index", str(tmp_path)]) == 2
    assert main(["serve", "--threads", "0", "--index", str(tmp_path)]) == 2
