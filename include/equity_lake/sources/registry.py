"""Which source serves which dataset, chosen by name (a CLI option, a DAG param)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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


def _known(name: str, sources: Mapping[str, type] | None = None, kind: str = "daily") -> None:
    sources = DAILY_SOURCES if sources is None else sources
    if name not in sources:
        raise ValueError(
            f"unknown {kind} source {name!r}; choose one of: {', '.join(sorted(sources))}"
        )


def check_coverage(
    name: str, first: dt.date, last: dt.date, sources: Mapping[str, type] | None = None
) -> None:
    """Refuse days a source has no bars for: an empty partition would look like a market
    without trading, so a run outside the coverage is bad input, named as such."""
    sources = DAILY_SOURCES if sources is None else sources
    _known(name, sources)
    span = getattr(sources[name], "coverage", None)
    if span is not None and not (span[0] <= first and last <= span[1]):
        asked = str(first) if first == last else f"{first}..{last}"
        raise ValueError(
            f"the {name} source covers {span[0]}..{span[1]} only; {asked} is outside it"
        )


def daily_source(name: str) -> DailyBarSource:
    """The daily-bar source called ``name``; unknown names fail listing the known ones."""
    _known(name)
    return DAILY_SOURCES[name]()


class MinuteBarSource(Protocol):
    """A provider of one session's one-minute bars for a set of securities."""

    name: str
    #: every listed security trades in every session (no security may lack bars)
    complete: bool
    #: its minutes and daily bars come from one consistent record (the sample market): a
    #: disagreement with the daily bar is then an error, else a warning (a one-venue feed)
    consistent_with_daily: bool
    services: tuple[str, ...]

    def minute_bars(self, day: dt.date, universe: pa.Table, session: str) -> pa.Table:
        """MINUTE_TICKS rows of ``universe`` (security_id, symbol) in ``day``'s ``session``
        ("regular" or "extended", ``calendar.session_bounds``)."""
        ...


class SampleMinuteSource:
    """The offline synthetic market's minutes, built from its daily bars (so they agree)."""

    name = "sample"
    complete = True
    consistent_with_daily = True
    services: tuple[str, ...] = ()
    coverage = (SAMPLE_START, SAMPLE_END)

    def minute_bars(self, day: dt.date, universe: pa.Table, session: str) -> pa.Table:
        ids = universe.column("security_id").to_pylist()
        return _sample_market().minute_bars(day, ids, session=session)


class AlpacaMinuteSource(AlpacaDailySource):
    """Alpaca's minute bars (the feed configured by ``ALPACA_FEED``; IEX is one venue)."""

    consistent_with_daily = False


MINUTE_SOURCES: dict[str, type] = {"sample": SampleMinuteSource, "alpaca": AlpacaMinuteSource}


def minute_source(name: str) -> MinuteBarSource:
    """The minute-bar source called ``name``; unknown names fail listing the known ones."""
    _known(name, MINUTE_SOURCES, "minute")
    return MINUTE_SOURCES[name]()


def minute_source_services(name: str) -> tuple[str, ...]:
    """The settings a task calling minute source ``name`` needs besides the lake's."""
    _known(name, MINUTE_SOURCES, "minute")
    return tuple(getattr(MINUTE_SOURCES[name], "services", ()))
