"""The numpy postings tables (indexer.index.postings_tables, indexer.index.codec, indexer.index.segment_writer):
they hold exactly what Whoosh's own writer would have filed, survive merges, deletions
and segments written by plain Whoosh, and stay readable by Whoosh itself."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from test_search import RECORDS, build, index_dir
from whoosh import index as whoosh_index
from whoosh import query as wq

from indexer.index import postings_tables, postings_tables_build
from indexer.index.codec import CombinedTermsReader, TablesSegment
from indexer.index.schema import build_schema, record_to_document
from indexer.index.segment_writer import TablesWriter
from search_app.search import SearchRequest, open_backend

TABLE_FIELDS = ("title", "title_exact", "body", "body_exact")


def postings_by_id(path: Path, field: str, every: int = 1) -> dict:
    """term → {document id: (weight, decoded value)} for every *every*-th term of
    *field*, read through Whoosh's reader API (live documents only)."""
    ix = whoosh_index.open_dir(str(path))
    out = {}
    with ix.searcher() as s:
        r = s.reader()
        fmt = s.schema[field].format
        decode = fmt.decode_characters if fmt.supports("characters") else fmt.decode_positions
        ids = {d: s.stored_fields(d)["id"] for d in r.all_doc_ids()}
        for n, text in enumerate(r.lexicon(field)):
            if n % every:
                continue
            m = r.postings(field, text)
            got = {}
            while m.is_active():
                if m.id() in ids:
                    got[ids[m.id()]] = (m.weight(), list(map(tuple, decode(m.value())))
                                        if fmt.supports("characters") else decode(m.value()))
                m.next()
            if got:
                out[text] = got
    return out


def test_gram_keys_sort_in_the_utf8_byte_order_of_their_terms():
    rng = random.Random(5)
    alphabet = "人民政府〇ＡＢａ1２ 𠀀𪚥é\x01" + "".join(chr(rng.randrange(0x20, 0x2FFFF))
                                                  for _ in range(200))
    terms = {rng.choice(alphabet) + rng.choice(["", rng.choice(alphabet)]) for _ in range(3000)}
    terms = [t for t in terms if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]
    by_key = sorted(terms, key=postings_tables.gram_key)
    assert by_key == sorted(terms, key=lambda t: t.encode("utf-8"))
    assert all(postings_tables.gram_text(postings_tables.gram_key(t)) == t for t in terms)


def test_gram_keys_are_the_bigram_positions_of_the_exact_fields():
    from indexer.chinese.analysis import bigram_positions, exact_keys

    text = "关于 印发《人民政府\n信息公开》的通知 2021年"
    keys = exact_keys(text)
    expected = {}
    for gram, positions in bigram_positions(text).items():
        for p in positions:
            expected[p] = gram
    assert [postings_tables.gram_text(int(k)) for k in keys] == [expected[p] for p in range(len(keys))]


@pytest.mark.parametrize("field", TABLE_FIELDS)
def test_tables_hold_exactly_the_postings_whoosh_itself_would_write(field):
    every = 1 if field.startswith("title") else 5
    ours = postings_by_id(index_dir("single"), field, every)
    plain = postings_by_id(index_dir("plain"), field, every)
    assert ours.keys() == plain.keys()
    assert ours == plain


def test_the_tables_are_what_the_search_backend_reads():
    ix = whoosh_index.open_dir(str(index_dir("single")))
    with ix.searcher() as s:
        for leaf, _ in s.leaf_searchers():
            terms = leaf.reader()._terms
            assert isinstance(terms, CombinedTermsReader)
            assert set(terms.tables) == set(TABLE_FIELDS)
            # Nothing of these fields is left in Whoosh's own term files.
            assert not [f for f, _ in terms.w3.terms() if f in TABLE_FIELDS]


def test_the_tables_file_is_kept_beside_the_compound_segment_file_not_inside_it():
    ix = whoosh_index.open_dir(str(index_dir("single")))
    segments = ix._segments()
    assert all(isinstance(seg, TablesSegment) and seg.is_compound() for seg in segments)
    names = {p.name for p in index_dir("single").iterdir()}
    for seg in segments:
        assert seg.make_filename(postings_tables.EXT) in names
        assert seg.make_filename(postings_tables.EXT) not in seg.list_files(ix.storage)


def test_merging_segments_keeps_every_posting_of_the_live_documents(tmp_path):
    deleted = {RECORDS[3].id, RECORDS[17].id}
    path = build(tmp_path / "merged", RECORDS, segments=4, delete=tuple(deleted))
    ix = whoosh_index.open_dir(str(path))
    TablesWriter(ix).commit(optimize=True)
    assert len(ix._segments()) == 1
    fresh = build(tmp_path / "fresh", [r for r in RECORDS if r.id not in deleted])
    for field in TABLE_FIELDS:
        every = 1 if field.startswith("title") else 7
        assert postings_by_id(path, field, every) == postings_by_id(fresh, field, every)


def per_document(path: Path) -> dict:
    """id → (stored fields, every column value, every field length) of the live
    documents, and the index's total field lengths."""
    from indexer.index.columns import column_values

    ix = whoosh_index.open_dir(str(path))
    with ix.searcher() as s:
        r = s.reader()
        names = s.schema.names()
        cols = {f: [] for f in names if s.schema[f].column_type}
        for leaf, _ in r.leaf_readers():  # (Whoosh's own column reader stops at the
            for f, values in cols.items():  # last document that has a value)
                values.extend(column_values(leaf, f, None))
        docs = {}
        for d in r.all_doc_ids():
            stored = s.stored_fields(d)
            docs[stored["id"]] = (stored, {f: v[d] for f, v in cols.items()},
                                  {f: r.doc_field_length(d, f) for f in names})
        totals = {f: r.field_length(f) for f in names}
    return {"docs": docs, "totals": totals}


def test_a_merge_keeps_stored_fields_columns_and_lengths_as_whoosh_merges_them(tmp_path):
    deleted = (RECORDS[5].id, RECORDS[40].id)
    ours = build(tmp_path / "ours", RECORDS, segments=4, delete=deleted)
    theirs = build(tmp_path / "theirs", RECORDS, segments=4, delete=deleted)
    before = per_document(ours)
    TablesWriter(whoosh_index.open_dir(str(ours))).commit(optimize=True)
    whoosh_index.open_dir(str(theirs)).writer().commit(optimize=True)  # Whoosh's own
    merged = per_document(ours)
    assert merged == per_document(theirs)
    # (A column a segment lacked reads as None before and as "" after, in both merges.)
    assert {k: (v[0], v[2]) for k, v in merged["docs"].items()} == \
        {k: (v[0], v[2]) for k, v in before["docs"].items()}
    assert len(merged["docs"]) == len(RECORDS) - 2


def test_columns_without_postings_are_read_but_never_indexed():
    ix = whoosh_index.open_dir(str(index_dir("single")))
    with ix.searcher() as s:
        r = s.reader()
        for field in ("source", "content_hash", "text_hash", "pub_date", "validity"):
            assert field not in r.indexed_field_names() and r.has_column(field), field
        assert "id" in r.indexed_field_names()
        values = {r.column_reader("source")[d] for d in r.all_doc_ids()}
        assert values == {rec.source for rec in RECORDS}


def test_segments_written_by_plain_whoosh_merge_into_the_tables(tmp_path):
    path = tmp_path / "mixed"
    path.mkdir()
    ix = whoosh_index.create_in(str(path), build_schema())
    w = ix.writer()  # plain Whoosh: table fields filed in Whoosh's own postings
    for r in RECORDS[:20]:
        w.add_document(**record_to_document(r))
    w.commit()
    w = TablesWriter(ix)
    for r in RECORDS[20:]:
        w.add_document(**record_to_document(r))
    w.commit(optimize=True)
    with ix.searcher() as s:
        (leaf, _), = s.leaf_searchers()
        assert set(leaf.reader()._terms.tables) == set(TABLE_FIELDS)
    fresh = build(tmp_path / "fresh", RECORDS)
    for field in ("title", "body_exact"):
        assert postings_by_id(path, field, 3) == postings_by_id(fresh, field, 3)


def test_whoosh_queries_still_work_on_table_fields():
    ix = whoosh_index.open_dir(str(index_dir("single")))
    plain = whoosh_index.open_dir(str(index_dir("plain")))
    queries = [wq.Term("body", "政府"), wq.Phrase("body_exact", ["人民", "民政", "政府"]),
               wq.Phrase("title", ["关于", "印发"]), wq.Prefix("body_exact", "公")]
    with ix.searcher() as s, plain.searcher() as p:
        for q in queries:
            ours = {h["id"]: round(h.score, 6) for h in s.search(q, limit=None)}
            theirs = {h["id"]: round(h.score, 6) for h in p.search(q, limit=None)}
            assert ours and ours == theirs, q


QUERIES = ["人民政府", '"人民政府"', "民政", "住房公积金", "title:通知", "政府 -通知", '"政"',
           "公积金 OR 社保", '"应急管理" "安全生产"', "关于印发", '"信息公开"', "规划 2020"]


def sampled_queries(seed: int = 11) -> list[str]:
    """QUERIES and, from 25 sampled records, a quoted and an unquoted piece of body."""
    rng = random.Random(seed)
    queries = list(QUERIES)
    for r in rng.sample(RECORDS, 25):
        if len(r.body) > 30:
            i = rng.randrange(len(r.body) - 12)
            queries.append('"' + r.body[i:i + rng.randint(2, 9)].replace('"', "") + '"')
            queries.append(r.body[i:i + rng.randint(3, 12)].replace('"', ""))
    return queries


def answers(path: Path, queries: list[str], sort: str = "relevance") -> list:
    backend = open_backend(path)
    try:
        out = []
        for q in queries:
            r = backend.search(SearchRequest(q=q, sort=sort))
            out.append((q, r.total, [(h.id, h.score, h.snippet) for h in r.hits]))
        return out
    finally:
        backend.close()


def test_phrase_positions_read_per_candidate_equal_the_whole_terms_positions(monkeypatch):
    from search_app.search import evaluate

    queries = sampled_queries(seed=3)
    monkeypatch.setattr(evaluate, "RESTRICTED_SHARE", 10 ** 12)  # always the candidates'
    per_candidate = answers(index_dir("multi"), queries)
    monkeypatch.setattr(evaluate, "RESTRICTED_SHARE", 0)  # never
    whole = answers(index_dir("multi"), queries)
    assert per_candidate == whole
    assert sum(total for _, total, _ in whole if total) > 100


def test_terms_taken_inside_their_ands_candidates_answer_as_taken_whole(monkeypatch):
    from search_app.search import evaluate

    queries = sampled_queries(seed=4)
    monkeypatch.setattr(evaluate, "WITHIN_SHARE", 0)  # always inside the candidates
    inside = answers(index_dir("multi"), queries)
    monkeypatch.setattr(evaluate, "WITHIN_SHARE", 10 ** 12)  # never
    whole = answers(index_dir("multi"), queries)
    assert inside == whole
    assert sum(total for _, total, _ in whole if total) > 100


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_the_backend_answers_the_same_from_tables_as_from_whooshs_own_postings(sort):
    queries = sampled_queries()
    ours, plain = open_backend(index_dir("single")), open_backend(index_dir("plain"))
    try:
        for q in queries:
            a = ours.search(SearchRequest(q=q, sort=sort))
            b = plain.search(SearchRequest(q=q, sort=sort))
            assert a.total == b.total, q
            assert [(h.id, h.snippet, h.title_html) for h in a.hits] == \
                   [(h.id, h.snippet, h.title_html) for h in b.hits], q
            assert a.facets == b.facets, q
    finally:
        ours.close()
        plain.close()


def test_a_reader_keeps_answering_after_a_merge_deletes_the_files_it_opened(tmp_path):
    path = build(tmp_path / "ix", RECORDS, segments=3)
    ix = whoosh_index.open_dir(str(path))
    q = wq.Phrase("body_exact", ["信息", "息公", "公开"])
    with ix.searcher() as s:
        before = sorted(h["id"] for h in s.search(q, limit=None))
        TablesWriter(ix).commit(optimize=True)  # deletes the three segments' files
        gone = [seg.make_filename(postings_tables.EXT) for seg in s.reader().segments()]
        assert len(gone) == 3 and not [g for g in gone if (path / g).exists()]
        assert sorted(h["id"] for h in s.search(q, limit=None)) == before
    assert before


def test_an_empty_field_table_reads_as_no_terms(tmp_path):
    b = postings_tables_build.FieldBuilder(grams=True, chars=False, boost=1.0)
    b.add_grams(0, np.zeros(0, dtype=np.int64))
    postings_tables_build.write(str(tmp_path / "x.gkp"), {"body_exact": b})
    table = postings_tables.SegmentTables(np.fromfile(tmp_path / "x.gkp", dtype=np.uint8))
    t = table.fields["body_exact"]
    assert len(t) == 0 and t.find("政府".encode()) == -1


def test_a_run_leaves_at_most_max_segments_and_every_document(tmp_path, monkeypatch):
    from indexer.index import merge_policy, store, writer

    monkeypatch.setattr(merge_policy, "MAX_SEGMENTS", 2)
    summary = writer.index_items(tmp_path / "ix", iter(RECORDS), commit_every=10)
    ix = store.open_index(tmp_path / "ix")
    assert len(ix._segments()) <= 2
    with ix.searcher() as s:
        ids = sorted(s.stored_fields(d)["id"] for d in s.reader().all_doc_ids())
    assert ids == sorted(r.id for r in RECORDS) and summary.documents == len(RECORDS)
    fresh = build(tmp_path / "fresh", RECORDS)
    assert postings_by_id(store.resolve(tmp_path / "ix"), "body_exact", 5) == \
        postings_by_id(fresh, "body_exact", 5)


def count_commits(monkeypatch) -> list:
    """A list that gets an entry at every commit of a TablesWriter from now on."""
    commits = []
    real_commit = TablesWriter.commit

    def counting_commit(self, *args, **kwargs):
        commits.append(1)
        return real_commit(self, *args, **kwargs)

    monkeypatch.setattr(TablesWriter, "commit", counting_commit)
    return commits


def test_a_rebuild_commits_by_text_size_and_keeps_every_document(tmp_path, monkeypatch):
    from indexer.index import memory, store, writer

    commits = count_commits(monkeypatch)
    writer.index_items(tmp_path / "one", iter(RECORDS), rebuild=True)
    assert len(commits) == 1  # the whole sample is far below the default memory's text
    commits.clear()
    size = sum(len(r.body.encode()) + len(r.title.encode()) for r in RECORDS)
    monkeypatch.setattr(memory, "text_per_process", lambda mb: size // 4)
    summary = writer.index_items(tmp_path / "four", iter(RECORDS), rebuild=True)
    assert 4 <= len(commits) <= 5 and summary.documents == len(RECORDS)
    with store.open_index(tmp_path / "four").searcher() as s:
        ids = sorted(s.stored_fields(d)["id"] for d in s.reader().all_doc_ids())
    assert ids == sorted(r.id for r in RECORDS)


def test_an_update_of_an_existing_index_commits_every_commit_every_documents(
        tmp_path, monkeypatch):
    from indexer.index import writer

    writer.index_items(tmp_path / "ix", iter(RECORDS[:10]), rebuild=True)
    commits = count_commits(monkeypatch)
    monkeypatch.setattr(writer, "COMMIT_EVERY", 20)
    writer.index_items(tmp_path / "ix", iter(RECORDS[10:90]))
    assert len(commits) == 80 // 20 + 1  # the last one commits nothing new


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_tables_file_is_a_one_line_error_and_changes_nothing(tmp_path, capsys,
                                                                       damage):
    from indexer.index import store, writer
    from search_app.cli import main

    index = tmp_path / "ix"
    writer.index_items(index, iter(RECORDS[:40]), rebuild=True)
    path = store.resolve(index)
    gkp = next(path.glob("*" + postings_tables.EXT))
    data = gkp.read_bytes()
    gkp.write_bytes(data[:100] if damage == "truncated" else b"garbage" * 10)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    assert main(["search", "政府", "--index", str(index)]) == 2
    assert main(["index", "--index", str(index), "--procs", "1",
                 str(Path(__file__).parent / "fixtures" / "records")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("damaged index file" in line and "--rebuild" in line
                                 for line in err)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before


def test_array_word_analysis_equals_the_tokenizers_index_mode_on_real_text():
    from indexer.chinese.analysis import word_postings, words

    texts = [t for r in RECORDS for t in (r.title, r.body)]
    texts += ["", "  ", "〇一二 ＡＢＣ１２３ 人民政府 住房公积金管理中心\t民政局 𠀀𪚥 e.g. 3.14%",
              "a\x00b 人民政府\x00住房"]  # NUL: the word ends are found another way
    for text in texts:
        expected: dict = {}
        for w, p, s, e in words(text, "index"):
            expected.setdefault(w, []).append((p, s, e))
        assert word_postings(text) == expected, text[:40]
