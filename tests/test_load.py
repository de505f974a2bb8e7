"""A bounded loopback load test: 300 requests from 16 concurrent clients against a real
waitress server over the sample index (bench/load.py, smaller), with rate limiting off.
Every request must get its expected status (including the planned 400s and 404s), and the
server must still answer a normal query afterwards. Nothing here is judged in seconds
(bench/load.py measures latency): the time limits only catch a hang."""

from __future__ import annotations

import http.client
import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ["tests.web_fixtures"]

LOAD_PY = Path(__file__).resolve().parent.parent / "bench" / "load.py"
REQUESTS = 300
CLIENTS = 16
TIME_LIMIT = 900  # seconds for the whole plan: about 6 s on a quiet 2-core machine
HTTP_TIMEOUT = 120


@pytest.fixture(scope="module")
def load():
    spec = importlib.util.spec_from_file_location("bench_load", LOAD_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_plan_is_seeded_and_mixes_every_kind_of_request(load):
    ids = ["0123456789abcdef", "fedcba9876543210"]
    plan = load.make_plan(REQUESTS, ids, seed=7)
    assert [p.target for p in plan] == [p.target for p in load.make_plan(REQUESTS, ids, seed=7)]
    assert {p.kind for p in plan} == set(load.MIX)
    assert {p.expect for p in plan} == {200, 400, 404}


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.1", "8.8.8.8", "::ffff:1.2.3.4"])
def test_load_runs_only_against_loopback(load, host):
    with pytest.raises(SystemExit, match="loopback"):
        load.run_load(host, 80, [], clients=1, time_limit=1)


@pytest.mark.slow
def test_300_requests_from_16_clients_all_answer_and_the_server_stays_responsive(
        load, web_backend):
    plan = load.make_plan(REQUESTS, load.document_ids(web_backend), seed=11)
    with load.serve(load.load_app(web_backend), threads=8) as (host, port):
        report = load.run_load(host, port, plan, CLIENTS, time_limit=TIME_LIMIT)
        started = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=HTTP_TIMEOUT)
        conn.request("GET", "/api/search?q=%E4%BD%8F%E6%88%BF%E5%85%AC%E7%A7%AF%E9%87%91")
        response = conn.getresponse()
        after = json.loads(response.read())
        conn.close()
        answer_s = time.perf_counter() - started
    load.print_report(report)  # shown with -s, and on failure
    print(f"a normal query after the load: {answer_s:.2f} s")
    assert not report.timed_out
    assert report.errors == []
    assert report.requests == REQUESTS
    assert report.statuses[200] > 0.9 * REQUESTS and report.statuses[400] and report.statuses[404]
    assert response.status == 200 and after["total"] > 0
