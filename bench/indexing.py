"""Indexing speed and size: Gongkai's analysis vs jieba's ChineseAnalyzer on plain Whoosh.

    python bench/indexing.py [PATH ...] [--procs N] [--limit N]

Both setups index the same records (parsed once, up front, so that HTML cleaning is not
counted): Gongkai's schema (words with sub-words and character offsets, plus the exact
bigram fields) through ``indexer.index.writer``, and the baseline: title and body as TEXT with
``jieba.analyse.ChineseAnalyzer`` (importing ``jieba.analyse`` is allowed here, never in
the product). Each setup runs in its own process so peak RSS is its own. Prints
documents, seconds, MB/s, docs/s, index size and peak RSS side by side, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def load_records(paths, limit):
    from indexer.ingest import iter_records
    from indexer.record import Record

    records = [r for r in iter_records(paths) if isinstance(r, Record)]
    return records[:limit] if limit else records


def run_ours(records, out: Path, procs: int) -> dict:
    from indexer.index import store
    from indexer.index.writer import index_items

    start = time.perf_counter()
    summary = index_items(out / "ix", iter(records), rebuild=True, procs=procs)
    seconds = time.perf_counter() - start
    return {"documents": summary.documents, "seconds": seconds,
            "bytes": dir_size(store.resolve(out / "ix"))}


def run_jieba(records, out: Path, procs: int) -> dict:
    from jieba.analyse import ChineseAnalyzer
    from whoosh import index
    from whoosh.fields import ID, STORED, TEXT, Schema

    analyzer = ChineseAnalyzer()
    schema = Schema(id=ID(stored=True, unique=True), url=STORED(),
                    title=TEXT(analyzer=analyzer, stored=True),
                    body=TEXT(analyzer=analyzer, stored=True))
    (out / "jieba").mkdir()
    ix = index.create_in(str(out / "jieba"), schema)
    start = time.perf_counter()
    if procs > 1:
        from whoosh.multiproc import MpWriter

        writer = MpWriter(ix, procs=procs, multisegment=True, batchsize=64)
    else:
        writer = ix.writer()
    for r in records:
        writer.add_document(id=r.id, url=r.url, title=r.title, body=r.body)
    writer.commit()
    seconds = time.perf_counter() - start
    with ix.searcher() as s:
        docs = s.doc_count()
    return {"documents": docs, "seconds": seconds, "bytes": dir_size(out / "jieba")}


def child(setup: str, records_file: str, procs: int) -> None:
    with open(records_file, "rb") as f:
        records = pickle.load(f)
    with tempfile.TemporaryDirectory(prefix=f"bench-{setup}-") as tmp:
        fn = run_ours if setup == "ours" else run_jieba
        result = fn(records, Path(tmp), procs)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mb"] = max(own, kids) / 1024
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=[str(ROOT / "index_data" / "sample")])
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="index only the first N records")
    ap.add_argument("--setups", default="ours,jieba")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--records", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.records, args.procs)
        return

    records = load_records(args.paths, args.limit)
    mb = sum(len(r.title.encode()) + len(r.body.encode()) for r in records) / 1e6
    print(f"input: {len(records):,} records, {mb:.1f} MB of title+body text "
          f"from {', '.join(args.paths)}; {args.procs} processes; machine: "
          f"{os.cpu_count()} cores")
    with tempfile.NamedTemporaryFile(suffix=".pickle", delete=False) as f:
        pickle.dump(records, f)
        records_file = f.name
    results = {}
    try:
        for setup in args.setups.split(","):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", setup, "--records", records_file,
                 "--procs", str(args.procs)], capture_output=True, text=True, check=True)
            results[setup] = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(records_file)

    print(f"{'setup':<8}{'docs':>8}{'seconds':>10}{'MB/s':>8}{'docs/s':>9}"
          f"{'index MB':>10}{'peak RSS MB':>13}")
    for setup, r in results.items():
        print(f"{setup:<8}{r['documents']:>8,}{r['seconds']:>10.1f}{mb / r['seconds']:>8.2f}"
              f"{r['documents'] / r['seconds']:>9.1f}{r['bytes'] / 1e6:>10.1f}"
              f"{r['peak_rss_mb']:>13.0f}")
    if {"ours", "jieba"} <= results.keys():
        o, j = results["ours"], results["jieba"]
        print(f"ratio ours/jieba: speed {j['seconds'] / o['seconds']:.2f}x, "
              f"index size {o['bytes'] / j['bytes']:.2f}x, "
              f"peak RSS {o['peak_rss_mb'] / j['peak_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
