"""``gongkai search`` and ``gongkai stats``: JSON envelope, table, filters, exit codes."""

from __future__ import annotations

import json

import pytest
from test_search import RECORDS, contains, index_dir

from search_app.cli import main


@pytest.fixture(scope="module")
def ix():
    return str(index_dir("single"))


def run_json(capsys, *argv):
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_json_envelope(capsys, ix):
    out = run_json(capsys, "search", "公积金贷款", "--json", "--index", ix, "--limit", "3")
    assert out["query"] == "公积金贷款" and out["page"] == 1 and out["total"] > 3
    assert len(out["results"]) == 3
    keys = {"id", "title", "agency", "pub_date", "year", "classification", "doc_type", "doc_no",
            "url", "source", "score", "snippet"}
    assert keys <= set(out["results"][0])
    assert "<mark>" not in out["results"][0]["snippet"]
    assert set(out["facets"]) == {"agency", "region", "year", "classification", "doc_type",
                                   "report_year", "report_format"}
    assert {"value", "count"} <= set(out["facets"]["year"][0])


def test_filters_sort_and_page(capsys, ix):
    out = run_json(capsys, "search", "--json", "--index", ix, "--agency", "北京市中医管理局",
                   "--year", "2017-2021", "--type", "通知", "--sort", "oldest", "--limit", "2",
                   "--page", "2")
    want = [r for r in RECORDS if r.agency == "北京市中医管理局" and r.year
            and 2017 <= r.year <= 2021 and r.doc_type == "通知"]
    assert out["total"] == len(want) and out["page"] == 2
    dates = sorted(r.pub_date for r in want)
    assert [h["pub_date"] for h in out["results"]] == dates[2:4]
    assert out["filters"]["agency"] == ["北京市中医管理局"]


def test_classification_filter(capsys, ix):
    out = run_json(capsys, "search", "--json", "--index", ix, "--classification", "调控政策")
    assert out["total"] == sum(r.classification == "调控政策" for r in RECORDS)


def test_table_output(capsys, ix):
    assert main(["search", "购房资格", "--index", ix, "--limit", "2"]) == 0
    out = capsys.readouterr().out
    n = sum(contains(r, "购房资格") for r in RECORDS)
    assert out.startswith(f"{n} results")
    assert "  1. " in out and "购房资格" in out


def test_missing_index_exit_2(capsys, tmp_path):
    assert main(["search", "住房", "--index", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gongkai: error: no index at") and "\n" not in err


@pytest.mark.parametrize("argv,code", [(["year:abc"], "bad-year"),
                                       (["(" * 9 + "a"], "nesting-too-deep"),
                                       (["住房", "--page", "500"], "page-too-deep")])
def test_query_error_exit_2(capsys, ix, argv, code):
    assert main(["search", *argv, "--index", ix]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gongkai: error:") and f"({code})" in err and "\n" not in err


def test_default_index_from_env(capsys, ix, monkeypatch):
    monkeypatch.setenv("GONGKAI_INDEX", ix)
    out = run_json(capsys, "search", "--json", "住房")
    assert out["total"] > 0


def test_stats_json(capsys, ix):
    out = run_json(capsys, "stats", "--json", "--index", ix)
    assert out["documents"] == len(RECORDS)
    assert set(out["facets"]) == {"agency", "region", "year", "classification", "doc_type",
                                   "report_year", "report_format"}
    assert main(["stats", "--index", ix]) == 0
    assert capsys.readouterr().out.startswith(f"documents: {len(RECORDS)}")


def test_stats_missing_index(capsys, tmp_path):
    assert main(["stats", "--index", str(tmp_path / "none")]) == 2
