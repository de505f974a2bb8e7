"""/reports, /reports/<agency>, their JSON twins, the CSV, a report's document page and
`gongkai reports`, over the index of the bundled sample (which holds the annual reports of
index_data/sample/annual_reports and the 2020 东湖公安分局 report)."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import quote

import pytest

pytest_plugins = ["tests.web_fixtures"]

PINGTAN = "平潭综合实验区"


def api(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()


def test_every_report_of_the_sample_has_a_row_per_body_and_year(client):
    body = api(client, "/api/reports")
    keys = [(r["reporter"], r["report_year"]) for r in body["rows"]]
    assert len(keys) == len(set(keys)) == body["total"]
    assert set(keys) >= {(PINGTAN, y) for y in (2016, 2017, 2018, 2019, 2020, 2021, 2022, 2024,
                                                 2025)}
    assert ("洪泽区人民政府", 2023) in keys
    assert ("平潭县人民政府", 2012) in keys
    assert ("东湖公安分局", 2020) in keys


def test_the_key_figures_are_the_tables_totals(client):
    rows = {r["report_year"]: r for r in api(client, f"/api/reports?agency={PINGTAN}")["rows"]}
    r2025 = rows[2025]
    assert (r2025["received"], r2025["closed"], r2025["granted"], r2025["partly_granted"],
            r2025["denied"], r2025["unable"], r2025["reviews"], r2025["lawsuits"]) == (
        154, 148, 33, 38, 11, 53, 36, 9)
    assert r2025["granted_share"] == round(71 / 148, 4)
    assert r2025["figures_from"] == "tables"
    assert rows[2020]["checks_failed"] == 2
    assert rows[2018]["figures_from"] == "prose"
    assert rows[2018]["received"] == 0 and rows[2018]["closed"] is None


def test_filters_by_year_range_region_and_agency(client):
    years = {r["report_year"] for r in api(client, "/api/reports?year=2021-2023")["rows"]}
    assert years == {2021, 2022, 2023}
    jiangsu = api(client, "/api/reports?region=江苏省")["rows"]
    assert [r["reporter"] for r in jiangsu] == ["洪泽区人民政府"]
    assert {r["reporter"] for r in api(client, "/api/reports?agency=洪泽区人民政府")["rows"]} == {
        "洪泽区人民政府"}


def test_sorting_puts_the_largest_first_and_unknown_figures_last(client):
    rows = api(client, "/api/reports?sort=received")["rows"]
    known = [r["received"] for r in rows if r["received"] is not None]
    assert known == sorted(known, reverse=True) and known[0] == 218
    assert all(r["received"] is None for r in rows[len(known):])
    ascending = api(client, "/api/reports?sort=%2Breceived")["rows"]
    assert [r["received"] for r in ascending if r["received"] is not None] == sorted(known)


@pytest.mark.parametrize("url, code", [
    ("/api/reports?year=twenty", "bad-year"),
    ("/api/reports?year=2025-2019", "bad-year"),
    ("/api/reports?sort=title", "bad-sort"),
    ("/api/reports?agency=" + "x" * 300, "bad-filter"),
])
def test_bad_parameters_are_a_400_json_error(client, url, code):
    response = client.get(url)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_an_unknown_agency_is_a_404(client):
    assert client.get("/reports/" + quote("没有这个机关")).status_code == 404
    response = client.get("/api/reports/" + quote("没有这个机关"))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not-found"


def test_the_csv_has_a_row_per_report_and_links_back(client):
    response = client.get("/reports.csv?year=2019-2025")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {int(r["report_year"]) for r in rows} == {2019, 2020, 2021, 2022, 2023, 2024, 2025}
    r2024 = next(r for r in rows if r["report_year"] == "2024")
    assert (r2024["received"], r2024["reviews"]) == ("218", "7")
    assert r2024["permalink"].endswith("/documents/" + r2024["id"])


def test_the_reports_page_lists_the_rows_and_links_its_twins(client):
    html = client.get("/reports?year=2025").data.decode()
    assert '<strong id="report-count">1</strong>' in html
    assert f'href="/reports/{quote(PINGTAN)}"' in html
    assert 'href="/api/reports?year=2025"' in html
    assert 'href="/reports.csv?year=2025"' in html
    # The current sort's heading links to the other direction.
    assert "sort=%2Breport_year" in html


def test_the_agency_page_draws_every_year_with_figures_as_linked_bars(client):
    rows = api(client, f"/api/reports/{quote(PINGTAN)}")["rows"]
    assert [r["report_year"] for r in rows] == sorted(r["report_year"] for r in rows)
    html = client.get(f"/reports/{quote(PINGTAN)}").data.decode()
    start = html.index("<svg xmlns")  # the chart (the legend swatches are small svgs too)
    svg = html[start:html.index("</svg>", start)]
    assert "<script" not in svg.lower()  # drawn on the server: no script needed
    linked = set(re.findall(r'<a href="/documents/([0-9a-f]+)">', svg))
    with_figures = {r["id"] for r in rows if r["received"] is not None or r["reviews"] is not None}
    assert linked == with_figures
    assert "2025年 本年新收申请：154" in svg


def test_a_reports_document_page_shows_its_tables_and_checks(client):
    rows = api(client, "/api/reports?agency=洪泽区人民政府")["rows"]
    doc_id = rows[0]["id"]
    html = client.get(f"/documents/{doc_id}").data.decode()
    assert "年度报告数据（2023 年度，2021 年格式）" in html
    assert "<strong>2 项不相符</strong>" in html
    assert "行政复议: 四种结果之和 = 总计：11 ≠ 0（相差 11）" in html
    doc = api(client, f"/api/documents/{doc_id}")
    assert doc["report_year"] == 2023 and doc["report"]["review"]["upheld"] == 10


def test_report_year_and_format_are_facets_and_filters(client):
    body = api(client, "/api/search?q=政府信息公开&report_format=2019")
    assert body["total"] == 2
    assert {f["value"] for f in body["facets"]["report_format"]} >= {"2019", "2021", "free text"}
    body = api(client, "/api/search?report_year=2023")
    assert [r["title"] for r in body["results"]] == ["洪泽区人民政府2023年政府信息公开工作年度报告"]


def test_gongkai_reports_prints_the_same_rows(web_index_dir, capsys):
    from search_app.cli import main

    assert main(["reports", "--index", str(web_index_dir), "--json", "--year", "2024"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [(r["reporter"], r["received"]) for r in body["rows"]] == [(PINGTAN, 218)]
    assert main(["reports", "--index", str(web_index_dir), "--csv", "--agency", PINGTAN]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("reporter,report_year,report_format")
    assert len(lines) == 1 + 9  # 2016–2022, 2024, 2025
    assert main(["reports", "--index", str(web_index_dir), "--year", "2023"]) == 0
    table = capsys.readouterr().out
    assert "洪泽区人民政府" in table and "1 reports" in table


def test_gongkai_reports_refuses_a_bad_year_in_one_line(web_index_dir, capsys):
    from search_app.cli import main

    assert main(["reports", "--index", str(web_index_dir), "--year", "abc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_report_facets_read_as_words_on_the_search_page(client):
    html = client.get("/search?q=政府信息公开&report_format=free+text").data.decode()
    assert 'data-value="free text"' in html and "文字报告" in html  # the facet, and the chip
    assert "年报格式：文字报告" in html
    home = client.get("/").data.decode()
    assert 'href="/reports"' in home
