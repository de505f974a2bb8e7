"""A portal whose templates use class names nobody has listed is read as well as a known one.

Every real fixture page (tests/fixtures/pages) is read again with all its class and id
attributes removed, so that none of the selectors in `indexer/readers/selectors.py` can match:
what is left to go on is structure and text (heading tags, text density, labels, hidden
blocks, the footer's credits). Title, must-have sentences and must-not furniture must come
out as the hand-read expectations say."""

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
DOCS = sorted(n for n, e in EXPECTED.items() if "skip" not in e)
_CLASS_OR_ID = re.compile(r"""\s(?:class|id)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.I)


@pytest.fixture(scope="module")
def bare() -> dict[str, Record]:
    out = {}
    for name in DOCS:
        html = _CLASS_OR_ID.sub("", decode_html((PAGES / name).read_bytes()))
        out[name] = parse_html(html.encode("utf-8"), name, EXPECTED[name]["url"])
    return out


@pytest.mark.parametrize("name", DOCS)
def test_without_class_names_the_page_keeps_its_title(bare, name):
    assert isinstance(bare[name], Record), bare[name]
    assert without_spaces(bare[name].title) == without_spaces(EXPECTED[name]["title"])


@pytest.mark.parametrize("name", DOCS)
def test_without_class_names_the_body_keeps_its_sentences_and_drops_the_furniture(bare, name):
    body = without_spaces(bare[name].body)
    for must in EXPECTED[name].get("must", []):
        assert without_spaces(must) in body, must
    for furniture in EXPECTED[name].get("must_not", []):
        assert without_spaces(furniture) not in body, furniture


def test_a_hidden_pop_up_and_the_footers_notes_are_not_taken_for_the_text(bare):
    # www.fzcl.gov.cn: an attachment page whose own text is one line; the page also holds
    # a display:none login notice and a footer note on browsers, both longer.
    body = bare["www.fzcl.gov.cn_4364bbaa32.html"].body
    assert "注册和登录功能" not in body
    assert "建议您使用以下浏览器版本" not in body
    assert "予以公布" in body
