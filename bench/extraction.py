"""Extraction accuracy of the page readers, in sample and out of sample, compared with
trafilatura on the same pages, plus a crash/skip census over the whole raw-page corpus.

    python bench/extraction.py [--corpus DIR]
    python bench/extraction.py --development [--misses] [--no-corpus]

In sample: the hand-checked page fixtures (tests/fixtures/pages/expected.json), on which
the rules were written. Out of sample: bench/unseen/expected.json, pages from the
development corpus labelled by reading them and never used to write a rule (see
bench/unseen/README.md); only this column says how the readers do on portals they have
not seen.
With --development the second column is bench/development/expected.json instead: pages
labelled the same way for writing rules (see bench/development/README.md), so an
in-sample figure; the unseen set is then neither read nor scored, and --misses lists the
development pages' misses field by field.

Per field: share of documents whose field equals the hand-read value (compared after
NFKC, without white space; 文号 brackets unified; where a page shows no publication date,
pub_date is expected to be the written date, as the README defines it). Body: recall of the `must` strings and
leak rate of the `must_not` strings (page furniture), for ours and trafilatura.
Documents: share of documents read as documents, and of non-documents skipped.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import time
import unicodedata
from pathlib import Path

from indexer.ingest import records_from_file
from indexer.readers import Skipped
from indexer.readers.html_page import parse_html

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "tests" / "fixtures" / "pages"
UNSEEN = ROOT / "bench" / "unseen" / "expected.json"
DEVELOPMENT = ROOT / "bench" / "development" / "expected.json"
# The development corpus sits beside the checkout (../shared/corpus).
SHARED = ROOT.parent / "shared" / "corpus"
CORPUS = SHARED / "crepd_china_real_estate_policy_db" / "webpages"
FIELDS = ("title", "agency", "region", "pub_date", "written_date", "doc_no", "index_no")
_BRACKETS = str.maketrans("[]［］【】（）()", "〔〕〔〕〔〕〔〕〔〕")


def _same(field: str, got: str, want: str) -> bool:
    def norm(s: str) -> str:
        s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", s or ""))
        return s.translate(_BRACKETS) if field == "doc_no" else s
    return norm(got) == norm(want)


def _trafilatura_body(data: bytes) -> str:
    try:
        import trafilatura

        from indexer.readers.encoding import decode_html
    except ImportError:  # trafilatura needs lxml_html_clean with lxml >= 5.2
        return ""
    return trafilatura.extract(decode_html(data), include_comments=False,
                               include_tables=True, favor_recall=True) or ""


def _fixture_cases():
    for name, exp in sorted(json.loads((PAGES / "expected.json").read_text("utf-8")).items()):
        data = (PAGES / name).read_bytes()
        exp = dict(exp, is_document="skip" not in exp)
        yield name, exp, data, parse_html(data, name, exp["url"])


def _unseen_cases(labels: Path = UNSEEN):
    for name, exp in sorted(json.loads(labels.read_text("utf-8")).items()):
        path = SHARED / exp["corpus_path"]
        results = records_from_file(path)
        data = path.read_bytes() if path.suffix.lower() in (".html", ".htm") else None
        yield name, exp, data, (results[0] if results else Skipped(str(path), "nothing"))


def score(cases, misses: list | None = None) -> dict:
    """Field accuracy, body recall/leak (ours, trafilatura) and recognition over *cases*;
    with *misses*, append (page, what, got, wanted) for each of ours that misses."""
    ok: collections.Counter = collections.Counter()
    have: collections.Counter = collections.Counter()
    docs = docs_ok = nondocs = nondocs_ok = 0
    body = {"ours": [0, 0, 0, 0], "trafilatura": [0, 0, 0, 0]}
    def miss(name, what, got, want):
        if misses is not None:
            misses.append((name, what, got, want))

    for name, exp, data, rec in cases:
        is_record = not isinstance(rec, Skipped)
        if not exp["is_document"]:
            nondocs += 1
            nondocs_ok += not is_record
            if is_record:
                miss(name, "skip", rec.title, exp.get("skip", ""))
            continue
        docs += 1
        docs_ok += is_record
        if not is_record:
            miss(name, "document", rec.reason, "document")
        for f in FIELDS:
            if f not in exp:
                continue
            have[f] += 1
            got = getattr(rec, f, "") if is_record else ""
            want = exp[f]
            if f == "pub_date" and not want:
                # The page shows no publication date: the record's is then "the best
                # other date" (README), the written date.
                want = exp.get("written_date", "")
            good = _same(f, got or "", want)
            ok[f] += good
            if not good:
                miss(name, f, got, want)
        texts = [("ours", rec.body if is_record else "")]
        if data is not None:
            texts.append(("trafilatura", _trafilatura_body(data)))
        for who, text in texts:
            b = body[who]
            b[0] += sum(s in text for s in exp["must"])
            b[1] += len(exp["must"])
            b[2] += sum(s in text for s in exp["must_not"])
            b[3] += len(exp["must_not"])
            if who == "ours":
                for m in exp["must"]:
                    if m not in text:
                        miss(name, "must", "", m)
                for m in exp["must_not"]:
                    if m in text:
                        miss(name, "must_not", m, "")
    return {"fields": {f: (ok[f], have[f]) for f in FIELDS}, "docs": (docs_ok, docs),
            "nondocs": (nondocs_ok, nondocs), "body": body}


def _ratio(pair) -> str:
    hit, n = pair
    return f"{hit / n:.3f} ({hit}/{n})" if n else "-"


def report(development: bool = False, list_misses: bool = False) -> None:
    # Out-of-sample misses are counted, never listed: a rule written from them would
    # make the figure in-sample. Development misses may be listed.
    inside = score(_fixture_cases())
    misses: list = []
    if development:
        outside = score(_unseen_cases(DEVELOPMENT), misses)
        second = "development"
    else:
        outside = score(_unseen_cases())
        second = "out of sample (unseen)"
    print(f"{'':<24} {'in sample (fixtures)':>22} {second:>24}")
    for f in FIELDS:
        print(f"  {f:<22} {_ratio(inside['fields'][f]):>22} {_ratio(outside['fields'][f]):>24}")
    for who in ("ours", "trafilatura"):
        for label, k in (("must recall", 0), ("furniture leak", 2)):
            pairs = [(r["body"][who][k], r["body"][who][k + 1]) for r in (inside, outside)]
            print(f"  {who + ' ' + label:<22} {_ratio(pairs[0]):>22} {_ratio(pairs[1]):>24}")
    print(f"  {'documents recognised':<22} {_ratio(inside['docs']):>22} "
          f"{_ratio(outside['docs']):>24}")
    print(f"  {'non-documents skipped':<22} {_ratio(inside['nondocs']):>22} "
          f"{_ratio(outside['nondocs']):>24}")
    if list_misses:
        for name, what, got, want in misses:
            print(f"  MISS {name} {what}: got {got!r} want {want!r}")


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
    ap.add_argument("--development", action="store_true",
                    help="second column: bench/development (the unseen set is not read)")
    ap.add_argument("--misses", action="store_true",
                    help="with --development: list each development miss")
    ap.add_argument("--no-corpus", action="store_true", help="skip the corpus census")
    args = ap.parse_args()
    if args.misses and not args.development:
        ap.error("--misses lists development misses only; add --development")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report(args.development, args.misses)
    if args.corpus.is_dir() and not args.no_corpus:
        corpus(args.corpus)


if __name__ == "__main__":
    main()
