"""Which source serves which dataset, chosen by name (a CLI option, a DAG param)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Protocol

import pyarrow as pa

from equity_lake.sources.alpaca import AlpacaDailySource
from equity_lake.sources.crsp import CrspDailySource


class DailyBarSource(Protocol):
    """A provider of one session's raw daily bars for a set of securities."""

    name: str
    #: every listed security has a bar every session (the row-count gate is then exact)
    complete: bool
    #: the settings (beyond the lake's) a task calling it receives: "alpaca", "wrds", "sec"
    services: tuple[str, ...]

    def daily_bars(self, day: dt.date, universe: pa.Table) -> pa.Table:
        """Bars for ``universe`` (columns security_id, symbol) on ``day``, DAILY_TICKS columns."""
        ...


class SampleDailySource:
    """The offline synthetic market (the default)."""

    name = "sample"
    complete = True
    services: tuple[str, ...] = ()

    def daily_bars(self, day: dt.date, universe: pa.Table) -> pa.Table:
        ids = universe.column("security_id").to_pylist()
        return _sample_market().daily_bars(day, ids)


@lru_cache(maxsize=1)
def _sample_market():
    from equity_lake.sources.sample import SampleMarket

    return SampleMarket()


DAILY_SOURCES: dict[str, type] = {"sample": SampleDailySource, "alpaca": AlpacaDailySource}
DAILY_SOURCES["crsp"] = CrspDailySource


def daily_source_services(name: str) -> tuple[str, ...]:
    """The settings a task calling source ``name`` needs besides the lake's."""
    _known(name)
    return tuple(getattr(DAILY_SOURCES[name], "services", ()))


def _known(name: str) -> None:
    if name not in DAILY_SOURCES:
        raise ValueError(
            f"unknown daily source {name!r}; choose one of: {', '.join(sorted(DAILY_SOURCES))}"
        )


def daily_source(name: str) -> DailyBarSource:
    """The daily-bar source called ``name``; unknown names fail listing the known ones."""
    _known(name)
    return DAILY_SOURCES[name]()
