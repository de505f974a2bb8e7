"""Loopback load test: a real waitress server over the sample index, hit by concurrent
HTTP clients, bounded in requests and in time.

    python bench/load.py [--requests 1000] [--clients 16] [--threads 8] [--warmup 100]
                         [--index DIR] [--time-limit 300] [--seed 7] [--json]

Starts the app on waitress (as `gongkai serve` runs it) on 127.0.0.1 and a free port,
with rate limiting off for the run, over --index (default: $GONGKAI_INDEX or
index_data/index when it holds an index, else a fresh index of index_data/sample built in
a temporary directory). Then --clients threads, each with its own keep-alive connection
(http.client), share a fixed, seeded plan of --requests requests: search pages, API
searches with filters and sorts, exact phrases, document pages and their JSON, feeds, and
a few requests that must fail (bad page, unknown document) with their expected status.
--warmup requests (another seed) run first and are reported apart: the first requests
of each server thread open its own searcher and fill the caches. The measured run stops after the plan or after --time-limit seconds, whichever comes first, and
prints requests/s, errors (a status other than the expected one, an unreadable body, a
connection failure) and latency p50/p95/p99/max, overall and per kind. Exit status 1 when
any request failed or the plan did not finish.

Only loopback addresses are ever used: the server binds 127.0.0.1 and the clients refuse
any other host.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Realistic queries over the sample corpus: words, phrases, operators, fields.
QUERIES = ["住房公积金", "住房公积金 提取", "政府信息公开", "政府工作报告", "公积金 OR 住房补贴",
           "住房 -公积金", "(公积金 OR 住房) 贷款", "title:通知", "agency:国务院", "年度报告",
           "城乡建设", "文号:国发", "year:2018-2020 住房", "疫情防控", "营商环境", "养老保险",
           "征求意见稿", "土地", "教育", "医疗保障"]
PHRASES = ['"住房公积金"', "“政府工作报告”", "《住房公积金管理条例》", '"信息公开"', '"公积金贷款"',
           '"主动公开"', '"人民政府"']
FILTERS = [{}, {"type": "通知"}, {"year": "2020"}, {"year": "2018-2022"}, {"sort": "newest"},
           {"sort": "oldest"}, {"page": "2"}]
# kind → share of the plan
MIX = {"search-page": 25, "api-search": 25, "phrase": 15, "document-page": 12,
       "api-document": 10, "feed": 5, "home": 3, "bad-request": 3, "not-found": 2}


@dataclass
class Planned:
    kind: str
    target: str
    expect: int = 200


@dataclass
class Report:
    requests: int
    planned: int
    clients: int
    seconds: float
    errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    timed_out: bool = False

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def all_latencies(self) -> list[float]:
        return sorted(x for values in self.latencies.values() for x in values)

    def to_json(self) -> dict:
        kinds = {kind: percentiles(values) | {"n": len(values)}
                 for kind, values in sorted(self.latencies.items())}
        return {"requests": self.requests, "planned": self.planned, "clients": self.clients,
                "seconds": round(self.seconds, 2), "requests_per_s": round(self.per_second, 1),
                "errors": len(self.errors), "error_samples": self.errors[:10],
                "timed_out": self.timed_out, "statuses": dict(self.statuses),
                "latency_ms": percentiles(self.all_latencies()), "by_kind_ms": kinds}


def percentiles(values: list[float]) -> dict:
    values = sorted(values)
    if not values:
        return {}

    def pick(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99),
            "max": round(values[-1] * 1000, 1)}


def make_plan(n: int, doc_ids: list[str], seed: int = 7) -> list[Planned]:
    """*n* requests in a seeded random order, following MIX."""
    rng = random.Random(seed)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    plan = []
    for kind in kinds:
        params = dict(rng.choice(FILTERS))
        if kind == "search-page":
            plan.append(Planned(kind, "/search?" + urlencode({"q": rng.choice(QUERIES)} | params)))
        elif kind == "api-search":
            params |= {"q": rng.choice(QUERIES), "size": rng.choice(["10", "20", "50"])}
            plan.append(Planned(kind, "/api/search?" + urlencode(params)))
        elif kind == "phrase":
            path = rng.choice(["/search?", "/api/search?"])
            plan.append(Planned(kind, path + urlencode({"q": rng.choice(PHRASES)})))
        elif kind == "document-page":
            q = rng.choice(["", "住房公积金", "通知"])
            plan.append(Planned(kind, f"/documents/{rng.choice(doc_ids)}"
                                + (f"?{urlencode({'q': q})}" if q else "")))
        elif kind == "api-document":
            plan.append(Planned(kind, f"/api/documents/{rng.choice(doc_ids)}"))
        elif kind == "feed":
            plan.append(Planned(kind, "/search.atom?" + urlencode({"q": rng.choice(QUERIES)})))
        elif kind == "home":
            plan.append(Planned(kind, rng.choice(["/", "/help", "/api/stats"])))
        elif kind == "bad-request":
            bad = rng.choice(["page=0", "size=1000", "page=1e400", "q=" + "(" * 12 + "x",
                              "q=" + "a" * 600, "sort=x"])
            plan.append(Planned(kind, "/api/search?" + bad, 400))
        else:
            plan.append(Planned(kind, rng.choice(["/documents/ffffffffffffffff",
                                                  "/api/documents/..%2F..%2Fetc%2Fpasswd",
                                                  "/api/nothing"]), 404))
    return plan


def check_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"load tests only run against loopback addresses, not {host}")


def run_load(host: str, port: int, plan: list[Planned], clients: int,
             time_limit: float) -> Report:
    """Runs *plan* with *clients* threads against host:port; stops at *time_limit* s."""
    check_loopback(host)
    lock = threading.Lock()
    cursor = iter(range(len(plan)))
    report = Report(requests=0, planned=len(plan), clients=clients, seconds=0.0)
    latencies: dict[str, list[float]] = defaultdict(list)
    deadline = time.monotonic() + time_limit

    def next_item() -> Planned | None:
        with lock:
            if time.monotonic() > deadline:
                report.timed_out = True
                return None
            i = next(cursor, None)
        return None if i is None else plan[i]

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        while (item := next_item()) is not None:
            started = time.perf_counter()
            try:
                conn.request("GET", item.target)
                response = conn.getresponse()
                body = response.read()
                status = response.status
                error = None if status == item.expect else f"{status} != {item.expect}"
                if error is None and item.target.startswith("/api/"):
                    json.loads(body)  # a JSON body that parses, errors included
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except Exception as exc:  # a failed request is a result, not a crash
                status, error = 0, f"{type(exc).__name__}: {exc}"
                conn.close()
            elapsed = time.perf_counter() - started
            with lock:
                report.requests += 1
                report.statuses[status] += 1
                latencies[item.kind].append(elapsed)
                if error:
                    report.errors.append(f"{item.target[:80]}: {error}")
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, name=f"load-client-{i}") for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=time_limit + 120)
    report.seconds = time.perf_counter() - started
    report.latencies = dict(latencies)
    if report.requests < report.planned and not report.timed_out:
        report.errors.append(f"only {report.requests} of {report.planned} requests ran")
    return report


@contextmanager
def serve(app, threads: int = 8):
    """*app* on waitress at 127.0.0.1 and a free port; yields (host, port)."""
    from waitress.server import create_server

    # 16 clients on 8 threads queue by design; waitress would log every queued request.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="gongkai",
                           clear_untrusted_proxy_headers=True)
    closing = threading.Event()

    def run():
        try:
            server.run()
        except OSError:  # select() on the socket close() just shut: the normal way out
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, name="waitress", daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.effective_port
    finally:
        closing.set()
        server.close()
        thread.join(timeout=10)


def document_ids(backend, limit: int = 200) -> list[str]:
    from search_app.search.types import SearchRequest

    ids: list[str] = []
    for page in (1, 2):
        hits = backend.search(SearchRequest(q="", page=page, size=100, snippets=False)).hits
        ids += [h.id for h in hits]
    return ids[:limit]


def load_app(backend):
    from search_app import create_app

    return create_app({"BACKEND": backend, "RATELIMIT_ENABLED": False})


def _index_dir(arg: str | None, workdir: Path) -> Path:
    from indexer.index import store

    if arg:
        return Path(arg)
    default = Path(os.environ.get("GONGKAI_INDEX") or ROOT / "index_data" / "index")
    if store.exists(default):
        return default
    from indexer.index.writer import build_index
    from indexer.ingest import iter_records
    from indexer.record import Record

    index_dir = workdir / "index"
    print(f"building an index of {ROOT / 'index_data' / 'sample'} in {index_dir} ...",
          file=sys.stderr, flush=True)
    records = {r.id: r for r in iter_records([ROOT / "index_data" / "sample"])
               if isinstance(r, Record)}
    build_index(index_dir, list(records.values()))
    return index_dir


def print_report(report: Report) -> None:
    data = report.to_json()
    lat = data["latency_ms"]
    print(f"{data['requests']} of {data['planned']} requests, {data['clients']} clients, "
          f"{data['seconds']} s: {data['requests_per_s']} requests/s")
    print(f"errors: {data['errors']}" + (" (time limit hit)" if report.timed_out else ""))
    for sample in data["error_samples"]:
        print(f"  {sample}")
    print(f"latency ms: p50 {lat.get('p50')}  p95 {lat.get('p95')}  p99 {lat.get('p99')}  "
          f"max {lat.get('max')}")
    print(f"{'kind':14s} {'n':>5s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'max':>8s}")
    for kind, row in data["by_kind_ms"].items():
        print(f"{kind:14s} {row['n']:5d} {row['p50']:8.1f} {row['p95']:8.1f} "
              f"{row['p99']:8.1f} {row['max']:8.1f}")
    print(f"statuses: {data['statuses']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    ap.add_argument("--index", help="index to serve (default: see above)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds")
    ap.add_argument("--warmup", type=int, default=100,
                    help="requests run first and reported apart (0: none)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    if not (0 < args.requests <= 100_000 and 0 < args.clients <= 256
            and 0 <= args.warmup <= 10_000):
        ap.error("--requests must be 1-100000, --clients 1-256, --warmup 0-10000")

    from search_app.search import open_backend

    with tempfile.TemporaryDirectory(prefix="gongkai-load-") as tmp:
        index_dir = _index_dir(args.index, Path(tmp))
        backend = open_backend(index_dir)
        try:
            ids = document_ids(backend)
            plan = make_plan(args.requests, ids, args.seed)
            with serve(load_app(backend), threads=args.threads) as (host, port):
                print(f"serving {index_dir} on http://{host}:{port}/ ({args.threads} threads); "
                      f"{args.requests} requests from {args.clients} clients",
                      file=sys.stderr, flush=True)
                warm = None
                if args.warmup:
                    warm = run_load(host, port, make_plan(args.warmup, ids, args.seed + 1),
                                    args.clients, args.time_limit)
                report = run_load(host, port, plan, args.clients, args.time_limit)
        finally:
            backend.close()
    failed = bool(report.errors or report.timed_out or (warm and warm.errors))
    if args.json:
        print(json.dumps({"warmup": warm.to_json() if warm else None,
                          "measured": report.to_json()}, ensure_ascii=False, indent=1))
        return int(failed)
    if warm:
        lat = warm.to_json()["latency_ms"]
        print(f"warm-up: {warm.requests} requests, {len(warm.errors)} errors, latency ms "
              f"p50 {lat.get('p50')}  p95 {lat.get('p95')}  p99 {lat.get('p99')}  "
              f"max {lat.get('max')}")
    print_report(report)
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
