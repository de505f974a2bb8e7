"""indexer.index.distinct: the same answers as np.unique, by sorting."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.index.distinct import distinct, distinct_inverse, distinct_sorted


@pytest.mark.parametrize("size,top", [(0, 5), (1, 5), (7, 3), (1000, 50), (5000, 10**12)])
def test_distinct_values_first_places_and_inverse_equal_numpys(size, top):
    rng = np.random.default_rng(size)
    a = rng.integers(0, top, size)
    values, first, inverse = np.unique(a, return_index=True, return_inverse=True)
    assert distinct(a).tolist() == values.tolist()
    assert distinct_sorted(np.sort(a)).tolist() == values.tolist()
    got_values, got_first, got_inverse = distinct_inverse(a, first=True)
    assert got_values.tolist() == values.tolist()
    assert got_first.tolist() == first.tolist()  # each value's first place
    assert got_inverse.tolist() == inverse.ravel().tolist()
    assert distinct_inverse(a)[1].tolist() == inverse.ravel().tolist()


def test_the_union_of_sorted_runs_is_their_distinct_values_ascending():
    runs = [np.array([1, 5, 9]), np.array([0, 5, 10]), np.array([9])]
    assert distinct(np.concatenate(runs)).tolist() == [0, 1, 5, 9, 10]
