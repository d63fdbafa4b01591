"""What the benchmarks share: a fresh bucket per measured run, and the gate's clock."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def fresh_bucket(server: Any) -> None:
    """A new, empty bucket on the local S3 server, configured as the lake."""
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    server.create_bucket(bucket)
    os.environ.update(server.env(bucket))


class GateClock:
    """Seconds spent in the quality gate (``wap.validate_table``) while it is installed."""

    seconds = 0.0


@contextmanager
def gate_clock() -> Iterator[GateClock]:
    """Time every validation write-audit-publish makes inside the block."""
    from equity_lake.engine import wap

    clock, real = GateClock(), wap.validate_table

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            clock.seconds += time.perf_counter() - started

    wap.validate_table = timed
    try:
        yield clock
    finally:
        wap.validate_table = real
