"""``gongkai parse``: output formats, stderr reports and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.record import RECORD_KEYS
from search_app.cli import main

FIX = Path(__file__).parent / "fixtures" / "records"


@pytest.fixture
def records_dir(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name in ("gov_prc_sample.csv", "laws_sample.jsonl"):
        shutil.copyfile(FIX / name, d / name)
    (d / "notes.xyz").write_text("?", encoding="utf-8")
    return d


def test_json_output_is_one_object_per_record_with_record_keys(records_dir, capsys):
    assert main(["parse", "--json", str(records_dir)]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 6
    assert all(tuple(row) == RECORD_KEYS for row in rows)
    assert rows[0]["title"] == "国务院批转地质部关于切实保障野外地质工作条件的报告"
    assert "国务院批转" in out  # ensure_ascii=False: Chinese is written as is
    assert rows[3]["doc_no"] == "中华人民共和国国务院令第656号"


def test_skipped_files_and_a_summary_go_to_stderr(records_dir, capsys):
    assert main(["parse", str(records_dir)]) == 0
    out, err = capsys.readouterr()
    assert f"{records_dir / 'notes.xyz'}: skipped: unsupported-format (.xyz)" in err
    summary = err.strip().splitlines()[-1]
    assert summary.startswith("parsed: 6 records, 1 skipped (unsupported-format 1), 0 failures, ")
    assert summary.endswith("s")


def test_readable_listing_has_id_date_agency_and_title(records_dir, capsys):
    main(["parse", str(records_dir / "laws_sample.jsonl")])
    first = capsys.readouterr().out.splitlines()[0].split("\t")
    assert first[1:] == ["2014-11-24", "中华人民共和国国务院", "不动产登记暂行条例"]
    assert len(first[0]) == 16


def test_listing_shows_year_when_only_the_year_is_known(records_dir, capsys):
    main(["parse", str(records_dir / "gov_prc_sample.csv")])
    first = capsys.readouterr().out.splitlines()[0].split("\t")
    assert first[1:3] == ["1980", "-"]


def test_map_option_overrides_columns(records_dir, capsys):
    assert main(["parse", "--json", "--map", "title=URL",
                 str(records_dir / "gov_prc_sample.csv")]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["title"] == "http://www.gov.cn/zhengce/content/2018-04/17/content_5281662.htm"


@pytest.mark.parametrize("args, message", [
    (["--map", "headline=Policy"], "unknown record field 'headline'"),
    (["--map", "title"], "--map expects FIELD=COLUMN"),
])
def test_bad_map_is_a_one_line_error_exit_2(records_dir, capsys, args, message):
    assert main(["parse", *args, str(records_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("gongkai: error: ")


def test_missing_path_is_a_one_line_error_exit_2(tmp_path, capsys):
    assert main(["parse", str(tmp_path / "nope")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"gongkai: error: no such file or directory: {tmp_path / 'nope'}\n"


def test_a_file_that_breaks_a_reader_does_not_stop_the_run_and_exits_1(
        records_dir, capsys, monkeypatch):
    import indexer.readers.structured as structured

    real = structured.read_records_file

    def breaks_on_csv(path, field_map=None):
        if str(path).endswith(".csv"):
            raise RuntimeError("reader bug")
        return real(path, field_map)

    monkeypatch.setattr(structured, "read_records_file", breaks_on_csv)
    assert main(["parse", "--json", str(records_dir)]) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3  # the laws file after the broken CSV is still read
    assert f"{records_dir / 'gov_prc_sample.csv'}: failed: RuntimeError: reader bug" in err
    assert ", 1 failures, " in err.strip().splitlines()[-1]


def test_gongkai_parse_runs_as_a_command(records_dir):
    exe = shutil.which("gongkai")
    cmd = [exe] if exe else [sys.executable, "-m", "search_app"]
    proc = subprocess.run([*cmd, "parse", "--json", str(records_dir / "gov_prc_sample.csv")],
                          capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert proc.returncode == 0, proc.stderr
    titles = [json.loads(line)["title"] for line in proc.stdout.splitlines()]
    assert titles[1] == "国务院关于保护国营矿业企业正常生产的决定"
    assert proc.stderr.startswith("parsed: 3 records, 0 skipped, 0 failures, ")


def test_jobs_gives_the_same_output_in_the_same_order(records_dir, capsys):
    shutil.copyfile(FIX / "bucm_sample.json", records_dir / "bucm_sample.json")
    assert main(["parse", "--json", str(records_dir)]) == 0
    serial = capsys.readouterr().out
    assert main(["parse", "--json", "--jobs", "2", str(records_dir)]) == 0
    assert capsys.readouterr().out == serial


def test_jobs_below_one_is_an_error(records_dir, capsys):
    assert main(["parse", "--jobs", "0", str(records_dir)]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
