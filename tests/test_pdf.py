"""PDF files → Record: first-page title and 文号, signature date and issuer, manifest URL,
and Skipped for PDFs that cannot be read. The fixture is a real fgj.sh.gov.cn PDF
(tests/fixtures/records/PROVENANCE.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pypdf import PdfWriter

from indexer.readers import Skipped
from indexer.readers.pdf_file import _usable, find_agency, find_title, parse_pdf

FIX = Path(__file__).parent / "fixtures" / "records" / "pdf"
PDF = FIX / "cb72a9fad5a0555a3c73b4769c4672afdc6a1284da196cbacf5186583a964765.pdf"


@pytest.fixture(scope="module")
def rec():
    return parse_pdf(PDF)  # text extraction of CJK fonts is slow: read it once


def test_title_doc_no_date_and_type_come_from_the_page(rec):
    assert rec.title == "关于优化本市住房限购政策的通知"
    assert rec.doc_no == "沪建房管联〔2024〕58号"
    assert rec.pub_date == "2024-01-30" and rec.year == 2024
    assert rec.doc_type == "通知"


def test_url_comes_from_the_manifest_beside_the_pdf(rec):
    assert rec.url == ("https://fgj.sh.gov.cn/cmsres/6e/6e5e268d64324e259ca09aad465c328c/"
                       "db5e0876a87d7c13ac34b478a9b4acdc.pdf")


def test_body_has_hard_wraps_joined_and_letter_spacing_removed(rec):
    body = rec.body
    # "个人所得税\n已满 5 年" in the PDF's text layer.
    assert "在本市连续缴纳社会保险或个人所得税已满5年及以上的非本市户籍居民" in body
    assert "本通知自2024年1月31日起施行。" in body


def test_agency_is_not_invented_when_the_page_names_none(rec):
    # The notice is signed with a date only; the 印发 line names the office that printed it.
    assert rec.agency == ""


def test_without_manifest_the_url_is_empty_and_the_title_still_found(tmp_path):
    copy = tmp_path / "notice.pdf"
    shutil.copyfile(PDF, copy)
    rec = parse_pdf(copy)
    assert rec.url == "" and rec.title == "关于优化本市住房限购政策的通知"
    assert rec.source == str(copy)


def test_broken_pdf_is_skipped_pdf_error(tmp_path):
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(PDF.read_bytes()[:2000])
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    for path in (truncated, junk):
        out = parse_pdf(path)
        assert isinstance(out, Skipped) and out.reason == "pdf-error"


def test_encrypted_pdf_is_skipped_pdf_error(tmp_path):
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt("secret")
    path = tmp_path / "locked.pdf"
    w.write(str(path))
    out = parse_pdf(path)
    assert isinstance(out, Skipped) and (out.reason, out.detail) == ("pdf-error", "encrypted")


def test_pdf_without_a_text_layer_is_skipped_no_text(tmp_path):
    w = PdfWriter()
    w.add_blank_page(200, 200)
    path = tmp_path / "scan.pdf"
    w.write(str(path))
    out = parse_pdf(path)
    assert isinstance(out, Skipped) and out.reason == "no-text"


def test_glyph_name_text_is_not_usable_text():
    # What pypdf returns for the 北京市人民政府公报 PDFs, whose fonts have no Unicode map.
    garbled = "北京市人民政府公报\n北京市人民政府公报\n书书书\n" + "/G21/G22/G23/G24/G25/G26/G27/G28\n" * 20
    assert not _usable(garbled)


def test_title_after_header_and_doc_no_lines():
    # First-page lines of 宁房市字〔2017〕108号 (fcj.nanjing.gov.cn) after space cleanup.
    lines = ["南京市住房保障和房产局文件", "宁房市字〔2017〕108号", "关于明确住房限购政策有关事项的通知",
             "市国土局，江宁、浦口、六合、溧水、高淳区政府：", "为进一步促进房地产市场健康发展，贯彻落实好住房限"]
    assert find_title(lines) == "关于明确住房限购政策有关事项的通知"
    assert find_agency(lines, []) == "南京市住房保障和房产局"


def test_joint_signature_keeps_each_issuer():
    # Last page of 沪建房管联〔2021〕476号: three issuers on one line, separated by spaces.
    last = ["合住房限购政策的，不予办理交易登记手续。",
            "市住房城乡建设管理委 市房屋管理局 市自然资源确权登记局", "2021 年 7 月 23 日",
            "上海市房屋管理局办公室 2021 年7 月23 日印发"]
    assert find_agency(["公 开"], last) == "市住房城乡建设管理委、市房屋管理局、市自然资源确权登记局"
