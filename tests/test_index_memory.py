"""The indexing memory setting (indexer.index.memory): how it is given, what it bounds
(the text a worker collects before it writes a segment, the segments a merge may
combine), and a bad value refused in one line before anything is indexed."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_search import RECORDS

from indexer.index import memory, merge_policy, store, writer
from search_app.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "records"
MIB = 1024 * 1024


@pytest.mark.parametrize(("given", "mb"), [
    ("1500", 1500), ("1500M", 1500), ("800MB", 800), ("1.5G", 1536), ("2g", 2048),
    (" 900 ", 900), (None, memory.DEFAULT_MB), ("", memory.DEFAULT_MB), (1200, 1200),
])
def test_the_memory_setting_is_read_in_megabytes_or_gigabytes(given, mb):
    assert memory.parse_memory(given) == mb


@pytest.mark.parametrize(("given", "says"), [
    ("lots", "give megabytes"), ("-5", "give megabytes"), ("1.5T", "give megabytes"),
    ("10", f"at least {memory.MIN_MB} MB"),
])
def test_a_bad_memory_setting_says_what_is_expected(given, says):
    with pytest.raises(ValueError, match=says):
        memory.parse_memory(given)


def test_the_environment_variable_is_used_when_no_setting_is_given(monkeypatch):
    monkeypatch.setenv(memory.ENV, "2G")
    assert memory.memory_setting() == 2048
    assert memory.memory_setting("900") == 900  # the option wins
    monkeypatch.setenv(memory.ENV, "plenty")
    with pytest.raises(ValueError, match=r"^\$GONGKAI_INDEX_MEMORY: "):
        memory.memory_setting()


def test_more_memory_lets_a_worker_collect_more_text_before_it_writes():
    small, default, large = (memory.text_per_process(mb) for mb in (memory.MIN_MB, 1500, 3000))
    assert memory.MIN_TEXT_BYTES <= small < default < large
    # The peak it allows for stays within the setting.
    assert memory.BASE_MB * MIB + default * memory.PEAK_PER_TEXT_BYTE <= 1500 * MIB


# At 1000 MB a merge may take this many bytes of tables.
FITS_1000 = int((1000 - memory.MERGE_BASE_MB) * MIB / memory.MERGE_PEAK_PER_TABLE_BYTE)


@pytest.mark.parametrize(("sizes", "max_segments", "group"), [
    ([3, 1, 2, 9], 2, [1, 2, 0]),  # the three smallest: 4 segments down to 2
    ([3, 1, 2, 9], 4, []),  # no more segments than allowed: no merge
    ([3, 1, 2, 9, 5], 4, [1, 2]),  # the two smallest are enough
])
def test_a_merge_takes_the_smallest_segments_it_needs(sizes, max_segments, group):
    assert merge_policy.merge_group([s * MIB for s in sizes], max_segments, 3000) == group


def test_a_merge_takes_no_more_than_the_memory_setting_allows():
    assert memory.merge_fits(FITS_1000, 1000) and not memory.merge_fits(FITS_1000 + 16, 1000)
    small = FITS_1000 // 4
    # Three small ones fit, the fourth would not: three are merged, not four.
    sizes = [small, small, small, small * 2, FITS_1000]
    assert merge_policy.merge_group(sizes, 1, 1000) == [0, 1, 2]
    # Segments that each fill the setting are never merged, however many there are.
    assert merge_policy.merge_group([FITS_1000 // 2 + 1] * 20, 8, 1000) == []
    # Below the merge's fixed part, nothing is merged at all.
    assert merge_policy.merge_group([1, 1, 1], 1, memory.MERGE_BASE_MB - 1) == []


def test_a_rebuild_merges_only_when_complete(tmp_path, monkeypatch):
    # A rebuild's commits merge nothing; the compaction after it merges down to
    # MAX_SEGMENTS: one merge commit, not one per commit of the run.
    size = sum(len(r.body.encode()) + len(r.title.encode()) for r in RECORDS)
    monkeypatch.setattr(memory, "text_per_process", lambda mb: size // 6)
    monkeypatch.setattr(merge_policy, "MAX_SEGMENTS", 2)
    merges = []
    real = merge_policy.merge_group
    monkeypatch.setattr(merge_policy, "merge_group",
                        lambda sizes, m, mb: merges.append(len(sizes)) or real(sizes, m, mb))
    summary = writer.index_items(tmp_path / "ix", iter(RECORDS), rebuild=True)
    assert len(merges) >= 1 and merges[0] >= 6  # first asked once all were written
    assert len(store.open_index(tmp_path / "ix")._segments()) <= 2
    assert summary.documents == len(RECORDS)


def test_segments_too_large_to_merge_within_the_setting_stay_and_keep_every_document(
        tmp_path, monkeypatch):
    size = sum(len(r.body.encode()) + len(r.title.encode()) for r in RECORDS)
    monkeypatch.setattr(memory, "text_per_process", lambda mb: size // 4)
    monkeypatch.setattr(merge_policy, "MAX_SEGMENTS", 2)
    monkeypatch.setattr(memory, "merge_fits", lambda table_bytes, mb: False)
    kept = writer.index_items(tmp_path / "kept", iter(RECORDS), rebuild=True)
    monkeypatch.setattr(memory, "merge_fits", lambda table_bytes, mb: True)
    merged = writer.index_items(tmp_path / "merged", iter(RECORDS), rebuild=True)
    assert len(store.open_index(tmp_path / "kept")._segments()) >= 4
    assert len(store.open_index(tmp_path / "merged")._segments()) <= 2
    assert kept.documents == merged.documents == len(RECORDS)


def test_a_bad_memory_option_is_a_one_line_error_and_nothing_is_indexed(tmp_path, capsys):
    code = main(["index", str(FIXTURES), "--index", str(tmp_path / "ix"), "--memory", "lots"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "give megabytes" in err
    assert not (tmp_path / "ix").exists()


def test_the_memory_option_is_used_by_the_index_command(tmp_path, capsys, monkeypatch):
    seen = []
    real = memory.text_per_process
    monkeypatch.setattr(memory, "text_per_process", lambda mb: seen.append(mb) or real(mb))
    code = main(["index", str(FIXTURES / "records_govcn_sample.jsonl"), "--index",
                 str(tmp_path / "ix"), "--procs", "1", "--memory", "1G"])
    assert code == 0 and seen == [1024]


@pytest.mark.parametrize(("sizes", "max_segments", "ways", "groups"), [
    # Seven segments to four in two merges: one more segment taken, the largest first
    # to the lighter merge.
    ([3, 1, 2, 9, 5, 4, 8], 4, 2, [[1, 2, 4], [0, 5]]),
    ([6, 1, 1, 1, 1, 9], 4, 2, [[1, 3], [2, 4]]),
    # A split that would leave a merge of one segment: one merge, as with one process.
    ([10, 1, 1, 20, 20], 4, 2, [[1, 2]]),
    ([3, 1, 2, 9], 4, 2, []),  # nothing to merge
    ([3, 1, 2, 9, 5, 4, 8], 4, 1, [[1, 2, 0, 5]]),
])
def test_a_compaction_splits_its_merge_for_the_processes_it_has(sizes, max_segments, ways,
                                                                 groups):
    got = merge_policy.merge_groups([s * MIB for s in sizes], max_segments, 3000, ways)
    assert got == groups
    if len(got) > 1:
        assert len(sizes) - sum(map(len, got)) + len(got) == max_segments


def test_each_merge_run_at_once_keeps_within_its_share_of_the_memory():
    fits_1500 = int((1500 - memory.MERGE_BASE_MB) * MIB / memory.MERGE_PEAK_PER_TABLE_BYTE)
    third = fits_1500 // 3  # three of these fit half of 3000 MB
    assert merge_policy.merge_groups([third] * 6, 2, 3000, 2) == [[0, 2, 4], [1, 3, 5]]
    # Two of these do not fit half the setting: one merge, within the whole of it.
    big = fits_1500 // 2 + 1
    assert merge_policy.merge_groups([big] * 4, 2, 3000, 2) == [[0, 1, 2]]


def test_a_compaction_in_two_processes_keeps_every_document_and_answers_alike(
        tmp_path, monkeypatch):
    from search_app.search import SearchRequest, open_backend

    size = sum(len(r.body.encode()) + len(r.title.encode()) for r in RECORDS)
    monkeypatch.setattr(memory, "text_per_process", lambda mb: size // 16)
    monkeypatch.setattr(merge_policy, "MAX_SEGMENTS", 3)
    one = writer.index_items(tmp_path / "one", iter(RECORDS), rebuild=True, procs=1)
    calls = []
    real = merge_policy.merge_groups
    monkeypatch.setattr(merge_policy, "merge_groups",
                        lambda *a: calls.append(r := real(*a)) or r)
    two = writer.index_items(tmp_path / "two", iter(RECORDS), rebuild=True, procs=2)
    assert any(len(groups) == 2 for groups in calls), calls  # two merges ran at once
    assert len(store.open_index(tmp_path / "two")._segments()) <= 3
    assert one.documents == two.documents == len(RECORDS)
    a, b = open_backend(tmp_path / "one"), open_backend(tmp_path / "two")
    compared = 0
    try:
        for q in ("住房公积金", '"公积金贷款"', "通知", "规划 自然资源", '"贷款额度"'):
            ra, rb = (x.search(SearchRequest(q=q, size=100, snippets=False)) for x in (a, b))
            assert ra.total == rb.total > 0
            # The same documents where all fit one page. (Not the same scores to the
            # last digit: the two runs' workers cut the documents into other segments.)
            if ra.total <= 100:
                assert {h.id for h in ra.hits} == {h.id for h in rb.hits}
                compared += 1
        assert compared >= 1
    finally:
        a.close()
        b.close()


def test_a_merging_process_that_fails_is_one_line_and_the_index_keeps_what_it_had(
        tmp_path, monkeypatch):
    from indexer.index import segment_writer
    from indexer.index.workers import WorkerDied

    size = sum(len(r.body.encode()) + len(r.title.encode()) for r in RECORDS)
    monkeypatch.setattr(memory, "text_per_process", lambda mb: size // 16)
    monkeypatch.setattr(merge_policy, "MAX_SEGMENTS", 3)
    ix_dir = tmp_path / "ix"
    first = writer.index_items(ix_dir, iter(RECORDS[:50]), rebuild=True, procs=1)

    def full_disk(self, reader):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(segment_writer.TablesWriter, "add_reader", full_disk)
    with pytest.raises(WorkerDied) as caught:
        writer.index_items(ix_dir, iter(RECORDS), rebuild=True, procs=2)
    message = str(caught.value)
    assert "\n" not in message and "No space left on device" in message
    assert "keeps its last commit" in message
    with store.open_index(ix_dir).searcher() as s:
        assert s.doc_count() == first.documents == 50
