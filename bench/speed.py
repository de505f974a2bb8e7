"""Query latency, cold start, index size and serving memory: Gongkai beside reference
setups, on one corpus, in one run: jieba's ChineseAnalyzer on plain Whoosh (``jieba``),
tantivy holding the same information (``tantivy``, bench/tantivy_setup.py) and our own
backend over a Typesense cluster (``typesense``, bench/typesense_setup.py: RAM per node).

    python bench/speed.py [--docs 10000] [--queries 200] [--workdir DIR] [--procs 2]
                          [--setups ours,jieba,tantivy,typesense] [--backend URL]

The corpus is the real development corpus's records (../shared/corpus: records, laws,
work reports, State Council CSV, TCM bureau JSON, Jiangxi texts). When --docs asks for
more documents than there are real ones, the rest are made by sampling real paragraphs
and real metadata (title, agency, year) from random real records; the output says how
many. Both setups index the same documents; then, with each setup's index opened in a
fresh process:

- full results page: top 10 + facet counts (agency, year, classification, doc_type) +
  snippets of the 10 hits, for ~N realistic queries (2-3 words from real titles);
- exact phrases: quoted random 3-8 character substrings of real bodies;
- browsing: empty query filtered by one agency (newest first);
- document page (ours and typesense): ``document(id)`` + ``more_like_this(id, 5)`` (the
  similar documents shown under it) for documents of ours' plain results pages;
- cold start: a new process, open the index, answer one query;
- serving RSS: the peak RSS of the process that answered all queries.

Latencies are medians and p95 over the queries, with ratios setup/ours; the index size
as bytes per byte of text.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"
REAL_SOURCES = [
    "crepd_china_real_estate_policy_db/records_govcn.jsonl",
    "lawrefbook_laws_regulations", "aldohemsn_gov_work_reports", "gccmpd_gov_prc_csv",
    "bucm_beijing_tcm_bureau_json", "chairmenfrog_jiangxi_txt",
]
FACETS = ("agency", "year", "classification", "doc_type")
SIMILAR_LIMIT = 5  # similar documents under a document, as the site shows them


# ---------------------------------------------------------------- corpus and queries

class Corpus:
    """The bench's documents: the real records first, then ones made from sampled real
    paragraphs and metadata. Made afresh, identically, each time it is iterated (seeded), so
    that a million documents are never all in memory at once."""

    def __init__(self, real: list, n_docs: int, seed: int):
        self.real = real[:n_docs]
        self.n_docs = n_docs
        self.seed = seed
        self._pool = real
        self._paragraphs = [p for r in real for p in r.body.split("\n") if len(p) > 40]

    def __len__(self) -> int:
        return self.n_docs

    def __iter__(self):
        from indexer.record import Record

        yield from self.real
        rng = random.Random(self.seed)
        for i in range(len(self.real), self.n_docs):
            meta = rng.choice(self._pool)
            body = "\n".join(rng.choice(self._paragraphs) for _ in range(rng.randint(5, 40)))
            yield Record(title=meta.title, body=body, source=f"synthetic#{i}",
                         url=f"synthetic:{i}", agency=meta.agency,
                         pub_date=meta.pub_date, year=meta.year,
                         classification=meta.classification, doc_type=meta.doc_type)


def build_corpus(n_docs: int, seed: int = 7):
    from indexer.ingest import iter_records
    from indexer.record import Record

    real = [r for r in iter_records([CORPUS / p for p in REAL_SOURCES])
            if isinstance(r, Record) and len(r.body) > 200]
    corpus = Corpus(real, n_docs, seed)
    return corpus, len(corpus.real)


def make_queries(real, n: int, seed: int = 11):
    """Queries from the real documents (the made ones reuse their titles and agencies)."""
    from indexer.chinese.analysis import words

    rng = random.Random(seed)
    plain, phrases = [], []
    while len(plain) < n:
        toks = [w for w, *_ in words(rng.choice(real).title) if len(w) >= 2]
        if len(toks) >= 2:
            plain.append(" ".join(rng.sample(toks, min(len(toks), rng.choice((2, 3))))))
    while len(phrases) < n:
        body = rng.choice(real).body.replace("\n", "")
        size = rng.randint(3, 8)
        if len(body) > size:
            start = rng.randrange(len(body) - size)
            text = body[start:start + size]
            if '"' not in text and text.strip() == text and text:
                phrases.append(text)
    agencies = sorted({d.agency for d in real if d.agency})
    browse = [rng.choice(agencies) for _ in range(min(n, 50))] if agencies else []
    return {"plain": plain, "phrase": phrases, "browse": browse}


# ---------------------------------------------------------------- indexing

MEMORY_MB = None  # --memory: the indexing memory setting (None: Gongkai's default)


def index_ours(docs, path: Path, procs: int) -> float:
    from indexer.index.writer import index_items

    start = time.perf_counter()
    last = [start]

    def progress(summary) -> None:
        now = time.perf_counter()
        if now - last[0] >= 30:  # a line every half minute on long builds
            last[0] = now
            done = summary.added + summary.updated + summary.unchanged
            print(f"  ours: {done:,} of {len(docs):,} documents, "
                  f"{summary.input_bytes / 1e6 / (now - start):.2f} MB/s", file=sys.stderr,
                  flush=True)

    index_items(path, iter(docs), rebuild=True, procs=procs, progress=progress,
                memory_mb=MEMORY_MB)
    return time.perf_counter() - start


def baseline_schema():
    from jieba.analyse import ChineseAnalyzer
    from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema

    ana = ChineseAnalyzer()
    return Schema(id=ID(stored=True, unique=True), url=STORED(),
                  title=TEXT(analyzer=ana, stored=True), body=TEXT(analyzer=ana, stored=True),
                  agency=ID(stored=True, sortable=True),
                  year=NUMERIC(int, stored=True, sortable=True),
                  classification=ID(stored=True, sortable=True),
                  doc_type=ID(stored=True, sortable=True), pub_date=ID(stored=True,
                                                                       sortable=True))


def index_baseline(docs, path: Path, procs: int) -> float:
    from whoosh import index
    from whoosh.multiproc import MpWriter

    path.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(path), baseline_schema())
    start = time.perf_counter()
    w = MpWriter(ix, procs=procs, multisegment=True, batchsize=64) if procs > 1 else ix.writer()
    for d in docs:
        fields = {"id": d.id, "url": d.url, "title": d.title, "body": d.body,
                  "agency": d.agency, "year": d.year, "classification": d.classification,
                  "doc_type": d.doc_type, "pub_date": d.pub_date}
        w.add_document(**{k: v for k, v in fields.items() if v not in ("", None)})
    w.commit()
    return time.perf_counter() - start


# ---------------------------------------------------------------- querying (child)

def ours_runner(path: str):
    """Our backend at *path*: an index directory, or for the typesense setup its URL."""
    from search_app.search import SearchRequest, open_backend, whoosh_backend

    # Measure the work of a page, not the page cache (a repeated request is served from
    # it; the browse queries repeat agencies).
    whoosh_backend.PAGE_CACHE = 0
    whoosh_backend.SIMILAR_CACHE = 0
    backend = open_backend(path)
    shown: list[str] = []  # ids on the plain queries' results pages, for document pages

    def run(kind, q):
        if kind == "browse":
            req = SearchRequest(q="", filters={"agency": [q]}, sort="newest", size=10)
        elif kind == "phrase":
            req = SearchRequest(q=f'"{q}"', size=10)
        else:
            req = SearchRequest(q=q, size=10)
        result = backend.search(req)
        if kind == "plain":
            shown.extend(h.id for h in result.hits[:3])
        return result.total

    def document_page(doc_id: str) -> int:
        backend.document(doc_id)
        return len(backend.more_like_this(doc_id, SIMILAR_LIMIT))

    run.shown, run.document_page = shown, document_page
    return run


def baseline_runner(path: str):
    from whoosh import index, sorting
    from whoosh.qparser import MultifieldParser
    from whoosh.query import Every, Term

    ix = index.open_dir(path)
    searcher = ix.searcher()
    parser = MultifieldParser(["title", "body"], ix.schema)
    facets = {f: sorting.FieldFacet(f) for f in FACETS}

    def run(kind, q):
        if kind == "browse":
            query, sortedby = Every(), sorting.FieldFacet("pub_date", reverse=True)
            results = searcher.search(query, limit=10, filter=Term("agency", q),
                                      groupedby=facets, sortedby=sortedby)
        else:
            query = parser.parse(f'"{q}"' if kind == "phrase" else q)
            results = searcher.search(query, limit=10, groupedby=facets)
        for f in FACETS:
            results.groups(f)
        for hit in results[:10]:
            hit.highlights("body")
        return len(results)
    return run


from bench import typesense_setup  # noqa: E402
from bench.tantivy_setup import index_tantivy, tantivy_runner  # noqa: E402

# name → (build an index from docs: seconds, open one: run(kind, q) → total). typesense
# runs ours_runner itself over its URL: the same requests through the same interface.
SETUPS = {"ours": (index_ours, ours_runner), "jieba": (index_baseline, baseline_runner),
          "tantivy": (index_tantivy, tantivy_runner),
          "typesense": (typesense_setup.index_typesense, ours_runner)}


def child(setup: str, path: str, queries_file: str) -> None:
    queries = json.loads(Path(queries_file).read_text(encoding="utf-8"))
    path = os.environ.get("SPEED_LOCATION", path)
    t0 = time.perf_counter()
    run = SETUPS[setup][1](path)
    first = queries["plain"][0]
    run("plain", first)
    cold = time.perf_counter() - t0
    out = {"cold_start_s": cold, "latency_ms": {}, "totals": {}}
    for kind in ("plain", "phrase", "browse"):
        times, totals = [], []
        for q in queries[kind]:
            t = time.perf_counter()
            totals.append(run(kind, q))
            times.append((time.perf_counter() - t) * 1000)
        out["latency_ms"][kind] = times
        out["totals"][kind] = totals
    if hasattr(run, "document_page"):
        # One visit per document (a reload would be a repeat), at most one per query;
        # the documents ours showed when it ran first, so that both open the same ones.
        ids = queries.get("documents") or list(dict.fromkeys(run.shown))[:len(queries["plain"])]
        times, totals = [], []
        for doc_id in ids:
            t = time.perf_counter()
            totals.append(run.document_page(doc_id))
            times.append((time.perf_counter() - t) * 1000)
        out["latency_ms"]["document"], out["totals"]["document"] = times, totals
        out["documents"] = ids
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def build(setup: str, docs, path: Path, procs: int) -> tuple[float, float, float]:
    """Build *setup*'s index in a process of its own: (seconds, the builder process's
    peak RSS, its largest worker's peak RSS), in MB. getrusage's RUSAGE_CHILDREN is the
    largest of every child ever waited for, so with both setups' workers children of
    this process the second setup printed the first one's figure. Forked, so that
    both start from the same corpus in memory (which both builder figures include:
    the bench holds it; `gongkai index` streams files instead). tantivy indexes in the
    builder's threads, ours in its workers: the two figures together compare them."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)

    def run() -> None:
        seconds = SETUPS[setup][0](docs, path, procs)
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        send.send((seconds, peak_rss_mb(), workers))
        send.close()

    proc = ctx.Process(target=run, name=f"build-{setup}")
    proc.start()
    send.close()
    try:
        result = receive.recv()
    except EOFError:
        result = None
    proc.join()
    if result is None or proc.exitcode:
        sys.exit(f"speed: building the {setup} index failed (exit code {proc.exitcode})")
    return result


def peak_rss_mb() -> float:
    """Peak RSS of this process. VmHWM starts afresh at exec; getrusage's ru_maxrss
    does not: a child started by a parent holding the corpus would report the parent's
    size (both setups showed 1,491 MB at 10k documents)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=10000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--workdir", default="bench/out/speed")
    ap.add_argument("--reuse", action="store_true", help="reuse indexes already in workdir")
    ap.add_argument("--setups", default="ours,jieba",
                    help="which setups to run: ours, jieba (jieba on Whoosh, about an hour at "
                         "100k), tantivy (the reference, pip install '.[bench]'), typesense "
                         "(pip install '.[typesense]')")
    ap.add_argument("--memory", default=None, metavar="MB",
                    help="Gongkai's indexing memory per process (default: its default)")
    ap.add_argument("--backend", metavar="URL",
                    help="typesense://KEY@HOST:PORT,.../COLLECTION: run the typesense setup "
                         "on that cluster (its collection rebuilt); without it, typesense in "
                         "--setups starts a 3-node loopback cluster under --workdir")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return

    global MEMORY_MB
    MEMORY_MB = args.memory
    work = Path(args.workdir) / str(args.docs)
    work.mkdir(parents=True, exist_ok=True)
    docs, n_real = build_corpus(args.docs)
    mb = sum(len(d.title.encode()) + len(d.body.encode()) for d in docs) / 1e6
    print(f"load average: {load_average()}")
    print(f"corpus: {len(docs):,} documents ({n_real:,} real, {len(docs) - n_real:,} made by "
          f"sampling real paragraphs), {mb:.1f} MB of text; {args.procs} processes, "
          f"{os.cpu_count()} cores; Gongkai's indexing memory {memory_setting(args.memory)} MB "
          f"per process")
    queries = make_queries(docs.real, args.queries)
    qfile = work / "queries.json"
    qfile.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")

    chosen = args.setups.split(",") + (["typesense"] if args.backend else [])
    if set(chosen) - set(SETUPS):
        sys.exit(f"speed: unknown setup(s) {sorted(set(chosen) - set(SETUPS))}: "
                 f"choose from {', '.join(SETUPS)}")
    paths = {s: work / s for s in SETUPS if s in chosen}
    nodes = None
    if "typesense" in paths:
        nodes = typesense_setup.Nodes.open(args.backend, work)
        paths["typesense"] = nodes.url
    try:  # a cluster this run started is stopped however the run ends
        compare(args, docs, mb, paths, queries, qfile, nodes)
    finally:
        if nodes is not None:
            nodes.close()
    print(f"load average: {load_average()}")


def compare(args, docs, mb: float, paths: dict, queries: dict, qfile: Path, nodes) -> None:
    """Index every setup, run its queries in a child, print the figures."""
    index_s = {}
    for setup, path in paths.items():
        if setup == "typesense":  # always rebuilt: --reuse is for index directories
            index_s[setup], builder, _ = build(setup, docs, path, args.procs)
            nodes.indexed(index_s[setup], len(docs), mb, builder)
            continue
        if args.reuse and path.exists():
            continue
        if path.is_symlink() or path.exists():
            subprocess.run(["rm", "-rf", str(path), str(path) + ".gens"], check=True)
        index_s[setup], builder, workers = build(setup, docs, path, args.procs)
        size = dir_size(Path(os.path.realpath(path)))
        real = Path(os.path.realpath(path))
        segments = len(list(real.glob("*.seg"))) or len(list(real.glob("*.store")))
        print(f"indexed {setup}: {index_s[setup]:.1f} s, {mb / index_s[setup]:.2f} MB/s, "
              f"{len(docs) / index_s[setup]:.0f} docs/s, index {size / 1e6:.0f} MB "
              f"({size / (mb * 1e6):.2f} bytes per byte of text), "
              f"{segments} segments, largest worker's peak RSS {workers:.0f} MB, "
              f"builder process {builder:.0f} MB")

    results = {}
    for setup, path in paths.items():
        if setup == "typesense":
            nodes.snapshot("before queries")
        # The location in the environment: a backend URL carries its API key, and a
        # command line is in every `ps` listing.
        proc = subprocess.run([sys.executable, __file__, "--child", setup, "-", str(qfile)],
                              capture_output=True, text=True,
                              env={**os.environ, "SPEED_LOCATION": str(path)})
        if proc.returncode:
            sys.exit(f"speed: the {setup} queries failed:\n{proc.stderr[-3000:]}")
        results[setup] = json.loads(proc.stdout.strip().splitlines()[-1])
        if setup == "typesense":
            nodes.snapshot("after queries")
        if setup == "ours" and results[setup].get("documents"):
            # The setups after ours open the documents ours showed (in a file of their
            # own: bench/format_compare.py asks every kind that queries.json holds).
            qfile = qfile.with_name("queries-documents.json")
            qfile.write_text(json.dumps({**queries, "documents": results[setup]["documents"]},
                                        ensure_ascii=False), encoding="utf-8")

    names = list(results)
    head = "".join(f"{n + ' p50':>15}{'p95':>8}" for n in names)
    ratios = "".join(f"{n + '/ours':>16}" for n in names if n != "ours" and "ours" in results)
    print(f"\n{'':<22}{head}{ratios}")
    for kind, label in LABELS.items():
        lat = {n: results[n]["latency_ms"].get(kind) or [] for n in names}
        if not any(lat.values()):
            continue
        row = "".join(f"{statistics.median(v):>15.1f}{pct(v, 95):>8.1f}" if v else f"{'—':>23}"
                      for v in lat.values())
        if lat.get("ours"):
            row += "".join(f"{statistics.median(lat[n]) / statistics.median(lat['ours']):>15.1f}x"
                           if lat[n] else f"{'—':>16}" for n in names if n != "ours")
        print(f"{label:<22}{row}")
    print(f"{'cold start (s)':<22}"
          + "".join(f"{results[n]['cold_start_s']:>15.2f}{'':>8}" for n in names))
    print(f"{'serving peak RSS (MB)':<22}"
          + "".join(f"{results[n]['peak_rss_mb']:>15.0f}{'':>8}" for n in names))
    zero = ", ".join(f"{n} {sum(1 for t in results[n]['totals']['phrase'] if t == 0)}"
                     for n in names)
    print(f"exact phrases with 0 hits (each is a substring of a real body): {zero} of "
          f"{len(results[names[0]]['totals']['phrase'])}")
    for n in names:
        if n != "ours" and "ours" in results:
            print(f"{n}: " + totals_line(results[n]["totals"], results["ours"]["totals"]))
    print_documents(results)
    if nodes is not None:
        print("typesense: cold start is a new client process opening the backend and "
              "answering one query (the cluster stays up: no server start in it); its "
              "serving RSS is that client process's, the nodes' is below")
        nodes.report(len(docs))


def totals_line(got: dict, ours: dict) -> str:
    """Whether a setup's totals equal ours, per query kind (document: its similar ones)."""
    same = {k: sum(x == y for x, y in zip(got[k], v, strict=True))
            for k, v in ours.items() if k in got}
    return "totals equal to ours? " + ", ".join(
        f"{k} {'yes' if n == len(ours[k]) else 'NO'} ({n} of {len(ours[k])})"
        for k, n in same.items())


def print_documents(results: dict) -> None:
    """What the document page row (in the table) measured."""
    for n, o in results.items():
        counts = o["totals"].get("document")
        if counts:
            print(f"document page, {n}: document + {SIMILAR_LIMIT} similar, {len(counts)} "
                  f"documents from ours' results pages, "
                  f"{sum(1 for c in counts if c == SIMILAR_LIMIT)} with {SIMILAR_LIMIT} similar")


def memory_setting(value) -> int:
    from indexer.index.memory import memory_setting as setting

    return setting(value)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


LABELS = {"plain": "results page (ms)", "phrase": "exact phrase (ms)",
          "browse": "browse agency (ms)", "document": "document page (ms)"}


if __name__ == "__main__":
    main()
