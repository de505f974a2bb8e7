"""Decoding crawled bytes: BOM, a verified declaration, then detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.readers.encoding import declared_charset, decode_html
from indexer.readers.html_page import parse_html

PAGES = Path(__file__).parent / "fixtures" / "pages"
EXPECTED = json.loads((PAGES / "expected.json").read_text("utf-8"))
TEXT = "关于进一步促进房地产市场平稳健康发展的通知，〇一二三。"


@pytest.mark.parametrize("name,declared,expected_phrase", [
    ("www.cixian.gov.cn_1dd46f96c4.html", "gb18030", "该信息不存在"),
    ("www.gaoyang.gov.cn_ad9be9ed61.html", "gb18030", "高阳县人民政府关于加强房地产市场管控的意见"),
    ("www.chengan.gov.cn_dca6ed22c3.html", "gb18030", "关于支持房地产业良性循环和健康发展的十条政策措施"),
])
def test_gbk_and_gb2312_pages_decode_as_gb18030(name, declared, expected_phrase):
    data = (PAGES / name).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert declared_charset(data) == declared
    assert expected_phrase in decode_html(data)


def test_gbk_fixture_bytes_are_the_corpus_encoding_and_parse_to_the_heading():
    rec = parse_html((PAGES / "www.gaoyang.gov.cn_ad9be9ed61.html").read_bytes(), "g")
    assert rec.title == EXPECTED["www.gaoyang.gov.cn_ad9be9ed61.html"]["title"]


def test_bom_wins_over_a_wrong_declaration():
    data = b"\xef\xbb\xbf<meta charset='gbk'><p>" + TEXT.encode("utf-8")
    assert TEXT in decode_html(data)


def test_utf16_bom_is_honoured():
    data = ("<p>" + TEXT).encode("utf-16")
    assert TEXT in decode_html(data)


def test_declared_charset_is_used_when_it_decodes_cleanly():
    data = ("<meta http-equiv='Content-Type' content='text/html; charset=gb2312'><p>" + TEXT
            ).encode("gb18030")
    assert TEXT in decode_html(data)


def test_wrong_declaration_falls_back_to_the_real_encoding():
    data = ("<meta charset='gbk'><p>" + TEXT * 5).encode("utf-8")
    assert TEXT in decode_html(data)


def test_undeclared_gbk_is_detected():
    data = ("<html><body><p>" + TEXT * 20 + "</p></body></html>").encode("gbk")
    assert TEXT in decode_html(data)


def test_undeclared_utf8_is_read_as_utf8():
    data = ("<p>" + TEXT).encode("utf-8")
    assert decode_html(data) == "<p>" + TEXT


def test_unknown_charset_name_is_ignored():
    data = ("<meta charset='x-no-such'><p>" + TEXT).encode("utf-8")
    assert TEXT in decode_html(data)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_decode_html_never_raises(data):
    assert isinstance(decode_html(data), str)
