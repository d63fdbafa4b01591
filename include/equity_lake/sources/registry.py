"""Which source serves which dataset, chosen by name (a CLI option, a DAG param)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Protocol

import pyarrow as pa

from equity_lake.sources.alpaca import AlpacaDailySource
from equity_lake.sources.crsp import CrspDailySource
from equity_lake.sources.sample import END as SAMPLE_END
from equity_lake.sources.sample import START as SAMPLE_START


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
    #: the sessions it has bars for (a source without ``coverage`` answers for any day)
    coverage = (SAMPLE_START, SAMPLE_END)

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


def check_coverage(name: str, first: dt.date, last: dt.date) -> None:
    """Refuse days a source has no bars for: an empty partition would look like a market
    without trading, so a run outside the coverage is bad input, named as such."""
    _known(name)
    span = getattr(DAILY_SOURCES[name], "coverage", None)
    if span is not None and not (span[0] <= first and last <= span[1]):
        asked = str(first) if first == last else f"{first}..{last}"
        raise ValueError(
            f"the {name} source covers {span[0]}..{span[1]} only; {asked} is outside it"
        )


def daily_source(name: str) -> DailyBarSource:
    """The daily-bar source called ``name``; unknown names fail listing the known ones."""
    _known(name)
    return DAILY_SOURCES[name]()
