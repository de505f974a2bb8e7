"""Agency names as the facet shows them (`indexer.agencies`), places (`indexer.regions`)
and signatures (`indexer.fields.signature`). Names are real ones printed on corpus pages."""

from __future__ import annotations

import pytest

from indexer.agencies import resolve, site_owner, title_issuer
from indexer.fields import doc_no_value, find_doc_no, normalize_doc_no, signature
from indexer.regions import region_of, region_prefixes


@pytest.mark.parametrize("printed,owner,full", [
    ("证监会", "", "中国证券监督管理委员会"),
    ("市住保房管局", "杭州市人民政府", "杭州市住房保障和房产管理局"),
    ("市住建局", "慈溪市人民政府", "慈溪市住房和城乡建设局"),
    ("大连市政府办公室", "", "大连市人民政府办公室"),
    ("政府办公室", "成安县人民政府", "成安县人民政府办公室"),
    ("杭州公积金中心", "", "杭州住房公积金管理中心"),
    ("宿州市房管中心", "宿州市房产管理服务中心", "宿州市房产管理服务中心"),
    ("长乐区人力资源和社会保障局", "福州市长乐区人民政府", "福州市长乐区人力资源和社会保障局"),
    ("滁州市人民政府发布", "", "滁州市人民政府"),
    ("北京市住房和城乡建设委员会", "北京市人民政府", "北京市住房和城乡建设委员会"),
])
def test_a_printed_short_form_becomes_the_full_official_name(printed, owner, full):
    assert resolve(printed, owner=owner) == full


@pytest.mark.parametrize("printed,signed,title,full", [
    # gjj.hangzhou.gov.cn prints 发布单位 市住房公积金管理中心; the page is signed by the
    # city's 住房公积金管理委员会, whose name starts with 杭州 without 市.
    ("市住房公积金管理中心", "杭州住房公积金管理委员会", "", "杭州市住房公积金管理中心"),
    ("市政府办公厅", "", "北京市人民政府办公厅关于印发《北京市…》的通知", "北京市人民政府办公厅"),
])
def test_a_name_printed_with_a_bare_level_takes_the_place_of_its_signature_or_title(
        printed, signed, title, full):
    assert resolve(printed, signed=signed, title=title) == full


def test_joint_issuers_come_back_separated_by_one_space():
    assert (resolve("北京市科学技术委员会、中关村科技园区管理委员会")
            == "北京市科学技术委员会 中关村科技园区管理委员会")


@pytest.mark.parametrize("credit", ["本网", "福州日报", "中国平潭"])
def test_a_credit_that_names_no_agency_gives_way_to_the_signature_then_the_owner(credit):
    assert resolve(credit, owner="福州市人民政府办公厅") == "福州市人民政府办公厅"
    assert resolve(credit, owner="福州市人民政府办公厅",
                   signed="福州市住房保障和房产管理局") == "福州市住房保障和房产管理局"


def test_with_nothing_printed_the_titles_issuer_names_the_agency():
    assert resolve("", title="北京市人民政府关于印发《北京市深化改革提振消费专项行动方案》的通知",
                   owner="北京市人民政府办公厅") == "北京市人民政府"
    assert title_issuer("关于进一步规范房地产市场秩序的通知") == ""


@pytest.mark.parametrize("footer,owner", [
    ("苏ICP备05004952号-7 主办单位：南京市住房保障和房产局 网站标识码：3201000073", "南京市住房保障和房产局"),
    ("版权所有：福州市人民政府门户网站 主办：福州市人民政府办公厅 承办：福州市数据管理局", "福州市人民政府办公厅"),
    ("主办单位：中国证券监督管理委员会 版权所有：中国证券监督管理委员会", "中国证券监督管理委员会"),
    ("河北省高阳县人民政府", "高阳县人民政府"),
    ("首都之窗", ""),
])
def test_the_sites_owner_comes_from_its_footer_or_an_agency_named_site(footer, owner):
    assert site_owner(footer) == owner


@pytest.mark.parametrize("agency,region", [
    ("河北省高阳县人民政府", "河北省/保定市/高阳县"),
    ("杭州住房公积金管理中心", "浙江省/杭州市"),
    ("北京市住房和城乡建设委员会", "北京市"),
    ("铜陵市义安区人民政府办公室", "安徽省/铜陵市/义安区"),
    ("中共北京市委办公厅", "北京市"),
    ("中国证券监督管理委员会", ""),
    ("财政部 税务总局", ""),
    ("朝阳区人民政府", ""),  # 朝阳区 is in Beijing and in Changchun: no guess
])
def test_an_agency_is_placed_in_its_province_city_and_county(agency, region):
    assert region_of(agency) == region


def test_a_region_filter_can_name_each_of_its_prefixes():
    assert region_prefixes("河北省/保定市/高阳县") == ["河北省", "河北省/保定市", "河北省/保定市/高阳县"]


@pytest.mark.parametrize("lines,signed", [
    (["六、本通知适用于全市区域，自2022年8月1日起执行。", "保定市住房公积金管理委员会",
      "2022年7月4日 保定市住房公积金管理委员会 《关于调整住房公积金贷款相关政策的通知》（市房金委字〔2022〕2号）.pdf"],
     ("保定市住房公积金管理委员会", "2022-07-04")),
    (["以上意见自2017年5月4日起执行。"], ("", "")),
    (["本办法自2021年9月1日起施行。"], ("", "")),
    (["特此通告。", "平潭综合实验区管委会", "2016年3月24日"], ("平潭综合实验区管委会", "2016-03-24")),
    (["特此通知。", "二〇一〇年四月三十日"], ("", "2010-04-30")),
])
def test_the_signature_is_a_date_line_under_the_signing_agencies(lines, signed):
    assert signature(lines) == signed


@pytest.mark.parametrize("text,doc_no", [
    ("岚综管综〔2016〕52号 根据", "岚综管综〔2016〕52号"),
    ("财政部 税务总局公告2025年第3号", "财政部税务总局公告2025年第3号"),
    ("X府发〔2015〕6 号", "X府发〔2015〕6号"),
])
def test_a_doc_no_is_found_in_its_usual_shapes(text, doc_no):
    assert find_doc_no(text) == doc_no


def test_a_doc_no_ends_at_its_number_and_a_placeholder_is_none():
    assert normalize_doc_no("京公积金贷〔2023〕14号发布日期:2023-05-06") == "京公积金贷〔2023〕14号"
    assert doc_no_value("〔〕号") == ""
