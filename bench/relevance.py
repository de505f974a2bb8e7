"""Relevance and exact-phrase recall: Gongkai's index and query language against a
baseline of plain Whoosh (TEXT fields analysed by ``jieba.analyse.ChineseAnalyzer``,
queries through ``whoosh.qparser``), on real policy records.

    python3 bench/relevance.py [--records PATH] [--docs 1000] [--queries 300] [--phrases 400]
                               [--backend URL | --backend cluster]

With ``--backend``, the same documents also go into a Typesense collection (a
``typesense://`` URL, or ``cluster``: a 3-node loopback cluster started for the run and
stopped after it) and the same queries run there: a third column, and its differences
from the embedded index (the scale-out backend must stay within 0.02 on known items and
give identical phrase result sets).

- Known-item search: for sampled documents, 2–4 content words of the title (in title
  order, seeded) form the query; success@10 and MRR@10 of finding that document.
- Exact-phrase recall: random 2–12-character substrings of indexed bodies as quoted
  phrases; recall and precision against brute force over the normalised texts
  (whitespace removed). Gongkai's must be 1.000.

Indexing is the slow part (Whoosh in pure Python), so a seeded sample of the records is
indexed; the output says how many.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The development corpus sits beside the checkout (../shared/corpus).
DEFAULT_RECORDS = (ROOT.parent / "shared" / "corpus" / "crepd_china_real_estate_policy_db"
                   / "records_govcn.jsonl")
SEED = 20261128
TOP = 10


def load_records(path: Path, limit: int, rng: random.Random):
    from indexer.record import Record

    try:
        from indexer.readers.structured import read_records_file

        recs = [r for r in read_records_file(path, None) if isinstance(r, Record)]
    except ImportError:  # pragma: no cover - before the readers existed
        recs = []
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            recs.append(Record(title=row.get("title") or "", body=row.get("full_text") or "",
                               source=str(path), url=row.get("primary_source_url") or "",
                               pub_date=(row.get("publication_date") or "")[:10]))
    # The same text under two URLs is one document (the indexer keeps one, too).
    seen: set = set()
    unique = []
    for r in recs:
        key = (r.title.strip(), r.body.strip())
        if r.body.strip() and key not in seen and r.id not in seen:
            seen.update((key, r.id))
            unique.append(r)
    total = len(unique)
    if limit and len(unique) > limit:
        unique = rng.sample(unique, limit)
    return unique, total


# --- the two setups -------------------------------------------------------------------

def build_ours(path: Path, records) -> None:
    try:  # the production writer (schema formats, meta file, generations)
        from indexer.index.writer import build_index
    except ImportError:  # pragma: no cover - before the writer existed
        build_index = None
    if build_index is not None:
        build_index(path, records)
        return
    from whoosh import index

    from indexer.index.schema import build_schema, record_to_document

    path.mkdir(parents=True)
    ix = index.create_in(str(path), build_schema())
    w = ix.writer(limitmb=256)
    for r in records:
        w.add_document(**record_to_document(r))
    w.commit()


def build_baseline(path: Path, records):
    from jieba.analyse import ChineseAnalyzer  # bench only: loads a TF-IDF table
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema

    analyzer = ChineseAnalyzer()
    schema = Schema(id=ID(stored=True, unique=True),
                    title=TEXT(analyzer=analyzer, field_boost=3.0),
                    body=TEXT(analyzer=analyzer))
    path.mkdir(parents=True)
    ix = index.create_in(str(path), schema)
    w = ix.writer(limitmb=256)
    for r in records:
        w.add_document(id=r.id, title=r.title, body=r.body)
    w.commit()
    return ix


class Ours:
    name = "gongkai"

    def __init__(self, path: Path):
        from search_app.search import open_backend

        self.backend = open_backend(path)

    def ids(self, q: str, limit: int) -> list[str]:
        from search_app.search import QueryError, SearchRequest

        try:
            res = self.backend.search(SearchRequest(q=q, size=limit, snippets=False,
                                                    facet_limit=0))
        except QueryError:
            return []
        return [h.id for h in res.hits]

    def all_ids(self, q: str) -> set[str]:
        from search_app.search import SearchRequest

        out: set[str] = set()
        page = 1
        while True:
            res = self.backend.search(SearchRequest(q=q, page=page, size=100, snippets=False,
                                                    facet_limit=0))
            out |= {h.id for h in res.hits}
            if page * 100 >= min(res.total, 1000):
                return out
            page += 1


class Baseline:
    name = "baseline"

    def __init__(self, ix):
        from whoosh.qparser import MultifieldParser

        self.searcher = ix.searcher()
        self.parser = MultifieldParser(["title", "body"], ix.schema)

    def ids(self, q: str, limit: int) -> list[str]:
        try:
            parsed = self.parser.parse(q)
            return [h["id"] for h in self.searcher.search(parsed, limit=limit)]
        except Exception:  # noqa: BLE001 - qparser/search failures count as misses
            return []

    def all_ids(self, q: str) -> set[str]:
        try:
            parsed = self.parser.parse(q)
            return {h["id"] for h in self.searcher.search(parsed, limit=None)}
        except Exception:  # noqa: BLE001
            return set()


# --- tasks ----------------------------------------------------------------------------

_STOP = set("的了和与及之在是对等为于中关")
_GENERIC = {"关于", "通知", "印发", "若干", "有关", "进一步", "实施", "意见", "办法", "工作", "的通知"}


def known_item_queries(records, n: int, rng: random.Random) -> list[tuple[str, str]]:
    from indexer.chinese.analysis import words

    out = []
    pool = list(records)
    rng.shuffle(pool)
    for r in pool:
        content = [w for w, *_ in words(r.title) if len(w) >= 2 and not w.isdigit()
                   and w not in _GENERIC]
        content = list(dict.fromkeys(content))
        if len(content) < 2:
            continue
        k = rng.randint(2, min(4, len(content)))
        picked = sorted(rng.sample(range(len(content)), k))
        out.append((" ".join(content[i] for i in picked), r.id))
        if len(out) >= n:
            break
    return out


def phrase_samples(records, n: int, rng: random.Random) -> list[str]:
    from indexer.chinese.normalize import normalize

    out = []
    while len(out) < n:
        r = rng.choice(records)
        size = rng.randint(2, 12)
        if len(r.body) < size:
            continue
        start = rng.randrange(0, len(r.body) - size + 1)
        s = r.body[start:start + size]
        flat = "".join(normalize(s).split())
        if len(flat) < 2 or any(q in normalize(s) for q in '"“”‘’《》'):
            continue
        out.append(s)
    return out


def flat_texts(records):
    from indexer.chinese.normalize import normalize

    return [(r.id, "".join(normalize(r.title).split()), "".join(normalize(r.body).split()))
            for r in records]


def run_known_item(engine, queries) -> dict:
    hits, rr = 0, 0.0
    for q, target in queries:
        ranked = engine.ids(q, TOP)
        if target in ranked:
            hits += 1
            rr += 1.0 / (ranked.index(target) + 1)
    n = max(1, len(queries))
    return {"success@10": hits / n, "mrr@10": rr / n}


def run_phrases(engine, phrases, texts) -> dict:
    from indexer.chinese.normalize import normalize

    found = want_total = got_total = exact = 0
    for p in phrases:
        fp = "".join(normalize(p).split())
        want = {i for i, t, b in texts if fp in t or fp in b}
        got = engine.all_ids('"' + p + '"')
        found += len(got & want)
        want_total += len(want)
        got_total += len(got)
        exact += got == want
    return {"recall": found / max(1, want_total), "precision": found / max(1, got_total),
            "exact_sets": exact / max(1, len(phrases))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=Path, default=DEFAULT_RECORDS)
    ap.add_argument("--docs", type=int, default=1000, help="documents indexed (0: all)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--phrases", type=int, default=400)
    ap.add_argument("--backend", metavar="URL", default=None,
                    help="also a Typesense collection: a typesense:// URL, or 'cluster'")
    args = ap.parse_args(argv)

    rng = random.Random(SEED)
    started = time.monotonic()
    records, total = load_records(args.records, args.docs, rng)
    print(f"records: {args.records}")
    print(f"indexed: {len(records)} documents (seeded sample of {total} with a body)")
    tmp = Path(tempfile.mkdtemp(prefix="gongkai-bench-"))
    try:
        t = time.monotonic()
        build_ours(tmp / "ours", records)
        t_ours = time.monotonic() - t
        t = time.monotonic()
        base_ix = build_baseline(tmp / "base", records)
        t_base = time.monotonic() - t
        engines = [Ours(tmp / "ours"), Baseline(base_ix)]
        cluster = None
        if args.backend:
            from indexer.typesense import cluster as ts_cluster
            from indexer.typesense.writer import index_items_typesense

            url = args.backend
            if url == "cluster":
                cluster = ts_cluster.start(tmp / "cluster", nodes=3, timeout=120)
                url = cluster.url.rsplit("/", 1)[0] + "/relevance"
            t = time.monotonic()
            index_items_typesense(url, records, rebuild=True)
            t_ts = time.monotonic() - t
            typesense = Ours(url)
            typesense.name = "typesense"
            engines.append(typesense)
        queries = known_item_queries(records, args.queries, rng)
        phrases = phrase_samples(records, args.phrases, rng)
        texts = flat_texts(records)
        rows = {}
        for e in engines:
            t = time.monotonic()
            ki = run_known_item(e, queries)
            t_ki = time.monotonic() - t
            t = time.monotonic()
            ph = run_phrases(e, phrases, texts)
            t_ph = time.monotonic() - t
            rows[e.name] = (ki, ph, t_ki, t_ph)
        names = [e.name for e in engines]
        print(f"index build: gongkai {t_ours:.1f}s, baseline {t_base:.1f}s"
              + (f", typesense {t_ts:.1f}s" if args.backend else ""))
        print(f"known-item queries: {len(queries)} (2-4 title words), "
              f"phrases: {len(phrases)} (2-12 chars of bodies)")
        print(f"{'':28}" + "".join(f"{n:>10}" for n in names)
              + (f"{'ts-ours':>10}" if args.backend else ""))
        metrics = [("known-item success@10", 0, "success@10"), ("known-item MRR@10", 0, "mrr@10"),
                   ("phrase recall", 1, "recall"), ("phrase precision", 1, "precision"),
                   ("phrase exact result sets", 1, "exact_sets")]
        for label, part, key in metrics:
            vals = [rows[n][part][key] for n in names]
            diff = (f"{vals[2] - vals[0]:>+10.3f}" if args.backend else "")
            print(f"{label:28}" + "".join(f"{v:>10.3f}" for v in vals) + diff)
        for name, (_, _, t_ki, t_ph) in rows.items():
            print(f"query time {name}: known-item {1000 * t_ki / max(1, len(queries)):.1f} ms/q,"
                  f" phrase {1000 * t_ph / max(1, len(phrases)):.1f} ms/q")
        print(f"total {time.monotonic() - started:.0f}s")
        for e in engines:
            if isinstance(e, Ours):
                e.backend.close()
            else:
                e.searcher.close()
        if cluster is not None:
            cluster.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
