"""Escaping, security headers, CSP-compatible markup, rate limits and the 500 page."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from search_app.web.present import marked, safe_url
from search_app.web.security import TokenBucketLimiter

pytest_plugins = ["tests.web_fixtures"]


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "javascript:alert(1)",
    "住房</mark><script>alert(1)</script>",
]

PAGES = ["/", "/search?q=住房", "/help", "/search?q=zzzz不存在", "/documents/0000000000000000"]


def no_active_content(page) -> None:
    """Nothing in the page can run script: no inline scripts, no event handlers, no
    javascript: links, and only our own same-origin script file."""
    for script in page.find_all("script"):
        assert script.get("src", "").startswith("/static/"), script
        assert not script.string
    for el in page.find_all(True):
        for attr, value in el.attrs.items():
            assert not attr.lower().startswith("on"), (el.name, attr)
            assert attr != "style", el.name  # CSP style-src 'self' would block it
            if attr in ("href", "src", "action"):
                assert not str(value).strip().lower().startswith("javascript:"), value
    assert page.find("img", attrs={"src": "x"}) is None


@pytest.mark.parametrize("payload", XSS)
def test_query_is_escaped_on_the_search_page(client, payload):
    r = client.get("/search", query_string={"q": payload})
    assert r.status_code == 200
    page = soup(r)
    no_active_content(page)
    assert page.select_one('form[role=search] input[name="q"]')["value"] == payload
    assert payload in page.title.get_text()


@pytest.mark.parametrize("payload", XSS)
def test_query_is_escaped_on_the_document_and_error_pages(client, indexed_ids, payload):
    doc_id = sorted(indexed_ids)[0]
    page = soup(client.get(f"/documents/{doc_id}", query_string={"q": payload}))
    no_active_content(page)
    assert payload in page.select_one("p.back a").get_text()
    r = client.get("/search", query_string={"q": payload, "page": "x"})
    assert r.status_code == 400
    page = soup(r)
    no_active_content(page)
    assert page.select_one('input[name="q"]')["value"] == payload


@pytest.mark.parametrize("payload", XSS)
def test_filter_values_are_escaped(client, payload):
    page = soup(client.get("/search", query_string={"q": "住房", "agency": payload}))
    no_active_content(page)
    assert payload in page.select_one("ul.chips a.chip").get_text()


def test_json_errors_carry_no_markup_interpretation(client):
    r = client.get("/api/search", query_string={"q": "<script>", "page": "<b>"})
    assert r.status_code == 400 and r.mimetype == "application/json"


@pytest.mark.parametrize("path", PAGES + ["/api/search?q=住房", "/api/stats",
                                          "/api/search.csv?q=住房", "/search.atom?q=住房",
                                          "/api/nothing"])
def test_security_headers_on_every_response(client, path):
    h = client.get(path).headers
    csp = h["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_nothing_the_csp_blocks(client, path):
    page = soup(client.get(path))
    no_active_content(page)
    for el in page.select("link[href]"):
        assert el["href"].startswith(("/", "data:")) or el.get("rel") == ["alternate"]


def test_static_files_are_served(client):
    css = client.get("/static/gongkai.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "@import" not in css.get_data(as_text=True)  # no web fonts, no CDN
    assert client.get("/static/gongkai.js").status_code == 200


def test_marked_keeps_only_mark_tags():
    assert marked("北京<mark>住房</mark>&amp;公积金") == "北京<mark>住房</mark>&amp;公积金"
    unsafe = marked('<mark onclick="x()">a</mark><script>alert(1)</script>')
    assert "<script>" not in unsafe and "&lt;script&gt;" in unsafe
    assert "<img" not in marked("<img src=x onerror=alert(1)>")


@pytest.mark.parametrize("url, base, expected", [
    ("http://www.gov.cn/a.html", "", "http://www.gov.cn/a.html"),
    ("https://www.gov.cn/a.html", "", "https://www.gov.cn/a.html"),
    ("javascript:alert(1)", "", ""),
    (" JavaScript:alert(1)", "", ""),
    ("data:text/html,<script>", "", ""),
    ("./P020.pdf", "http://www.gov.cn/zw/a.html", "http://www.gov.cn/zw/P020.pdf"),
    ("", "http://www.gov.cn/", ""),
])
def test_safe_url(url, base, expected):
    assert safe_url(url, base) == expected


class FakeClock:
    """The rate limiter's clock, moved only by the test: however long a request takes
    on a busy machine, no token refills unless the test says so."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def rate_limited_client(app_factory, clock=None, **config):
    base = {"RATELIMIT_ENABLED": True, "RATELIMIT_PER_MINUTE": 60, "RATELIMIT_BURST": 3}
    base.update(config)
    app = app_factory(**base)
    app.extensions["gongkai.ratelimit"].clock = clock or FakeClock()
    return app.test_client()


def test_api_is_rate_limited_per_client(app_factory):
    clock = FakeClock()
    client = rate_limited_client(app_factory, clock)
    for _ in range(3):
        assert client.get("/api/stats").status_code == 200
    r = client.get("/api/search?q=住房")
    assert r.status_code == 429
    assert r.get_json() == {"error": {"code": "rate-limited", "message": r.get_json()["error"]
                                      ["message"]}}
    assert int(r.headers["Retry-After"]) == 1  # 60 a minute: the next token in a second
    assert r.headers["Content-Security-Policy"]
    # Another client has its own bucket; HTML pages are not limited.
    other = client.get("/api/stats", environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 200
    assert client.get("/search?q=住房").status_code == 200
    clock.now += 1.0  # one token back
    assert client.get("/api/stats").status_code == 200
    assert client.get("/api/stats").status_code == 429


def test_exports_are_rate_limited_and_cost_more(app_factory):
    clock = FakeClock()
    client = rate_limited_client(app_factory, clock, RATELIMIT_BURST=12,
                                 RATELIMIT_EXPORT_COST=10)
    assert client.get("/api/search.csv?q=住房").status_code == 200
    r = client.get("/api/search.csv?q=住房")
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate-limited"
    assert int(r.headers["Retry-After"]) == 8  # 2 tokens left of the 10 it needs
    assert client.get("/search.atom?q=住房").status_code == 200
    assert client.get("/search.atom?q=住房").status_code == 200
    assert client.get("/search.atom?q=住房").status_code == 429
    clock.now += 10.0
    assert client.get("/api/search.csv?q=住房").status_code == 200


def test_token_bucket_refills_over_time():
    now = [0.0]
    limiter = TokenBucketLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    assert limiter.take("a") == 1
    now[0] += 1.0
    assert limiter.take("a") == 0
    assert limiter.take("b") == 0  # per key
    assert limiter.take("a", cost=5) >= 1  # a cost above the burst is capped, still waits


def test_token_bucket_memory_is_bounded():
    limiter = TokenBucketLimiter(per_minute=60, burst=1, max_clients=100, clock=FakeClock())
    for i in range(1000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter._buckets) == 100


def test_500_page_shows_no_traceback(failing_client):
    r = failing_client.get("/search?q=住房")
    assert r.status_code == 500
    page = soup(r)
    assert page.select_one(".error-message")["data-code"] == "internal-error"
    text = r.get_data(as_text=True)
    assert "Traceback" not in text and "boom" not in text and "/secret/" not in text
    assert r.headers["Content-Security-Policy"]
