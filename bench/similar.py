"""Similar documents: the backend's `more_like_this` against Whoosh's own
``Searcher.more_like`` (what the backend used before), on one index, in one run.

    python bench/similar.py [--docs 2652] [--sample 40] [--show 5] [--workdir DIR]

The index is bench/speed.py's (``<workdir>/<docs>/ours``; built the same way when it is
missing): with --docs up to the number of real documents it holds only real ones. The
sample is real documents (never the synthetic ones bench/speed.py adds beyond them),
drawn with a fixed seed. For each, both methods give the top 5 (the site shows 5):

- overlap@5: shared documents / 5, mean and distribution over the sample;
- time per document (p50 / p95), with the load average;
- --show N: the titles of both lists for the first N documents, to judge by eye.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import speed  # noqa: E402 - bench/speed.py: the same corpus and index

TOP = 5
OLD_TERMS = 12  # key terms the Whoosh version asked for
OLD_TEXT_CHARS = 4000  # text it analysed


def whoosh_more_like(searcher, docnum: int, limit: int) -> list[int]:
    """The backend's former method: Whoosh's key terms (Bo1) over the title and the
    start of the body, searched with Whoosh's matchers."""
    stored = searcher.stored_fields(docnum)
    text = (stored.get("title", "") + "\n" + stored.get("body", ""))[:OLD_TEXT_CHARS]
    if not text.strip():
        return []
    results = searcher.more_like(docnum, "body", text=text, top=limit, numterms=OLD_TERMS)
    return [h.docnum for h in results if h.docnum != docnum][:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=2652)
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--workdir", default="bench/out/speed")
    args = ap.parse_args()
    from search_app.search import open_backend

    path = Path(args.workdir) / str(args.docs) / "ours"
    docs, n_real = speed.build_corpus(args.docs)
    if not path.exists():
        took = speed.index_ours(docs, path, args.procs)
        print(f"indexed {len(docs):,} documents in {took:.1f} s")
    print(f"load average: {speed.load_average()}")
    print(f"index: {len(docs):,} documents ({n_real:,} real), sample of {args.sample} real "
          f"documents, top {TOP}")
    real = [d.id for d in docs if not d.source.startswith("synthetic")]
    sample = random.Random(5).sample(real, min(args.sample, len(real)))

    backend = open_backend(path)
    rows = []
    with backend._use() as gen:
        s = gen.searcher
        for doc_id in sample:
            docnum = s.document_number(id=doc_id)
            t = time.perf_counter()
            old = whoosh_more_like(s, docnum, TOP)
            old_ms = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            new = backend.more_like_this(doc_id, TOP)
            new_ms = (time.perf_counter() - t) * 1000
            old_ids = [s.stored_fields(d)["id"] for d in old]
            rows.append((doc_id, old_ids, [h.id for h in new], old_ms, new_ms))
        titles = {}
        for doc_id, old_ids, new_ids, _, _ in rows[:args.show]:
            for i in [doc_id, *old_ids, *new_ids]:
                titles[i] = s.stored_fields(s.document_number(id=i)).get("title", "")
    backend.close()

    overlaps = [len(set(o) & set(n)) / TOP for _, o, n, _, _ in rows]
    old_t = [r[3] for r in rows]
    new_t = [r[4] for r in rows]
    print(f"\noverlap@{TOP} (new vs Whoosh's more_like): mean {statistics.mean(overlaps):.2f}, "
          f"median {statistics.median(overlaps):.2f} over {len(rows)} documents")
    dist = {k: sum(1 for x in overlaps if round(x * TOP) == k) for k in range(TOP, -1, -1)}
    print("documents by shared results: " + ", ".join(f"{k}: {v}" for k, v in dist.items()))
    print(f"empty lists: Whoosh {sum(1 for r in rows if not r[1])}, "
          f"new {sum(1 for r in rows if not r[2])}")
    print(f"\n{'':<24}{'p50':>9}{'p95':>9}")
    print(f"{'Whoosh more_like (ms)':<24}{statistics.median(old_t):>9.1f}"
          f"{speed.pct(old_t, 95):>9.1f}")
    print(f"{'more_like_this (ms)':<24}{statistics.median(new_t):>9.1f}"
          f"{speed.pct(new_t, 95):>9.1f}"
          f"   ({statistics.median(old_t) / statistics.median(new_t):.0f}x at p50)")
    for doc_id, old_ids, new_ids, _, _ in rows[:args.show]:
        print(f"\n# {titles[doc_id][:60]}")
        for k in range(TOP):
            o = titles[old_ids[k]][:34] if k < len(old_ids) else ""
            n = titles[new_ids[k]][:34] if k < len(new_ids) else ""
            mark = "=" if k < len(new_ids) and new_ids[k] in old_ids else " "
            print(f"  old: {o:<36} {mark} new: {n}")
    print(f"\nload average: {speed.load_average()}")


if __name__ == "__main__":
    main()
