"""Records files (JSON, JSONL, CSV) and Markdown laws → Records. Fixtures are real corpus
rows (tests/fixtures/records/PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.readers import Skipped
from indexer.readers.structured import (
    check_field_map,
    html_to_text,
    parse_markdown,
    read_csv,
    read_json,
    read_jsonl,
    read_records_file,
    record_from_mapping,
)
from indexer.record import Record

FIX = Path(__file__).parent / "fixtures" / "records"


def records(path: Path, field_map=None) -> list:
    return list(read_records_file(path, field_map))


# --- JSONL: records_govcn -------------------------------------------------------------

def test_govcn_row_maps_publication_fields_and_keeps_agency_empty():
    rec = records(FIX / "records_govcn_sample.jsonl")[0]
    assert rec.title == "《关于优化住房公积金住房消费类提取政策的通知(征求意见稿)》"
    assert rec.url == "https://gjj.wuhan.gov.cn/hdjl/dczj/myzj/myzj_content_2024.html?id=2132"
    # publication_date is null: issuance_date is the next date column tried.
    assert rec.pub_date == "2026-06-23" and rec.year == 2026
    assert rec.doc_type == "征求意见稿"
    assert rec.agency == ""  # the data set has no publisher column; none is invented
    assert rec.classification == ""  # legacy_category holds analyst tags, not 主题分类
    assert rec.body.startswith("武汉住房公积金管理中心关于\n优化住房公积金住房消费类提取政策的通知")
    assert rec.source.endswith("records_govcn_sample.jsonl#L1")


def test_title_wrapped_inside_a_cell_is_joined():
    rec = records(FIX / "records_govcn_sample.jsonl")[1]
    assert rec.title == "《内蒙古自治区着力稳定房地产市场的若干措施》"


def test_doc_no_found_in_the_head_of_the_body():
    rec = records(FIX / "records_govcn_sample.jsonl")[2]
    assert rec.doc_no == "明住房规〔2026〕1号"
    assert rec.doc_type == "通知"


def test_row_with_title_but_empty_full_text_is_a_record():
    rec = records(FIX / "records_govcn_sample.jsonl")[3]
    assert rec.title == "国新办举行新闻发布会 介绍“一揽子金融政策支持稳市场稳预期”有关情况"
    assert rec.body == ""


def test_date_in_the_title_column_is_not_a_title():
    rec = records(FIX / "records_govcn_sample.jsonl")[4]
    # full_text is "2022-08-05 00:00:00 | 【官方】…《…》 | summary": the title cell is used.
    assert rec.title == "【官方】河北省邯郸市磁县《关于支持房地产业良性循环和健康发展的十条政策措施》"
    assert rec.pub_date == "2022-08-05"


def test_legacy_category_can_be_mapped_explicitly():
    rec = records(FIX / "records_govcn_sample.jsonl", {"classification": "legacy_category"})[0]
    assert rec.classification == "公积金政策"


# --- JSON array: bucm --------------------------------------------------------------------

def test_json_array_html_article_is_cleaned_to_paragraph_lines():
    recs = records(FIX / "bucm_sample.json")
    assert len(recs) == 4
    rec = recs[0]
    assert rec.url == "http://zyj.beijing.gov.cn/sy/tzgg/202101/t20210106_2199930.html"
    assert rec.agency == "北京市中医管理局"
    assert rec.pub_date == "2021-01-06"
    assert rec.body.startswith("一、总体情况\n2020年，北京市深入贯彻落实")
    assert "<p>" not in rec.body and "\u3000" not in rec.body[:10]
    assert rec.source.endswith("bucm_sample.json#item1")


def test_inline_tags_do_not_split_words():
    rec = records(FIX / "bucm_sample.json")[3]
    assert "2013年11月12日，十八届三中全会" in rec.body


def test_attachments_mark_and_link_become_title_and_url():
    rec = records(FIX / "bucm_sample.json")[1]
    assert rec.attachments[0] == {
        "title": "关于2020年度北京市科学技术奖提名工作的通知",
        "url": "http://zyj.beijing.gov.cn/sy/tzgg/202009/P020200930381161903052.docx"}
    assert len(rec.attachments) == 5


def test_null_article_gives_a_title_only_record_and_null_source_no_agency():
    rec = records(FIX / "bucm_sample.json")[2]
    assert rec.title == "解读北京六区试点中医健康养老新模式" and rec.body == ""
    assert rec.agency == "" and rec.doc_type == "解读"


def test_json_single_object_is_one_record(tmp_path):
    item = json.loads((FIX / "bucm_sample.json").read_text(encoding="utf-8"))[0]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(item, ensure_ascii=False), encoding="utf-8")
    (rec,) = records(path)
    assert rec.title == "北京市中医管理局2020年度绩效管理工作自查情况"
    assert rec.source == str(path)


# --- CSV: GOV_PRC ------------------------------------------------------------------------

def test_csv_with_bom_crlf_and_multiline_cells():
    recs = records(FIX / "gov_prc_sample.csv")
    assert [r.title for r in recs] == [
        "国务院批转地质部关于切实保障野外地质工作条件的报告",
        "国务院关于保护国营矿业企业正常生产的决定",
        "国务院批转地质矿产部关于切实加强地质矿产工作请示的通知"]
    first = recs[0]
    assert first.year == 1980 and first.pub_date == ""  # Year column only: year, no date
    assert first.url == "http://www.gov.cn/zhengce/content/2018-04/17/content_5281662.htm"
    # The title runs into the 文号 in the text; the title's tail is not read as the issuer.
    assert first.doc_no == "国发〔1980〕82号"
    assert first.agency == ""  # Source holds the data-set code GOV_CHN, not an agency
    assert recs[1].source.endswith("gov_prc_sample.csv#row2")


def test_gbk_csv_reads_like_the_utf8_one():
    utf8 = [r.to_dict() for r in records(FIX / "gov_prc_sample.csv")]
    gbk = [r.to_dict() for r in records(FIX / "gov_prc_sample_gbk.csv")]
    for a, b in zip(utf8, gbk, strict=True):
        a.pop("source"), b.pop("source")
        assert a == b


def test_tab_separated_file_is_read(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("标题\t发布日期\t正文\n关于开展检查的通知\t2021年3月5日\t各单位：请开展检查。\n",
                    encoding="utf-8")
    (rec,) = records(path)
    assert (rec.title, rec.pub_date, rec.body) == ("关于开展检查的通知", "2021-03-05",
                                                   "各单位：请开展检查。")


def test_csv_row_with_wrong_cell_count_is_skipped_malformed_row():
    data = "title,content\n关于A的通知,正文一\n关于B的通知,正文二,多余\n".encode()
    out = list(read_csv(data, "f.csv"))
    assert isinstance(out[0], Record)
    assert out[1] == Skipped("f.csv#row2", "malformed-row", "3 cells, header has 2")


# --- JSONL: malformed lines, laws, reports ----------------------------------------------

def test_malformed_json_line_is_skipped_and_the_rest_is_read():
    lines = (FIX / "records_govcn_sample.jsonl").read_bytes().splitlines(keepends=True)
    data = lines[0] + b'{"title": "broken\n' + lines[1]
    out = list(read_jsonl(data, "f.jsonl"))
    assert isinstance(out[0], Record) and isinstance(out[2], Record)
    assert isinstance(out[1], Skipped)
    assert (out[1].source, out[1].reason) == ("f.jsonl#L2", "malformed-json")


def test_record_with_neither_title_nor_body_is_skipped_no_text():
    assert record_from_mapping({"title": " ", "content": None}, "s#L1") == Skipped("s#L1", "no-text")


def test_missing_title_comes_from_the_first_line_of_the_body():
    rec = record_from_mapping({"content": "各有关单位：\n现将有关事项通知如下。第二句。"}, "s")
    assert rec.title == "现将有关事项通知如下。"


def test_law_markdown_title_order_number_issuer_and_body():
    law = records(FIX / "laws_sample.jsonl")[0]
    assert law.title == "不动产登记暂行条例"
    assert law.pub_date == "2014-11-24"
    assert law.doc_no == "中华人民共和国国务院令第656号"
    assert law.agency == "中华人民共和国国务院"
    assert law.doc_type == "条例"
    assert law.body.startswith("第一章 总则\n第一条 为整合不动产登记职责")
    assert "<!--" not in law.body and "#" not in law.body[:5]


def test_law_published_by_a_ministry_without_order_number():
    law = records(FIX / "laws_sample.jsonl")[1]
    assert law.agency == "公安部" and law.pub_date == "1986-12-25" and law.doc_no == ""


def test_law_with_empty_info_block_has_no_invented_metadata():
    law = records(FIX / "laws_sample.jsonl")[2]
    assert law.title == "保护海底电缆规定"
    assert (law.agency, law.pub_date, law.year) == ("", "", None)


def test_parse_markdown_prefers_the_last_published_line():
    md = ("# 专利代理条例\n\n1991年3月4日 中华人民共和国国务院令第76号发布\n\n"
          "2018年11月6日 中华人民共和国国务院令第706号公布\n\n2019年3月1日 施行\n\n"
          "<!-- INFO END -->\n\n## 第一章 总则\n\n第一条 ……")
    out = parse_markdown(md)
    assert (out["pub_date"], out["doc_no"]) == ("2018-11-06", "中华人民共和国国务院令第706号")


def test_work_report_year_only_and_resolution_without_year():
    resolution, report = records(FIX / "work_reports_sample.jsonl")
    assert report.title == "1975年中华人民共和国国务院政府工作报告"
    assert report.year == 1975 and report.pub_date == ""
    assert report.doc_type == "报告"
    assert resolution.year is None and resolution.doc_type == "决议"


# --- field map ---------------------------------------------------------------------------

def test_field_map_overrides_the_guess():
    rec = records(FIX / "records_govcn_sample.jsonl", {"body": "summary", "pub_date": "record_date"})[0]
    assert rec.body.startswith("取消武汉原“首套自住住房偿还商贷每12个月提取一次”的限制")
    assert rec.pub_date == "2026-06-23"


def test_field_map_with_unknown_record_field_is_an_error():
    with pytest.raises(ValueError, match="unknown record field 'headline'"):
        check_field_map({"headline": "title"})
    with pytest.raises(ValueError):
        list(read_json(b"[]", "x.json", {"nonsense": "x"}))


def test_page_versions_style_rows_are_skipped_as_derived_text():
    row = {"title": "t", "extracted_text": "text", "content_sha256": "ab" * 32}
    out = list(read_jsonl(json.dumps(row).encode(), "pv.jsonl"))
    assert [(s.source, s.reason) for s in out] == [("pv.jsonl", "derived-text")]
    # With an explicit map the user asks for those rows.
    (rec,) = list(read_jsonl(json.dumps(row).encode(), "pv.jsonl", {"body": "extracted_text"}))
    assert rec.body == "text"


def test_body_given_as_a_list_of_paragraphs_is_joined_by_lines():
    rec = record_from_mapping({"title": "关于开展检查的通知", "content": ["各单位：", "请开展检查。"]}, "s")
    assert rec.body == "各单位：\n请开展检查。"


def test_html_to_text_keeps_paragraphs_as_lines():
    assert html_to_text("<div><p>\u3000\u3000第一段</p><p>第<span>二</span>段</p></div>") == "第一段\n第二段"
