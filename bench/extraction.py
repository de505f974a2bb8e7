"""Extraction accuracy of the HTML reader on the hand-checked fixtures, compared with
trafilatura on the same pages, plus a crash/skip census over the whole raw-page corpus.

    python bench/extraction.py [--corpus DIR]

Per field: share of document fixtures whose field equals the hand-checked value.
Body: recall of the `must` strings (first, middle and last sentences) and leak rate of
the `must_not` strings (page furniture present on that page), for ours and trafilatura.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

from indexer.readers import Skipped
from indexer.readers.html_page import parse_html

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "tests" / "fixtures" / "pages"
# The development corpus sits beside the checkout (../shared/corpus).
CORPUS = ROOT.parent / "shared" / "corpus" / "crepd_china_real_estate_policy_db" / "webpages"
FIELDS = ("title", "agency", "pub_date", "doc_no", "index_no", "classification", "validity",
          "doc_type")


def _trafilatura_body(data: bytes) -> str:
    try:
        import trafilatura

        from indexer.encoding import decode_html
    except ImportError:  # trafilatura needs lxml_html_clean with lxml >= 5.2
        return ""
    return trafilatura.extract(decode_html(data), include_comments=False,
                               include_tables=True, favor_recall=True) or ""


def fixtures() -> None:
    expected = json.loads((PAGES / "expected.json").read_text("utf-8"))
    field_ok = collections.Counter()
    docs = skips_ok = skips = 0
    body = {"ours": [0, 0, 0, 0], "trafilatura": [0, 0, 0, 0]}  # must hit/total, leak/total
    for name, exp in sorted(expected.items()):
        data = (PAGES / name).read_bytes()
        rec = parse_html(data, name, exp["url"])
        if "skip" in exp:
            skips += 1
            skips_ok += isinstance(rec, Skipped) and rec.reason == exp["skip"]
            continue
        docs += 1
        ours = "" if isinstance(rec, Skipped) else rec.body
        for f in FIELDS:
            field_ok[f] += (not isinstance(rec, Skipped)) and getattr(rec, f) == exp[f]
        for who, text in (("ours", ours), ("trafilatura", _trafilatura_body(data))):
            b = body[who]
            b[0] += sum(s in text for s in exp["must"])
            b[1] += len(exp["must"])
            b[2] += sum(s in text for s in exp["must_not"])
            b[3] += len(exp["must_not"])
    print(f"fixtures: {docs} documents, {skips} non-documents")
    for f in FIELDS:
        print(f"  {f:<15} {field_ok[f] / docs:.3f}")
    print(f"  {'skip reason':<15} {skips_ok / skips:.3f}")
    print(f"{'':<13} {'must recall':>12} {'furniture leak':>15}")
    for who, (hit, n, leak, m) in body.items():
        print(f"{who:<13} {hit / n:>12.3f} {leak / m:>15.3f}   ({hit}/{n}, {leak}/{m})")


def corpus(directory: Path) -> None:
    counts: collections.Counter[str] = collections.Counter()
    slowest = (0.0, "")
    pages = sorted(directory.glob("*.html"))
    for path in pages:
        meta = path.with_name(path.name + ".metadata.json")
        url = json.loads(meta.read_text("utf-8")).get("final_url", "") if meta.exists() else ""
        t = time.perf_counter()
        try:
            result = parse_html(path.read_bytes(), str(path), url)
        except Exception as exc:  # the reader promises never to raise; count it if it does
            counts[f"CRASH {type(exc).__name__}"] += 1
            continue
        dt = time.perf_counter() - t
        slowest = max(slowest, (dt, path.name[:16]))
        counts["record" if not isinstance(result, Skipped) else f"skip:{result.reason}"] += 1
    print(f"corpus: {len(pages)} pages in {directory}")
    for key, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<22} {n}")
    print(f"  slowest page: {slowest[1]} {slowest[0]:.2f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    args = ap.parse_args()
    fixtures()
    if args.corpus.is_dir():
        corpus(args.corpus)


if __name__ == "__main__":
    main()
