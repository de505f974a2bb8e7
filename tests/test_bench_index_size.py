"""bench/index_size.py: where an index's bytes go, each part once, summing to the files'
sizes; a path that holds no index is a one-line error, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from indexer.index import store
from indexer.index.writer import build_index

pytest_plugins = ["tests.web_fixtures"]

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "index_size.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=120)


def test_the_parts_of_an_index_add_up_to_its_files(tmp_path, sample_records):
    build_index(tmp_path / "ix", sample_records[:80])
    out = run(str(tmp_path / "ix"))
    assert out.returncode == 0, out.stderr
    rows = {line.rsplit(None, 2)[0]: float(line.rsplit(None, 2)[1])
            for line in out.stdout.splitlines()[1:]}
    real = store.resolve(tmp_path / "ix")
    on_disk = sum(f.stat().st_size for f in real.iterdir() if f.is_file()) / 1e6
    assert abs(rows.pop("total") - on_disk) < 0.01
    assert "whoosh: _docs.col" in rows and "whoosh: _stored.col" not in rows
    assert any(name.startswith("tables: body_exact.pos") for name in rows)
    assert not any(name.startswith("tables: body.start") for name in rows)


def test_a_path_without_an_index_is_a_one_line_error(tmp_path):
    for path in (tmp_path / "missing", tmp_path):
        out = run(str(path))
        assert out.returncode == 2
        assert out.stderr.strip() == f"index_size.py: no index at {path}"
        assert os.linesep not in out.stderr.strip()
