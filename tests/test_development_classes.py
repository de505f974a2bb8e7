"""Classes of misses that the development pages (bench/development/) showed, each on a real
page copied from the development corpus (tests/fixtures/classes/PROVENANCE.md). Expected
values were read from the pages before the readers were run on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.agencies import resolve
from indexer.fields import signature
from indexer.ingest import records_from_file
from indexer.readers.html_page import parse_html
from indexer.readers.text_page import parse_text_page
from indexer.record import Record

CLASSES = Path(__file__).parent / "fixtures" / "classes"


def _one(name: str) -> Record:
    results = records_from_file(CLASSES / name)
    assert len(results) == 1, results
    rec = results[0]
    assert isinstance(rec, Record), rec
    return rec


# --- joint issuers in a [联合发文单位] cell -----------------------------------------------

def test_the_other_issuers_named_in_a_joint_issuer_cell_join_the_agency():
    # [发文机构] 北京市疾病预防控制局, [联合发文单位] 北京市教育委员会;北京市人力资源和社会保障局,
    # and the three sign the notice.
    rec = _one("www.beijing.gov.cn_1ac214c9aa.html")
    assert rec.agency == "北京市疾病预防控制局 北京市教育委员会 北京市人力资源和社会保障局"
    assert rec.region == "北京市"
    assert rec.doc_no == "京疾传防〔2026〕18号"


def test_a_page_with_an_empty_joint_issuer_cell_keeps_its_one_issuer():
    page = (CLASSES / "www.beijing.gov.cn_1ac214c9aa.html").read_bytes()
    emptied = page.replace("北京市教育委员会;北京市人力资源和社会保障局".encode(), b"")
    assert emptied != page
    rec = parse_html(emptied, "emptied.html")
    assert rec.agency == "北京市疾病预防控制局"


def test_a_joint_issuer_that_does_not_end_like_a_bureau_is_kept_as_printed():
    # 中国人民银行北京市分行 ends in 分行; among printed joint issuers it is a name, not a
    # credit line to be replaced by the signature.
    assert resolve("北京市住房和城乡建设委员会 中国人民银行北京市分行",
                   signed="北京市住房和城乡建设委员会") == (
        "北京市住房和城乡建设委员会 中国人民银行北京市分行")


# --- the site's own spelling of its name ------------------------------------------------

def test_an_expanded_short_name_takes_the_spelling_the_site_gives_its_own_name():
    # 发布机构 市公积金中心; the SiteName meta is 杭州住房公积金管理中心 (no 市): the expansion
    # 杭州市住房公积金管理中心 is that body, and the site's spelling is its official name.
    rec = _one("gjj.hangzhou.gov.cn_3211a08982.html")
    assert rec.agency == "杭州住房公积金管理中心"
    assert rec.region == "浙江省/杭州市"
    assert (rec.pub_date, rec.written_date) == ("2022-12-13", "2022-11-28")


def test_a_short_name_of_another_body_on_the_site_is_not_replaced_by_the_owner():
    assert resolve("市住建局", owner="杭州住房公积金管理中心") == "杭州市住房和城乡建设局"


# --- a 联席会议 or 领导小组 signs --------------------------------------------------------

def test_a_joint_conference_signs_the_notice_that_prints_its_measures():
    # "滁州市房地产工作联席会议 / 2023年5月10日" under the notice, then the 若干措施 it 印发s.
    rec = _one("www.chuzhou.gov.cn_c9be23430e.html")
    assert rec.written_date == "2023-05-10"
    assert rec.pub_date == "2023-05-12"
    assert rec.agency == "滁州市人民政府"  # 来源：滁州市人民政府发布, the label
    assert "本措施由滁州市房地产工作联席会议办公室负责解释。" in rec.body
    assert "扫一扫在手机打开当前页" not in rec.body


@pytest.mark.parametrize("lines, signed", [
    (["现印发给你们。", "滁州市房地产工作联席会议", "2023年5月10日"],
     ("滁州市房地产工作联席会议", "2023-05-10")),
    (["本通知自发布之日起施行。", "杭州市房地产市场平稳健康发展领导小组", "2021年3月3日"],
     ("杭州市房地产市场平稳健康发展领导小组", "2021-03-03")),
    (["会议指出，要加强协调。", "2023年5月10日"], ("", "2023-05-10")),
])
def test_signature_names_conferences_and_leading_groups(lines, signed):
    assert signature(lines) == signed


# --- a text rendering whose page metadata is run into its first line ---------------------

@pytest.fixture(scope="module")
def run_in_block() -> Record:
    return _one("pingtan_79673_page.txt")


def test_a_rendering_reads_the_index_number_from_the_block_run_into_its_breadcrumb(run_in_block):
    # "当前位置：… 索 引 号： PZ00101-1700-2023-00026 … 成文日期： 2014-11-04 … 有 效 性： 有效 <heading>"
    assert run_in_block.index_no == "PZ00101-1700-2023-00026"
    assert run_in_block.validity == "有效"


def test_a_written_date_label_in_that_block_beats_the_signature_date(run_in_block):
    # 成文日期 2014-11-04 is printed; the signature under the text says 2014年11月5日.
    assert run_in_block.written_date == "2014-11-04"
    assert run_in_block.pub_date == "2014-11-05"


def test_the_header_lines_still_win_over_the_block(run_in_block):
    assert run_in_block.title == "平潭综合实验区管委会关于加强工程渣土砂石运输车辆安全监管的通告"
    assert run_in_block.doc_no == "闽岚综实管综〔2014〕143号"
    assert run_in_block.agency == "平潭综合实验区交通建设局"
    for furniture in ("索 引 号", "成文日期", "当前位置", "QQ空间", "全真版"):
        assert furniture not in run_in_block.body
    assert run_in_block.body.startswith("闽岚综实管综〔2014〕143号 为进一步加强工程渣土砂石的运输综合管理")


# --- a 文号 cited in a sentence; a signature before the printed attachment --------------

@pytest.fixture(scope="module")
def report_with_table() -> Record:
    return _one("pingtan_14363_page.txt")


def test_a_doc_no_cited_in_a_sentence_is_not_the_documents_own(report_with_table):
    # "按照《国务院办公厅关于印发…的通知》（国办秘含〔2019〕19号）文件要求": another document's.
    assert "（国办秘含〔2019〕19号）" in report_with_table.body
    assert report_with_table.doc_no == ""


def test_a_doc_no_at_the_start_of_the_text_is_the_documents_own():
    text = (CLASSES / "pingtan_14363_page.txt").read_text("utf-8")
    text = text.replace("各有关单位：根据", "岚综管办〔2019〕5号 各有关单位：根据", 1)
    assert parse_text_page(text, "x.txt").doc_no == "岚综管办〔2019〕5号"


def test_the_signature_before_a_printed_attachment_dates_a_flattened_text(report_with_table):
    # "…平潭综合实验区管委会办公室2019年5月6日 附件 平潭综合实验区2019年第二季度…抽查情况表 序号…"
    assert report_with_table.written_date == "2019-05-06"
    assert report_with_table.agency == "平潭综合实验区管委会办公室"
    assert "该关停就关停。" in report_with_table.body
    assert "附件下载" not in report_with_table.body


# --- a 问答 page whose every answer is its own content block ------------------------------

@pytest.fixture(scope="module")
def questions() -> Record:
    return _one("www.beijing.gov.cn_a56172fafb.html")


def test_a_page_of_questions_and_answers_is_one_document_with_all_of_them(questions):
    # Eight <dl> items, each answer a .TRS_UEDITOR block of its own; no date, a folder URL.
    assert questions.title == "《用人单位岗位补贴和社会保险补贴经办规程（试行）》相关问答"
    for line in ("制定背景是什么？", "《经办规程》分为总则、申请、审核、支付、监管五章，共二十五条。",
                 "招用补贴对象后多长时间可以提出申请？", "（六）上述材料提交一份，复印件注明“与原件一致”，每页加盖公章。"):
        assert line in questions.body


def test_the_link_to_the_original_policy_ends_the_answers_and_its_credit_names_the_agency(questions):
    assert questions.body.endswith("每页加盖公章。")
    for furniture in ("政策原文", "内容来源", "更多", "《关于做好北京市建筑业工伤保险相关工作的补充通知》相关问答"):
        assert furniture not in questions.body
    assert questions.agency == "北京市人力资源和社会保障局"


def test_answer_blocks_far_from_the_first_ones_are_not_joined_to_them():
    # The page with its last four answers moved to the end of <body>: the holder of the
    # first four is the 问答 block, and what lies elsewhere on the page stays out.
    page = (CLASSES / "www.beijing.gov.cn_a56172fafb.html").read_text("utf-8")
    start, end = page.index('<div class="qa">'), page.index("<!--问答结束-->")
    items = page[start:end].split("<dl>")
    moved = "<dl>" + "<dl>".join(items[5:])
    page = page[:start] + "<dl>".join(items[:5]) + "</div>" + page[end:]
    page = page.replace("</body>", "<div><div><div>" + moved + "</div></div></div></body>")
    rec = parse_html(page.encode("utf-8"), "x.html", "https://www.beijing.gov.cn/zhengce/zcjd/zcwd/dwgwbt/")
    assert isinstance(rec, Record), rec
    assert "为贯彻习近平总书记关于社保基金安全的重要指示批示精神" in rec.body
    assert "《经办规程》分为总则、申请、审核、支付、监管五章" in rec.body
    assert "用人单位招用“4050”人员等19类人员可申请享受岗社补" in rec.body
    assert "用人单位需与补贴对象依法签订一年及以上期限劳动合同" not in rec.body
