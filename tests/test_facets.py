"""Facet counts and filters against brute-force counts over the fixture records, on a
single-segment index and on a three-segment index with a deleted document."""

from __future__ import annotations

from collections import Counter

import pytest
from test_search import contains, facet_value, index_dir, live_records

from indexer.index.schema import classification_levels
from indexer.regions import region_prefixes
from search_app.search import FACETS, QueryError, SearchRequest, open_backend


@pytest.fixture(scope="module", params=["single", "multi"])
def env(request):
    b = open_backend(index_dir(request.param))
    yield b, live_records(request.param)
    b.close()


def matches_filter(r, name: str, values: list[str]) -> bool:
    if name == "year":
        for v in values:
            lo, _, hi = v.partition("-")
            if r.year and int(lo) <= r.year <= int(hi or lo):
                return True
        return False
    if name == "classification":
        return bool(set(classification_levels(r.classification)) & set(values) - {""})
    if name == "region":  # the province, the province/city, or the whole region
        return bool(set(region_prefixes(r.region)) & set(values))
    return facet_value(r, name) in values


def brute(records, pred, filters: dict[str, list[str]]):
    """(matching records, {facet: Counter}) with each facet ignoring its own filter."""
    base = [r for r in records if pred(r)]

    def ok(r, skip=None):
        return all(matches_filter(r, f, v) for f, v in filters.items() if f != skip)

    hits = [r for r in base if ok(r)]
    counts = {}
    for name in FACETS:
        c = Counter(facet_value(r, name) for r in base if ok(r, name))
        c.pop("", None)
        counts[name] = c
    return hits, counts


def check(backend, records, q, pred, filters, limit=1000):
    res = backend.search(SearchRequest(q=q, filters=filters, size=100, facet_limit=limit,
                                       snippets=False))
    hits, counts = brute(records, pred, filters)
    assert res.total == len(hits)
    if len(hits) <= 100:
        assert {h.id for h in res.hits} == {r.id for r in hits}
    for name in FACETS:
        got = {v.value: v.count for v in res.facets[name].values}
        want = dict(counts[name])
        for chosen in filters.get(name, []) if name == "region" else []:
            # A chosen province is listed with the count of its cities' documents.
            want.setdefault(chosen, sum(c for v, c in counts[name].items()
                                        if v == chosen or v.startswith(chosen + "/")))
        assert got == want, name
        assert res.facets[name].distinct == len(counts[name])
    return res


def test_browse_counts_every_facet(env):
    backend, records = env
    check(backend, records, "", lambda r: True, {})


def test_query_counts(env):
    backend, records = env
    check(backend, records, '"住房"', lambda r: contains(r, "住房"), {})


def test_each_facet_ignores_its_own_filter(env):
    backend, records = env
    filters = {"agency": ["沈阳市房产局", "北京市住房和城乡建设委员会"], "year": ["2020-2023"]}
    res = check(backend, records, '"住房"', lambda r: contains(r, "住房"), filters)
    agency = {v.value: v for v in res.facets["agency"].values}
    assert agency["沈阳市房产局"].selected and agency["北京市住房和城乡建设委员会"].selected
    # Other agencies still show (with their counts under the year filter) so the user
    # can switch.
    assert sum(not v.selected for v in agency.values()) >= 3
    years = {v.value: v for v in res.facets["year"].values}
    assert all(v.selected == (2020 <= int(k) <= 2023) for k, v in years.items())


@pytest.mark.parametrize("filters", [
    {"doc_type": ["通知"]},
    {"doc_type": ["通知", "解读"], "year": ["2023", "2025"]},
    {"year": ["2003-2010"]},
    {"validity": ["有效"]},
    {"classification": ["城乡建设（含住房）", "其他"]},
    {"agency": ["中华人民共和国国务院"], "doc_type": ["条例"]},
    {"region": ["北京市", "浙江省"]},
    {"region": ["浙江省/杭州市"], "doc_type": ["通知"]},
])
def test_filters_combine_or_within_and_across(env, filters):
    backend, records = env
    check(backend, records, "", lambda r: True, filters)


def test_classification_filter_matches_either_level(env):
    backend, records = env
    full = next(r.classification for r in records if "\\" in r.classification
                or "/" in r.classification)
    res = backend.search(SearchRequest(filters={"classification": [full]}))
    norm = classification_levels(full)[0]
    want = sum(classification_levels(r.classification)[0] == norm for r in records)
    assert res.total == want
    # However the levels are separated in the filter value, it is normalised as the
    # indexer normalises them (" / ").
    top, _, rest = norm.partition(" / ")
    for written in (f"{top}\\{rest}", f"{top}>{rest}", f" {top} ／ {rest} "):
        res = backend.search(SearchRequest(filters={"classification": [written]}))
        assert res.total == want, written
        assert [v.value for v in res.facets["classification"].values if v.selected] == [norm]


def test_facet_limit_and_selected_value_always_shown(env):
    backend, records = env
    rare = Counter(r.agency for r in records if r.agency).most_common()[-1][0]
    res = backend.search(SearchRequest(filters={"agency": [rare]}, facet_limit=2))
    values = res.facets["agency"].values
    assert any(v.value == rare and v.selected for v in values)
    assert len([v for v in values if not v.selected]) <= 2
    assert res.facets["agency"].distinct == len({r.agency for r in records if r.agency})
    counts = [v.count for v in values[:2]]
    assert counts == sorted(counts, reverse=True)


def test_bad_year_filter(env):
    backend, _ = env
    for bad in ("abc", "20200", "2020-20x1"):
        with pytest.raises(QueryError) as err:
            backend.search(SearchRequest(filters={"year": [bad]}))
        assert err.value.code == "bad-year"


def test_stats_counts_match_brute_force(env):
    backend, records = env
    stats = backend.stats()
    assert stats["documents"] == len(records)
    for name in FACETS:
        want = Counter(facet_value(r, name) for r in records)
        want.pop("", None)
        assert {v["value"]: v["count"] for v in stats["facets"][name]} == dict(want)
