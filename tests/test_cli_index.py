"""``gongkai index``: summaries, exit codes and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

from indexer.index.writer import IndexLock
from search_app.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "records"


def test_index_prints_a_json_summary_and_exits_zero(tmp_path, capsys):
    code = main(["index", str(FIXTURES / "records_govcn_sample.jsonl"),
                 "--index", str(tmp_path / "ix"), "--procs", "1", "--json"])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert code == 0
    assert summary["added"] == summary["documents"] > 0
    assert "added" in err and "MB/s" in err


def test_a_missing_path_is_a_one_line_error_with_exit_code_2(tmp_path, capsys):
    code = main(["index", str(tmp_path / "missing"), "--index", str(tmp_path / "ix")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("gongkai: error: ")
    assert "missing" in err


def test_a_bad_map_option_is_a_one_line_error(tmp_path, capsys):
    code = main(["index", str(FIXTURES), "--index", str(tmp_path / "ix"), "--map", "title"])
    assert code == 2
    assert "FIELD=COLUMN" in capsys.readouterr().err


def test_a_second_indexer_exits_with_a_clear_message_while_the_first_holds_the_lock(tmp_path):
    with IndexLock(tmp_path / "ix"):
        proc = subprocess.run(
            [sys.executable, "-m", "search_app", "index", str(FIXTURES / "laws_sample.jsonl"),
             "--index", str(tmp_path / "ix")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert "another indexer is writing" in proc.stderr
    assert "Traceback" not in proc.stderr
