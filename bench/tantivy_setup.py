"""A reference setup for bench/speed.py: tantivy (tantivy-py) holding what our index
holds, queried for the same work as our results page.

    pip install '.[bench]'    # tantivy; a bench dependency, never the product's

The index (`index_tantivy`):

- ``title`` / ``body``: our jieba words (``indexer.chinese.analysis.word_occurrences``: rjieba,
  HMM off, sub-words at their parent's position) as pre-tokenised text with positions;
- ``title_exact`` / ``body_exact``: our overlapping character bigrams
  (``indexer.chinese.analysis.bigrams``, whitespace ignored) with positions, for exact phrases;
- ``title_stored`` / ``body_stored``: the texts, stored (bytes: a stored text field would
  also be indexed, and a stored pre-tokenised one stores its tokens);
- ``agency``, ``classification``, ``doc_type`` (untokenised text) and ``year``: fast
  fields, stored; ``pub_date`` (YYYYMMDD, 0 when missing so that newest-first puts
  those last, as ours does) fast and stored; ``id``, ``doc_no``, ``url`` stored.

Facet values are the ones our index writes (``indexer.index.schema.record_to_document``).
tantivy stores no character offsets (ours does, for highlighting words); its document
store is LZ4-compressed blocks.

The queries (`tantivy_runner`): our own query compiler (``compile_query``) turns the
request into a Whoosh query tree, translated clause for clause (`translate`): the same
terms, phrases (Whoosh slop s is tantivy slop s-1), the title boost of 3 (ours is an
index-time field boost) and the bonus clauses as optional (SHOULD) clauses, which tantivy
scores on every match (ours rescores the best 200). A query with no document matching
every word is relaxed as ours is (the most words matched: minimum_number_should_match).
A results page is then:

- top 10 and the exact total (``Searcher.search``, count on);
- four facet counts by one terms aggregation each, in one ``Searcher.aggregate`` call
  (tantivy-py has no collector that does top-k and aggregations in one pass, so the
  query runs twice; Rust tantivy could use a MultiCollector);
- the stored fields of the 10 hits, a snippet of each body and the title highlighted by
  tantivy's SnippetGenerator on the bigram fields, for the bigrams of the marks that our
  highlighter looks for (tantivy marks terms, not whole phrases). For snippets the
  bigram fields' tokenizer is registered as tantivy's ngram(2, 2) over the normalised
  text (``normalize`` keeps lengths, so offsets map back to the stored text); at index
  time it is a whitespace tokenizer over our bigrams joined by spaces, which numbers them
  by position as our exact fields do, without a Python token object per bigram.

Browsing (empty query, one agency, newest first): the agency term, ordered by the
``pub_date`` fast field; the agency facet over every document (a facet is counted under
every filter but its own), the other three under the filter.
"""

from __future__ import annotations

import html
import multiprocessing
import re
import sys
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FACETS = ("agency", "year", "classification", "doc_type")
WORDS, GRAMS = "gk_words", "gk_grams"  # tokenizer names kept in the tantivy schema
TITLE_BOOST = 3.0  # indexer.index.schema.TITLE_BOOST, applied at query time here
HEAP_BYTES = 256_000_000  # the writer's indexing memory, shared by its threads
# SnippetGenerator counts bytes: 480 bytes are 160 Chinese characters, the length of
# our snippets (up to three fragments of ~90 characters with context, or 160 without).
SNIPPET_BYTES = 480
LEAD_CHARS = 160  # no match: the start of the body, as ours shows
_BATCH = 64  # documents per task sent to the analysis workers
_SEP = "\x00"  # joins a document's words for the trip from a worker (never in a word)


def tantivy_schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    for f in ("title", "body"):
        sb.add_text_field(f, tokenizer_name=WORDS, index_option="position")
        sb.add_text_field(f + "_exact", tokenizer_name=GRAMS, index_option="position")
        sb.add_bytes_field(f + "_stored", stored=True)
    for f in ("agency", "classification", "doc_type"):
        sb.add_text_field(f, stored=True, fast=True, tokenizer_name="raw",
                          index_option="basic")
    sb.add_unsigned_field("year", stored=True, indexed=True, fast=True)
    sb.add_unsigned_field("pub_date", stored=True, fast=True)
    sb.add_text_field("doc_no", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_bytes_field("url", stored=True)
    return sb.build()


def _register(ix, for_snippets: bool) -> None:
    """Tokenizers are not saved with a tantivy index: every process names them again.
    Words always come pre-tokenised; bigrams are whitespace-joined at index time and
    re-made from the text by ngram(2, 2) for snippets (see the module docstring)."""
    import tantivy

    ws = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    ix.register_tokenizer(WORDS, ws)
    if for_snippets:
        ix.register_tokenizer(GRAMS, tantivy.TextAnalyzerBuilder(
            tantivy.Tokenizer.ngram(2, 2, False)).build())
    else:
        ix.register_tokenizer(GRAMS, ws)


# ---------------------------------------------------------------- indexing

def _date_key(value: str) -> int:
    digits = (value or "").replace("-", "")[:8]
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def analyse(record) -> dict:
    """Plain, picklable values of one record (run in the analysis workers): our index
    writer's field values, our words with positions, our bigrams joined by spaces."""
    from indexer.chinese.analysis import bigrams, word_occurrences
    from indexer.index.schema import record_to_document

    doc = record_to_document(record)
    out = {"id": doc["id"], "url": doc.get("url", ""), "doc_no": doc.get("doc_no", ""),
           "year": doc.get("year"), "pub_date": _date_key(doc.get("pub_date", ""))}
    for f in ("agency", "classification", "doc_type"):
        out[f] = doc.get(f, "")
    for f in ("title", "body"):
        text = doc.get(f, "")
        words, pos, starts, ends = word_occurrences(text)
        # One string and three arrays cross the process boundary ten times faster than
        # lists of strings and ints.
        joined = _SEP.join(words) if _SEP not in text else words
        out[f] = (text, joined, pos, starts, ends)
        out[f + "_exact"] = " ".join(g for g, _, _ in bigrams(text))
    return out


def as_indexed(docs):
    """*docs* as a rebuild of our index keeps them (indexer/index/writer.py, ``_write``): the
    same text again under one id, or under another id, is a duplicate left out; another
    text under an id already written gets an id from its URL and text."""
    import dataclasses

    from indexer.index.schema import text_hash
    from indexer.record import make_id

    written: dict[str, str] = {}  # id → text hash
    by_text: dict[str, str] = {}  # text hash → id
    for d in docs:
        th = text_hash(d)
        if written.get(d.id, th) != th:
            d = dataclasses.replace(d, id=make_id("", d.url, th))
        if d.id in written or by_text.get(th, d.id) != d.id:
            continue
        written[d.id], by_text[th] = th, d.id
        yield d


def _analyse_batch(records) -> list[dict]:
    return [analyse(r) for r in records]


def document(a: dict):
    """The tantivy document of `analyse`'s values."""
    import tantivy

    d = tantivy.Document()
    d.add_text("id", a["id"])
    for f in ("title", "body"):
        text, words, pos, starts, ends = a[f]
        if isinstance(words, str):
            words = words.split(_SEP) if words else []
        tokens = [tantivy.Token(w, p, s, e) for w, p, s, e in
                  zip(words, pos.tolist(), starts.tolist(), ends.tolist(), strict=True)]
        d.add_pre_tokenized_text(f, tantivy.PreTokenizedString(text, tokens))
        d.add_text(f + "_exact", a[f + "_exact"])
        d.add_bytes(f + "_stored", text.encode("utf-8", "surrogatepass"))
    for f in ("agency", "classification", "doc_type", "doc_no"):
        if a[f]:
            d.add_text(f, a[f])
    if a["year"]:
        d.add_unsigned("year", int(a["year"]))
    d.add_unsigned("pub_date", a["pub_date"])
    if a["url"]:
        d.add_bytes("url", a["url"].encode("utf-8", "surrogatepass"))
    return d


def _batches(docs, size: int):
    it = iter(docs)
    while batch := list(islice(it, size)):
        yield batch


def index_tantivy(docs, path: Path, procs: int) -> float:
    """Index *docs* (records, less the duplicates our index leaves out) into a new
    tantivy index at *path*; seconds taken, from the first analysis to the last merge. With *procs* > 1 our analysis runs in that
    many worker processes and tantivy indexes with that many threads; this process
    makes a Python token object per word and hands documents on, which bounds the
    speed (10k documents: 256 s at load average 8, ours 158 s)."""
    import tantivy

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    ix = tantivy.Index(tantivy_schema(), path=str(path), reuse=False)
    _register(ix, for_snippets=False)
    start = time.perf_counter()
    writer = ix.writer(heap_size=HEAP_BYTES, num_threads=max(1, procs))
    docs = as_indexed(docs)
    if procs > 1:
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            for batch in pool.imap(_analyse_batch, _batches(docs, _BATCH)):
                for a in batch:
                    writer.add_document(document(a))
    else:
        for d in docs:
            writer.add_document(document(analyse(d)))
    writer.commit()
    writer.wait_merging_threads()
    return time.perf_counter() - start


# ---------------------------------------------------------------- queries

def translate(q, schema):
    """A Whoosh query tree from our compiler as the tantivy query matching the same
    documents; a clause on a field this setup does not hold raises ValueError."""
    import tantivy
    from whoosh import query as wq

    Q, occur = tantivy.Query, tantivy.Occur

    def field(name: str) -> str:
        if name not in _FIELDS:
            raise ValueError(f"field {name!r} is not in the tantivy setup")
        return name

    def boosted(out, boost: float):
        return out if boost == 1.0 else Q.boost_query(out, boost)

    def title_boost(name: str, out):
        return Q.boost_query(out, TITLE_BOOST) if name == "title" else out

    def tr(node):
        if isinstance(node, wq.Term):
            f = field(node.fieldname)
            value = int(node.text) if f == "year" else node.text
            return boosted(title_boost(f, Q.term_query(schema, f, value)), node.boost)
        if isinstance(node, wq.Phrase):
            f = field(node.fieldname)
            if len(node.words) == 1:
                inner = Q.term_query(schema, f, node.words[0])
            else:
                inner = Q.phrase_query(schema, f, list(node.words),
                                       slop=max(0, node.slop - 1))
            return boosted(title_boost(f, inner), node.boost)
        if isinstance(node, wq.Prefix):
            f = field(node.fieldname)
            return boosted(Q.regex_query(schema, f, re.escape(node.text) + ".*"), node.boost)
        if isinstance(node, wq.NumericRange):
            f = field(node.fieldname)
            return Q.range_query(schema, f, tantivy.FieldType.Unsigned, node.start,
                                 node.end, include_lower=not node.startexcl,
                                 include_upper=not node.endexcl)
        if isinstance(node, wq.AndNot):
            return Q.boolean_query([(occur.Must, tr(node.a)), (occur.MustNot, tr(node.b))])
        if isinstance(node, wq.Not):
            return Q.boolean_query([(occur.Must, Q.all_query()),
                                    (occur.MustNot, tr(node.query))])
        if isinstance(node, wq.Every):
            return Q.all_query()
        if isinstance(node, wq.And | wq.Or):
            how = occur.Must if isinstance(node, wq.And) else occur.Should
            return boosted(Q.boolean_query([(how, tr(c)) for c in node.subqueries]),
                           node.boost)
        raise ValueError(f"no tantivy translation for {node!r}")

    return tr(q)


_FIELDS = frozenset(("id", "title", "body", "title_exact", "body_exact", "agency",
                     "classification", "doc_type", "year", "pub_date", "doc_no"))


def _facet_aggs(names, limit: int) -> dict:
    return {f: {"terms": {"field": f, "size": limit}} for f in names}


def _mark_html(text: str, spans: list[tuple[int, int]]) -> str:
    """Escaped *text* with *spans* marked; overlapping bigrams (民共, 共和) as one mark."""
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], 0
    for s, e in merged:
        out.append(html.escape(text[pos:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out)


def snippet_html(generator, text: str, field: str, whole: bool = False) -> str:
    """tantivy's best fragment of *text* (all of it when *whole*), its terms marked,
    as HTML of the stored text: tantivy works on ``normalize(text)``, whose character
    offsets are the stored text's, and reports byte offsets, mapped back here."""
    import tantivy

    from indexer.chinese.normalize import normalize

    if generator is None or not text:
        cut = text if whole else text[:LEAD_CHARS]
        return html.escape(cut) + ("…" if len(text) > len(cut) and not whole else "")
    norm = normalize(text)
    doc = tantivy.Document()
    doc.add_text(field, norm)
    snip = generator.snippet_from_doc(doc)
    raw = norm.encode("utf-8", "surrogatepass")
    fr = snip.fragment_range()
    if fr.end <= fr.start:  # no term of the query in this text
        return snippet_html(None, text, field, whole)

    # Characters before the fragment, then offsets inside it (short) decoded alone.
    a = len(raw[:fr.start].decode("utf-8", "surrogatepass"))
    frag = raw[fr.start:fr.end]

    def char(b: int) -> int:
        return len(frag[:b].decode("utf-8", "surrogatepass"))

    b = a + char(len(frag))
    spans = [(char(h.start), char(h.end)) for h in snip.highlighted()]
    return (("…" if a > 0 else "") + _mark_html(text[a:b], spans)
            + ("…" if b < len(text) else ""))


def tantivy_runner(path: str):
    """``run(kind, q)`` for bench/speed.py's query kinds ("plain", "phrase", "browse"),
    doing a whole results page and returning its total."""
    import tantivy

    from indexer.chinese.analysis import phrase_grams
    from search_app.search.query_compile import combine, compile_query

    Q, occur = tantivy.Query, tantivy.Occur
    ix = tantivy.Index.open(str(path))
    _register(ix, for_snippets=True)
    schema = ix.schema
    searcher = ix.searcher()

    def hit(addr, title_gen, body_gen) -> dict:
        d = searcher.doc(addr).to_dict()
        title = d.get("title_stored", [b""])[0].decode("utf-8", "surrogatepass")
        body = d.get("body_stored", [b""])[0].decode("utf-8", "surrogatepass")
        return {"id": d["id"][0], "agency": d.get("agency", [""])[0],
                "year": d.get("year", [None])[0], "pub_date": d.get("pub_date", [0])[0],
                "title_html": snippet_html(title_gen, title, "title_exact", whole=True),
                "snippet": snippet_html(body_gen, body, "body_exact")}

    def generators(marks):
        """SnippetGenerators for the title and the body over the marks' bigrams."""
        terms = sorted({g for m in marks for g in phrase_grams(m) if len(g) == 2})
        if not terms:
            return None, None
        out = []
        for f, size in (("title_exact", 10_000), ("body_exact", SNIPPET_BYTES)):
            q = Q.boolean_query([(occur.Should, Q.term_query(schema, f, t)) for t in terms])
            g = tantivy.SnippetGenerator.create(searcher, q, schema, f)
            g.set_max_num_chars(size)
            out.append(g)
        return tuple(out)

    def page(res, marks) -> int:
        gens = generators(marks)
        # Hits and facets are kept for checking (tests/test_bench_tantivy.py), as our
        # backend returns them.
        run.hits = [hit(addr, *gens) for _, addr in res.hits]
        return res.count

    def relaxed(comp):
        """The documents with the most of the words (and every other requirement), as
        our backend relaxes a query that no document matches in full."""
        units = [translate(uq, schema) for _, uq in comp.units]
        rest = translate(combine(comp.rest), schema) if comp.rest else None
        for k in range(len(units) - 1, 0, -1):
            some = Q.boolean_query([(occur.Should, u) for u in units],
                                   minimum_number_should_match=k)
            q = some if rest is None else Q.boolean_query(
                [(occur.Must, some), (occur.Must, rest)])
            if searcher.search(q, 1).count:  # a limit of 0 panics
                return q
        return None

    def run(kind: str, q: str) -> int:
        if kind == "browse":
            query = Q.term_query(schema, "agency", q)
            res = searcher.search(query, 10, order_by_field="pub_date")
            run.facets = {**searcher.aggregate(Q.all_query(), _facet_aggs(["agency"], 10)),
                          **searcher.aggregate(query, _facet_aggs(FACETS[1:], 10))}
            return page(res, ())
        comp = compile_query(f'"{q}"' if kind == "phrase" else q)
        base = translate(comp.query, schema)

        def scored(base):
            if not comp.bonus:
                return base
            return Q.boolean_query([(occur.Must, base)] + [
                (occur.Should, translate(b, schema)) for b in comp.bonus])

        res = searcher.search(scored(base), 10)
        if not res.count and len(comp.units) >= 2:
            loose = relaxed(comp)
            if loose is not None:
                base = loose
                res = searcher.search(scored(base), 10)
        run.facets = searcher.aggregate(base, _facet_aggs(FACETS, 10))
        return page(res, comp.marks)

    run.hits, run.facets = [], {}
    return run
