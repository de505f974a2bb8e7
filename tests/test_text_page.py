"""The reader for browser text renderings ("select all, copy" of a page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.readers import Skipped
from indexer.readers.text_page import parse_labels, parse_text_page, pick_fields
from indexer.record import Record

TEXT = (Path(__file__).parent / "fixtures" / "pages"
        / "donghu_gongan_2020_annual_report.txt").read_text("utf-8")


@pytest.fixture(scope="module")
def rec() -> Record:
    r = parse_text_page(TEXT, "donghu_gongan_2020_annual_report.txt")
    assert isinstance(r, Record), r
    return r


def test_title_is_the_heading_line_after_the_metadata(rec):
    assert rec.title == "东湖公安分局2020年度政府信息公开年度报告"
    assert rec.doc_type == "年度报告"


def test_metadata_comes_from_several_labels_on_one_line_with_empty_values(rec):
    assert rec.index_no == "A25010-4971-6029-8371-9058-5426"
    assert rec.classification == ""  # "主题分类:" is printed with no value
    assert rec.agency == "东湖区公安分局"
    assert rec.pub_date == "2021-01-29"
    assert rec.doc_no == ""  # "文件编号:" is empty
    assert rec.validity == "有效"
    assert rec.scope == "面向全社会"
    assert rec.publish_mode == "主动公开"


def test_body_runs_from_first_to_last_paragraph(rec):
    assert rec.body.startswith("2020年,在区委、区政府的坚强领导下,东湖公安分局认真贯彻执行")
    assert "一、加强组织领导,建立健全工作机制。" in rec.body
    assert rec.body.endswith("网上办事要“成”。")


@pytest.mark.parametrize("line", ["微信", "微博", "繁体字", "分享到:", "浏览量:", "【字体:",
                                  "手机扫码浏览"])
def test_body_has_no_share_or_menu_line(rec, line):
    # 微信/微博 also occur inside the report's sentences, so whole lines are compared.
    assert line not in rec.body.split("\n")


@pytest.mark.parametrize("furniture", [
    "关于我们", "网站地图", "主办：东湖区人民政府办公室", "版权所有", "赣ICP备05005744号-2",
    "网站标识码", "赣公网安备", "索引号", "公开方式",
])
def test_body_has_no_footer_or_metadata_text(rec, furniture):
    assert furniture not in rec.body


def test_labels_padded_with_spaces_and_fullwidth_colons_are_read():
    pairs = parse_labels(["索 引 号：ABC-1 发布机构：某局", "成文日期： 2020年3月4日"])
    assert pairs == [("索引号", "ABC-1"), ("发布机构", "某局"), ("成文日期", "2020年3月4日")]


def test_a_dateline_label_ends_the_credit_before_it():
    # 平潭's pages: "来源：平潭县人民政府 时间：2014-02-25 00:00" on the line under the heading.
    fields = pick_fields(parse_labels(["来源：平潭县人民政府 时间：2014-02-25 00:00"]))
    assert fields["agency"] == "平潭县人民政府"
    assert fields["pub_date"].startswith("2014-02-25")


def test_label_cell_and_value_cell_on_consecutive_lines():
    assert parse_labels(["索引号", "XYZ/2021-1", "有效性", "有效"]) == [
        ("索引号", "XYZ/2021-1"), ("有效性", "有效")]


def test_keywords_label_is_not_a_classification():
    fields = pick_fields(parse_labels(["主题词：住房 公积金", "主题分类：城乡建设"]))
    assert fields["classification"] == "城乡建设"
    fields = pick_fields(parse_labels(["主题词：住房 公积金"]))
    assert "classification" not in fields


def test_the_written_and_the_publication_date_are_two_fields():
    fields = pick_fields(parse_labels(["发布日期：2021-08-16", "成文日期：2021-08-13"]))
    assert (fields["written_date"], fields["pub_date"]) == ("2021-08-13", "2021-08-16")


@pytest.mark.parametrize("label", ["成文日期", "成文时间", "签发日期", "印发日期", "发文日期"])
def test_a_signing_label_gives_the_written_date(label):
    fields = pick_fields(parse_labels([f"{label}：2023-04-21"]))
    assert fields == {"written_date": "2023-04-21"}


@pytest.mark.parametrize("label", ["发布日期", "发布时间", "公开日期", "生成日期", "日期"])
def test_a_publication_label_gives_the_publication_date(label):
    fields = pick_fields(parse_labels([f"{label}：2023-04-24"]))
    assert fields == {"pub_date": "2023-04-24"}


def test_a_rendering_without_a_publication_date_is_published_on_its_written_date():
    rec = parse_text_page("成文日期：2021-08-13\n索引号：A1\n关于某事的通知\n" + "正文。" * 20,
                          "t.txt")
    assert (rec.written_date, rec.pub_date) == ("2021-08-13", "2021-08-13")


def test_word_inside_prose_is_not_a_label():
    assert parse_labels(["据消息来源：称"]) == []


@pytest.mark.parametrize("text", ["", "   \n\n", "只有一行"])
def test_text_without_a_document_is_skipped(text):
    result = parse_text_page(text, "t.txt")
    assert isinstance(result, Skipped)
    assert result.reason == "no-text"
