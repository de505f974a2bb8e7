"""The tantivy reference setup of bench/speed.py (bench/tantivy_setup.py) answers what
our backend answers on the 208 real fixture records: exact-phrase totals equal to brute
force and to ours, word-query totals equal to ours, browse totals and order, facet counts
of the matches, snippets that mark the phrase. Skipped where tantivy is not installed
(it is a bench dependency: pip install '.[bench]')."""

from __future__ import annotations

import importlib.util
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("tantivy")

from test_search import RECORDS, flat, index_dir  # noqa: E402

from indexer.chinese.analysis import words  # noqa: E402
from indexer.index.schema import classification_levels  # noqa: E402
from search_app.search import SearchRequest, open_backend  # noqa: E402

SETUP_PY = Path(__file__).resolve().parent.parent / "bench" / "tantivy_setup.py"
SEED = 20261202


@pytest.fixture(scope="module")
def setup():
    spec = importlib.util.spec_from_file_location("bench_tantivy_setup", SETUP_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the analysis workers unpickle their function by it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tantivy_run(setup, tmp_path_factory):
    path = tmp_path_factory.mktemp("tantivy") / "ix"
    setup.index_tantivy(RECORDS, path, procs=1)
    return setup.tantivy_runner(str(path))


@pytest.fixture(scope="module")
def ours():
    b = open_backend(index_dir("single"))
    yield b
    b.close()


def phrases(n: int, seed: int = SEED) -> list[str]:
    """Substrings of 2-8 characters of real bodies and titles, as bench/speed.py makes
    them (no '"', no surrounding spaces)."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        r = rng.choice(RECORDS)
        text = (r.title if rng.random() < 0.2 else r.body).replace("\n", "")
        size = rng.randint(2, 8)
        if len(text) <= size:
            continue
        start = rng.randrange(len(text) - size)
        p = text[start:start + size]
        if '"' not in p and p.strip() == p and len(flat(p)) >= 2:
            out.append(p)
    return out


def word_queries(n: int, seed: int = SEED) -> list[str]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        toks = [w for w, *_ in words(rng.choice(RECORDS).title) if len(w) >= 2]
        if len(toks) >= 2:
            out.append(" ".join(rng.sample(toks, min(len(toks), rng.choice((2, 3))))))
    # Words that appear together in no record: totals come from relaxation.
    out += ["住房公积金 火箭发射", "政府信息公开 量子纠缠 深海探测"]
    return out


def containing(p: str) -> list:
    f = flat(p)
    return [r for r in RECORDS if f in flat(r.title) or f in flat(r.body)]


def test_exact_phrase_totals_equal_brute_force_and_ours(tantivy_run, ours):
    qs = phrases(200)
    got = [tantivy_run("phrase", q) for q in qs]
    assert got == [len(containing(q)) for q in qs]
    assert got == [ours.search(SearchRequest(q=f'"{q}"', snippets=False)).total for q in qs]
    assert sum(1 for t in got if t > 1) > 50  # not only phrases found once


def test_word_query_totals_equal_ours(tantivy_run, ours):
    qs = word_queries(120)
    got = [tantivy_run("plain", q) for q in qs]
    assert got == [ours.search(SearchRequest(q=q, snippets=False)).total for q in qs]
    assert got[-2:] == [ours.search(SearchRequest(q=q)).total for q in qs[-2:]]
    assert all(got[-2:])  # relaxed, as ours relaxes


def test_phrase_hits_contain_the_phrase_and_their_snippets_mark_it(tantivy_run):
    checked = 0
    for q in phrases(60, seed=SEED + 1):
        total = tantivy_run("phrase", q)
        ids = {r.id for r in containing(q)}
        assert len(tantivy_run.hits) == min(10, total)
        assert {h["id"] for h in tantivy_run.hits} <= ids
        for h in tantivy_run.hits:
            if flat(q) in flat(next(r.body for r in RECORDS if r.id == h["id"])):
                assert "<mark>" in h["snippet"], (q, h["snippet"])
                checked += 1
    assert checked > 60


def test_facet_counts_are_the_counts_of_the_matching_records(tantivy_run):
    values = {
        "agency": lambda r: r.agency.strip(),
        "year": lambda r: r.year,
        "classification": lambda r: classification_levels(r.classification)[0],
        "doc_type": lambda r: r.doc_type,
    }
    for q in phrases(40, seed=SEED + 2):
        tantivy_run("phrase", q)
        matched = containing(q)
        for name, value in values.items():
            expected = Counter(v for v in map(value, matched) if v not in ("", None))
            buckets = {b["key"] if name != "year" else int(b["key"]): b["doc_count"]
                       for b in tantivy_run.facets[name]["buckets"]}
            assert len(buckets) == min(10, len(expected))
            assert all(expected[k] == c for k, c in buckets.items()), (q, name)


def test_browse_gives_an_agencys_records_newest_first(tantivy_run):
    agencies = Counter(r.agency.strip() for r in RECORDS if r.agency.strip())
    for agency, n in agencies.most_common(8):
        assert tantivy_run("browse", agency) == n
        dates = [h["pub_date"] for h in tantivy_run.hits]
        assert dates == sorted(dates, reverse=True)
        assert {h["agency"] for h in tantivy_run.hits} == {agency}
        agency_facet = {b["key"]: b["doc_count"]
                        for b in tantivy_run.facets["agency"]["buckets"]}
        assert agency_facet[agency] == n  # counted without its own filter


def test_two_analysis_processes_build_the_same_index(setup, tantivy_run, tmp_path):
    setup.index_tantivy(RECORDS, tmp_path / "ix", procs=2)
    run2 = setup.tantivy_runner(str(tmp_path / "ix"))
    qs = phrases(40, seed=SEED + 3) + word_queries(20, seed=SEED + 3)
    kinds = ["phrase"] * 40 + ["plain"] * 22
    assert ([run2(k, q) for k, q in zip(kinds, qs, strict=True)]
            == [tantivy_run(k, q) for k, q in zip(kinds, qs, strict=True)])


def test_duplicates_are_left_out_as_our_index_leaves_them_out(setup, tmp_path):
    import dataclasses

    import tantivy

    from indexer.index.writer import index_items

    base = RECORDS[:30]
    docs = base + [
        base[0],  # the same record again
        dataclasses.replace(base[1], url="https://example.gov.cn/copy", id="copy0000"),
        dataclasses.replace(base[2], body=base[2].body + "（补充说明）"),  # same id, new text
    ]
    index_items(tmp_path / "ours", iter(docs), rebuild=True)
    b = open_backend(tmp_path / "ours")
    ours_ids = {h.id for h in b.search(SearchRequest(q="", size=100)).hits}
    b.close()
    setup.index_tantivy(docs, tmp_path / "tantivy", procs=1)
    searcher = tantivy.Index.open(str(tmp_path / "tantivy")).searcher()
    got = {searcher.doc(a)["id"][0]
           for _, a in searcher.search(tantivy.Query.all_query(), 100).hits}
    assert len(ours_ids) == 31
    assert got == ours_ids


def test_overlapping_bigram_marks_join_into_one(setup):
    assert setup._mark_html("中华人民共和国<b>", [(3, 5), (4, 6)]) == "中华人<mark>民共和</mark>国&lt;b&gt;"


def test_a_phrase_in_a_title_is_marked_whole_in_the_title(tantivy_run):
    rng = random.Random(SEED + 4)
    checked = 0
    for r in rng.sample(RECORDS, 40):
        title = r.title.strip()
        if len(title) < 6 or any(c.isspace() or c in '"&<>' for c in title):
            continue
        q = title[2:6]
        tantivy_run("phrase", q)
        for h in tantivy_run.hits:
            if q in h["title_html"].replace("<mark>", "").replace("</mark>", ""):
                marks = h["title_html"].split("<mark>")[1:]
                assert any(q in m.split("</mark>")[0] for m in marks), (q, h["title_html"])
                checked += 1
    assert checked > 30
