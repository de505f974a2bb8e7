"""Field normalisers: dates, document types, 文号, issuers in title prefixes.

The titles are real ones from the development corpus (records_govcn.jsonl and pages)."""

import pytest

from indexer.fields import (
    agency_from_title,
    doc_type_from_title,
    find_doc_no,
    normalize_doc_no,
    parse_date,
)


@pytest.mark.parametrize("text", [
    "2021-01-29", "2021年01月29日", "2021年1月29日", "2021/1/29", "2021.1.29",
    "生成日期: 2021-01-29 15:07", "二〇二一年一月二十九日", "２０２１－０１－２９",
])
def test_every_portal_date_form_becomes_iso(text):
    assert parse_date(text) == "2021-01-29"


@pytest.mark.parametrize("text", ["", None, "无日期", "2021-13-40", "第2021号"])
def test_text_without_a_valid_date_gives_empty(text):
    assert parse_date(text) == ""


@pytest.mark.parametrize("title,kind", [
    ("关于申报2021年度北京市级中医药继续教育项目的通知", "通知"),
    ("《关于优化住房公积金住房消费类提取政策的通知(征求意见稿)》", "征求意见稿"),
    ("东湖公安分局2020年度政府信息公开年度报告", "年度报告"),
    ("《北京市医师执业注册管理办法（试行）》解读", "解读"),
    ("国务院关于同意授权海南省人民政府审批有关用地事项的批复", "批复"),
    ("北京市人民政府关于支持中医药振兴发展的意见", "意见"),
    ("住房公积金", ""),
])
def test_document_type_comes_from_the_title(title, kind):
    assert doc_type_from_title(title) == kind


@pytest.mark.parametrize("raw", [
    "赣府发[2020]12号", "赣府发（2020）12号", "赣府发 〔2020〕 12 号", "赣府发［２０２０］１２号",
    "赣府发【2020】12号", "赣府发(2020)12号",
])
def test_every_bracket_style_of_a_wenhao_normalises_to_one(raw):
    assert normalize_doc_no(raw) == "赣府发〔2020〕12号"


def test_a_wenhao_is_found_in_prose_without_its_leading_words():
    assert find_doc_no("根据国办发〔2019〕 3号文件精神") == "国办发〔2019〕3号"
    assert find_doc_no("没有文号的正文") == ""


@pytest.mark.parametrize("title,agency", [
    ("【济南住房公积金中心】关于取消住房公积金异地贷款户籍限制的通知", "济南住房公积金中心"),
    ("【中国人民银行】国家金融监督管理总局关于延长金融支持房地产市场平稳健康发展有关政策期限的通知",
     "中国人民银行"),
    ("【证监会】关于进一步推进基础设施领域不动产投资信托基金(REITs)常态化发行相关工作的通知",
     "证监会"),
    ("【河南省郑州市】关于住房公积金缴存和贷款有关事项的通知", ""),  # a place, not an issuer
    ("【全国】住房城乡建设部等五部门联合印发《关于加强农村房屋建设管理的指导意见》", ""),
    ("关于住房公积金缴存和贷款有关事项的通知", ""),
])
def test_an_issuer_in_a_bracketed_title_prefix_is_the_agency_only_when_it_names_one(
        title, agency):
    assert agency_from_title(title) == agency
