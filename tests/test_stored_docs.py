"""Stored documents (format 3): every stored field reads back exactly, from segments with
and without a dictionary; an index written before (Whoosh's own stored fields, format 2)
is still read and can be updated; real documents take less room than Whoosh's zlib."""

from __future__ import annotations

import io
import json
import zlib

import pytest
from whoosh.codec.whoosh3 import W3PerDocWriter
from whoosh.filedb.structfile import StructFile

from indexer.index import codec, store, stored_docs
from indexer.index.schema import STORED_DEFAULTS
from indexer.index.writer import build_index, index_items

pytest_plugins = ["tests.web_fixtures"]


def column_bytes(values: list, doccount: int) -> bytes:
    buf = io.BytesIO()
    w = stored_docs.DOCUMENTS_COLUMN.writer(StructFile(buf))
    for docnum, v in values:
        w.add(docnum, v)
    w.finish(doccount)
    return buf.getvalue()


def read_column(data: bytes, doccount: int):
    return stored_docs.DOCUMENTS_COLUMN.reader(StructFile(io.BytesIO(data)), 0, len(data),
                                               doccount)


def dictionary_length(data: bytes) -> int:
    return stored_docs._TRAILER.unpack(data[-stored_docs._TRAILER.size:])[0]


def stored_of(records) -> list[dict]:
    return [{"id": r.id, "title": r.title, "body": r.body, "agency": r.agency,
             "year": r.year} for r in records]


def test_a_segment_of_many_documents_trains_a_dictionary_and_reads_every_one_back(
        sample_records):
    docs = stored_of(sample_records)
    assert len(docs) >= stored_docs.MIN_SAMPLE_DOCS
    data = column_bytes(list(enumerate(docs)), len(docs))
    assert dictionary_length(data) > 0
    col = read_column(data, len(docs))
    assert [col[i] for i in range(len(docs))] == docs
    assert list(col) == docs


def test_a_few_documents_have_no_dictionary_and_read_back(sample_records):
    docs = stored_of(sample_records[:3])
    data = column_bytes(list(enumerate(docs)), 3)
    assert dictionary_length(data) == 0
    col = read_column(data, 3)
    assert [col[i] for i in range(3)] == docs


def test_documents_without_stored_fields_read_as_none_wherever_they_fall(sample_records):
    docs = stored_of(sample_records[:100])
    given = [(i, d) for i, d in enumerate(docs) if i % 3 == 1]  # 0, 2, 3, ... have none
    data = column_bytes(given, 103)  # and the last three documents neither
    col = read_column(data, 103)
    want = dict(given)
    assert [col[i] for i in range(103)] == [want.get(i) for i in range(103)]


def test_real_documents_take_less_room_than_whooshs_zlib_per_document(sample_records):
    # What Whoosh stored (a pickle per document, zlib at level 3) against the column.
    import pickle

    docs = stored_of(sample_records)
    whoosh = sum(len(zlib.compress(pickle.dumps(d, 2), 3)) for d in docs)
    ours = len(column_bytes(list(enumerate(docs)), len(docs)))
    assert ours < 0.9 * whoosh


def test_a_column_of_another_kind_is_refused(sample_records):
    data = column_bytes(list(enumerate(stored_of(sample_records[:5]))), 5)
    with pytest.raises(ValueError, match="not a stored-documents column"):
        read_column(data[:-1] + b"?", 5)
    with pytest.raises(ValueError):
        read_column(data, 6)  # another document count


def test_an_index_keeps_its_stored_documents_in_the_column(tmp_path, sample_records):
    build_index(tmp_path / "ix", sample_records[:80])
    real = store.resolve(tmp_path / "ix")
    assert json.loads((real / store.META_FILE).read_text())["index_format"] == 3
    ix = store.open_index(tmp_path / "ix")
    with ix.searcher() as s:
        leaf = s.reader().leaf_readers()[0][0]
        assert leaf._perdoc.has_column(stored_docs.NAME)
        assert not leaf._perdoc.has_column("_stored")
        by_id = {d["id"]: d for d in s.all_stored_fields()}
    ix.close()
    assert set(by_id) == {r.id for r in sample_records[:80]}
    for r in sample_records[:80]:
        assert by_id[r.id].get("title", "") == r.title
        assert by_id[r.id].get("body", "") == r.body


def test_an_index_of_format_2_is_read_and_an_update_makes_it_format_3(
        tmp_path, monkeypatch, sample_records):
    # Written as format 2 was: Whoosh's per-document writer, meta file saying 2.
    with monkeypatch.context() as m:
        m.setattr(codec.GongkaiCodec, "per_document_writer",
                  lambda self, storage, segment: W3PerDocWriter(self, storage, segment))
        build_index(tmp_path / "ix", sample_records[:40])
    real = store.resolve(tmp_path / "ix")
    meta = json.loads((real / store.META_FILE).read_text())
    meta["index_format"] = 2
    (real / store.META_FILE).write_text(json.dumps(meta))

    def titles():
        ix = store.open_index(tmp_path / "ix")
        with ix.searcher() as s:
            out = {d["id"]: d["title"] for d in s.all_stored_fields()}
        ix.close()
        return out

    assert titles() == {r.id: r.title for r in sample_records[:40]}
    index_items(tmp_path / "ix", iter(sample_records[40:60]), procs=1)
    assert json.loads((real / store.META_FILE).read_text())["index_format"] == 3
    assert titles() == {r.id: r.title for r in sample_records[:60]}


def test_every_stored_field_of_a_record_reads_back_through_the_index(tmp_path,
                                                                      sample_records):
    from indexer.index.schema import record_to_document, stored_to_dict

    schema_stored = set(STORED_DEFAULTS)
    records = sample_records[:70] + [r for r in sample_records if r.report][:3]
    build_index(tmp_path / "ix", records)
    ix = store.open_index(tmp_path / "ix")
    with ix.searcher() as s:
        stored = {d["id"]: stored_to_dict(d) for d in s.all_stored_fields()}
    ix.close()
    # Fields stored as JSON or strings read back as the record holds them.
    decoded = ("attachments", "report", "report_year")
    for r in records:
        doc = record_to_document(r)
        for name, value in doc.items():
            if name in schema_stored and name not in decoded:
                assert stored[r.id][name] == value, (r.id, name)
        for name in decoded:
            assert stored[r.id][name] == getattr(r, name), (r.id, name)


def test_a_segment_larger_than_the_sample_gets_the_full_dictionary_a_small_one_less(
        monkeypatch, sample_records):
    import pickle

    monkeypatch.setattr(stored_docs, "DICT_BYTES", 64 * 1024)
    docs = stored_of(sample_records)
    small = column_bytes(list(enumerate(docs[:70])), 70)  # all of it in the sample
    held = sum(len(pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL)) for d in docs[:70])
    assert 0 < dictionary_length(small) <= max(stored_docs.MIN_DICT_BYTES, held // 32)
    monkeypatch.setattr(stored_docs, "SAMPLE_BYTES", 400_000)
    large = column_bytes(list(enumerate(docs)), len(docs))  # outgrows the sample
    assert dictionary_length(large) > 48 * 1024
    col = read_column(large, len(docs))
    assert [col[i] for i in range(len(docs))] == docs


def test_a_dictionary_trained_on_documents_spread_over_a_merge_reads_everything_back(
        sample_records):
    docs = stored_of(sample_records)
    fetched = []

    def fetch(d):
        fetched.append(d)
        return None if d % 10 == 3 else docs[d]  # a deleted document is skipped

    buf = io.BytesIO()
    w = stored_docs.DOCUMENTS_COLUMN.writer(StructFile(buf))
    w.train_spread(len(docs), fetch)
    assert fetched[0] == 0 and fetched[-1] >= len(docs) - 2  # from all over, not the start
    for i, d in enumerate(docs):
        w.add(i, d)
    w.finish(len(docs))
    data = buf.getvalue()
    assert dictionary_length(data) > 0
    col = read_column(data, len(docs))
    assert [col[i] for i in range(len(docs))] == docs


def test_a_spread_sample_keeps_to_its_size_and_spreads_over_every_document(monkeypatch):
    monkeypatch.setattr(stored_docs, "SAMPLE_DOCS", 100)
    monkeypatch.setattr(stored_docs, "SAMPLE_BYTES", 20_000)
    taken = []

    def fetch(d):
        taken.append(d)
        return {"body": "政府信息公开" * 40, "n": d}  # about 750 bytes pickled

    sample = stored_docs.spread_sample(10_000, fetch)
    assert taken == list(range(0, 10_000, 100))
    assert stored_docs.MIN_SAMPLE_DOCS <= len(sample) <= 100
    kept = [stored_docs.pickle.loads(raw)["n"] for raw in sample]
    assert kept[0] == 0 and kept[-1] >= 9_000


def test_a_column_already_given_documents_keeps_its_own_sample(sample_records):
    docs = stored_of(sample_records[:80])
    buf = io.BytesIO()
    w = stored_docs.DOCUMENTS_COLUMN.writer(StructFile(buf))
    w.add(0, docs[0])
    w.train_spread(80, lambda d: pytest.fail("no sample once documents were given"))
    for i, d in enumerate(docs[1:], 1):
        w.add(i, d)
    w.finish(80)
    col = read_column(buf.getvalue(), 80)
    assert [col[i] for i in range(80)] == docs
