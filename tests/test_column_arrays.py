"""Facet columns read whole with numpy (indexer.index.columns.coded_column,
numeric_column) give, document by document, what Whoosh's own column readers give: on
one segment, on several with a deleted document, and on a segment Whoosh wrote itself."""

import numpy as np
import pytest
from test_search import index_dir
from whoosh import index as whoosh_index

from indexer.index import columns
from indexer.index.store import INDEX_NAME, resolve

CODED = ("agency", "classification", "region", "pub_date", "doc_type", "validity")


def leaves(kind):
    ix = whoosh_index.open_dir(str(resolve(index_dir(kind))), indexname=INDEX_NAME)
    reader = ix.reader()
    return reader, [leaf for leaf, _ in reader.leaf_readers()]


@pytest.mark.parametrize("kind", ["single", "multi", "plain"])
def test_coded_columns_give_each_documents_value_as_whoosh_reads_it(kind):
    reader, segs = leaves(kind)
    try:
        checked = 0
        for leaf in segs:
            for name in CODED:
                got = columns.coded_column(leaf, name)
                assert got is not None, name
                codes, values = got
                want = list(leaf.column_reader(name)) if leaf.has_column(name) else []
                assert len(codes) == leaf.doc_count_all()
                mine = [values[c] if c >= 0 else None for c in codes.tolist()]
                theirs = [v if v not in ("", b"") else None for v in want] or \
                    [None] * len(codes)
                assert mine == theirs, name
                assert len(set(values)) == len(values)  # each value has one code
                checked += sum(v is not None for v in mine)
        assert checked > 300
    finally:
        reader.close()


@pytest.mark.parametrize("kind", ["single", "multi", "plain"])
def test_numeric_columns_give_each_documents_number_as_whoosh_reads_it(kind):
    reader, segs = leaves(kind)
    try:
        for leaf in segs:
            want = list(leaf.column_reader("year"))
            got = columns.numeric_column(leaf, "year", 0)
            assert got.tolist() == want and len(set(want)) > 3
    finally:
        reader.close()


def coded_back(values: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(each value as its code gives it back, the distinct values) of values laid end to
    end as a variable-bytes column lays them."""
    data = b"".join(values)
    lengths = np.array([len(v) for v in values], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    codes, distinct = columns._distinct_rows(data, offsets, lengths)
    return [distinct[c] if c >= 0 else b"" for c in codes.tolist()], distinct


def test_values_that_share_a_prefix_or_differ_in_one_byte_get_different_codes():
    values = [b"", "平潭".encode(), "平潭综合实验区".encode(), "平潭".encode(), b"a", b"b",
              b"ab", b"", b"ba", "平潭综合实验区".encode()]
    back, distinct = coded_back(values)
    assert back == values
    assert sorted(distinct) == sorted(set(values) - {b""})


def test_values_of_every_length_in_any_order_decode_to_themselves():
    rng = np.random.default_rng(3)
    pool = [bytes(rng.integers(0, 3, int(n)).astype(np.uint8)) for n in rng.integers(0, 9, 40)]
    values = [pool[i] for i in rng.integers(0, len(pool), 500)]
    back, distinct = coded_back(values)
    assert back == values
    assert len(distinct) == len(set(values) - {b""})
