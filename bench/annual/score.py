"""Annual-report tables: extracted cells against the cells a person read off each report.

    python bench/annual/score.py [--corpus DIR] [--misses]

The expected cells (bench/annual/expected/*.json, see its README) were read from the
pages themselves: HTML cell by cell and on screen, the PDF from page images, the text
renderings digit run by digit run with the tables' arithmetic; they were written before
this scorer ran and by someone who had not read the extractor.

HTML and PDF: the share of cells extracted exactly (an empty cell is null on both sides).
Text renderings, whose cells ran together: every cell Gongkai recovers must be right;
a cell it leaves null is counted apart, as "left null", and among those the ones the
labeller could decide from the text alone (not from another year's report, not by a
judgement) as "decidable, left null".
Pre-2019 reports (prose.json): figures stated in prose, found and right.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from indexer.ingest import records_from_file  # noqa: E402
from indexer.record import Record  # noqa: E402

GROUPS = ("review", "suit_direct", "suit_after_review")


def cells(report: dict) -> dict[str, object]:
    """Every cell of a report as {"requests.new.total": 154, ...}."""
    out = {}
    for row, cols in (report.get("requests") or {}).items():
        for col, v in cols.items():
            out[f"requests.{row}.{col}"] = v
    for g in GROUPS:
        for col, v in (report.get(g) or {}).items():
            out[f"{g}.{col}"] = v
    for item, cols in (report.get("proactive") or {}).items():
        for col, v in cols.items():
            out[f"proactive.{item}.{col}"] = v
    return out


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return abs(float(a) - float(b)) < 1e-9


def _report_of(path: Path) -> Record | None:
    for r in records_from_file(path):
        if isinstance(r, Record) and r.report:
            return r
    return None


def score_file(expected: dict, corpus: Path) -> dict:
    record = _report_of(corpus / expected["source"])
    want = cells(expected)
    got = cells(record.report) if record else {}
    soft = set(expected.get("undecidable_from_text") or [])
    for key in ("decided_by_cross_report", "judgement_cells"):
        extra = expected.get(key) or {}
        soft |= set(extra if isinstance(extra, list) else extra.keys())

    def is_soft(key: str) -> bool:  # labels name cells, or whole rows ("proactive.fees")
        return key in soft or any(key.startswith(s + ".") for s in soft)
    out = {"cells": len(want), "exact": 0, "wrong": [], "left_null": 0,
           "decidable_left_null": [], "recovered": 0,
           "report_year": bool(record) and record.report_year == expected["report_year"],
           "template": bool(record) and record.report.get("template") == str(expected["template"])}
    for key, w in want.items():
        g = got.get(key)
        if _same(g, w):
            out["exact"] += 1
        if g is None:
            if w is not None:
                out["left_null"] += 1
                if not is_soft(key):
                    out["decidable_left_null"].append(key)
        else:
            out["recovered"] += 1
            if not _same(g, w):
                out["wrong"].append((key, g, w))
    return out


def score_prose(corpus: Path) -> dict:
    labels = json.loads((HERE / "expected" / "prose.json").read_text(encoding="utf-8"))
    stated = found = right = extra = 0
    for entry in labels["reports"]:
        source, figures = entry["source"], entry["figures"]
        record = _report_of(corpus / source)
        got = {s["key"]: s["value"] for s in ((record.report or {}).get("stated") or [])} \
            if record else {}
        want = {f["key"]: f["value"] for f in figures}
        stated += len(want)
        for key, value in want.items():
            if key in got:
                found += 1
                right += got[key] == value
        extra += sum(1 for k in got if k not in want)
    return {"stated": stated, "found": found, "right": right, "not_stated_but_given": extra}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.environ.get("GONGKAI_CORPUS", "../shared/corpus"))
    ap.add_argument("--misses", action="store_true", help="list every wrong or missed cell")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    totals = {"html": [0, 0], "pdf": [0, 0], "text": [0, 0, 0, 0, 0]}
    print(f"{'report':<20} {'cells':>5} {'exact':>6} {'recovered':>9} {'wrong':>5} "
          f"{'null':>5} {'decidable null':>14}  year template")
    for path in sorted((HERE / "expected").glob("*.json")):
        if path.name == "prose.json":
            continue
        expected = json.loads(path.read_text(encoding="utf-8"))
        s = score_file(expected, corpus)
        kind = expected["format"]
        if kind == "text":
            t = totals["text"]
            t[0] += s["cells"]
            t[1] += s["recovered"]
            t[2] += len(s["wrong"])
            t[3] += s["left_null"]
            t[4] += len(s["decidable_left_null"])
        else:
            totals[kind][0] += s["cells"]
            totals[kind][1] += s["exact"]
        print(f"{path.stem:<20} {s['cells']:>5} {s['exact']:>6} {s['recovered']:>9} "
              f"{len(s['wrong']):>5} {s['left_null']:>5} {len(s['decidable_left_null']):>14}"
              f"  {'ok' if s['report_year'] else 'WRONG':>4} "
              f"{'ok' if s['template'] else 'WRONG':>8}")
        if args.misses:
            for key, g, w in s["wrong"]:
                print(f"    wrong {key}: got {g}, read {w}")
            for key in s["decidable_left_null"]:
                print(f"    left null {key} (read {expected_value(expected, key)})")
    for kind in ("html", "pdf"):
        n, exact = totals[kind]
        if n:
            print(f"{kind}: {exact}/{n} cells exact = {exact / n:.3f}")
    n, rec, wrong, null, dnull = totals["text"]
    if n:
        print(f"text: {rec} of {n} cells recovered, {rec - wrong} right, {wrong} wrong; "
              f"{null} left null ({dnull} of them decidable from the text alone)")
    p = score_prose(corpus)
    print(f"prose (pre-2019): {p['stated']} figures stated, {p['found']} found, "
          f"{p['right']} right; {p['not_stated_but_given']} given that the labeller did not list")
    return 0


def expected_value(expected: dict, key: str):
    return cells(expected).get(key)


if __name__ == "__main__":
    sys.exit(main())
