"""Classes of pages that portals nobody had looked at showed, each on a real page from the
development corpus (tests/fixtures/classes/PROVENANCE.md): crawler text renderings with a
header block, link lists beside pages, image-only articles, and notices *about* annual
reports. Expected values were read from the pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.ingest import records_from_file
from indexer.readers import Skipped
from indexer.readers.html_page import parse_html
from indexer.record import Record

CLASSES = Path(__file__).parent / "fixtures" / "classes"


def _one(name: str) -> Record | Skipped:
    results = records_from_file(CLASSES / name)
    assert len(results) == 1, results
    return results[0]


@pytest.fixture(scope="module")
def rendering() -> Record:
    rec = _one("pingtan_4739_page.txt")
    assert isinstance(rec, Record), rec
    return rec


def test_a_crawler_rendering_takes_its_title_from_the_title_header_line(rendering):
    assert rendering.title == "平潭综合实验区管委会关于加强饮用水水源保护区保护管理的通告"


def test_a_crawler_rendering_takes_its_url_from_the_source_link_line(rendering):
    assert rendering.url == "https://www.pingtan.gov.cn/zwgk/zxwj/qgwhwj/201603/t20160325_4739.htm"


def test_a_crawler_rendering_body_starts_after_the_breadcrumb_and_heading(rendering):
    assert rendering.body.startswith("岚综管综〔2016〕52号 根据《中华人民共和国环境环保法》")
    for furniture in ("当前位置", "标题:", "原文链接", "本地目录", "links.tsv", "====", "QQ空间"):
        assert furniture not in rendering.body


def test_a_site_name_in_the_agency_line_gives_way_to_the_signature(rendering):
    # 发布机构: 中国平潭 names the site; the document is signed 平潭综合实验区管委会.
    assert rendering.agency == "平潭综合实验区管理委员会"
    assert rendering.region == "福建省/福州市/平潭县"


def test_a_crawler_rendering_has_both_dates_and_the_doc_no_from_its_text(rendering):
    assert (rendering.pub_date, rendering.written_date) == ("2016-03-25", "2016-03-24")
    assert rendering.doc_no == "岚综管综〔2016〕52号"


def test_a_notice_about_annual_reports_is_a_notice_not_a_report():
    rec = _one("pingtan_80968_page.txt")
    assert isinstance(rec, Record), rec
    assert rec.title == "国务院办公厅政府信息与政务公开办公室 关于政府信息公开工作年度报告有关事项的通知"
    assert rec.doc_type == "通知"
    assert rec.agency == "国务院办公厅政府信息与政务公开办公室"  # the title's issuer
    assert rec.region == ""  # a national body


def test_a_list_of_a_pages_links_is_skipped_whole_not_read_row_by_row():
    skipped = _one("pingtan_links.tsv")
    assert isinstance(skipped, Skipped)
    assert skipped.reason == "link-list"


def test_a_table_of_files_with_no_title_or_text_column_is_skipped_whole():
    skipped = _one("pingtan_MANIFEST.tsv")
    assert isinstance(skipped, Skipped)
    assert skipped.reason == "no-document-columns"


def test_an_image_only_article_is_a_document_that_says_it_has_no_text():
    name = "www.beijing.gov.cn_8bbfd43129.html"
    rec = parse_html((CLASSES / name).read_bytes(), name,
                     "https://www.beijing.gov.cn/zhengce/zcjd/202607/t20260708_4751739.html")
    assert isinstance(rec, Record), rec
    assert rec.title == "一图读懂：《北京市全域土地综合整治工作规范（试行）》"
    assert (rec.pub_date, rec.agency, rec.region) == ("2026-07-07", "北京市住房和城乡建设委员会",
                                                      "北京市")
    assert rec.body_kind == "images"
    assert rec.body == ""


def test_a_body_that_is_only_tables_of_figures_is_a_document():
    # The 平潭 2025 annual report with its prose paragraphs removed: only the page's own
    # three tables of figures remain in the content block.
    from bs4 import BeautifulSoup

    from indexer.readers.encoding import decode_html

    soup = BeautifulSoup(decode_html((CLASSES / "pingtan_105587_page.html").read_bytes()), "lxml")
    block = soup.find("div", class_="TRS_Editor")
    assert len(block.find_all("table")) == 3
    for child in list(block.children):
        if getattr(child, "name", None) is None:
            child.extract()
        elif child.name != "table" and child.find("table") is None:
            child.decompose()
    rec = parse_html(str(soup).encode("utf-8"), "pingtan_105587_page.html",
                     "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202603/t20260310_105587.htm")
    assert isinstance(rec, Record), rec
    assert rec.title == "平潭综合实验区2025年度政府信息公开工作年度报告"
    assert rec.body_kind == "text"
    assert "行政规范性文件\n58\n45\n546" in rec.body
    assert rec.pub_date == "2026-03-10"


FLAT_FURNITURE = ("微信", "微博", "QQ空间", "全真版", "文字版", "文件下载", "相关链接", "@font-face",
                  "MsoNormal", "来源：", "时间：", "附件下载", "当前位置")


def test_a_flattened_rendering_loses_the_furniture_run_into_its_text_but_keeps_its_doc_no():
    # 正文 is one line: breadcrumb, metadata, heading, 文号, 来源/时间, share and version
    # links, the page's style sheet as text, then the document.
    rec = _one("pingtan_79829_page.txt")
    assert isinstance(rec, Record), rec
    assert rec.title == "平潭综合实验区管委会关于宣布失效一批规范性文件的通知"
    assert rec.body.startswith("岚综管综〔2017〕89号 各片区项目建设指挥部，区直各单位，")
    for furniture in FLAT_FURNITURE:
        assert furniture not in rec.body, furniture
    assert rec.doc_no == "岚综管综〔2017〕89号"


def test_a_site_name_as_publisher_gives_way_to_the_titles_issuer_and_a_numeral_date_signs():
    # 发布机构: 中国平潭 (the site); the text ends 特此通告。 二○一二年二月六日 来源：中国平潭 附件下载.
    rec = _one("pingtan_20120208_page.txt")
    assert isinstance(rec, Record), rec
    assert rec.agency == "平潭综合实验区管理委员会"
    assert (rec.pub_date, rec.written_date) == ("2012-02-08", "2012-02-06")
    assert rec.body.endswith("特此通告。 二○一二年二月六日")
    assert rec.body.startswith("(闽岚综实管〔2012〕3 号) 为提升平潭综合实验区整体形象")


def test_a_flattened_signature_is_the_name_after_the_sentence_that_runs_into_it():
    # "…地点：政府路13-15号（区党工委巡察审计办）平潭综合实验区党工委巡察审计办公室 2025年3月17日"
    from indexer.fields import signature

    rec = _one("pingtan_97958_page.txt")
    assert isinstance(rec, Record), rec
    assert signature(rec.body.split("\n")) == ("平潭综合实验区党工委巡察审计办公室", "2025-03-17")
    assert rec.written_date == "2025-03-17"
