"""The heading is found from the page itself, not only from its <title>.

Pages are often stored as fragments without a <title>, or with the column's name there
("政策文件"). Each real fixture page (tests/fixtures/pages) is read again with its <title>
and title metas removed or replaced by a column name: the page's own text and markup are
untouched, so the heading a person reads is still there and must still be found. Before
the reader weighed several signals at once, 64 of 103 development pages lost their title
this way."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indexer.readers.encoding import decode_html
from indexer.readers.html_page import parse_html
from indexer.readers.text_page import without_spaces
from indexer.record import Record

PAGES = Path(__file__).parent / "fixtures" / "pages"
EXPECTED: dict[str, dict] = json.loads((PAGES / "expected.json").read_text("utf-8"))

_TITLE_TAG = re.compile(r"(?is)<title>.*?</title>")
_TITLE_META = re.compile(r"(?is)<meta[^>]+(?:ArticleTitle|og:title)[^>]*>")
# Image-only articles have no heading line near a text to weigh; their title comes from
# <title> alone.
TEXT_PAGES = sorted(n for n, e in EXPECTED.items()
                    if "skip" not in e and e.get("title") and e.get("body_kind", "text") == "text")


def _reread(name: str, title_tag: str) -> Record:
    html = decode_html((PAGES / name).read_bytes())
    html = _TITLE_META.sub("", _TITLE_TAG.sub(title_tag, html))
    rec = parse_html(html.encode("utf-8"), name, EXPECTED[name]["url"])
    assert isinstance(rec, Record), rec
    return rec


@pytest.mark.parametrize("name", TEXT_PAGES)
def test_a_page_stored_without_title_tag_still_yields_its_heading(name):
    rec = _reread(name, "")
    assert without_spaces(rec.title) == without_spaces(EXPECTED[name]["title"])


@pytest.mark.parametrize("name", TEXT_PAGES)
def test_a_page_whose_title_tag_names_its_column_still_yields_its_heading(name):
    rec = _reread(name, "<title>政策文件</title>")
    assert without_spaces(rec.title) == without_spaces(EXPECTED[name]["title"])


def test_a_heading_split_into_issuer_and_subject_lines_is_read_as_one_title():
    # 高阳县人民政府 / 关于加强房地产市场管控的意见: two centred paragraphs in the page.
    rec = _reread("www.gaoyang.gov.cn_ad9be9ed61.html", "")
    assert rec.title == "高阳县人民政府关于加强房地产市场管控的意见"
    assert not rec.body.startswith(("高阳县人民政府", "关于加强"))


def test_section_numbers_questions_and_doc_numbers_are_not_taken_for_the_heading():
    from bs4 import BeautifulSoup

    from indexer.readers.html_title import _evidence

    soup = BeautifulSoup("<div id=c><p><strong>一、《办法》修订的背景和必要性？</strong></p>"
                         "<p align=center>京教函〔2026〕259号</p>"
                         "<h2>关于印发《北京市高中阶段教辅材料评议推荐目录》的通知</h2></div>",
                         "lxml")
    content = soup.find(id="c")
    strong, doc_no, h2 = soup.find("strong"), soup.find("p", align="center"), soup.find("h2")
    assert _evidence(strong, content, "") is None
    assert _evidence(doc_no, content, "") is None
    assert _evidence(h2, content, "") == 3 + 1 + 2
