"""Facet counts and facet filters from per-document column arrays.

Every facet field is sortable, so Whoosh keeps it as a column. `Columns` reads each
column once per searcher into a numpy array of value codes (one entry per document
number, -1 for "no value"); a filter is then a boolean mask and a facet count is one
``np.bincount`` over the codes of the matching documents, instead of grouping hits.

Region: the facet counts province/city ("浙江省/杭州市", or the province alone for a
provincial body); a region filter matches a document whose province, province/city or
whole region equals it.

Classification: the facet lists the full hierarchical values as indexed (one entry per
distinct value); a classification filter matches a document whose full value or whose
top level equals the filter value, so a link to a top level works too. Filter values are
normalised as the indexer normalises classifications (`classification_levels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.index.columns import coded_column, column_values, numeric_column
from indexer.index.distinct import distinct_inverse
from indexer.index.schema import classification_levels
from search_app.search.query_parser import parse_year
from search_app.search.types import FACETS, FILTERS, Facet, FacetValue, QueryError

# Columns read into code arrays: the filters, and the classification top level.
_CODED = ("agency", "classification", "classification_l1", "doc_type", "validity",
          "region", "region_l1", "region_l2", "report_year", "report_format")


@dataclass
class Coded:
    codes: np.ndarray  # int32 per document, -1 = no value
    values: list[str]  # code → value
    index: dict[str, int]  # value → code


def _leaf_values(reader, name: str, default):
    """Per-document values of column *name* over every segment of *reader*, in
    document-number order (a segment without the column gives *default*s)."""
    out = []
    for leaf, _offset in reader.leaf_readers():
        out.extend(column_values(leaf, name, default))
    return out


def _codes_into(index: dict[str, int], values: list) -> np.ndarray:
    """The code of each of *values* in *index* (new values get the next codes; -1 for
    no value), one extra -1 at the end (for a code array's -1)."""
    codes = np.full(len(values) + 1, -1, dtype=np.int32)
    for i, v in enumerate(values):
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if v in ("", None):
            continue
        c = index.get(v)
        if c is None:
            c = index[v] = len(index)
        codes[i] = c
    return codes


def _code(values: list) -> Coded:
    index: dict[str, int] = {}
    return Coded(_codes_into(index, values)[:-1], list(index), index)


def _coded_column(reader, name: str) -> Coded:
    """`_code` of a column over every segment, each segment's distinct values coded
    once (a million documents have a few thousand agencies), not each document's."""
    index: dict[str, int] = {}
    if name not in reader.schema:  # an index written before the field existed
        return Coded(np.full(reader.doc_count_all(), -1, dtype=np.int32), [], index)
    parts = []
    for leaf, _offset in reader.leaf_readers():
        got = coded_column(leaf, name)
        if got is None:  # a kind of column read value by value
            return _code(_leaf_values(reader, name, ""))
        codes, values = got
        parts.append(_codes_into(index, values)[codes])
    codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    return Coded(codes, list(index), index)


class Columns:
    """Column arrays of one searcher generation (built once, then read-only)."""

    def __init__(self, reader):
        self.size = reader.doc_count_all()
        self.live = np.ones(self.size, dtype=bool)
        if reader.has_deletions():  # all_doc_ids skips deleted documents
            self.live[:] = False
            self.live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True
        self.coded = {name: _coded_column(reader, name) for name in _CODED}
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        years = (np.concatenate([numeric_column(leaf, "year", 0) for leaf in leaves])
                 if leaves else np.zeros(0, dtype=np.int64))
        # A document without a year reads as the column default (0 or 2**32-1).
        self.year = np.where((years > 0) & (years < 10000), years, 0).astype(np.int32)
        distinct, inverse = distinct_inverse(self.year)
        named = [str(y) for y in distinct.tolist() if y]
        index = {v: i for i, v in enumerate(named)}
        remap = np.array([index[str(y)] if y else -1 for y in distinct.tolist()],
                         dtype=np.int32)
        self.coded["year"] = Coded(remap[inverse] if len(remap) else
                                   np.zeros(0, dtype=np.int32), named, index)
        # YYYYMMDD as an int; 0 when the document has no date.
        dates = _coded_column(reader, "pub_date")
        keys = np.array([_date_key(v) for v in dates.values] + [0], dtype=np.int64)
        self.date = keys[dates.codes]

    def value_mask(self, name: str, values) -> np.ndarray:
        coded = self.coded[name]
        wanted = [coded.index[v] for v in values if v in coded.index]
        if not wanted:
            return np.zeros(self.size, dtype=bool)
        return np.isin(coded.codes, np.array(wanted, dtype=np.int32))

    def filter_mask(self, name: str, values: list[str]) -> np.ndarray:
        """Documents with any of *values* for filter *name*."""
        if name == "year":
            mask = np.zeros(self.size, dtype=bool)
            for v in values:
                lo, hi = parse_year(v)
                mask |= (self.year >= lo) & (self.year <= hi)
            return mask
        if name == "classification":
            return (self.value_mask("classification", values)
                    | self.value_mask("classification_l1", values))
        if name == "region":  # a province, a province/city or a whole region
            return (self.value_mask("region", values) | self.value_mask("region_l1", values)
                    | self.value_mask("region_l2", values))
        return self.value_mask(name, values)

    def counts(self, name: str, docs: np.ndarray) -> dict[str, int]:
        """Documents per value of facet *name* among *docs* (a mask, or document
        numbers: a gather of the matches instead of a pass over the collection)."""
        # The region facet counts provinces/cities: counties would scatter it.
        coded = self.coded["region_l2" if name == "region" else name]
        codes = coded.codes[docs]
        codes = codes[codes >= 0]
        if not len(codes):
            return {}
        counts = np.bincount(codes, minlength=len(coded.values))
        return {coded.values[c]: int(counts[c]) for c in np.flatnonzero(counts)}


def _date_key(value) -> int:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    digits = (value or "").replace("-", "")[:8]
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def clean_filters(filters: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """The request's filters without empty values; unknown names are refused and bad
    years raise QueryError('bad-year') here, before any searching."""
    out: dict[str, list[str]] = {}
    for name, values in (filters or {}).items():
        if name not in FILTERS:
            raise QueryError("bad-filter", f"unknown filter {name!r} "
                                           f"(known: {', '.join(FILTERS)})")
        if isinstance(values, str):
            values = [values]
        vals = [str(v).strip() for v in values or [] if str(v).strip()]
        if name == "year":
            for v in vals:
                parse_year(v)
        elif name == "classification":
            # The index holds classifications with their levels joined by " / " whatever
            # the portal wrote (\, /, >): a value typed or linked as written must match.
            vals = [full for full in (classification_levels(v)[0] for v in vals) if full]
        if vals:
            out[name] = vals
    return out


def filter_masks(columns: Columns, filters: dict[str, list[str]]) -> dict[str, np.ndarray]:
    return {name: columns.filter_mask(name, vals) for name, vals in filters.items()}


def combine(masks, base: np.ndarray) -> np.ndarray:
    out = base.copy()
    for m in masks:
        out &= m
    return out


def _selected(name: str, value: str, chosen: list[str]) -> bool:
    if value in chosen:
        return True
    if name == "year":
        for v in chosen:
            try:
                lo, hi = parse_year(v)
            except QueryError:
                continue
            if lo <= int(value) <= hi:
                return True
    return False


def facet(columns: Columns, name: str, docs: np.ndarray, limit: int,
          chosen: list[str]) -> Facet:
    return facet_from_counts(name, columns.counts(name, docs), limit, chosen)


def facet_from_counts(name: str, counts: dict[str, int], limit: int,
                      chosen: list[str], distinct: int | None = None,
                      chosen_counts: dict[str, int] | None = None) -> Facet:
    """Top *limit* values of *counts* (every value's documents) by count (ties: year
    newest first, others by value), then any selected value not among them, so that a
    chosen filter always shows. Shared by every backend. An engine that returns only
    its top values gives *counts* with every value that can be shown (ties included),
    the number of *distinct* values, and the *chosen_counts* of chosen values."""
    if name in ("year", "report_year"):
        order = sorted(counts.items(), key=lambda kv: (-kv[1], -int(kv[0])))
    else:
        order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = order[:max(0, limit)]
    shown = {v for v, _ in top}

    def count_of(v: str) -> int:
        if chosen_counts is not None and v in chosen_counts:
            return chosen_counts[v]
        if name == "region":  # a chosen province counts its cities
            return sum(c for value, c in counts.items() if value == v or value.startswith(v + "/"))
        return counts.get(v, 0)

    extra = [(v, count_of(v)) for v in chosen if v not in shown and
             (name != "year" or v.isdigit())]
    values = [FacetValue(v, c, _selected(name, v, chosen)) for v, c in top + extra]
    return Facet(name=name, values=values,
                 distinct=len(counts) if distinct is None else distinct)


def facets(columns: Columns, query_mask: np.ndarray, masks: dict[str, np.ndarray],
           filters: dict[str, list[str]], limit: int) -> dict[str, Facet]:
    """Each facet counted over the query's documents under every filter but its own."""
    out = {}
    docs_under: dict[tuple, np.ndarray] = {}  # the filters applied → their documents
    for name in FACETS:
        others = tuple(f for f in masks if f != name)
        docs = docs_under.get(others)
        if docs is None:  # facets without a filter of their own share one set
            docs = docs_under[others] = np.flatnonzero(
                combine([masks[f] for f in others], query_mask))
        out[name] = facet(columns, name, docs, limit, filters.get(name, []))
    return out
