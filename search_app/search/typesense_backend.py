"""`TypesenseBackend`: the SearchBackend over a collection on a Typesense cluster.

Everything that is not the engine's is shared with the embedded backend: the query
language and its compiler (`query_compile`), request checks, filters and facet
semantics (`facets`), suggestions (`suggest`), snippets (`snippets`), key terms of
similar documents (`similar`). What is Typesense's:

- `typesense_query` turns the compiled query into q + filter_by (exact matches, no
  typos, no prefixes, no dropped words);
- one multi_search per page: the results with the facets that have no filter of their
  own, and one search per filtered facet without its own filter (facets ignore their
  own filter); every facet value is asked for (FACET_VALUES), so that counts, order and
  the number of distinct values are ours, not the engine's top list;
- ranking is Typesense's text match over our tokens, title fields weighted 3;
- reads are retried through a leader election (`indexer.typesense.connection`).

Where the engine lacks a construct, the answer is still the embedded one's, through
several searches (`typesense_query.Filters`), except for what the README lists.
"""

from __future__ import annotations

import datetime as _dt
import json
import time

from indexer.fields import DOC_NO_RE, normalize_doc_no
from indexer.index.schema import stored_to_dict
from indexer.typesense import connection
from indexer.typesense.documents import encode
from search_app.search import facets as facetlib
from search_app.search import similar, suggest, title_rank
from search_app.search import snippets as sn
from search_app.search import typesense_query as tq
from search_app.search.query_compile import combine, compile_query
from search_app.search.query_parser import parse_year
from search_app.search.types import (
    FACETS,
    MAX_PAGE_SIZE,
    Hit,
    QueryError,
    SearchRequest,
    SearchResult,
    check_request,
)

FACET_FIELDS = {"agency": "agency", "region": "region2", "year": "year",
                "classification": "classification", "doc_type": "doc_type",
                "report_year": "report_year", "report_format": "report_format"}
FACET_VALUES = 10_000  # "every value of a facet", when its top values are not enough
FACET_VALUES_MIN = 120  # values asked for at least (every year of a collection)
MAX_FACET_LIMIT = 100
DF_CACHE = 10_000
N_DOCS_TTL = 30.0
RELAX_MAX_UNITS = 8  # relaxation tries every k-of-n combination of the words
READ_RETRY = 20.0  # seconds a read keeps being retried (an election takes 7-10 s)
OPEN_RETRY = 5.0
SEARCH_FIELDS = "tw,tws,tgs,bw,bws,bgs,dgs,at,rl,cl,key,date,odate,region2"
# A one-character phrase is a prefix of every bigram that starts with it, and the
# engine expands only 4 prefixes unless told (max_candidates).
MAX_PREFIX_TOKENS = 100_000
PAGE_PER = 250  # Typesense's largest page, for fetching the ids a phrase matches
_FILTER_FIELDS = {"agency": "agency", "region": "rl", "classification": "cl",
                  "doc_type": "doc_type", "validity": "validity",
                  "report_year": "report_year", "report_format": "report_format"}


class TypesenseBackend:
    def __init__(self, url: str):
        self.target = connection.parse_url(url)
        self.client = connection.client(self.target)
        self.alias = self.target.collection
        self._docs = self.client.collections[self.alias].documents
        # A cluster that does not answer at all is said at once (a few seconds), not
        # after a search's whole retry budget: reads go on through an election.
        info = connection.retrying(lambda: self.client.collections[self.alias].retrieve(),
                                   "a read", budget=OPEN_RETRY)
        self.collection = info.get("name", self.alias)
        # A collection written before a facet field existed (report_year, report_format)
        # has none of its values: that facet is empty and filtering on it matches nothing,
        # instead of every search failing on an unknown field.
        fields = {f.get("name") for f in info.get("fields", [])}
        self._absent = {n for n in FACETS if FACET_FIELDS[n] not in fields} if fields else set()
        self._facet_names = tuple(n for n in FACETS if n not in self._absent)
        # For title_rank: document frequencies of query words, and the number of
        # documents (refreshed every N_DOCS_TTL s); both only order results.
        self._dfs: dict[str, int] = {}
        self._n_docs = (0, -N_DOCS_TTL)

    def _read(self, call):
        return connection.retrying(call, "a search", budget=READ_RETRY)

    def _multi(self, searches: list[dict]) -> list[dict]:
        common = {"collection": self.alias, "num_typos": 0, "prefix": "false",
                  "max_candidates": MAX_PREFIX_TOKENS,
                  "drop_tokens_threshold": 0, "typo_tokens_threshold": 0,
                  "highlight_fields": "none"}
        default = {"query_by": ",".join(tq.QUERY_BY),
                   "query_by_weights": ",".join(map(str, tq.QUERY_BY_WEIGHTS))}
        body = {"searches": [{**common, **({} if "query_by" in s else default), **s}
                             for s in searches]}
        for search in body["searches"]:
            f = search.pop("filter_by", tq.TRUE)
            if tq.filter_size(f) > tq.MAX_FILTER_TOKENS:
                raise QueryError("too-complex-for-backend",
                                 "the query has too many alternatives for the Typesense "
                                 "backend (its filters take about 100 terms)")
            if f == tq.FALSE:
                f = "date:<0"  # nothing (every document has a date key >= 0)
            if f != tq.TRUE:
                search["filter_by"] = f
        out = self._read(lambda: self.client.multi_search.perform(body, {}))["results"]
        for r in out:
            if "error" in r:
                raise QueryError("backend-refused", f"the search engine refused the query: "
                                 f"{str(r['error'])[:200]}")
        return out

    def _materialize(self, cache: dict):
        def ids_of(leaf: tq.Leaf) -> list[str]:
            if leaf in cache:
                return cache[leaf]
            ids: list[str] = []
            page = 1
            while True:
                r = self._multi([{**tq.materialize_params(leaf), "per_page": PAGE_PER,
                                  "page": page, "include_fields": "key"}])[0]
                if r["found"] > tq.MATERIALIZE_MAX:
                    raise QueryError(
                        "too-broad-for-backend",
                        f"a phrase inside OR or NOT matches {r['found']:,} documents; the "
                        f"Typesense backend takes at most {tq.MATERIALIZE_MAX:,} there")
                ids += [h["document"]["key"] for h in r["hits"]]
                if len(ids) >= r["found"] or not r["hits"]:
                    break
                page += 1
            cache[leaf] = ids
            return ids
        return ids_of

    # --- search --------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        check_request(request)
        filters = facetlib.clean_filters(request.filters)
        limit = min(max(0, int(request.facet_limit)), MAX_FACET_LIMIT)
        comp = compile_query(request.q or "")
        cache: dict = {}
        materialize = self._materialize(cache)
        plan = tq.plan(comp.query, materialize)
        own = {name: tq.FALSE if name in self._absent else _request_filter(name, vals)
               for name, vals in filters.items()}
        rerank, searches, under, filtered, size = self._page_searches(
            request, comp, plan, own, limit)
        results, relaxed = self._multi(searches), False
        if not results[0]["found"] and 2 <= len(comp.units) <= RELAX_MAX_UNITS:
            relaxed_plan = self._relax(comp, own, materialize)
            if relaxed_plan is not None:
                plan, relaxed = relaxed_plan, True
                rerank, searches, under, filtered, size = self._page_searches(
                    request, comp, plan, own, limit)
                results = self._multi(searches)
        start, end = (request.page - 1) * request.size, request.page * request.size
        got = _facet_counts(results[0], size)
        for name, r in zip(filtered, results[1:], strict=True):
            got[name] = _facet_counts(r, size).get(name, ({}, 0, False))
        total = results[0]["found"]
        result_facets = self._facets(plan, under, got, filters, limit)
        rx = sn.match_regex(comp.marks)
        found = results[0]["hits"]
        if rerank:
            found = self._reordered(comp, [h["document"] for h in found], materialize)[start:end]
            docs = self._fetch([d["id"] for d in found])
            found = [{"document": docs[d["id"]], "text_match": d.get("_score", 0.0)}
                     for d in found if d["id"] in docs]
        hits = [_hit(h, rx, request.snippets, comp.word_marks) for h in found]
        suggestions = (self._suggestions(request, comp, plan, filters, own, materialize)
                       if total == 0 else [])
        return SearchResult(request=request, total=total, hits=hits, facets=result_facets,
                            took_ms=(time.perf_counter() - started) * 1000, relaxed=relaxed,
                            suggestions=suggestions)

    def _page_searches(self, request, comp, plan, own: dict, limit: int):
        """(rerank?, the searches of a results page, each facet's filter, the facets
        that have a filter, facet values asked for)."""
        scored = comp.scored and plan.ranked and request.sort == "relevance"
        sort = {"newest": "date:desc", "oldest": "odate:asc"}.get(request.sort, "date:desc")
        end = request.page * request.size
        # Relevance: the engine's best candidates reordered by their titles (title_rank),
        # fetched as ids and titles first; pages past PAGE_PER keep the engine's order,
        # which the reordering (within the first CANDIDATES) leaves as it is.
        rerank = scored and bool(comp.units) and end <= PAGE_PER
        main = {**plan.params(), "filter_by": _and([plan.filter, *own.values()]),
                "sort_by": "_text_match:desc,date:desc" if scored else sort,
                "page": request.page, "per_page": request.size,
                "exclude_fields": SEARCH_FIELDS}
        if rerank:
            main.update(page=1, per_page=max(title_rank.CANDIDATES, end),
                        include_fields="id,title,doc_no")
            main.pop("exclude_fields")
        unfiltered = [n for n in self._facet_names if n not in own]
        size = _facet_size(limit)
        if unfiltered:
            main["facet_by"] = ",".join(FACET_FIELDS[n] for n in unfiltered)
            main["max_facet_values"] = size
        # Each facet is counted under every filter but its own: one search per facet that
        # has a filter; the rest share the results search.
        under = {name: _and([plan.filter] + [f for k, f in own.items() if k != name])
                 for name in self._facet_names}
        filtered = [n for n in self._facet_names if n in own]
        searches = [main] + [{**plan.params(), "filter_by": under[name], "per_page": 0,
                              "facet_by": FACET_FIELDS[name], "max_facet_values": size}
                             for name in filtered]
        return rerank, searches, under, filtered, size

    def _facets(self, plan, under: dict, got: dict, filters: dict, limit: int) -> dict:
        """The facets from the engine's top values: a facet whose values were cut off
        at a count that the last shown value shares is asked for again whole (ties are
        ordered by value, not by the engine), and chosen values it did not return are
        counted on their own."""
        # (A cut year facet is asked again too: whether year 0, "no year", was among the
        # values below the cut decides its number of distinct values.)
        again = [name for name in self._facet_names if name in got and got[name][2] and (
            name == "year" or _tie_cut(got[name][0], limit))]
        if again:
            res = self._multi([{**plan.params(), "filter_by": under[n], "per_page": 0,
                                "facet_by": FACET_FIELDS[n], "max_facet_values": FACET_VALUES}
                               for n in again])
            for name, r in zip(again, res, strict=True):
                got[name] = _facet_counts(r, FACET_VALUES).get(name, ({}, 0, False))
        asks = [(name, v) for name in self._facet_names for v in filters.get(name, [])
                if (name != "year" or v.isdigit()) and name in got
                and (v not in got[name][0] or (name == "region" and got[name][2]))]
        name_counts = self._counts([(plan, _and([under[n], _request_filter(n, [v])]))
                                    for n, v in asks])
        chosen: dict[str, dict[str, int]] = {}
        for (name, v), c in zip(asks, name_counts, strict=True):
            chosen.setdefault(name, {})[v] = c
        out = {}
        for name in FACETS:
            counts, distinct, _ = got.get(name, ({}, 0, False))
            out[name] = facetlib.facet_from_counts(name, counts, limit, filters.get(name, []),
                                                   distinct, chosen.get(name))
        return out

    def _reordered(self, comp, docs: list[dict], materialize) -> list[dict]:
        labels = [label for label, _ in comp.units]
        unknown = [(label, uq) for label, uq in comp.units if label not in self._dfs]
        if unknown:
            pairs = []
            for _, uq in unknown:
                try:
                    unit = tq.plan(uq, materialize)
                    pairs.append((unit, unit.filter))
                except QueryError:  # too common to count by ids: counted as common
                    pairs.append(("*", tq.TRUE))
            if len(self._dfs) > DF_CACHE:
                self._dfs.clear()
            self._dfs.update(zip([label for label, _ in unknown], self._counts(pairs),
                                 strict=True))
        now = time.monotonic()
        if now - self._n_docs[1] > N_DOCS_TTL:
            self._n_docs = (self._count(tq.Plan("*", tq.TRUE, False), []), now)
        doc_nos = tuple(normalize_doc_no(m.group(0)) for label in labels
                        for m in [DOC_NO_RE.search(label)] if m)
        return title_rank.reorder(docs, labels, self._dfs, max(1, self._n_docs[0]), doc_nos)

    def _count(self, plan: tq.Plan, filters, extra: str = tq.TRUE) -> int:
        return self._counts([(plan, _and([plan.filter, extra, *filters]))])[0]

    def _counts(self, pairs: list[tuple]) -> list[int]:
        """Documents found by each (plan or q text, filter)."""
        if not pairs:
            return []
        res = self._multi([{**(p.params() if isinstance(p, tq.Plan) else {"q": p}),
                            "filter_by": f, "per_page": 0} for p, f in pairs])
        return [r["found"] for r in res]

    def _unit_filters(self, comp, materialize) -> list[str] | None:
        try:
            f = tq.Filters(materialize)
            return [f.of(tq.to_tree(uq)) for _, uq in comp.units]
        except QueryError:
            return None  # a word too common to test by id: no relaxation, no suggestion

    def _relax(self, comp, own: dict, materialize) -> tq.Plan | None:
        """When no document has every word: those with the most of them (and the rest
        of the query), as the embedded backend finds them; ranked by date, as the
        engine cannot rank an OR."""
        units = self._unit_filters(comp, materialize)
        if units is None:
            return None
        try:
            rest = tq.plan(combine(comp.rest), materialize) if comp.rest else None
        except QueryError:
            return None
        base_q, base_f = (rest.q, rest.filter) if rest else ("*", tq.TRUE)
        n = len(units)
        for k in range(n - 1, 0, -1):
            some = tq.at_least(units, k)
            if tq.filter_size(_and([base_f, some, *own.values()])) > tq.MAX_FILTER_TOKENS:
                return None  # too many words for the engine's filters: no relaxation
            if self._count(tq.Plan(base_q, base_f, False), own.values(), some):
                return tq.Plan(base_q, _and([base_f, some]), False)
        return None

    def _suggestions(self, req, comp, plan, filters, own, materialize) -> list[dict]:
        choices = list(suggest.filter_choices(filters))
        pairs = [(plan, _and([plan.filter] + [_request_filter(k, v) for k, v in rest.items()]))
                 for _, _, rest in choices]
        units = (self._unit_filters(comp, materialize)
                 if len(comp.units) >= 2 and not comp.rest else None)
        if units:  # nothing has every word: every word but one
            pairs += [("*", _and([u for j, u in enumerate(units) if j != i] + list(own.values())))
                      for i in range(len(units))]
        counts = self._counts(pairs)
        out = [suggest.drop_filter(req, name, v, rest, c)
               for (name, v, rest), c in zip(choices, counts, strict=False)]
        if units:
            labels = [label for label, _ in comp.units]
            out += [suggest.drop_word(req, labels, i, filters, c)
                    for i, c in enumerate(counts[len(choices):])]
        return suggest.best(out)

    # --- documents -----------------------------------------------------------------

    def _fetch(self, ids: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        listed = ",".join(tq._quote(i) for i in ids)
        r = self._multi([{"q": "*", "filter_by": f"id:=[{listed}]", "per_page": len(ids),
                          "exclude_fields": SEARCH_FIELDS}])[0]
        return {h["document"]["id"]: h["document"] for h in r["hits"]}

    def document(self, doc_id: str, q: str = "") -> dict | None:
        try:
            found = self._fetch([doc_id]).get(doc_id)
        except QueryError:  # an id the filter syntax cannot hold is no document
            return None
        if found is None:
            return None
        return sn.marked_document(_stored(found), q)

    def report_documents(self) -> list[dict]:
        """Every annual report's stored fields without its body (`search.reports`)."""
        from indexer.annual import FREE_TEXT

        if "report_format" in self._absent:
            return []
        kinds = ",".join(tq._quote(v) for v in ("2019", "2021", FREE_TEXT))
        lines = self._read(lambda: self._docs.export(
            {"filter_by": f"report_format:=[{kinds}]", "exclude_fields": SEARCH_FIELDS + ",body"}))
        out = []
        for line in lines.splitlines():
            if line.strip():
                d = _stored(json.loads(line))
                d.pop("body", None)
                out.append(d)
        return out

    def more_like_this(self, doc_id: str, limit: int = 5) -> list[Hit]:
        """Documents sharing the key terms (`similar.choose_terms`, document frequencies
        from the engine) of *doc_id*; the engine drops the least telling terms until
        enough documents match."""
        limit = max(1, min(int(limit), MAX_PAGE_SIZE))
        try:
            found = self._fetch([doc_id]).get(doc_id)
        except QueryError:
            return []
        if found is None:
            return []
        n = self._count(tq.Plan("*", tq.TRUE, False), [])

        def frequencies(words):
            return self._counts([("*", f"bw:=[{encode(w)}]") for w in words])

        text = similar.analysed_text(found.get("title", ""), found.get("body", ""))
        terms = similar.choose_terms(n, frequencies, text)
        if not terms:
            return []
        exclude = f"key:!=[{tq._quote(doc_id)}]"
        r = self._multi([{"q": " ".join(encode(w) for w, _ in terms), "query_by": "bw",
                          "query_by_weights": "1", "filter_by": exclude,
                          "drop_tokens_threshold": limit, "per_page": limit,
                          "exclude_fields": SEARCH_FIELDS}])[0]
        hits = r["hits"]
        if len(hits) < limit:
            # The engine stops dropping terms once some documents match them all; any
            # document with any key term is similar too (as in the embedded OR), newest
            # first after those.
            seen = [doc_id] + [h["document"]["id"] for h in hits]
            anyterm = f"bw:=[{','.join(tq._quote(encode(w)) for w, _ in terms)}]"
            more = self._multi([{"q": "*", "filter_by": _and([
                anyterm, f"key:!=[{','.join(tq._quote(i) for i in seen)}]"]),
                "sort_by": "date:desc", "per_page": limit - len(hits),
                "exclude_fields": SEARCH_FIELDS}])[0]
            hits += more["hits"]
        return [_hit(h, None, True) for h in hits]

    def stats(self) -> dict:
        r = self._multi([{"q": "*", "per_page": 0, "max_facet_values": FACET_VALUES,
                          "facet_by": ",".join(FACET_FIELDS[n] for n in self._facet_names)}])[0]
        counts = _facet_counts(r, FACET_VALUES)
        out = {"documents": int(r["found"]), "facets": {}}
        for name in FACETS:
            out["facets"][name] = [{"value": v, "count": c} for v, c in sorted(
                counts.get(name, ({},))[0].items(), key=lambda kv: (-kv[1], kv[0]))]
        from indexer.typesense.writer import collection_info

        built = collection_info(self.client, self.alias, self.collection).get("built")
        out["last_modified"] = (_dt.datetime.fromisoformat(built.replace("Z", "+00:00"))
                                .isoformat(timespec="seconds") if built else None)
        out["backend"] = self.target.display
        return out

    def close(self) -> None:
        pass  # the client holds no resources beyond its HTTP connections


# --- helpers ---------------------------------------------------------------------------

def _and(parts: list[str]) -> str:
    return tq._join(list(parts), "&&")


def _or(parts: list[str]) -> str:
    return tq._join(list(parts), "||")


def _request_filter(name: str, values: list[str]) -> str:
    """A facet filter of the request (values of one facet combine with OR)."""
    if name == "year":
        ranges = [parse_year(v) for v in values]
        return _or([f"year:[{lo}..{hi}]" for lo, hi in ranges])
    return f"{_FILTER_FIELDS[name]}:=[{','.join(tq._quote(v) for v in values)}]"


_FIELD_FACET = {v: k for k, v in FACET_FIELDS.items()}


def _facet_size(limit: int) -> int:
    """Values asked of the engine per facet: enough for the shown ones and their ties
    as a rule, and every year."""
    return max(2 * limit + 10, FACET_VALUES_MIN)


def _tie_cut(counts: dict[str, int], limit: int) -> bool:
    """The engine's list was cut within the counts that the last shown value has."""
    values = list(counts.values())
    return bool(values) and (len(values) <= limit or values[min(limit, len(values)) - 1]
                             == values[-1])


def _facet_counts(result: dict, asked: int) -> dict[str, tuple[dict[str, int], int, bool]]:
    """facet → (value → count, best first; number of distinct values; whether the
    engine cut the list off). Year 0 means no year: never a value."""
    out = {}
    for fc in result.get("facet_counts", []):
        name = _FIELD_FACET.get(fc["field_name"])
        if name is None:
            continue
        counts = {c["value"]: c["count"] for c in fc["counts"] if c["value"] not in ("", "0")}
        cut = len(fc["counts"]) >= asked
        distinct = fc.get("stats", {}).get("total_values", len(counts))
        if not cut or len(counts) < len(fc["counts"]):  # a 0 year among them
            distinct = len(counts) if not cut else distinct - 1
        out[name] = (counts, distinct, cut)
    return out


def _stored(doc: dict) -> dict:
    d = stored_to_dict(doc)
    d["year"] = d["year"] or None  # 0 in the engine: a facet value needs one
    return d


def _hit(h: dict, rx, with_snippet: bool, whole_words=()) -> Hit:
    d = _stored(h["document"])
    snippet_html = snippet_text = ""
    if with_snippet:
        snippet_html, snippet_text = sn.snippet(d["body"], rx, whole_words=whole_words)
    return Hit(id=d["id"], title=d["title"], agency=d["agency"], pub_date=d["pub_date"],
               written_date=d["written_date"], region=d["region"], year=d["year"],
               classification=d["classification"], doc_type=d["doc_type"],
               doc_no=d["doc_no"], url=d["url"], source=d["source"],
               score=float(h.get("text_match") or 0.0), snippet=snippet_html,
               snippet_text=snippet_text, title_html=sn.highlight(d["title"], rx, whole_words))
