"""Abuse through the data and the URL: hostile text stored in the index is shown as text on
every page, feed and export; document routes never read a file; rate limits answer in the
error shape over the wire.

tests/test_web_security.py proves that hostile *queries and filters* are escaped; here the
hostile text is in the *documents*: a small index is built from a few real records
(tests/fixtures/search_records.jsonl) plus a few synthetic hostile records. The hostile
records are security test inputs, clearly labelled as such, not government documents.
"""

from __future__ import annotations

import html
import http.client
import json
import socket
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests import browser_support

pytest_plugins = ["tests.web_fixtures"]

FIXTURE = Path(__file__).parent / "fixtures" / "search_records.jsonl"
ATOM = "http://www.w3.org/2005/Atom"
QUERY = "住房公积金"
HTTP_TIMEOUT = 120  # seconds: only a hang fails, never a slow machine

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = "</mark><svg onload=alert(1)>"
JS_URL = "javascript:alert(1)"


def hostile_records():
    """SYNTHETIC SECURITY TEST INPUTS, NOT GOVERNMENT DOCUMENTS: every field a page, feed
    or export shows carries markup or a script URL. The query word 住房公积金 sits next to
    the payloads so that snippets and marked bodies cut through them."""
    from indexer.record import Record

    return [
        Record(
            title=f"[测试数据] {QUERY}{SCRIPT}提取通知",
            body=(f"本条为安全测试数据。{QUERY}{SVG}提取办法。{IMG}{QUERY}"
                  f"<mark onclick=alert(1)>{QUERY}</mark>。{SCRIPT}\n"
                  f"第二段：{QUERY}</p><iframe src={JS_URL}></iframe>"),
            source="synthetic/hostile-1<script>alert(1)</script>.html",
            url=JS_URL, agency=f"{SCRIPT}测试中心", pub_date="2023-05-01",
            index_no=IMG, doc_no="<img src=x onerror=alert(1)>〔2023〕1号",
            classification=IMG, validity="<b onmouseover=alert(1)>有效</b>",
            doc_type=SVG, scope=SCRIPT, publish_mode=IMG,
            attachments=[{"title": f"{SCRIPT}附件", "url": JS_URL},
                         {"title": "data 附件", "url": "data:text/html,<script>alert(1)</script>"},
                         {"title": IMG, "url": " JaVaScRiPt:alert(1)"}],
        ),
        Record(
            title=f"[测试数据] {IMG}{QUERY}管理办法",
            body=f"本条为安全测试数据。{QUERY}的{IMG}规定。{SVG}{QUERY}",
            source="synthetic/hostile-2.html", url=" JaVaScRiPt:alert(document.domain)",
            agency=IMG, pub_date="2022-03-01", classification=f"{SVG}\\{SCRIPT}",
            doc_type=SCRIPT,
        ),
        Record(
            title=f'=HYPERLINK("{JS_URL}","[测试数据] {QUERY}")',
            body=f"本条为安全测试数据。{QUERY}{SVG}",
            source="synthetic/hostile-3.html", url="vbscript:msgbox(1)",
            agency="@SUM(1+1)*cmd|' /C calc'!A0", pub_date="2021-01-01", doc_type="通知",
        ),
    ]


@pytest.fixture(scope="module")
def abuse_index(tmp_path_factory):
    from indexer.index.writer import build_index
    from indexer.record import Record

    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    real = [Record.from_dict(json.loads(line)) for line in lines]
    real = [r for r in real if QUERY in r.title][:4]  # real records the query also finds
    assert len(real) == 4
    index_dir = tmp_path_factory.mktemp("abuse-index") / "index"
    build_index(index_dir, real + hostile_records())
    return index_dir


@pytest.fixture(scope="module")
def abuse_backend(abuse_index):
    from search_app.search import open_backend

    backend = open_backend(abuse_index)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def hostile_ids(abuse_backend) -> list[str]:
    """The hostile records' ids, in the order of `hostile_records`."""
    from search_app.search.types import SearchRequest

    ids = [r.id for r in hostile_records()]
    hits = abuse_backend.search(SearchRequest(q="安全测试数据", size=10)).hits
    assert {h.id for h in hits} == set(ids)
    return ids


@pytest.fixture()
def abuse_client(abuse_backend):
    from tests.web_fixtures import make_app

    return make_app(abuse_backend).test_client()


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


BAD_SCHEMES = ("javascript:", "vbscript:", "data:")


def assert_no_live_markup(page: BeautifulSoup) -> None:
    """Nothing from the data became markup: no inline or foreign script, no event
    handler, no script URL, none of the payloads' elements."""
    for script in page.find_all("script"):
        assert script.get("src", "").startswith("/static/") and not script.string, script
    for el in page.find_all(True):
        assert el.name not in ("svg", "iframe", "object", "embed", "base") or (
            el.name == "svg" and el.find_parent(class_="timeline")), el
        for attr, value in el.attrs.items():
            assert not attr.lower().startswith("on"), (el.name, attr, value)
            if attr in ("href", "src", "action", "formaction", "xlink:href"):
                url = str(value).strip().lower()
                if url == "data:," and el.name == "link":  # the page's own empty favicon
                    continue
                assert not url.startswith(BAD_SCHEMES), (el.name, value)
        if el.name == "img":
            assert el.get("src") != "x", el
        if el.name == "mark":
            assert not el.attrs, el
        if el.name == "meta":
            assert el.get("http-equiv", "").lower() != "refresh", el


def search_page_urls() -> list[str]:
    return [f"/search?q={QUERY}", f"/search?q={QUERY}&sort=newest", "/search?q=安全测试数据",
            "/search?q=" + QUERY + "&agency=" + SCRIPT.replace("<", "%3C") + "测试中心"]


# --- XSS through the data -------------------------------------------------------------------


def test_hostile_records_are_found_so_the_pages_below_show_them(abuse_client, hostile_ids):
    body = abuse_client.get(f"/api/search?q={QUERY}&size=20").get_json()
    assert set(hostile_ids) <= {hit["id"] for hit in body["results"]}
    assert body["total"] == 7


@pytest.mark.parametrize("path", search_page_urls())
def test_search_page_shows_hostile_titles_snippets_and_facets_as_text(abuse_client, path):
    page = soup(abuse_client.get(path))
    assert_no_live_markup(page)
    text = page.get_text()
    # The payloads are there, as visible text: escaped, not dropped.
    hits = " ".join(h.get_text() for h in page.select("li.hit"))
    assert SCRIPT in hits
    sidebar = " ".join(s.get_text() for s in page.select("section[data-facet]"))
    assert f"{SCRIPT}测试中心" in sidebar and SVG in sidebar
    assert "alert(1)" in text


def test_filter_chips_of_hostile_facet_values_stay_text(abuse_client, abuse_backend):
    from urllib.parse import urlencode

    from search_app.search.types import SearchRequest

    facets = abuse_backend.search(SearchRequest(q=QUERY, facet_limit=100)).facets
    hostile = {name: [str(v.value) for v in facets[name].values if "alert" in str(v.value)]
               for name in ("agency", "classification", "doc_type")}
    assert all(hostile.values()), hostile
    params = [("q", QUERY)] + [("type" if name == "doc_type" else name, value)
                               for name, values in hostile.items() for value in values]
    page = soup(abuse_client.get("/search?" + urlencode(params)))
    assert_no_live_markup(page)
    chips = [a.get_text() for a in page.select("ul.chips a.chip")]
    for values in hostile.values():
        for value in values:
            assert any(value in chip for chip in chips), (value, chips)


def test_document_pages_show_hostile_fields_links_and_attachments_as_text(abuse_client,
                                                                          hostile_ids):
    for doc_id in hostile_ids:
        for q in ("", QUERY, "安全测试数据"):
            page = soup(abuse_client.get(f"/documents/{doc_id}", query_string={"q": q}))
            assert_no_live_markup(page)
            assert page.select_one("a.original") is None  # no link to a script URL
            text = page.get_text()
            assert "alert(" in text and "测试数据" in page.select_one("h1").get_text()
    first = soup(abuse_client.get(f"/documents/{hostile_ids[0]}?q={QUERY}"))
    # The body's matches are marked, the payload around them is text.
    assert first.select("mark") and all(not m.attrs for m in first.select("mark"))
    assert SVG in first.get_text() and IMG in first.get_text()
    attachments = first.select("section.attachments li")
    assert len(attachments) == 3 and not first.select("section.attachments a")


def test_json_api_html_fields_hold_only_mark_and_paragraph_tags(abuse_client, hostile_ids):
    allowed = {"mark", "p", "br", "b", "strong", "em"}
    results = abuse_client.get(f"/api/search?q={QUERY}&size=20").get_json()["results"]
    fragments = [r["snippet_html"] for r in results]
    for doc_id in hostile_ids:
        doc = abuse_client.get(f"/api/documents/{doc_id}?q={QUERY}").get_json()
        fragments.append(doc["body_html"])
        fragments += [s["snippet_html"] for s in doc["similar"]]
    assert any(html.escape(SVG) in f for f in fragments)
    for fragment in fragments:
        for el in BeautifulSoup(fragment, "html.parser").find_all(True):
            assert el.name in allowed and not el.attrs, (el, fragment[:200])


def test_atom_feed_carries_hostile_text_only_as_text_and_only_web_links(abuse_client):
    r = abuse_client.get(f"/search.atom?q={QUERY}")
    assert r.status_code == 200 and r.mimetype == "application/atom+xml"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    feed = ET.fromstring(r.get_data())
    elements = list(feed.iter())
    assert all(el.tag.startswith(f"{{{ATOM}}}") for el in elements), "only Atom elements"
    assert not [el for el in elements if el.get("type") in ("html", "xhtml")], \
        "no content a reader would render as HTML"
    titles = [el.text for el in feed.iter(f"{{{ATOM}}}title")]
    assert any(SCRIPT in (t or "") for t in titles)
    for link in feed.iter(f"{{{ATOM}}}link"):
        assert link.get("href", "").startswith(("http://", "https://")), link.attrib
    categories = " ".join(c.get("term") for c in feed.iter(f"{{{ATOM}}}category"))
    assert "<img src=x onerror=alert(1)" in categories  # the classification, as text


def test_csv_export_is_a_download_with_formulas_neutralised(abuse_client):
    import csv
    import io

    r = abuse_client.get(f"/api/search.csv?q={QUERY}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.DictReader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    assert len(rows) == 7
    assert any(SCRIPT in row["title"] for row in rows)  # text, as stored
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value
    assert any(row["title"].startswith("'=HYPERLINK") for row in rows)
    assert any(row["agency"].startswith("'@SUM") for row in rows)


# --- the same pages in real Chromium -----------------------------------------------------------


@pytest.fixture(scope="module")
def abuse_server(abuse_backend):
    from waitress.server import create_server

    from tests.web_fixtures import make_app

    srv = create_server(make_app(abuse_backend, TESTING=False), host="127.0.0.1", port=0,
                        threads=4)
    yield from run_server(srv)


def run_server(srv):
    closing = threading.Event()

    def run():
        try:
            srv.run()
        except OSError:  # select() on the socket close() just shut: the normal way out
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    closing.set()
    srv.close()
    thread.join(timeout=HTTP_TIMEOUT)


@pytest.fixture(scope="module")
def browser():
    if not browser_support.available():
        pytest.skip(browser_support.MISSING)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_support.CHROMIUM,
                                    args=browser_support.ARGS,
                                    timeout=browser_support.TIMEOUT_MS)
        yield browser
        browser.close()


# Counts what would have been injected: elements and attributes the data must never become.
INJECTED_JS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.toLowerCase().startsWith('on')) bad.push(el.tagName + ' ' + a.name);
      if (['href', 'src', 'action'].includes(a.name) &&
          /^\\s*(javascript|vbscript|data):/i.test(a.value) &&
          !(el.tagName === 'LINK' && a.value === 'data:,'))  // our own empty favicon
        bad.push(el.tagName + ' ' + a.value);
    }
  }
  for (const s of document.querySelectorAll('script:not([src]), iframe, img[src="x"]'))
    bad.push(s.outerHTML.slice(0, 80));
  return bad;
}"""


@pytest.mark.browser
@pytest.mark.slow
def test_no_dialog_ever_fires_on_pages_showing_hostile_data(browser, abuse_server,
                                                             hostile_ids):
    """Every page that shows the hostile records, loaded, hovered and scrolled in
    Chromium: no dialog opens, no script runs, and the console reports no CSP violation
    (which is what a blocked injection would look like)."""
    from urllib.parse import quote

    paths = search_page_urls() + [
        f"/documents/{doc_id}?q={quote(QUERY)}" for doc_id in hostile_ids] + [
        f"/documents/{doc_id}" for doc_id in hostile_ids] + [
        f"/search.atom?q={quote(QUERY)}"]
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(browser_support.TIMEOUT_MS)
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # Failed loads are checked by URL below: Chromium's feed viewer asks for /favicon.ico.
    page.on("console", lambda m: m.type == "error" and not m.text.startswith(
        "Failed to load resource") and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
            and errors.append(f"{r.status} {r.url}"))
    try:
        for path in paths:
            page.goto(abuse_server + path)
            if not path.startswith("/search.atom"):
                assert page.evaluate(INJECTED_JS) == [], path
                links = page.locator("main a, li.hit a, section a").all()
                for link in [a for a in links if a.is_visible()][:30]:
                    link.hover()
                page.mouse.wheel(0, 4000)
            # Every onload/onerror an injected element could carry has fired by the load
            # event; the short wait after it is for anything else a handler might schedule.
            page.wait_for_load_state("load")
            page.wait_for_timeout(150)
            assert dialogs == [], (path, dialogs)
            assert errors == [], (path, errors)
        assert "alert(1)" in page.content()  # the last page did show the payloads
    finally:
        context.close()


# --- path traversal on the document routes -----------------------------------------------------

TRAVERSALS = [
    "/documents/../../etc/passwd",
    "/documents/..%2F..%2Fetc%2Fpasswd",
    "/documents/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/documents/%2e%2e/%2e%2e/etc/passwd",
    "/documents/....//....//etc/passwd",
    "/documents/..\\..\\etc\\passwd",
    "/documents/%252e%252e%252fetc%252fpasswd",
    "/documents/%c0%ae%c0%ae%c0%afetc%c0%afpasswd",
    "/documents/" + "a" * 65,
    "/documents/" + "0" * 100_000,
    "/documents/abc%00def",
    "/documents/%00",
    "/documents/abc%00.html",
    "/documents/%ED%A0%80",
    "/documents/abc;rm",
    "/api/documents/..%2F..%2Fetc%2Fpasswd",
    "/api/documents/../../etc/passwd",
    "/api/documents/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/documents/" + "f" * 65,
    "/api/documents/" + "0" * 100_000,
    "/api/documents/abc%00def",
    "/api/documents/%00",
    "/api/documents/..%5C..%5Cetc%5Cpasswd",
    "/static/../../../../etc/passwd",
    "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/static/..%2f__init__.py",
    "/static/%2e%2e/web/params.py",
]


class FileOpens:
    """Every file the process opens while a request runs (a sys audit hook, installed
    once: audit hooks cannot be removed, so it records only while `recording`)."""

    recording = False
    paths: list[str] = []
    installed = False

    @classmethod
    def install(cls):
        if not cls.installed:
            def hook(event, args):
                if cls.recording and event == "open" and args and args[0] is not None:
                    cls.paths.append(str(args[0]))
            sys.addaudithook(hook)
            cls.installed = True

    def __enter__(self):
        FileOpens.install()
        FileOpens.paths = []
        FileOpens.recording = True
        return FileOpens.paths

    def __exit__(self, *exc):
        FileOpens.recording = False


@pytest.mark.parametrize("path", TRAVERSALS, ids=[p[:50] for p in TRAVERSALS])
def test_document_routes_answer_traversal_with_a_clean_404_and_read_no_file(client, path):
    with FileOpens() as opened:
        r = client.get(path)
    assert r.status_code == 404, (path, r.status_code)
    body = r.get_data(as_text=True)
    assert "root:" not in body and "import " not in body and "Traceback" not in body
    assert not [p for p in opened if "passwd" in p or p.endswith(".py")], opened
    if path.startswith("/api/"):
        assert r.mimetype == "application/json"
        assert r.get_json() == {"error": {"code": "not-found",
                                          "message": r.get_json()["error"]["message"]}}
    else:
        assert r.mimetype == "text/html"
        assert 'data-code="not-found"' in body


@pytest.fixture(scope="module")
def live_server(web_backend):
    from waitress.server import create_server

    from tests.web_fixtures import make_app

    srv = create_server(make_app(web_backend, TESTING=False), host="127.0.0.1", port=0,
                        threads=4, ident="gongkai")
    yield from run_server(srv)


def raw_get(base: str, target: str) -> tuple[int, dict, bytes]:
    """Sends *target* exactly as written (no client-side normalisation of ../)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=HTTP_TIMEOUT) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("path", TRAVERSALS, ids=[p[:50] for p in TRAVERSALS])
def test_traversal_over_the_wire_is_a_404_never_a_file(live_server, path):
    status, headers, body = raw_get(live_server, path)
    assert status == 404, (path, status, body[:200])
    assert b"root:" not in body and b"import " not in body
    if path.startswith("/api/"):
        assert json.loads(body)["error"]["code"] == "not-found"
    status, _, _ = raw_get(live_server, "/api/stats")
    assert status == 200


# --- rate limits, over the wire ----------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_server(web_backend):
    from waitress.server import create_server

    from tests.web_fixtures import make_app

    app = make_app(web_backend, TESTING=False, RATELIMIT_ENABLED=True,
                   RATELIMIT_PER_MINUTE=6, RATELIMIT_BURST=2, RATELIMIT_EXPORT_COST=2)
    # A clock that never moves: however slowly the requests below are answered, no
    # token refills between them.
    app.extensions["gongkai.ratelimit"].clock = lambda: 1000.0
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    yield from run_server(srv)


def test_rate_limited_answers_are_429_in_the_error_shape_with_retry_after(limited_server):
    """Over a real socket (the limiter keys on the peer address waitress reports): the
    feed and the API share the bucket, the CSV costs two, HTML pages are never limited."""
    base = limited_server.removeprefix("http://")

    def get(target):
        conn = http.client.HTTPConnection(base, timeout=HTTP_TIMEOUT)
        conn.request("GET", target)
        r = conn.getresponse()
        out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        conn.close()
        return out

    assert get("/search.atom?q=%E4%BD%8F%E6%88%BF")[0] == 200
    assert get("/api/search?q=%E4%BD%8F%E6%88%BF")[0] == 200
    for target in ("/api/search?q=%E4%BD%8F%E6%88%BF", "/search.atom", "/api/search.csv",
                   "/api/documents/0000000000000000", "/api/stats"):
        status, headers, body = get(target)
        assert status == 429, target
        assert json.loads(body) == {"error": {"code": "rate-limited",
                                              "message": json.loads(body)["error"]["message"]}}
        assert 1 <= int(headers["retry-after"]) <= 60
        assert headers["content-type"].startswith("application/json")
        assert "default-src 'self'" in headers["content-security-policy"]
    assert get("/search?q=%E4%BD%8F%E6%88%BF")[0] == 200
    assert get("/documents/0000000000000000")[0] == 404  # a page: not limited
