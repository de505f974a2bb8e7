"""`gongkai serve --rate-limit N --trust-proxy N`: what they set, and a real waitress
server answering a scripted client with them.

Rate assertions are bounds on what a token bucket can have allowed in the time the
requests actually took (burst + rate x elapsed), so they hold however fast or busy the
machine is.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from urllib.parse import quote

import pytest

from search_app.cli import main
from search_app.cli.serve_cmd import app_config

pytest_plugins = ["tests.web_fixtures"]


def _args(**kw) -> argparse.Namespace:
    return argparse.Namespace(**({"rate_limit": None, "trust_proxy": 0} | kw))


def test_by_default_serve_keeps_the_apps_rate_limit_and_trusts_no_proxy():
    assert app_config(_args()) == {"TRUST_PROXY": 0}


def test_rate_limit_zero_turns_the_limit_off():
    assert app_config(_args(rate_limit=0)) == {"TRUST_PROXY": 0, "RATELIMIT_ENABLED": False}


def test_a_rate_limit_sets_the_rate_and_a_burst_no_larger_than_it():
    assert app_config(_args(rate_limit=600, trust_proxy=2)) == {
        "TRUST_PROXY": 2, "RATELIMIT_ENABLED": True, "RATELIMIT_PER_MINUTE": 600,
        "RATELIMIT_BURST": 30}
    assert app_config(_args(rate_limit=10))["RATELIMIT_BURST"] == 10


@pytest.mark.parametrize("argv,message", [
    (["--rate-limit", "-1"], "--rate-limit must be 0 (no limit) or more"),
    (["--trust-proxy", "-1"], "--trust-proxy must be 0-10"),
    (["--trust-proxy", "11"], "--trust-proxy must be 0-10"),
])
def test_bad_serve_options_are_one_line_usage_errors(capsys, tmp_path, argv, message):
    assert main(["serve", "--index", str(tmp_path / "none"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@contextmanager
def serving(index_dir, *options: str):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "search_app", "serve", "--index", str(index_dir),
         "--port", str(port), "--threads", "2", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # start-up on a saturated machine
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        proc.stderr.close()


def _statuses(port: int, n: int, headers=lambda i: {}) -> tuple[list[int], float]:
    """*n* API requests from one client over one keep-alive connection: statuses and the
    seconds they took."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    queries = ["住房公积金", "信息公开", '"公积金贷款"', "住房 -租赁", "title:通知"]
    statuses = []
    started = time.monotonic()
    try:
        for i in range(n):
            q = queries[i % len(queries)]
            conn.request("GET", "/api/search?size=5&q=" + quote(q), headers=headers(i))
            response = conn.getresponse()
            body = response.read()
            statuses.append(response.status)
            if response.status == 200:
                assert json.loads(body)["total"] >= 0
    finally:
        conn.close()
    return statuses, time.monotonic() - started


@pytest.mark.slow
def test_with_rate_limit_0_one_client_gets_1000_scripted_api_requests_answered(web_index_dir):
    with serving(web_index_dir, "--rate-limit", "0") as port:
        statuses, seconds = _statuses(port, 1000)
    assert statuses == [200] * 1000, {s: statuses.count(s) for s in set(statuses)}
    print(f"\n1,000 API requests in {seconds:.1f} s, no 429")


def _bucket_bound(per_minute: int, burst: int, seconds: float) -> int:
    """The most requests a token bucket can allow in *seconds* (one more for rounding)."""
    return burst + int(per_minute / 60 * seconds) + 1


@pytest.mark.slow
def test_a_rate_limit_caps_one_client_and_x_forwarded_for_does_not_get_round_it(
        web_index_dir):
    with serving(web_index_dir, "--rate-limit", "6") as port:
        statuses, seconds = _statuses(
            port, 40, headers=lambda i: {"X-Forwarded-For": f"198.51.100.{i}"})
    assert statuses.count(200) <= _bucket_bound(6, 6, seconds), (statuses, seconds)
    assert set(statuses) <= {200, 429}


@pytest.mark.slow
def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(web_index_dir):
    with serving(web_index_dir, "--rate-limit", "6", "--trust-proxy", "1") as port:
        # 40 distinct clients, 1 request each: none is over its limit.
        spread, _ = _statuses(port, 40, headers=lambda i: {"X-Forwarded-For": f"198.51.100.{i}"})
        # One forwarded client, 40 requests: capped like any client.
        one, seconds = _statuses(port, 40, headers=lambda i: {"X-Forwarded-For": "203.0.113.9"})
    assert spread == [200] * 40
    assert one.count(200) <= _bucket_bound(6, 6, seconds), (one, seconds)


def _format_1_index(path, records_dir):
    from indexer.index import store
    from indexer.index.writer import index_paths

    index_paths(path, [records_dir], wait=True)
    meta_file = store.resolve(path) / store.META_FILE
    meta = json.loads(meta_file.read_text())
    del meta["index_format"]  # as every index before format 2 was written
    meta_file.write_text(json.dumps(meta))


def test_serve_rebuilds_the_default_index_when_an_older_version_wrote_it(tmp_path, monkeypatch):
    from pathlib import Path

    from indexer.index import store
    from search_app.cli.serve_cmd import ensure_index

    classes = Path(__file__).parent / "fixtures" / "classes"
    _format_1_index(tmp_path / "ix", classes / "pingtan_4739_page.txt")
    with pytest.raises(store.IndexIncompatible):
        store.exists(tmp_path / "ix")
    sample = tmp_path / "sample"
    sample.mkdir()
    (sample / "page.txt").write_bytes((classes / "pingtan_79829_page.txt").read_bytes())
    monkeypatch.setattr(store, "sample_corpus_dir", lambda: sample)
    ensure_index(tmp_path / "ix", default=True)
    assert store.exists(tmp_path / "ix")
    with store.open_index(tmp_path / "ix").searcher() as s:
        assert [d["title"] for d in s.all_stored_fields()] == [
            "平潭综合实验区管委会关于宣布失效一批规范性文件的通知"]


def test_serve_refuses_an_older_index_it_was_pointed_at_with_the_rebuild_hint(tmp_path):
    from pathlib import Path

    from search_app.cli import CliError
    from search_app.cli.serve_cmd import ensure_index

    _format_1_index(tmp_path / "ix", Path(__file__).parent / "fixtures" / "classes"
                    / "pingtan_4739_page.txt")
    with pytest.raises(CliError, match="index format 1.*gongkai index --rebuild"):
        ensure_index(tmp_path / "ix", default=False)
