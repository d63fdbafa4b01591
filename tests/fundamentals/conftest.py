"""Fixtures for the fundamentals tests: the real EDGAR documents and a local EDGAR stand-in."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from standins.edgar import EdgarStandIn
from tests.conftest import FIXTURES

SEC = FIXTURES / "sec"
APPLE, ALPHABET, SNOWFLAKE = "0000320193", "0001652044", "0001640147"
DOCUMENTS = {
    APPLE: SEC / "companyfacts" / "CIK0000320193.json",
    ALPHABET: SEC / "companyfacts" / "CIK0001652044.json",
    SNOWFLAKE: SEC / "companyfacts" / "CIK0001640147_SNOW_pretty.json",
}
USER_AGENT = "equity-lake tests tests@example.com"


@functools.cache
def raw(cik: str) -> bytes:
    return Path(DOCUMENTS[cik]).read_bytes()


@functools.cache
def facts(cik: str) -> pa.Table:
    """The company's whole companyfacts document as a FUNDAMENTALS table."""
    from equity_lake.fundamentals.normalize import normalize

    return normalize(raw(cik))


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[EdgarStandIn]:
    """EDGAR on 127.0.0.1 serving the real fixtures, and the client pointed at it."""
    server = EdgarStandIn(SEC).start()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SEC_USER_AGENT", USER_AGENT)
    monkeypatch.delenv("SEC_RATE_SHARERS", raising=False)
    monkeypatch.delenv("SEC_MAX_RPS", raising=False)
    try:
        yield server
    finally:
        server.stop()
