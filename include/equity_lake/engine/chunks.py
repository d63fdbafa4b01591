"""Splitting a run's work into chunks: the one rule every dataset's planner and task share.

A run's items (a day's universe by symbol, the companies due) are cut into ``count``
contiguous slices of nearly equal size; slice ``i`` of ``n`` is the same whether the planner or
a container running ``--chunk i/n`` computes it, so no member list has to travel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ChunkRule:
    """A dataset's chunk-size bounds and its cap on chunks (the cap keeps mapped task counts
    well under Airflow's ``max_map_length``; the chunks grow instead)."""

    min_size: int
    max_size: int
    max_chunks: int

    def check(self, chunk_size: int) -> int:
        if isinstance(chunk_size, bool) or not self.min_size <= chunk_size <= self.max_size:
            raise ValueError(
                f"chunk_size {chunk_size} must be between {self.min_size} and {self.max_size}"
            )
        return chunk_size

    def count(self, items: int, chunk_size: int) -> int:
        """How many chunks ``items`` make at ``chunk_size`` (none when there are no items)."""
        self.check(chunk_size)
        if items <= 0:
            return 0
        return min(self.max_chunks, math.ceil(items / chunk_size))


@dataclass(frozen=True)
class Chunk:
    """The i-th (1-based) of n slices of a run's items, as ``--chunk I/N`` names it."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, max_chunks: int) -> Chunk:
        try:
            i, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"chunk {text!r} must look like I/N, e.g. 3/12") from None
        if not 1 <= i <= n <= max_chunks:
            raise ValueError(f"chunk {text!r} needs 1 <= I <= N <= {max_chunks}")
        return cls(i, n)

    @property
    def label(self) -> str:
        return partition_name(self.index, self.count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def bounds(items: int, index: int, count: int) -> tuple[int, int]:
    """[lo, hi) of chunk ``index`` (1-based) of ``count`` over ``items``."""
    return items * (index - 1) // count, items * index // count


def partition_name(index: int, count: int) -> str:
    """The partition slug of chunk ``index`` of ``count`` (staging, quarantine, results)."""
    return f"chunk-{index:04d}-of-{count:04d}"
