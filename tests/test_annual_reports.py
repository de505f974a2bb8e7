"""Annual disclosure reports as data: the standard tables of real reports (HTML, PDF and
text renderings in index_data/sample/annual_reports) against the cells a person read off
each report (bench/annual/expected, see its README), the arithmetic checks, and the
figures of reports written in prose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.annual import recover
from indexer.annual.recognise import is_annual_report, report_year, reporter
from indexer.ingest import records_from_file
from indexer.record import Record

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "index_data" / "sample" / "annual_reports"
EXPECTED = REPO / "bench" / "annual" / "expected"

# Hand-read label file → the sample's copy of the report it was read from.
COPIES = {
    "pingtan_2019_text": "pingtan/202001_80576_page.txt",
    "pingtan_2020_text": "pingtan/202103_80595_page.txt",
    "pingtan_2021_text": "pingtan/202202_80613_page.txt",
    "pingtan_2022_text": "pingtan/202302_80629_page.txt",
    "pingtan_2024_html": "pingtan/202503_97791_page.html",
    "pingtan_2025_html": "pingtan/202603_105587_page.html",
    "hongze_2023_pdf": "pdf/hongze_2023.pdf",
}
DIVIDED = [name for name in COPIES if not name.endswith("_text")]
RUN_TOGETHER = [name for name in COPIES if name.endswith("_text")]


def expected(name: str) -> dict:
    return json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))


def report_record(path: Path) -> Record:
    [record] = [r for r in records_from_file(path) if isinstance(r, Record)]
    return record


def cells(report: dict) -> dict:
    out = {}
    for row, cols in report["requests"].items():
        out.update({f"requests.{row}.{c}": v for c, v in cols.items()})
    for group in ("review", "suit_direct", "suit_after_review"):
        out.update({f"{group}.{c}": v for c, v in report[group].items()})
    for item, cols in report["proactive"].items():
        out.update({f"proactive.{item}.{c}": v for c, v in cols.items()})
    return out


@pytest.mark.parametrize("name", DIVIDED)
def test_html_and_pdf_tables_give_every_hand_read_cell_exactly(name):
    want = expected(name)
    record = report_record(SAMPLE / COPIES[name])
    assert record.report_year == want["report_year"]
    assert record.report_format == str(want["template"])
    assert cells(record.report) == cells(want)


@pytest.mark.parametrize("name", RUN_TOGETHER)
def test_text_renderings_recover_only_right_cells_and_leave_the_rest_null(name):
    want = cells(expected(name))
    record = report_record(SAMPLE / COPIES[name])
    got = cells(record.report)
    assert got.keys() == want.keys()
    wrong = {k: (g, want[k]) for k, g in got.items() if g is not None and g != want[k]}
    assert wrong == {}
    # Tables 三 and 四 are tied by their arithmetic: every cell of them is recovered.
    lost = [k for k, g in got.items() if g is None and want[k] is not None
            and not k.startswith("proactive.")]
    assert lost == []


def test_a_text_rendering_gives_the_cells_its_html_page_shows():
    # The 2025 report's archive text (cells run together) against its own HTML page.
    text = report_record(REPO / "tests" / "fixtures" / "annual" / "pingtan_2025_page.txt")
    html = report_record(SAMPLE / COPIES["pingtan_2025_html"])
    t, h = cells(text.report), cells(html.report)
    assert {k: v for k, v in t.items() if v is not None} == {
        k: h[k] for k, v in t.items() if v is not None}
    assert sum(v is None for v in t.values()) == 3  # 行政规范性文件 5845546: 58/45/546 or …


def test_the_worked_example_splits_into_seven_cells():
    assert recover.row_candidates(["801000081"], 7, recover.sums_to_last) == [
        (80, 1, 0, 0, 0, 0, 81)]


def test_a_run_the_arithmetic_cannot_decide_keeps_every_candidate():
    # "11011" is 1 + 10 = 11 or 11 + 0 = 11: only the total is decided.
    candidates = recover.row_candidates(["11011"], 3, recover.sums_to_last)
    assert sorted(candidates) == [(1, 10, 11), (11, 0, 11)]
    assert recover.agreed(candidates, 3) == (None, None, 11)


def test_splits_never_write_a_leading_zero_and_keep_a_minus_sign_first():
    assert recover.splits("100", 2) == [(10, 0)]
    assert recover.splits("-1538", 2) == [(-1, 538), (-15, 38), (-153, 8)]


def test_full_width_digits_and_thousands_separators_are_numbers():
    from indexer.annual.sources import from_text
    from indexer.annual.tables import row_cells, value_pieces

    src = from_text("（一）予以公开 １,２３４　０ ０ ０ ０ ０ １,２３４。")
    pieces = value_pieces(src.text[src.text.index("公开") + 2:])
    assert row_cells(pieces, 7, divided=False) == [(1234, 0, 0, 0, 0, 0, 1234)]


def test_spaces_in_a_text_rendering_are_cell_borders():
    # 2019 report: "230 000023" is 23 | 0 0 0 0 0 | 23, never 2 | 30 …
    record = report_record(SAMPLE / COPIES["pingtan_2019_text"])
    assert record.report["requests"]["new"] == {
        "natural_person": 23, "commercial": 0, "research": 0, "public_interest": 0,
        "legal_services": 0, "other_org": 0, "total": 23}


def test_checks_report_sums_that_do_not_add_up_with_the_difference():
    # 洪泽区 2023 prints 行政复议 结果维持 10, 结果纠正 1 and 总计 0.
    record = report_record(SAMPLE / COPIES["hongze_2023_pdf"])
    failed = {c["id"]: c for c in record.report["checks"] if c["holds"] is False}
    assert set(failed) == {"review.total", "suit_after_review.total"}
    assert (failed["review.total"]["left"], failed["review.total"]["right"],
            failed["review.total"]["difference"]) == (11, 0, 11)
    assert record.report["checks_summary"] == {"held": 38, "failed": 2, "unknown": 0}


def test_a_report_whose_results_exceed_its_total_keeps_its_printed_figures():
    # 平潭 2020: the result rows add up to 27, (七)总计 prints 21.
    record = report_record(SAMPLE / COPIES["pingtan_2020_text"])
    failed = {c["id"]: c["difference"] for c in record.report["checks"] if c["holds"] is False}
    assert failed == {"requests.closed.natural_person": 6, "requests.closed.total": 6}
    assert record.report["requests"]["closed"]["total"] == 21


def test_every_check_holds_on_a_report_that_adds_up():
    record = report_record(SAMPLE / COPIES["pingtan_2025_html"])
    assert record.report["checks_summary"] == {"held": 42, "failed": 0, "unknown": 0}


def test_a_pdf_title_on_two_lines_and_its_agency_come_from_the_report():
    record = report_record(SAMPLE / COPIES["hongze_2023_pdf"])
    assert record.title == "洪泽区人民政府2023年政府信息公开工作年度报告"
    assert record.agency == "洪泽区人民政府"
    assert record.region == "江苏省/淮安市/洪泽区"
    assert record.doc_type == "年度报告"


def test_prose_reports_state_their_figures_with_the_words_they_used():
    record = report_record(SAMPLE / "pingtan" / "201901_80529_page.txt")  # published 2019-01
    assert record.report_format == "free text"
    assert record.report_year == 2018
    stated = {s["key"]: (s["value"], s["quote"]) for s in record.report["stated"]}
    assert stated["proactive_total"] == (2069, "主动公开政府信息2069条")
    assert stated["requests_total"][0] == 0


def test_prose_figures_agree_with_the_hand_read_ones():
    labels = json.loads((EXPECTED / "prose.json").read_text(encoding="utf-8"))
    copies = {"201301/80725": "201301_80725", "201701/80485": "201701_80485",
              "201801/80506": "201801_80506", "201901/80529": "201901_80529"}
    checked = 0
    for entry in labels["reports"]:
        key = "/".join(entry["source"].split("/")[5:7]).split("_")[0]
        if key not in copies:
            continue
        record = report_record(SAMPLE / "pingtan" / f"{copies[key]}_page.txt")
        got = {s["key"]: s["value"] for s in record.report["stated"]}
        for figure in entry["figures"]:
            assert got.get(figure["key"]) == figure["value"], (key, figure)
            checked += 1
    assert checked >= 10


def test_an_approximate_figure_is_not_a_figure():
    from indexer.annual.prose import stated_figures

    assert stated_figures("全年共主动公开政府信息5300余条。") == []
    assert stated_figures("全年主动公开政府信息5300条。")[0]["value"] == 5300


@pytest.mark.parametrize("title, body, expected", [
    ("平潭综合实验区2025年度政府信息公开工作年度报告", "", True),
    ("东湖公安分局2020年度政府信息公开年度报告", "", True),
    ("关于做好2023年度政府信息公开工作年度报告编制工作的通知", "", False),
    ("洪泽区人民政府", "二、主动公开政府信息情况 三、收到和处理政府信息公开申请情况 "
                      "四、政府信息公开行政复议、行政诉讼情况", True),
    ("关于2014年政府信息公开工作要点落实情况的函", "主动公开政府信息情况", False),
    # The notice that prescribes the template prints its headings and tables.
    ("国务院办公厅政府信息与政务公开办公室 关于政府信息公开工作年度报告有关事项的通知",
     "二、主动公开政府信息情况 三、收到和处理政府信息公开申请情况 "
     "四、政府信息公开行政复议、行政诉讼情况 五、存在的主要问题及改进情况", False),
])
def test_annual_reports_are_recognised_by_title_or_by_the_templates_headings(
        title, body, expected):
    assert is_annual_report(title, body) is expected


def test_the_report_year_is_the_year_reported_on_not_the_year_published():
    assert report_year("平潭综合实验区2024年度政府信息公开工作年度报告", "", 2025) == 2024
    assert report_year("年度报告", "本报告所列数据统计期限为2023年1月1日至2023年12月31日。", 2024) == 2023
    assert report_year("年度报告", "", 2021) == 2020
    assert reporter("洪泽区人民政府2023年政府信息公开工作年度报告") == "洪泽区人民政府"


def test_parse_json_prints_the_report_fields(tmp_path, capsys):
    from search_app.cli import main

    assert main(["parse", str(SAMPLE / COPIES["pingtan_2025_html"]), "--json"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (row["report_year"], row["report_format"]) == (2025, "2021")
    assert row["report"]["requests"]["new"]["total"] == 154
    assert row["report"]["review"] == {"upheld": 25, "corrected": 3, "other": 8,
                                       "pending": 0, "total": 36}
    assert row["report"]["proactive"]["fees"] == {"amount": 4166.241619}


def test_other_documents_have_no_report():
    record = Record(title="关于印发住房公积金管理办法的通知", body="各区：现印发。", source="x")
    from indexer.annual import attach

    attach(record)
    assert (record.report, record.report_year, record.report_format) == (None, None, "")
