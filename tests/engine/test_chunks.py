"""The one chunk rule: contiguous, complete, nearly equal slices under a cap."""

import pytest

from equity_lake.engine.chunks import ChunkRule, bounds, partition_name

RULE = ChunkRule(min_size=10, max_size=20_000, max_chunks=1000)


@pytest.mark.parametrize("items, size", [(6015, 500), (10_000, 10), (7, 10), (1, 10)])
def test_slices_cover_every_item_once_in_order(items, size):
    count = RULE.count(items, size)
    assert count <= 1000
    slices = [bounds(items, i, count) for i in range(1, count + 1)]
    assert slices[0][0] == 0 and slices[-1][1] == items
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))
    sizes = [hi - lo for lo, hi in slices]
    assert max(sizes) - min(sizes) <= 1


def test_the_cap_grows_the_chunks_instead_of_the_task_count():
    assert RULE.count(100_000, 10) == 1000
    assert RULE.count(0, 500) == 0


@pytest.mark.parametrize("size", [0, 9, 20_001, True])
def test_a_chunk_size_out_of_bounds_is_refused(size):
    with pytest.raises(ValueError, match="chunk_size .* must be between 10 and 20000"):
        RULE.count(100, size)


def test_partition_names_sort_in_chunk_order():
    assert partition_name(3, 12) == "chunk-0003-of-0012"
    assert sorted(partition_name(i, 12) for i in (10, 2, 1)) == [
        partition_name(i, 12) for i in (1, 2, 10)
    ]
