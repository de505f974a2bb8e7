"""Pages whose article is only in a script's JSON object (consultation pages, 意见征集,
and single-page portals render it in the browser) are documents, not empty shells.

The development corpus has no such page, so the shells here carry a real page's own
text: the title, date and body of a fixture page (tests/fixtures/pages, provenance in its
PROVENANCE.md), put into the shapes these CMSs use. No government text is made up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.readers import Skipped
from indexer.readers.html_page import parse_html
from indexer.record import Record

PAGES = Path(__file__).parent / "fixtures" / "pages"
SOURCE_PAGE = "www.beijing.gov.cn_0ffec3d544.html"  # a 政策解读 of 北京市教育委员会


@pytest.fixture(scope="module")
def real() -> Record:
    expected = json.loads((PAGES / "expected.json").read_text("utf-8"))
    rec = parse_html((PAGES / SOURCE_PAGE).read_bytes(), SOURCE_PAGE,
                     expected[SOURCE_PAGE]["url"])
    assert isinstance(rec, Record) and rec.title == expected[SOURCE_PAGE]["title"]
    return rec


def _shell(script: str) -> bytes:
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>意见征集</title></head>"
            "<body><div id='app'></div><script>" + script + "</script></body></html>").encode()


def _article_json(rec: Record) -> dict:
    paragraphs = "".join(f"<p>{line}</p>" for line in rec.body.split("\n"))
    return {"id": 4711, "title": rec.title, "content": paragraphs,
            "publishTime": rec.pub_date + " 09:30:00", "source": rec.agency}


def test_an_article_in_an_assigned_object_is_read_with_title_date_and_body(real):
    page = _shell("var articleData = " + json.dumps(_article_json(real), ensure_ascii=False) + ";")
    rec = parse_html(page, "shell.html", "https://example.gov.cn/art/2024/1/1/art_1.html")
    assert isinstance(rec, Record), rec
    assert rec.title == real.title
    assert rec.pub_date == real.pub_date
    assert rec.body == real.body
    assert rec.body_kind == "text"


def test_an_article_inside_a_list_of_one_in_a_nested_response_is_found(real):
    payload = {"code": 200, "data": {"list": [_article_json(real)], "total": 1}}
    page = _shell("render(" + json.dumps(payload, ensure_ascii=False) + ");")
    rec = parse_html(page, "shell.html", "https://example.gov.cn/yjzj/detail?id=4711")
    assert isinstance(rec, Record), rec
    assert (rec.title, rec.body) == (real.title, real.body)


def test_an_article_in_a_json_parse_string_is_found(real):
    text = json.dumps(json.dumps(_article_json(real), ensure_ascii=True))
    page = _shell("var d = JSON.parse(" + text + ");")
    rec = parse_html(page, "shell.html", "https://example.gov.cn/art/1.html")
    assert isinstance(rec, Record), rec
    assert rec.title == real.title
    assert rec.body == real.body


def test_a_shell_whose_script_holds_only_short_items_stays_an_empty_shell(real):
    items = [{"title": real.title, "content": real.body[:30]}]
    page = _shell("var list = " + json.dumps(items, ensure_ascii=False) + ";")
    rec = parse_html(page, "shell.html", "https://example.gov.cn/art/1.html")
    assert isinstance(rec, Skipped) and rec.reason == "empty-shell"


def test_a_page_that_shows_its_article_is_not_given_the_scripts_copy_again(real):
    art = _article_json(real)
    page = ("<html><head><meta charset='utf-8'><title>t</title></head><body><h1>" + real.title
            + "</h1><div class='article-content'>" + art["content"] + "</div><script>var a = "
            + json.dumps(art, ensure_ascii=False) + ";</script></body></html>").encode()
    rec = parse_html(page, "page.html", "https://example.gov.cn/art/1.html")
    assert isinstance(rec, Record), rec
    assert rec.body == real.body
