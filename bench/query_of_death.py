"""Queries of death, timed: what each hostile input of tests/test_query_of_death.py costs
through the backend, through the Flask app and over the wire to a real waitress server.

    python bench/query_of_death.py [--repeat 5] [--index DIR] [--layers backend,flask,waitress]
                                   [--json]

The tests assert that these inputs cost little in work the engine does (characters
parsed, evaluations, posting lists read), which does not depend on the machine; this
script keeps the seconds. Each repetition opens a fresh backend over --index (default:
$GONGKAI_INDEX or index_data/index when it holds an index, else a fresh index of
index_data/sample built in a temporary directory), answers one normal query (columns
loaded), then sends every case once through each layer, each layer on a backend of its
own so that no layer answers from another's cache. Printed per case and layer: the
median wall milliseconds over the repetitions and, for the backend and the Flask app
(answered in this thread), the median CPU milliseconds of the thread; then the worst
medians, and the machine's load average (os.getloadavg) before and after the run with
its CPU count, to read the figures against. Exit status 1 when any request failed (an
exception, or a status of 500 or more); slowness is never a failure here.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402 - bench/load.py: the index and the waitress server

from tests.test_query_of_death import (  # noqa: E402
    DISTINCT_WORDS,
    QUERIES,
    RAW_QUERY_STRINGS,
    WIRE_LIMIT,
)

LAYERS = ("backend", "flask", "waitress")
HTTP_TIMEOUT = 300


def cases() -> list[tuple[str, str | None, str]]:
    """(case id, query or None, query string) of every case: the queries (sent to the
    backend as they are, to the app percent-encoded as a browser would send them), the
    most expensive accepted query, then the raw query strings (app and server only)."""
    out: list[tuple[str, str | None, str]] = [
        (name, q, "q=" + quote(q, safe="")) for name, q, _ in QUERIES]
    words = " ".join(DISTINCT_WORDS)
    out.append(("64-distinct-words-none-matching", words, "q=" + quote(words)))
    out += [(name, None, qs) for name, qs, _ in RAW_QUERY_STRINGS]
    return out


def fresh_backend(index_dir: Path):
    from search_app.search import open_backend
    from search_app.search.types import SearchRequest

    backend = open_backend(index_dir)
    backend.search(SearchRequest(q="住房公积金"))
    return backend


def time_backend(backend, q: str) -> tuple[float, float, bool]:
    from search_app.search.types import QueryError, SearchRequest

    request = SearchRequest(q=q)
    wall, cpu = time.perf_counter(), time.thread_time()
    ok = True
    try:
        backend.search(request)
    except QueryError:
        pass
    except Exception:  # noqa: BLE001 - a failure is a result here
        ok = False
    return time.perf_counter() - wall, time.thread_time() - cpu, ok


def time_flask(app, qs: str) -> tuple[float, float, bool]:
    """The app alone: the WSGI environ is built outside the clock (werkzeug's test
    client spends seconds of its own on a megabyte URL)."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/api/search", query_string=qs).get_environ()
    status: list[str] = []

    def start_response(s, headers, exc_info=None):
        status[:] = [s]

    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        b"".join(app(environ, start_response))
        ok = int(status[0].split()[0]) < 500
    except Exception:  # noqa: BLE001
        ok = False
    return time.perf_counter() - wall, time.thread_time() - cpu, ok


def time_waitress(host: str, port: int, qs: str) -> tuple[float, float | None, bool]:
    target = "/api/search?" + qs
    if len(target) > WIRE_LIMIT:  # as the test sends it: waitress refuses heads over 256 KB
        target = target[:WIRE_LIMIT].rsplit("%", 1)[0]
    wall = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=HTTP_TIMEOUT)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        ok = response.status < 500
    except Exception:  # noqa: BLE001
        ok = False
    finally:
        conn.close()
    return time.perf_counter() - wall, None, ok


def run(index_dir: Path, repeat: int, layers: list[str]) -> dict:
    from search_app import create_app

    all_cases = cases()
    wall: dict[str, dict[str, list[float]]] = {layer: {} for layer in layers}
    cpu: dict[str, dict[str, list[float]]] = {layer: {} for layer in layers}
    failures: list[str] = []

    def record(layer, name, figures):
        w, c, ok = figures
        wall[layer].setdefault(name, []).append(w)
        if c is not None:
            cpu[layer].setdefault(name, []).append(c)
        if not ok:
            failures.append(f"{layer}:{name}")

    for _ in range(repeat):
        for layer in layers:
            backend = fresh_backend(index_dir)
            try:
                if layer == "backend":
                    for name, q, _qs in all_cases:
                        if q is not None:
                            record(layer, name, time_backend(backend, q))
                elif layer == "flask":
                    app = create_app({"BACKEND": backend, "RATELIMIT_ENABLED": False,
                                      "TESTING": True})
                    for name, _q, qs in all_cases:
                        record(layer, name, time_flask(app, qs))
                else:
                    quiet = logging.getLogger("waitress")
                    level = quiet.level
                    with load.serve(load.load_app(backend), threads=4) as (host, port):
                        for name, _q, qs in all_cases:
                            record(layer, name, time_waitress(host, port, qs))
                        # A worker still finishing the last answer when the server
                        # closes logs a harmless EBADF traceback.
                        quiet.setLevel(logging.CRITICAL)
                    quiet.setLevel(level)
            finally:
                backend.close()

    def medians(figures):
        return {name: round(statistics.median(v) * 1000, 2) for name, v in figures.items()}

    return {"wall_ms": {layer: medians(wall[layer]) for layer in layers},
            "cpu_ms": {layer: medians(cpu[layer]) for layer in layers if cpu[layer]},
            "failures": failures}


def cell(ms: float | None, width: int) -> str:
    return f"{'-':>{width}s}" if ms is None else f"{ms:{width}.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="repetitions (medians over them)")
    ap.add_argument("--index", help="index to query (default: see above)")
    ap.add_argument("--layers", default=",".join(LAYERS),
                    help="comma-separated: " + ", ".join(LAYERS))
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    layers = [x for x in args.layers.split(",") if x]
    if not 1 <= args.repeat <= 1000 or not layers or set(layers) - set(LAYERS):
        ap.error(f"--repeat must be 1-1000 and --layers a list of {', '.join(LAYERS)}")

    with tempfile.TemporaryDirectory(prefix="gongkai-qod-") as tmp:
        index_dir = load._index_dir(args.index, Path(tmp))
        before = os.getloadavg()
        started = time.perf_counter()
        report = run(index_dir, args.repeat, layers)
        report["seconds"] = round(time.perf_counter() - started, 1)
        report["loadavg_before"] = [round(x, 2) for x in before]
        report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        report["cpus"] = os.cpu_count()
        report["repeat"] = args.repeat
        report["index"] = str(index_dir)

    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return int(bool(report["failures"]))
    names = [name for name, _q, _qs in cases()]
    header = "".join(f"{layer + ' wall':>16s}" + (f"{layer + ' cpu':>15s}"
                                                  if layer in report["cpu_ms"] else "")
                     for layer in layers)
    print(f"{'case (median ms over ' + str(args.repeat) + ')':52s}{header}")
    for name in names:
        row = ""
        for layer in layers:
            row += cell(report["wall_ms"][layer].get(name), 16)
            if layer in report["cpu_ms"]:
                row += cell(report["cpu_ms"][layer].get(name), 15)
        print(f"{name[:51]:52s}{row}")
    for layer in layers:
        worst = max(report["wall_ms"][layer].items(), key=lambda kv: kv[1])
        print(f"worst {layer}: {worst[0]} {worst[1]:.2f} ms wall")
    print(f"load average {report['loadavg_before']} before, {report['loadavg_after']} after, "
          f"{report['cpus']} CPUs; {report['seconds']} s")
    if report["failures"]:
        print(f"failures: {report['failures']}")
    return int(bool(report["failures"]))


if __name__ == "__main__":
    sys.exit(main())
