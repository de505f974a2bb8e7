"""The real app in real headless Chromium: search, facet, paginate, open a document,
download the CSV, at desktop and phone widths; XSS never runs; nothing the CSP blocks.

Runs Debian's Chromium (found on PATH, see browser_support.py) through Playwright (never a downloaded
browser); skipped with a reason when it is not installed. Screenshots go to
tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import browser_support

pytest_plugins = ["tests.web_fixtures"]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not browser_support.available(), reason=browser_support.MISSING),
]


@pytest.fixture(scope="module")
def live_server(web_backend):
    """The app on waitress (as `gongkai serve` runs it) on a free loopback port."""
    from waitress.server import create_server

    from tests.web_fixtures import make_app

    app = make_app(web_backend, TESTING=False)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"

    def stop():
        # Run in the server's own loop: closing its sockets from this thread raced the
        # loop's select() ("Bad file descriptor" in the server thread).
        for channel in list(server._map.values()):
            channel.close()

    server.trigger.pull_trigger(stop)
    thread.join(timeout=60)
    server.task_dispatcher.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_support.CHROMIUM,
                                    args=browser_support.ARGS,
                                    timeout=browser_support.TIMEOUT_MS)
        yield browser
        browser.close()


class Watch:
    """Everything a page did that it must not: dialogs (XSS), console errors (CSP
    violations, failed loads), uncaught exceptions."""

    def __init__(self, page):
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):
    context = browser.new_context(viewport=VIEWPORTS[request.param], accept_downloads=True,
                                  locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(browser_support.TIMEOUT_MS)
    page.watch = Watch(page)
    page.width_name = request.param
    ARTIFACTS.mkdir(exist_ok=True)
    yield page
    context.close()
    assert page.watch.dialogs == [], "a script ran"
    assert page.watch.errors == []


def shot(page, name: str, full_page: bool = False) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{page.width_name}-{name}.png"), full_page=full_page)


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_search_facet_paginate_open_document(page, live_server):
    page.goto(live_server + "/")
    shot(page, "home")
    page.fill("#q", "住房公积金")
    page.press("#q", "Enter")
    page.wait_for_selector("ol.hits li.hit")
    total = int(page.inner_text("#total"))
    assert total > 10
    assert page.locator("li.hit .snippet mark").count() > 0
    no_horizontal_scroll(page)
    shot(page, "search")

    # Toggle a facet value: the URL, the chip and the count follow.
    facet = page.locator('section[data-facet="doc_type"] a.facet-value[data-value="通知"]')
    expected = int(facet.locator(".count").inner_text())
    facet.click()
    page.wait_for_selector("ul.chips a.chip")
    assert parse_qs(urlsplit(page.url).query)["type"] == ["通知"]
    assert int(page.inner_text("#total")) == expected
    shot(page, "facet")

    # Paginate.
    page.click('nav.pagination a[rel="next"]')
    page.wait_for_selector('nav.pagination strong[aria-current="page"]:text("2")')
    assert parse_qs(urlsplit(page.url).query)["page"] == ["2"]
    shot(page, "page2", full_page=True)  # the whole page, pagination included

    # Open a document: metadata, marked full text, similar documents.
    title = page.locator("li.hit h2 a").first
    expected_title = title.inner_text().strip()
    title.click()
    page.wait_for_selector("h1.doc-title")
    assert page.inner_text("h1.doc-title").strip() == expected_title
    assert page.locator("table.metadata tr").count() >= 2
    assert page.locator(".fulltext mark").count() > 0
    no_horizontal_scroll(page)
    shot(page, "document")


def test_timeline_bar_filters_by_year(page, live_server):
    page.goto(live_server + "/search?q=住房")
    bar = page.locator("figure.timeline a.bar").last
    bar.click()
    page.wait_for_selector("figure.timeline a.bar.selected")
    years = parse_qs(urlsplit(page.url).query)["year"]
    assert len(years) == 1
    dates = page.locator("li.hit time").evaluate_all("els => els.map(e => e.dateTime)")
    assert dates and all(d.startswith(years[0]) for d in dates)
    shot(page, "timeline")


def test_csv_download_has_every_row(page, live_server):
    page.goto(live_server + "/search?q=住房公积金")
    total = int(page.inner_text("#total"))
    with page.expect_download() as info:
        page.click(".exports a[download]")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == total + 1


@pytest.mark.parametrize("payload", [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "住房</mark><svg onload=alert(1)>",
])
def test_xss_in_the_query_never_runs(page, live_server, payload):
    page.goto(live_server + "/")
    page.fill("#q", payload)
    page.press("#q", "Enter")
    page.wait_for_selector("#summary")
    assert page.input_value("#q") == payload
    # Every onload/onerror an injected element could carry has fired by the load event;
    # the short wait after it is for anything else a handler might schedule.
    page.wait_for_load_state("load")
    page.wait_for_timeout(200)
    assert page.locator("img[src='x']").count() == 0
    if payload.startswith("<script>"):
        shot(page, "xss")
    # Nothing ran: the fixture asserts that no dialog opened and no error was logged.


def test_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["phone"])
    page = context.new_page()
    page.set_default_timeout(browser_support.TIMEOUT_MS)
    page.goto(live_server + "/search?q=住房公积金")
    page.locator('section[data-facet="year"] a.facet-value').first.click()
    assert "year=" in page.url
    page.locator("li.hit h2 a").first.click()
    assert page.locator("h1.doc-title").count() == 1
    context.close()


def test_help_examples_are_clickable(page, live_server):
    page.goto(live_server + "/help")
    shot(page, "help")
    example = page.locator("table.syntax a.example").first
    query = example.inner_text()
    example.click()
    page.wait_for_selector("ol.hits li.hit")
    assert page.input_value("#q") == query
    assert int(page.inner_text("#total")) > 0


def test_reports_filter_sort_and_open_an_agency(page, live_server):
    page.goto(live_server + "/reports")
    shot(page, "reports", full_page=True)
    no_horizontal_scroll(page)  # the wide table scrolls inside its own box
    all_rows = int(page.inner_text("#report-count"))
    page.select_option("select[name=agency]", "平潭综合实验区")
    page.fill("input[name=year]", "2019-2025")
    page.click(".report-filters button")
    page.wait_for_url("**/reports?*")
    shown = int(page.inner_text("#report-count"))
    assert 0 < shown < all_rows
    years = [int(t) for t in page.locator(".reports-table tbody tr td:first-child a").all_inner_texts()]
    assert years == sorted(years, reverse=True) and min(years) >= 2019
    page.locator(".reports-table thead a", has_text="本年新收申请").click()
    page.wait_for_url("**sort=received*")  # read the sorted page, not the one before it
    received = [t for t in page.locator(".reports-table tbody tr td.num:nth-child(4)").all_inner_texts()]
    numbers = [int(t) for t in received if t.isdigit()]
    assert len(numbers) > 1 and numbers == sorted(numbers, reverse=True)
    page.locator(".reports-table tbody th a").first.click()
    page.wait_for_selector("svg.report-chart")
    shot(page, "report-agency", full_page=True)
    no_horizontal_scroll(page)
    assert page.locator("svg.report-chart a rect").count() > 0
    page.locator("svg.report-chart a").last.click()
    page.wait_for_selector("section.report-data")
    shot(page, "report-document")
    assert page.locator(".checks-summary").count() == 1


def test_reports_work_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORTS["phone"])
    page = context.new_page()
    page.set_default_timeout(browser_support.TIMEOUT_MS)
    page.goto(live_server + "/reports")
    page.locator(".reports-table tbody th a", has_text="洪泽区人民政府").click()
    page.locator("svg.report-chart a").first.click()
    assert "2 项不相符" in page.inner_text(".checks-summary")
    context.close()
