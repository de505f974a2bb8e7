"""Index building: incremental runs, duplicates, pruning, the writer lock, atomic rebuilds."""

import json
import os
import shutil
from pathlib import Path

import pytest

from indexer.index import store
from indexer.index.writer import IndexBusy, IndexLock, build_index, index_items, index_paths
from indexer.ingest import iter_records
from indexer.record import Record

FIXTURES = Path(__file__).parent / "fixtures" / "records"
RECORDS_FILE = FIXTURES / "records_govcn_sample.jsonl"


def real_records():
    return [r for r in iter_records([RECORDS_FILE]) if isinstance(r, Record)]


def stored_ids(index_dir):
    ix = store.open_index(index_dir)
    with ix.searcher() as s:
        ids = sorted(d["id"] for d in s.all_stored_fields())
    ix.close()
    return ids


@pytest.fixture
def corpus(tmp_path):
    """A private copy of a real records file, so tests can edit and delete it."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(RECORDS_FILE, folder / "records.jsonl")
    shutil.copy(FIXTURES / "donghu_gongan_2020_annual_report.txt", folder / "donghu.txt")
    return folder


def test_first_run_adds_every_record_and_a_second_run_changes_nothing(tmp_path, corpus):
    expected = len(list(r for r in iter_records([corpus]) if isinstance(r, Record)))
    first = index_paths(tmp_path / "ix", [corpus], procs=1)
    assert (first.added, first.updated, first.unchanged) == (expected, 0, 0)
    second = index_paths(tmp_path / "ix", [corpus], procs=2)
    assert (second.added, second.updated, second.unchanged) == (0, 0, expected)
    assert second.documents == expected
    assert len(stored_ids(tmp_path / "ix")) == expected


@pytest.mark.parametrize("procs", [1, 2])
def test_a_changed_record_is_replaced_not_duplicated(tmp_path, corpus, procs):
    index_paths(tmp_path / "ix", [corpus], procs=procs)
    before = stored_ids(tmp_path / "ix")
    lines = (corpus / "records.jsonl").read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[0])
    row["full_text"] = (row.get("full_text") or "") + "（本文已更新）"
    lines[0] = json.dumps(row, ensure_ascii=False)
    (corpus / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = index_paths(tmp_path / "ix", [corpus], procs=procs)
    assert (summary.added, summary.updated) == (0, 1)
    assert stored_ids(tmp_path / "ix") == before


def test_the_same_text_under_two_urls_is_indexed_once(tmp_path):
    record = real_records()[0]
    twin = Record(**{**record.to_dict(), "id": "", "url": record.url + "?copy=1"})
    assert twin.id != record.id
    summary = build_index(tmp_path / "ix", [record, twin])
    assert summary.added == 1
    assert summary.skipped["duplicate-content"] == 1
    assert stored_ids(tmp_path / "ix") == [record.id]


def test_two_texts_under_one_url_are_both_kept_with_stable_ids(tmp_path):
    a, b = real_records()[:2]
    b_same_url = Record(**{**b.to_dict(), "id": "", "url": a.url})
    first = build_index(tmp_path / "ix", [a, b_same_url])
    assert first.added == 2
    ids = stored_ids(tmp_path / "ix")
    again = index_items(tmp_path / "ix", [a, b_same_url])
    assert (again.added, again.unchanged) == (0, 2)
    assert stored_ids(tmp_path / "ix") == ids


def test_prune_removes_documents_whose_source_file_is_gone(tmp_path, corpus):
    index_paths(tmp_path / "ix", [corpus], procs=1)
    (corpus / "donghu.txt").unlink()
    summary = index_paths(tmp_path / "ix", [corpus], procs=1, prune=True)
    assert summary.removed == 1
    ix = store.open_index(tmp_path / "ix")
    with ix.searcher() as s:
        assert all("donghu" not in d["source"] for d in s.all_stored_fields())


def test_without_prune_documents_of_deleted_files_stay(tmp_path, corpus):
    first = index_paths(tmp_path / "ix", [corpus], procs=1)
    (corpus / "donghu.txt").unlink()
    summary = index_paths(tmp_path / "ix", [corpus], procs=1)
    assert (summary.removed, summary.documents) == (0, first.documents)


def test_a_second_writer_is_refused_with_a_clear_message(tmp_path):
    with IndexLock(tmp_path / "ix"), pytest.raises(IndexBusy, match="another indexer"):
        build_index(tmp_path / "ix", real_records()[:1])


def test_rebuild_swaps_in_a_new_generation_and_keeps_the_path(tmp_path, corpus):
    index_paths(tmp_path / "ix", [corpus], procs=1)
    old_gen = store.resolve(tmp_path / "ix")
    reader = store.open_index(tmp_path / "ix")  # a reader open during the rebuild
    searcher = reader.searcher()
    summary = index_paths(tmp_path / "ix", [corpus], procs=1, rebuild=True)
    new_gen = store.resolve(tmp_path / "ix")
    assert new_gen != old_gen and os.path.islink(tmp_path / "ix")
    assert summary.added == summary.documents
    assert searcher.doc_count() == summary.documents  # the old reader still works
    searcher.close()
    reader.close()


def test_a_failed_rebuild_leaves_the_current_index_untouched(tmp_path, corpus):
    index_paths(tmp_path / "ix", [corpus], procs=1)
    gen = store.resolve(tmp_path / "ix")
    ids = stored_ids(tmp_path / "ix")

    def exploding():
        yield from real_records()[:2]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        index_items(tmp_path / "ix", exploding(), rebuild=True)
    assert store.resolve(tmp_path / "ix") == gen
    assert stored_ids(tmp_path / "ix") == ids
    gens = list((tmp_path / "ix.gens").iterdir())
    assert gens == [gen]


def test_an_index_built_with_other_analysis_settings_is_refused(tmp_path):
    build_index(tmp_path / "ix", real_records()[:1])
    meta = store.resolve(tmp_path / "ix") / store.META_FILE
    meta.write_text(json.dumps({"analysis_version": 0, "index_format": store.INDEX_FORMAT}),
                    encoding="utf-8")
    with pytest.raises(store.IndexIncompatible, match="different analysis settings.*--rebuild"):
        store.open_index(tmp_path / "ix")


def test_a_missing_path_is_reported_before_the_index_is_touched(tmp_path):
    with pytest.raises(FileNotFoundError):
        index_paths(tmp_path / "ix", [tmp_path / "nope"], procs=1)
    assert not (tmp_path / "ix").exists()


def test_opening_an_index_whose_toc_a_commit_just_replaced_reads_the_newer_one(tmp_path,
                                                                             monkeypatch):
    from whoosh import index as whoosh_index

    path = tmp_path / "ix"
    build_index(path, real_records()[:3])
    real_open, calls = whoosh_index.open_dir, []

    def racing(*args, **kwargs):  # the first look finds its TOC gone, as mid-commit
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError("_MAIN_2.toc")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(store.whoosh_index, "open_dir", racing)
    ix = store.open_index(path)
    assert ix.doc_count() == 3 and len(calls) >= 2
    ix.close()


def test_an_index_whose_files_keep_vanishing_is_an_error_after_a_few_attempts(tmp_path,
                                                                              monkeypatch):
    path = tmp_path / "ix"
    build_index(path, real_records()[:3])
    calls = []

    def gone(*args, **kwargs):
        calls.append(1)
        raise FileNotFoundError("_MAIN_2.toc")

    monkeypatch.setattr(store.whoosh_index, "open_dir", gone)
    with pytest.raises(FileNotFoundError):
        store.open_index(path)
    assert len(calls) == store.OPEN_ATTEMPTS  # given up in the existence check


def test_an_index_without_the_report_fields_takes_updates_and_a_rebuild_adds_them(
        tmp_path, monkeypatch):
    # An index written before annual reports were data: its pickled schema lacks them.
    from indexer.index import schema as schema_mod
    from search_app.search import open_backend

    full = schema_mod.build_schema

    def older():
        s = full()
        for name in ("report_year", "report_format", "report"):
            s.remove(name)
        return s

    monkeypatch.setattr(store, "build_schema", older)
    plain = Record(title="关于印发管理办法的通知", body="各区：现印发。", source="a.txt",
                   url="http://example.gov.cn/a.html")
    build_index(tmp_path / "ix", [plain])
    monkeypatch.setattr(store, "build_schema", full)
    sample = Path(__file__).resolve().parent.parent / "index_data" / "sample"
    report = next(r for r in iter_records([sample / "annual_reports" / "pdf"])
                  if isinstance(r, Record))
    summary = index_items(tmp_path / "ix", iter([plain, report]), procs=1)
    assert (summary.added, summary.failures) == (1, [])
    backend = open_backend(tmp_path / "ix")
    try:
        assert backend.document(report.id)["report"] is None
        # Facets and the reports list read the missing columns as empty.
        from search_app.search import SearchRequest

        assert backend.search(SearchRequest()).facets["report_year"].values == []
        assert backend.report_documents() == []
    finally:
        backend.close()
    index_items(tmp_path / "ix", iter([plain, report]), procs=1, rebuild=True)
    backend = open_backend(tmp_path / "ix")
    try:
        assert backend.document(report.id)["report"]["review"]["upheld"] == 10
    finally:
        backend.close()
