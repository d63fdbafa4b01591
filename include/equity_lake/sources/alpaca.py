"""The ``alpaca`` source: Alpaca market data v2 bars and v1 corporate actions.

The calls go through alpaca-py, Alpaca's own SDK: it knows the endpoints, the request
parameters and the ``next_page_token`` pagination, so the project keeps no hand-written copy of
Alpaca's API. The HTTP policy stays the project's (``alpaca_policy.py``: the shared
``HttpClient`` under alpaca-py's session, alpaca-py's own retries off, repeated page tokens
refused). A page that cannot be read fails the whole call, so a day is never published
half-fetched.

Bars are requested raw (``adjustment=raw``): the lake stores prices as traded and computes
adjusted series itself (``equity_lake.adjust``). Many symbols go in one request. alpaca-py runs
with ``raw_data=True``, so the answers stay Alpaca's own dicts and are validated here.

Configuration (the environment; in Airflow the ``alpaca_default`` connection is exported into
it at task run time): ``ALPACA_API_KEY_ID`` / ``ALPACA_API_SECRET_KEY`` (sent by alpaca-py as
the ``APCA-API-KEY-ID`` / ``APCA-API-SECRET-KEY`` headers), ``ALPACA_DATA_URL`` (any
Alpaca-compatible endpoint), ``ALPACA_FEED`` (``iex`` on the free plan, ``sip`` paid) and
``ALPACA_RATE_LIMIT_PER_MINUTE`` (per process; 200 on the free plan).

Timestamps: a daily bar's ``t`` is midnight New York time expressed in UTC (04:00Z in summer,
05:00Z in winter) and maps to that New York date; a minute bar's ``t`` is the start of the
minute, kept as a tz-aware UTC instant.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
from alpaca.common.enums import Sort
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment, CorporateActionsType, DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.historical.corporate_actions import CorporateActionsClient
from alpaca.data.requests import CorporateActionsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from equity_lake import calendar
from equity_lake.lake.schemas import DAILY_TICKS, MINUTE_TICKS, UTC_INSTANT
from equity_lake.sources.alpaca_policy import PolicyAdapter, under_policy
from equity_lake.sources.http import HttpClient, RetryPolicy, SourceError

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_DATA_URL = "https://data.alpaca.markets"
DEFAULT_FEED = "iex"
FEEDS = ("iex", "sip", "delayed_sip", "boats", "overnight", "otc")
#: the free plan's limit; with a pool of S slots calling at once, set plan_limit / S
DEFAULT_RATE_PER_MINUTE = 200.0
BARS_PATH = "/v2/stocks/bars"
CORPORATE_ACTIONS_PATH = "/v1/corporate-actions"
#: symbols per request (keeps the URL short; one daily page then holds them all)
SYMBOLS_PER_REQUEST = 100
#: the corporate action types the lake maps, and the response key each comes back under
ACTION_TYPES = {
    "forward_split": "forward_splits",
    "reverse_split": "reverse_splits",
    "cash_dividend": "cash_dividends",
    "name_change": "name_changes",
}


class AlpacaConfigError(ValueError):
    """The Alpaca settings are missing or unusable; the message names the setting."""


@dataclass(frozen=True)
class AlpacaConfig:
    """Where and how to call Alpaca; the keys never appear in ``repr``."""

    key_id: str = field(repr=False)
    secret_key: str = field(repr=False)
    data_url: str = DEFAULT_DATA_URL
    feed: str = DEFAULT_FEED
    rate_per_minute: float = DEFAULT_RATE_PER_MINUTE

    def __post_init__(self) -> None:
        if not self.key_id or not self.secret_key:
            raise AlpacaConfigError(
                "Alpaca keys missing: set ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY "
                "(in Airflow: the alpaca_default connection, login = key id, password = secret)"
            )
        if self.feed not in FEEDS:
            raise AlpacaConfigError(f"ALPACA_FEED={self.feed!r} is not one of {', '.join(FEEDS)}")
        if not self.data_url.startswith(("http://", "https://")):
            raise AlpacaConfigError(f"ALPACA_DATA_URL={self.data_url!r} must be an http(s) URL")
        if not self.rate_per_minute > 0:
            raise AlpacaConfigError(
                f"ALPACA_RATE_LIMIT_PER_MINUTE must be positive, got {self.rate_per_minute}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlpacaConfig:
        env = os.environ if env is None else env
        rate_text = env.get("ALPACA_RATE_LIMIT_PER_MINUTE") or str(DEFAULT_RATE_PER_MINUTE)
        try:
            rate = float(rate_text)
        except ValueError:
            raise AlpacaConfigError(
                f"ALPACA_RATE_LIMIT_PER_MINUTE={rate_text!r} is not a number"
            ) from None
        return cls(
            key_id=env.get("ALPACA_API_KEY_ID", ""),
            secret_key=env.get("ALPACA_API_SECRET_KEY", ""),
            data_url=(env.get("ALPACA_DATA_URL") or DEFAULT_DATA_URL).rstrip("/"),
            feed=(env.get("ALPACA_FEED") or DEFAULT_FEED).strip().lower(),
            rate_per_minute=rate,
        )

    def headers(self) -> dict[str, str]:
        """The key headers Alpaca expects (alpaca-py sends these itself)."""
        return {"APCA-API-KEY-ID": self.key_id, "APCA-API-SECRET-KEY": self.secret_key}


def _parse_instant(text: object, what: str) -> dt.datetime:
    if not isinstance(text, str):
        raise SourceError(f"{what}: timestamp {text!r} is not a string")
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(f"{what}: timestamp {text!r} is not RFC 3339") from None
    if value.tzinfo is None:
        raise SourceError(f"{what}: timestamp {text!r} has no time zone")
    return value.astimezone(dt.UTC)


def new_york_date(text: str, what: str = "bar") -> dt.date:
    """The New York calendar date of an Alpaca daily bar's ``t`` (midnight NY, in UTC)."""
    return _parse_instant(text, what).astimezone(NEW_YORK).date()


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


class AlpacaClient:
    """Alpaca's bars and corporate actions through alpaca-py, every page followed, under the
    project's HTTP policy."""

    def __init__(self, config: AlpacaConfig, *, retry: RetryPolicy | None = None) -> None:
        self.config = config
        self.http = HttpClient(
            base_url=config.data_url,
            rate_per_second=config.rate_per_minute / 60.0,
            retry=retry or RetryPolicy(),
        )
        self.adapter = PolicyAdapter(self.http)
        keys = {"api_key": config.key_id, "secret_key": config.secret_key}
        self.stocks = under_policy(
            StockHistoricalDataClient(**keys, raw_data=True, url_override=config.data_url),
            self.adapter,
        )
        self.actions = under_policy(
            CorporateActionsClient(**keys, raw_data=True, url_override=config.data_url),
            self.adapter,
        )

    def close(self) -> None:
        """Close alpaca-py's sessions and the HTTP client under them."""
        self.stocks._session.close()
        self.actions._session.close()
        self.http.close()

    def _fetch(self, path: str, method: Callable[[Any], Any], request: Any) -> dict[str, Any]:
        """``method(request)``, its every page fetched; an answer alpaca-py cannot read (a
        missing or null data key, ...) is a ``SourceError`` too."""
        try:
            answer = method(request)
        except SourceError:
            raise
        except (APIError, ValueError, TypeError, AttributeError, KeyError) as exc:
            raise SourceError(
                f"GET {self.config.data_url}{path}: an answer alpaca-py cannot read "
                f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
            ) from None
        if not isinstance(answer, dict):
            raise SourceError(
                f"GET {self.config.data_url}{path}: expected an object, got {type(answer).__name__}"
            )
        return answer

    def bars(
        self,
        symbols: Sequence[str],
        timeframe: TimeFrame,
        start: dt.datetime,
        end: dt.datetime,
        *,
        asof: dt.date | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """Raw bars per symbol in ``[start, end]`` (both inclusive), all pages, in time order."""
        out: dict[str, list[dict[str, Any]]] = {}
        wanted = set(symbols)
        for batch in _batches(sorted(wanted), SYMBOLS_PER_REQUEST):
            request = StockBarsRequest(
                symbol_or_symbols=batch,
                timeframe=timeframe,
                start=start,
                end=end,
                adjustment=Adjustment.RAW,
                feed=DataFeed(self.config.feed),
                sort=Sort.ASC,
                asof=asof.isoformat() if asof is not None else None,
            )
            for symbol, rows in self._fetch(BARS_PATH, self.stocks.get_stock_bars, request).items():
                if symbol not in wanted:
                    raise SourceError(f"GET {BARS_PATH}: bars for unrequested {symbol!r}")
                if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                    raise SourceError(f"GET {BARS_PATH}: bars of {symbol} are not a list of bars")
                out.setdefault(symbol, []).extend(rows)
        return out

    def corporate_actions(
        self,
        symbols: Sequence[str],
        start: dt.date,
        end: dt.date,
        types: Iterable[str] = tuple(ACTION_TYPES),
    ) -> dict[str, list[dict[str, Any]]]:
        """Corporate actions per response type (``forward_splits``, ...), all pages."""
        out: dict[str, list[dict[str, Any]]] = {}
        kinds = [CorporateActionsType(t) for t in types]
        for batch in _batches(sorted(set(symbols)), SYMBOLS_PER_REQUEST):
            request = CorporateActionsRequest(
                symbols=batch,
                types=kinds,
                start=start,
                end=end,
                limit=None,  # alpaca-py's limit caps the whole answer: never cut it short
                sort=Sort.ASC,
            )
            groups = self._fetch(
                CORPORATE_ACTIONS_PATH, self.actions.get_corporate_actions, request
            )
            for kind, rows in groups.items():
                if not isinstance(rows, list):
                    raise SourceError(f"GET {CORPORATE_ACTIONS_PATH}: {kind} is not a list")
                out.setdefault(kind, []).extend(rows)
        return out


@lru_cache(maxsize=4)
def _client(config: AlpacaConfig) -> AlpacaClient:
    """One client (and so one rate limiter) per configuration and process."""
    return AlpacaClient(config)


def client_from_env() -> AlpacaClient:
    return _client(AlpacaConfig.from_env())


# --- bars -> lake rows ------------------------------------------------------------------------
def _number(bar: Mapping[str, Any], key: str, what: str) -> float:
    value = bar.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceError(f"{what}: field {key!r} is {value!r}, not a number")
    return float(value)


def _volume(bar: Mapping[str, Any], what: str) -> int:
    value = _number(bar, "v", what)
    if not value.is_integer():
        raise SourceError(f"{what}: volume {value!r} is not a whole number of shares")
    return int(value)


def _trade_count(bar: Mapping[str, Any], what: str) -> int | None:
    """Alpaca's ``n`` (trades in the bar); None when the bar has none."""
    if bar.get("n") is None:
        return None
    value = _number(bar, "n", what)
    if not value.is_integer():
        raise SourceError(f"{what}: trade count {value!r} is not a whole number")
    return int(value)


def _vwap(bar: Mapping[str, Any], what: str) -> float | None:
    """Alpaca's ``vw`` (volume-weighted average price); None when the bar has none."""
    return None if bar.get("vw") is None else _number(bar, "vw", what)


def _columns(
    rows: list[tuple[int, str, object, dict[str, Any], str]], stamp_type: pa.DataType
) -> dict[str, pa.Array]:
    return {
        "security_id": pa.array([r[0] for r in rows], pa.int64()),
        "symbol": pa.array([r[1] for r in rows], pa.string()),
        "timestamp": pa.array([r[2] for r in rows], stamp_type),
        "open": pa.array([_number(r[3], "o", r[4]) for r in rows], pa.float64()),
        "high": pa.array([_number(r[3], "h", r[4]) for r in rows], pa.float64()),
        "low": pa.array([_number(r[3], "l", r[4]) for r in rows], pa.float64()),
        "close": pa.array([_number(r[3], "c", r[4]) for r in rows], pa.float64()),
        "volume": pa.array([_volume(r[3], r[4]) for r in rows], pa.int64()),
    }


def _symbol_ids(universe: pa.Table) -> dict[str, int]:
    symbols = universe.column("symbol").to_pylist()
    ids = universe.column("security_id").to_pylist()
    mapping = dict(zip(symbols, ids, strict=True))
    if len(mapping) != len(symbols):
        raise ValueError("universe lists a symbol twice")
    return mapping


def daily_table(day: dt.date, universe: pa.Table, bars: Mapping[str, list[dict]]) -> pa.Table:
    """One row per security that has a bar on ``day`` (DAILY_TICKS columns).

    A bar dated another day, or two bars for one security, means the response does not answer
    the question asked: that fails the call rather than publish a wrong day.
    """
    ids = _symbol_ids(universe)
    rows = []
    for symbol, items in bars.items():
        if len(items) > 1:
            raise SourceError(f"alpaca returned {len(items)} daily bars for {symbol} on {day}")
        for bar in items:
            what = f"alpaca daily bar {symbol} {bar.get('t')}"
            stamp = new_york_date(bar.get("t"), what)
            if stamp != day:
                raise SourceError(f"{what}: dated {stamp}, asked for {day}")
            rows.append((ids[symbol], symbol, stamp, bar, what))
    rows.sort(key=lambda r: r[0])
    return pa.table(_columns(rows, pa.date32()), schema=DAILY_TICKS)


def minute_table(
    day: dt.date, universe: pa.Table, bars: Mapping[str, list[dict]], session: str = "regular"
) -> pa.Table:
    """Minute bars of ``day``'s ``session`` ("regular" or "extended") as UTC instants of the
    minute's start, sorted by security and time (MINUTE_TICKS columns; ``trade_count`` and
    ``vwap`` null where Alpaca sends no ``n`` / ``vw``).

    A bar outside the session's ``[start, end)`` or a minute twice fails the call.
    """
    ids = _symbol_ids(universe)
    start, end = calendar.session_bounds(day, session)
    rows = []
    for symbol, items in bars.items():
        seen: set[dt.datetime] = set()
        for bar in items:
            what = f"alpaca minute bar {symbol} {bar.get('t')}"
            stamp = _parse_instant(bar.get("t"), what)
            if not start <= stamp < end:
                raise SourceError(
                    f"{what}: outside the {day} {session} session {start:%H:%M}Z..{end:%H:%M}Z"
                )
            if stamp in seen:
                raise SourceError(f"{what}: duplicate minute")
            seen.add(stamp)
            rows.append((ids[symbol], symbol, stamp, bar, what))
    rows.sort(key=lambda r: (r[0], r[2]))
    columns = _columns(rows, UTC_INSTANT)
    columns["trade_count"] = pa.array([_trade_count(r[3], r[4]) for r in rows], pa.int64())
    columns["vwap"] = pa.array([_vwap(r[3], r[4]) for r in rows], pa.float64())
    return pa.table(columns, schema=MINUTE_TICKS)


def _new_york_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=NEW_YORK)


class AlpacaDailySource:
    """Daily bars from Alpaca; a security with no trade that day simply has no bar."""

    name = "alpaca"
    #: IEX-only data and halted or thinly traded names leave gaps: the gate accepts >= 90%
    complete = False
    services: tuple[str, ...] = ("alpaca",)

    def __init__(self, client: AlpacaClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> AlpacaClient:
        if self._client is None:
            self._client = client_from_env()
        return self._client

    def daily_bars(self, day: dt.date, universe: pa.Table) -> pa.Table:
        symbols = universe.column("symbol").to_pylist()
        if not symbols:
            return DAILY_TICKS.empty_table()
        start = _new_york_midnight(day)
        end = _new_york_midnight(day + dt.timedelta(days=1)) - dt.timedelta(seconds=1)
        bars = self.client.bars(symbols, TimeFrame.Day, start, end, asof=day)
        return daily_table(day, universe, bars)

    def minute_bars(self, day: dt.date, universe: pa.Table, session: str = "regular") -> pa.Table:
        """``day``'s one-minute bars (MINUTE_TICKS): the ``regular`` session (09:30 up to the
        close, New York time) or the ``extended`` hours around it (pre- and post-market)."""
        start, end = calendar.session_bounds(day, session)
        symbols = universe.column("symbol").to_pylist()
        if not symbols:
            return MINUTE_TICKS.empty_table()
        last = end - dt.timedelta(minutes=1)  # Alpaca's end is inclusive
        bars = self.client.bars(symbols, TimeFrame.Minute, start, last, asof=day)
        return minute_table(day, universe, bars, session)


# --- corporate actions -> lake rows --------------------------------------------------------------
def _date(value: object, what: str) -> dt.date:
    if not isinstance(value, str):
        raise SourceError(f"{what}: date {value!r} is not a string")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SourceError(f"{what}: date {value!r} is not YYYY-MM-DD") from None


@dataclass(frozen=True)
class ActionRow:
    """One Alpaca event in the lake's terms (before its security is resolved)."""

    symbol: str
    ex_date: dt.date
    action: str
    ratio: float | None = None
    amount: float | None = None
    old_symbol: str | None = None
    new_symbol: str | None = None


def action_rows(groups: Mapping[str, list[dict[str, Any]]]) -> list[ActionRow]:
    """Splits (ratio = new_rate / old_rate; < 1 for a reverse split), cash dividends (amount
    per share) and name changes (effective on their process date), from Alpaca's groups."""
    rows: list[ActionRow] = []
    for kind in ("forward_splits", "reverse_splits"):
        for item in groups.get(kind, []):
            what = f"alpaca {kind[:-1]} {item.get('symbol')}"
            new, old = _number(item, "new_rate", what), _number(item, "old_rate", what)
            if new <= 0 or old <= 0:
                raise SourceError(f"{what}: rates {new}/{old} must be positive")
            rows.append(
                ActionRow(
                    symbol=str(item.get("symbol")),
                    ex_date=_date(item.get("ex_date"), what),
                    action="split",
                    ratio=new / old,
                )
            )
    for item in groups.get("cash_dividends", []):
        what = f"alpaca cash_dividend {item.get('symbol')}"
        rate = _number(item, "rate", what)
        if rate <= 0:
            raise SourceError(f"{what}: rate {rate} must be positive")
        rows.append(
            ActionRow(
                symbol=str(item.get("symbol")),
                ex_date=_date(item.get("ex_date"), what),
                action="dividend",
                amount=rate,
            )
        )
    for item in groups.get("name_changes", []):
        what = f"alpaca name_change {item.get('old_symbol')}->{item.get('new_symbol')}"
        old, new = item.get("old_symbol"), item.get("new_symbol")
        if not isinstance(old, str) or not isinstance(new, str):
            raise SourceError(f"{what}: old_symbol and new_symbol must be strings")
        rows.append(
            ActionRow(
                symbol=new,
                ex_date=_date(item.get("process_date"), what),
                action="symbol_change",
                old_symbol=old,
                new_symbol=new,
            )
        )
    return rows
