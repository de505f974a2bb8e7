"""The packed postings tables (indexer.index.packing, indexer.index.packed_table, format 2 of
indexer.index.postings_tables): every stream, slice and table decodes to exactly the arrays that were
written, at block, superblock and rank boundaries and at the extremes of each type; an
index of an older format is refused with a hint to rebuild."""

from __future__ import annotations

import json

import numpy as np
import pytest

from indexer.index import packed_table, packing, postings_tables, postings_tables_build, store

BOUNDARY_SIZES = [0, 1, 2, 127, 128, 129, 255, 256, 257,
                  packing.BLOCK * packing.SUPER - 1, packing.BLOCK * packing.SUPER,
                  packing.BLOCK * packing.SUPER + 1, 3 * packing.BLOCK * packing.SUPER + 5]


def stream_of(values) -> packed_table.Stream:
    arrays = {f"x.{k}": v for k, v in packing.pack(np.asarray(values)).items()}
    return packed_table.Stream(arrays, "x", {"n": len(values), "signed": False,
                                              "dtype": "<u4"})


@pytest.mark.parametrize("n", BOUNDARY_SIZES)
def test_a_packed_stream_decodes_every_slice_to_the_values_written(n):
    rng = np.random.default_rng(n)
    # Blocks of every bit length from 0 to 32, in a random order.
    widths = rng.integers(0, 33, max(1, -(-n // packing.BLOCK)))
    tops = np.repeat((np.uint64(1) << widths.astype(np.uint64)) - np.uint64(1),
                     packing.BLOCK)[:n]
    values = (rng.random(n) * (tops.astype(np.float64) + 1)).astype(np.uint64)
    values = np.minimum(values, tops)
    s = stream_of(values)
    assert np.array_equal(s.raw(0, n), values)
    edges = sorted({0, n, *[e for e in (1, 127, 128, 129, 8191, 8192, 8193) if e <= n],
                    *rng.integers(0, n + 1, 20).tolist()})
    for lo in edges:
        for hi in edges:
            if lo <= hi:
                assert np.array_equal(s.raw(lo, hi), values[lo:hi]), (lo, hi)


@pytest.mark.parametrize("n", [n for n in BOUNDARY_SIZES if n])
def test_gathered_ranges_equal_their_slices_one_after_another(n):
    rng = np.random.default_rng(n + 7)
    widths = rng.integers(0, 33, -(-n // packing.BLOCK))
    tops = np.repeat((np.uint64(1) << widths.astype(np.uint64)) - np.uint64(1),
                     packing.BLOCK)[:n]
    values = np.minimum((rng.random(n) * (tops.astype(np.float64) + 1)).astype(np.uint64), tops)
    s = stream_of(values)
    for k in (1, 2, 5, 40):
        # Ascending, non-overlapping ranges, some empty, some across blocks and supers.
        cuts = np.sort(rng.integers(0, n + 1, 2 * k))
        lo, hi = cuts[0::2], cuts[1::2]
        expect = np.concatenate([values[a:b] for a, b in zip(lo, hi, strict=True)])
        assert s.gather(lo, hi).tolist() == expect.tolist(), (lo, hi)
    assert s.gather(np.array([0]), np.array([n])).tolist() == values.tolist()
    assert len(s.gather(np.array([n // 2]), np.array([n // 2]))) == 0


def test_a_stream_longer_than_a_decoding_pass_decodes_whole():
    values = np.arange(packed_table.CHUNK * 3 + 17, dtype=np.uint64) % 1000
    assert np.array_equal(stream_of(values).raw(5, len(values)), values[5:])


@pytest.mark.parametrize("value", [0, 1, 2**16 - 1, 2**16, 2**31, 2**32 - 1])
def test_extreme_values_pack_exactly(value):
    values = np.array([0, value, value, 1] * 70, dtype=np.uint64)
    assert np.array_equal(stream_of(values).raw(0, len(values)), values)


def test_a_block_of_zeros_takes_no_bytes_and_each_block_its_width():
    values = np.zeros(5 * packing.BLOCK, dtype=np.uint64)
    values[packing.BLOCK] = 1  # 1 bit
    values[2 * packing.BLOCK] = 9  # 4 bits
    values[3 * packing.BLOCK] = 300  # 9 bits: 12
    values[4 * packing.BLOCK] = 70000  # 17 bits: 24
    packed = packing.pack(values)
    assert [packing.WIDTHS[c] for c in packed["b"]] == [0, 1, 4, 12, 24]
    assert len(packed["w"]) == packing.BLOCK * (1 + 4 + 12 + 24) // 8


def test_values_of_33_bits_are_refused_rather_than_truncated():
    with pytest.raises(ValueError, match="2\\*\\*32"):
        packing.pack(np.array([1, 2**32], dtype=np.uint64))


def test_zigzag_round_trips_negative_and_positive_gaps():
    x = np.array([0, -1, 1, -(2**31), 2**31 - 1, 5, -7], dtype=np.int64)
    assert np.array_equal(packed_table.unzigzag(packed_table.zigzag(x)), x)
    assert packed_table.zigzag(x).tolist()[:3] == [0, 1, 2]


# --- whole tables ----------------------------------------------------------------------


def random_builder(rng, chars: bool, docs: int, vocab: list[str], max_len: int):
    b = postings_tables_build.FieldBuilder(grams=not chars, chars=chars, boost=1.0)
    for d in range(docs):
        n = int(rng.integers(0, max_len))
        if chars:
            words = [vocab[i] for i in rng.integers(0, len(vocab), n)]
            pos = np.arange(n)
            lens = np.array([len(w) for w in words], dtype=np.int64)
            start = np.cumsum(lens + rng.integers(0, 3, n)) - lens
            end = start + lens + (rng.random(n) < 0.05)  # a few spans longer than the word
            b.add_words(d, words, pos, start, end)
        else:
            keys = np.array([postings_tables.gram_key(vocab[i]) for i in rng.integers(0, len(vocab), n)],
                            dtype=np.int64)
            b.add_grams(d, keys)
    return b


def written(tmp_path, builders: dict, name="t.gkp"):
    """(flat arrays as the builder made them, the tables read back)."""
    expected = {}
    for field, b in builders.items():
        clone = postings_tables_build.FieldBuilder(b.grams, b.chars, b.boost)
        clone.key_chunks, clone.chunk_docs = list(b.key_chunks), list(b.chunk_docs)
        clone.pos_chunks, clone.span_chunks = list(b.pos_chunks), list(b.span_chunks)
        clone.vocab = dict(b.vocab)
        expected[field] = clone.arrays()
    path = tmp_path / name
    postings_tables_build.write(str(path), builders)
    return expected, postings_tables.SegmentTables(np.fromfile(path, dtype=np.uint8)).fields


def assert_table_equals(table, exp):
    tpost, poff = exp["tpost"].astype(np.int64), exp["poff"].astype(np.int64)
    for t in range(len(table)):
        pa, pb = int(tpost[t]), int(tpost[t + 1])
        oa, ob = int(poff[pa]), int(poff[pb])
        docs, rel, pos, start, end, span = table.read(t, with_values=True)
        assert docs.tolist() == exp["docs"][pa:pb].tolist()
        assert rel.tolist() == (poff[pa:pb + 1] - oa).tolist()
        assert span == (oa, ob)
        assert pos.tolist() == exp["pos"][oa:ob].tolist()
        if table.chars:
            assert start.tolist() == exp["start"][oa:ob].tolist()
            assert end.tolist() == exp["end"][oa:ob].tolist()
        # One posting at a time, as a phrase reads its candidates'.
        for k in range(pa, pb):
            a, b = int(poff[k]), int(poff[k + 1])
            assert table.pos[a:b].tolist() == exp["pos"][a:b].tolist()
            if table.chars:
                assert table.end[a:b].tolist() == exp["end"][a:b].tolist()
        # Every other posting's occurrences gathered at once, as a phrase reads a
        # common term's candidates'.
        if pb > pa:
            ks = np.arange(pa, pb, 2)
            lo, hi = poff[ks], poff[ks + 1]
            pos = table.gather_positions(lo, hi)
            at = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])
            assert pos.tolist() == exp["pos"][at].tolist()
    flat = table.flat()
    for key in ("docs", "poff", "tpost", "pos", *(("start", "end") if table.chars else ())):
        assert flat[key].tolist() == exp[key].tolist(), key


@pytest.mark.parametrize("seed", [1, 2])
def test_a_written_table_reads_back_every_posting_and_occurrence(tmp_path, seed):
    rng = np.random.default_rng(seed)
    words = ["人民", "政府", "信息公开", "a", "中华人民共和国", "𠀀字", "é"] + [
        chr(0x4E00 + i) for i in range(300)]
    grams = [chr(0x4E00 + i) + chr(0x4E00 + j) for i in range(20) for j in range(20)]
    builders = {"body": random_builder(rng, True, 60, words, 400),
                "body_exact": random_builder(rng, False, 60, grams, 600)}
    expected, tables = written(tmp_path, builders)
    for field in builders:
        assert_table_equals(tables[field], expected[field])


def test_postings_spanning_superblocks_and_long_documents_read_back(tmp_path):
    # One term whose occurrences cross several superblocks, positions near the top of
    # uint32, and a document with one occurrence only.
    b = postings_tables_build.FieldBuilder(grams=False, chars=True, boost=1.0)
    n = packing.BLOCK * packing.SUPER * 2 + 3
    top = 2**32 - 10
    b.add_words(0, ["甲"] * n, np.arange(n), np.arange(n) * 2, np.arange(n) * 2 + 1)
    b.add_words(1, ["乙", "甲"], [0, top], [0, top], [1, top + 1])
    b.add_words(2, ["乙"], [7], [9], [10])
    expected, tables = written(tmp_path, {"body": b})
    table = tables["body"]
    assert_table_equals(table, expected["body"])
    # Any slice of occurrences decodes by itself, even inside a posting.
    base = int(table.tocc[table.find("甲".encode())])  # 乙's two occurrences come first
    assert base == 2
    assert table.pos[base + 5:base + 9].tolist() == [5, 6, 7, 8]
    r = packing.BLOCK * packing.SUPER
    assert table.start[base + r + 1:base + r + 3].tolist() == [2 * (r + 1), 2 * (r + 2)]


def test_positions_out_of_order_and_spans_shorter_than_their_term_read_back(tmp_path):
    # Never written by the analysers, but a table must not misread them: the gaps are
    # zigzag coded, and the end's difference from the term's length is signed.
    b = postings_tables_build.FieldBuilder(grams=False, chars=True, boost=1.0)
    b.add_words(0, ["人民", "人民", "政府"], [5, 2, 0], [10, 3, 0], [11, 5, 2])
    b.sorted = True  # keep the given order inside the posting
    expected, tables = written(tmp_path, {"body": b})
    assert_table_equals(tables["body"], expected["body"])
    assert tables["body"].read(0, True)[2].tolist() == [5, 2]


def test_an_empty_table_and_a_table_of_one_posting_read_back(tmp_path):
    empty = postings_tables_build.FieldBuilder(grams=True, chars=False, boost=1.0)
    one = postings_tables_build.FieldBuilder(grams=True, chars=False, boost=1.0)
    one.add_grams(0, np.array([postings_tables.gram_key("政")], dtype=np.int64))
    _, tables = written(tmp_path, {"title_exact": empty, "body_exact": one})
    assert len(tables["title_exact"]) == 0 and tables["title_exact"].flat()["pos"].size == 0
    docs, freq = tables["body_exact"].postings(0)
    assert docs.tolist() == [0] and freq.tolist() == [1]
    assert tables["body_exact"].pos[0:1].tolist() == [0]


# --- format version ----------------------------------------------------------------------


def test_a_tables_file_of_format_1_is_refused_with_a_hint_to_rebuild(tmp_path):
    b = postings_tables_build.FieldBuilder(grams=True, chars=False, boost=1.0)
    b.add_grams(0, np.array([postings_tables.gram_key("政")], dtype=np.int64))
    path = tmp_path / "old.gkp"
    postings_tables_build.write(str(path), {"body_exact": b})
    raw = bytearray(path.read_bytes())
    raw[:len(postings_tables.MAGIC)] = b"GKPOST1\n"
    with pytest.raises(postings_tables.DamagedIndex) as info:
        postings_tables.SegmentTables(np.frombuffer(bytes(raw), dtype=np.uint8), name="old.gkp")
    message = str(info.value)
    assert "\n" not in message
    assert "format 1" in message and "formats 2 and 3" in message and "--rebuild" in message


def test_an_index_without_a_format_number_is_refused_with_a_hint_to_rebuild(tmp_path):
    from test_index_writer import build_index, real_records

    build_index(tmp_path / "ix", real_records()[:1])
    meta_file = store.resolve(tmp_path / "ix") / store.META_FILE
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    assert meta["index_format"] == store.INDEX_FORMAT == 3
    assert postings_tables.FORMAT_VERSION == 3
    del meta["index_format"]  # as every index before format 2 was written
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(store.IndexIncompatible,
                       match="index format 1, this version reads formats 2, 3; rebuild it "
                             "with: gongkai index --rebuild"):
        store.open_index(tmp_path / "ix")


def assert_runs_decode_one_by_one_and_all_at_once(packed, values, lens):
    bounds = np.concatenate([[0], np.cumsum(lens)])
    offs = packed["o"].astype(np.int64)
    for r, n in enumerate(lens.tolist()):
        got = packing.unpack_run(packed["w"][offs[r]:offs[r + 1]], int(packed["c"][r]), n)
        assert got.tolist() == values[bounds[r]:bounds[r + 1]].tolist()
    everything = packing.unpack_runs(packed["w"], packed["c"], offs, lens)
    assert everything.tolist() == values.tolist()


@pytest.mark.parametrize("chunk", [1, 7, 1 << 22])
def test_runs_each_at_their_own_width_decode_one_by_one_and_all_at_once(monkeypatch, chunk):
    # Runs of every length (empty ones too) and bit length, packed a few values per
    # pass or all at once: one run is one decode, all runs decode in order.
    monkeypatch.setattr(packing, "RUN_CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    lens = rng.integers(0, 40, 120)
    lens[::7] = 0
    bounds = np.concatenate([[0], np.cumsum(lens)])
    values = np.concatenate([rng.integers(0, 2 ** int(rng.integers(0, 33)), n, dtype=np.uint64)
                             for n in lens])
    values[:3] = [2**32 - 1, 0, 1]
    packed = packing.pack_runs(values, bounds)
    assert_runs_decode_one_by_one_and_all_at_once(packed, values, lens)


@pytest.mark.parametrize("chunk", [1, 7, 1 << 22])
def test_long_runs_are_cut_into_blocks_at_their_own_widths_and_decode_both_ways(monkeypatch,
                                                                              chunk):
    # Runs shorter than, as long as, and longer than a block (by one value, by many),
    # mostly small gaps with one large one: a long run's blocks each take their own
    # width, so it packs smaller than one width for the whole run.
    monkeypatch.setattr(packing, "RUN_CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    lens = np.array([0, 1, 127, 128, 129, 130, 256, 257, 1000, 5, 3000, 0, 129])
    bounds = np.concatenate([[0], np.cumsum(lens)])
    values = rng.integers(0, 8, int(lens.sum())).astype(np.uint64)
    for r in range(len(lens)):
        if lens[r]:
            values[bounds[r] + int(rng.integers(0, lens[r]))] = int(rng.integers(2**20, 2**32))
    packed = packing.pack_term_runs(values, lens)
    assert (packed["c"] == packing.LONG_RUN).tolist() == (lens > packing.BLOCK).tolist()
    assert_runs_decode_one_by_one_and_all_at_once(packed, values, lens)
    one_width = packing.pack_runs(values, bounds)
    assert len(packed["w"]) < 0.5 * len(one_width["w"])


@pytest.mark.parametrize("fmt", [3, 2])
def test_terms_in_hundreds_of_documents_read_back_in_formats_3_and_2(tmp_path, monkeypatch,
                                                                    fmt):
    # Format 3 cuts a term's run of more than a block of gaps into blocks; format 2
    # (still read) packed each term's gaps in one run at one width, whatever its length.
    rng = np.random.default_rng(5)
    words = ["政府", "信息", "公开", "年度", "报告"]
    builders = {"body": random_builder(rng, True, 300, words, 30),
                "body_exact": random_builder(rng, False, 300, ["政府", "信息"], 30)}
    if fmt == 2:
        monkeypatch.setattr(postings_tables_build, "MAGIC", b"GKPOST2\n")
        monkeypatch.setattr(packing, "pack_term_runs", lambda values, lens: packing.pack_runs(
            values, np.concatenate([[0], np.cumsum(lens)])))
    expected, tables = written(tmp_path, builders)
    for field in builders:
        long = (np.asarray(tables[field]._docs.codes) == packing.LONG_RUN).any()
        assert long == (fmt == 3)
        assert_table_equals(tables[field], expected[field])


def format_1_index(tmp_path):
    """A small index whose meta file says nothing of its format, as before format 2."""
    from test_index_writer import build_index, real_records

    build_index(tmp_path / "ix", real_records()[:2])
    meta_file = store.resolve(tmp_path / "ix") / store.META_FILE
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    del meta["index_format"]
    meta_file.write_text(json.dumps(meta), encoding="utf-8")
    return tmp_path / "ix"


def test_searching_an_index_of_format_1_is_a_one_line_error(tmp_path, capsys):
    from search_app.cli import main

    path = format_1_index(tmp_path)
    assert main(["search", "通知", "--index", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "index format 1" in err and "gongkai index --rebuild" in err


def test_a_rebuild_replaces_an_index_of_format_1(tmp_path):
    from test_index_writer import real_records

    from indexer.index.writer import index_items

    path = format_1_index(tmp_path)
    index_items(path, iter(real_records()[:2]), rebuild=True, procs=1)
    assert json.loads((store.resolve(path) / store.META_FILE).read_text())["index_format"] == store.INDEX_FORMAT == 3
    with store.open_index(path).searcher() as s:
        assert s.doc_count() == 2
