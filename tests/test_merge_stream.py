"""Merging segments' tables a range of terms at a time (indexer.index.merge_stream)
writes the very file that merging them whole in memory writes, whatever the ranges:
with deleted documents, new documents beside the merged ones, terms only deleted
documents had, and ranges that end inside a block, a byte of flags or a superblock."""

from __future__ import annotations

import numpy as np
import pytest
from test_packing import random_builder

from indexer.index import merge_stream, packing, postings_tables, postings_tables_build


def segment_tables(tmp_path, name, chars, seed, docs):
    rng = np.random.default_rng(seed)
    vocab = ["政府", "信息", "公开", "住房", "公积金", "年度", "报告", "x", "关于印发", "通知"]
    if not chars:
        vocab = [w[:2] for w in vocab]
    b = random_builder(rng, chars, docs, vocab + [f"词{seed}{i}" for i in range(40)], 300)
    path = tmp_path / name
    postings_tables_build.write(str(path), {"f": b})
    return postings_tables.SegmentTables(np.fromfile(path, dtype=np.uint8)).fields["f"]


def merged_file(tmp_path, name, chars, tables, stream, own_seed=None):
    b = postings_tables_build.FieldBuilder(grams=not chars, chars=chars, boost=1.0)
    if own_seed is not None:  # documents of this segment's own beside the merged ones
        own = random_builder(np.random.default_rng(own_seed), chars, 7,
                             ["政府", "新词一", "新词二"] if chars else ["政府", "新词"], 50)
        b.key_chunks, b.chunk_docs = own.key_chunks, own.chunk_docs
        b.pos_chunks, b.span_chunks, b.vocab = own.pos_chunks, own.span_chunks, own.vocab
    for table, docmap in tables:
        b.add_table(table, docmap)
    path = tmp_path / name
    postings_tables_build.write(str(path), {"f": b}, stream_merges=stream)
    return path.read_bytes()


@pytest.mark.parametrize("chars", [True, False], ids=["words", "grams"])
@pytest.mark.parametrize("batch", [1, 97, 128 * 64 + 5, 1 << 22])
@pytest.mark.parametrize("own", [None, 5])
def test_a_streamed_merge_writes_the_same_file_as_a_merge_in_memory(tmp_path, monkeypatch,
                                                                    chars, batch, own):
    monkeypatch.setattr(merge_stream, "BATCH_OCCURRENCES", batch)
    # Enough documents that the common words' merged runs of gaps are long ones
    # (more than a block: `packing.pack_term_runs`).
    sizes = (90, 60, 70)
    a = segment_tables(tmp_path, "a", chars, 1, sizes[0])
    b = segment_tables(tmp_path, "b", chars, 2, sizes[1])
    c = segment_tables(tmp_path, "c", chars, 3, sizes[2])
    rng = np.random.default_rng(9)
    start = 7 if own is not None else 0  # the own documents come first
    maps, n = [], start
    for ndocs in sizes:
        m = np.arange(n, n + ndocs, dtype=np.int64)
        n += ndocs
        maps.append(m)
    # Deletions: a few documents of a, all of b's first ten (terms only they had die).
    maps[0][rng.choice(sizes[0], 6, replace=False)] = -1
    maps[1][:10] = -1
    # Deleted documents free their numbers: the others are renumbered densely.
    live = np.concatenate(maps)
    order = np.flatnonzero(live >= 0)
    dense = np.full(len(live), -1, dtype=np.int64)
    dense[order] = start + np.arange(len(order))
    maps = np.split(dense, np.cumsum(sizes)[:2])
    tables = list(zip((a, b, c), maps, strict=True))
    streamed = merged_file(tmp_path, "s", chars, tables, True, own)
    in_memory = merged_file(tmp_path, "m", chars, tables, False, own)
    assert streamed == in_memory
    merged = postings_tables.SegmentTables(np.frombuffer(streamed, dtype=np.uint8)).fields["f"]
    assert (np.asarray(merged._docs.codes) == packing.LONG_RUN).any()


def test_a_merge_of_tables_reads_back_every_posting_of_the_live_documents(tmp_path):
    a = segment_tables(tmp_path, "a", True, 4, 20)
    keep = np.arange(20, dtype=np.int64)
    keep[::3] = -1
    keep[keep >= 0] = np.arange(int((keep >= 0).sum()))
    data = merged_file(tmp_path, "s", True, [(a, keep)], True)
    table = postings_tables.SegmentTables(np.frombuffer(data, dtype=np.uint8)).fields["f"]
    t = table.find("政府".encode())
    docs, poff, pos, *_ = table.read(t, with_values=True)
    old = a.read(a.find("政府".encode()), with_values=True)
    alive = keep[old[0]] >= 0
    assert docs.tolist() == keep[old[0]][alive].tolist()
    assert np.diff(poff).tolist() == np.diff(old[1])[alive].tolist()
