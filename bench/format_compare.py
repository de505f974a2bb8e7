"""Query latency of two indexes of the same documents, each read by its own checkout's
code, query by query in alternation (so that both see the same machine load): e.g. the
postings tables before and after a format change.

    python bench/format_compare.py --before-code ../main --before IDX1 --after IDX2 \\
        --queries bench/out/speed/10000/queries.json

Each side is a child process that opens its index once and answers the queries that
bench/speed.py wrote (results pages, exact phrases, browsing) as that script does; per
query both the wall time and the child's CPU time are taken (on a loaded machine the
CPU time is the steadier figure). Prints p50 / p95 of each, side by side, and the load
average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/bench")
from speed import ours_runner
run = ours_runner(sys.argv[2])
print("ready", flush=True)
for line in sys.stdin:
    kind, q = json.loads(line)
    w, c = time.perf_counter(), time.process_time()
    total = run(kind, q)
    print(json.dumps([time.perf_counter() - w, time.process_time() - c, total]), flush=True)
"""


def start(code: Path, index: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(code))
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(code), index], cwd=str(code),
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        raise SystemExit(f"the child for {index} did not start")
    return p


def ask(p: subprocess.Popen, kind: str, q: str) -> list:
    p.stdin.write(json.dumps([kind, q], ensure_ascii=False) + "\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before-code", required=True, help="checkout whose code reads --before")
    ap.add_argument("--before", required=True)
    ap.add_argument("--after-code", default=str(ROOT))
    ap.add_argument("--after", required=True)
    ap.add_argument("--queries", required=True, help="queries.json written by bench/speed.py")
    args = ap.parse_args()
    queries = json.loads(Path(args.queries).read_text(encoding="utf-8"))
    print("load average before:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    sides = {"before": start(Path(args.before_code).resolve(), args.before),
             "after": start(Path(args.after_code).resolve(), args.after)}
    # A first query each, so that opening the index and the first column reads are
    # not counted.
    for p in sides.values():
        ask(p, "plain", queries["plain"][0])
    got = {s: {k: ([], []) for k in queries} for s in sides}
    totals_differ = 0
    for kind, qs in queries.items():
        for i, q in enumerate(qs):
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            answers = {s: ask(sides[s], kind, q) for s in order}
            for s, (wall, cpu, _) in answers.items():
                got[s][kind][0].append(wall * 1000)
                got[s][kind][1].append(cpu * 1000)
            totals_differ += answers["before"][2] != answers["after"][2]
    for p in sides.values():
        p.stdin.close()
        p.wait()
    print("load average after: ", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"\n{'ms, p50 / p95':<20}{'before wall':>16}{'after wall':>16}"
          f"{'before CPU':>16}{'after CPU':>16}")
    for kind in queries:
        cells = []
        for t in (0, 1):
            for s in ("before", "after"):
                v = got[s][kind][t]
                cells.append(f"{statistics.median(v):.1f} / {pct(v, 95):.1f}" if v else "-")
        print(f"{kind:<20}{cells[0]:>16}{cells[1]:>16}{cells[2]:>16}{cells[3]:>16}")
    print(f"queries whose total differs: {totals_differ}")


if __name__ == "__main__":
    main()
