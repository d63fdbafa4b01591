"""Fixtures for the quality gate tests."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.quality.quality_tables import ROWS, TRADING_DATE, make_daily_ticks


@pytest.fixture(scope="session")
def good_table() -> pa.Table:
    return make_daily_ticks()


@pytest.fixture
def params() -> dict[str, object]:
    return {"trading_date": TRADING_DATE, "expected_rows": ROWS, "min_rows": ROWS - 10}
