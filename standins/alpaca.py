"""A local stand-in for Alpaca's market-data API, speaking its wire format over real HTTP.

Serves ``GET /v2/stocks/bars`` (multi-symbol, ``limit`` + ``next_page_token`` pagination,
``adjustment=raw`` only, feed check, key headers) and ``GET /v1/corporate-actions`` (Alpaca's
bucketed ``corporate_actions`` object, paginated) on 127.0.0.1, in a thread.

Data: the real Alpaca bar responses in ``shared/fixtures/alpaca`` (raw daily bars of AAPL, NIO,
META, TSLA; 15-minute AMZN), real one-minute AAPL and JPM bars of 2019-02-11..15 converted to
Alpaca's shape (the CSVs have no trade count or VWAP: ``n`` and ``vw`` are derived), and, only
for symbols a test names in ``synthetic``, deterministic bars of the same shape on every NYSE
session: a daily bar, and minute bars over the extended hours (every minute of the regular
session, about one minute in three before and after it) on days without real minutes.
Corporate actions are real public events written in Alpaca's v1 shape.

Faults, the request log and the thread come from :class:`standins.base.StandIn`:
``inject(Fault(...))`` queues a status (429 with ``X-RateLimit-Reset`` / ``Retry-After``, 500,
...), a delay, a truncated body (Content-Length larger than what is sent) or a bad page (a body
that is not JSON), optionally only for follow-up pages (``page_token``). Test data only: the
fixtures live outside the repository.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from equity_lake import calendar
from standins.base import Request, Response, StandIn

#: ../shared/fixtures beside the repository (the tests' real samples)
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
NEW_YORK = ZoneInfo("America/New_York")

#: fixture responses whose bars are raw (no adjustment asked for, or asked before any event)
RAW_BAR_FIXTURES = {
    "1Day": [
        "alpaca/go_stocks_bars_1Day_AAPL_NIO_2021-10-13_to_15_multi.json",
        "alpaca/go_stocks_bars_1Day_META_asof_2022-06-09_page1.json",
        "alpaca/go_stocks_bars_1Day_META_asof_2022-06-09_page2.json",
        "alpaca/py_stocks_bars_1Day_AAPL_2022-02-01_limit2.json",
        "alpaca/py_stocks_bars_1Day_AAPL_TSLA_2022-03-09_multi.json",
        "alpaca/py_stocks_bars_1Day_TSLA_2023-09_sort_desc.json",
    ],
    "15Min": ["alpaca/go_stocks_bars_15Min_AMZN_2021-10-15_sip_split.json"],
}
#: US/Eastern end-of-minute labels (09:31 = the minute starting 09:30), newest first
MINUTE_CSVS = {
    "AAPL": "ohlcv/minute/AAPL_1min_2019-02-11_to_15_eqker.csv",
    "JPM": "ohlcv/minute/JPM_1min_eqker.csv",
}
TIMEFRAMES = ("1Day", "1Min", "15Min")
FEEDS = ("iex", "sip", "delayed_sip", "boats", "overnight", "otc")

#: real public events, in Alpaca's v1 corporate-actions shape
CORPORATE_ACTIONS: dict[str, list[dict[str, Any]]] = {
    "forward_splits": [
        {
            "id": "b2c4b6d7-0001-4a4e-9a0e-aapl20200831",
            "symbol": "AAPL",
            "cusip": "037833100",
            "new_rate": 4,
            "old_rate": 1,
            "process_date": "2020-08-31",
            "ex_date": "2020-08-31",
            "record_date": "2020-08-24",
            "payable_date": "2020-08-28",
        },
        {
            "id": "b2c4b6d7-0002-4a4e-9a0e-tsla20200831",
            "symbol": "TSLA",
            "cusip": "88160R101",
            "new_rate": 5,
            "old_rate": 1,
            "process_date": "2020-08-31",
            "ex_date": "2020-08-31",
            "record_date": "2020-08-21",
            "payable_date": "2020-08-28",
        },
        {
            "id": "b2c4b6d7-0003-4a4e-9a0e-tsla20220825",
            "symbol": "TSLA",
            "cusip": "88160R101",
            "new_rate": 3,
            "old_rate": 1,
            "process_date": "2022-08-25",
            "ex_date": "2022-08-25",
            "record_date": "2022-08-17",
            "payable_date": "2022-08-24",
        },
    ],
    "reverse_splits": [
        {
            "id": "b2c4b6d7-0004-4a4e-9a0e-ge0020210802",
            "symbol": "GE",
            "old_cusip": "369604103",
            "new_cusip": "369604301",
            "new_rate": 1,
            "old_rate": 8,
            "process_date": "2021-08-02",
            "ex_date": "2021-08-02",
            "record_date": "2021-07-30",
            "payable_date": "2021-07-30",
        }
    ],
    "cash_dividends": [
        {
            "id": f"b2c4b6d7-01{i:02d}-4a4e-9a0e-aapldividend",
            "symbol": "AAPL",
            "cusip": "037833100",
            "rate": rate,
            "special": False,
            "foreign": False,
            "process_date": payable,
            "ex_date": ex,
            "record_date": record,
            "payable_date": payable,
        }
        for i, (ex, record, payable, rate) in enumerate(
            [
                ("2021-02-05", "2021-02-08", "2021-02-11", 0.205),
                ("2021-05-07", "2021-05-10", "2021-05-13", 0.22),
                ("2021-08-06", "2021-08-09", "2021-08-12", 0.22),
                ("2021-11-05", "2021-11-08", "2021-11-11", 0.22),
                ("2022-02-04", "2022-02-07", "2022-02-10", 0.22),
                ("2022-05-06", "2022-05-09", "2022-05-12", 0.23),
            ]
        )
    ],
    "name_changes": [
        {
            "id": "b2c4b6d7-0005-4a4e-9a0e-fbmeta220609",
            "old_symbol": "FB",
            "new_symbol": "META",
            "old_cusip": "30303M102",
            "new_cusip": "30303M102",
            "process_date": "2022-06-09",
        }
    ],
}
_SINGULAR = {
    "forward_splits": "forward_split",
    "reverse_splits": "reverse_split",
    "unit_splits": "unit_split",
    "stock_dividends": "stock_dividend",
    "cash_dividends": "cash_dividend",
    "spin_offs": "spin_off",
    "cash_mergers": "cash_merger",
    "stock_mergers": "stock_merger",
    "stock_and_cash_mergers": "stock_and_cash_merger",
    "redemptions": "redemption",
    "name_changes": "name_change",
    "worthless_removals": "worthless_removal",
    "rights_distributions": "rights_distribution",
}


def _nyc_midnight_utc(day: dt.date) -> str:
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=NEW_YORK).astimezone(dt.UTC)
    return midnight.strftime("%Y-%m-%dT%H:%M:%SZ")


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _parse_bound(text: str, end: bool) -> dt.datetime:
    """RFC 3339 or YYYY-MM-DD (a date means that UTC day's start, or its end for ``end``)."""
    if "T" in text:
        return _instant(text)
    day = dt.date.fromisoformat(text)
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start + dt.timedelta(days=1, microseconds=-1) if end else start


def synthetic_daily_bar(symbol: str, day: dt.date) -> dict[str, Any]:
    """A deterministic daily bar in Alpaca's shape (consistent OHLC, whole-share volume)."""
    seed = zlib.crc32(symbol.encode())
    noise = zlib.crc32(f"{symbol}{day.isoformat()}".encode())
    level = 20 + seed % 400
    drift = 1 + 0.05 * ((day.toordinal() * 7 + seed) % 97 - 48) / 48
    open_ = round(level * drift, 2)
    close = round(open_ * (1 + ((noise % 201) - 100) / 5000), 2)
    high = round(max(open_, close) * (1 + (noise % 13) / 1000), 2)
    low = round(min(open_, close) * (1 - (noise % 11) / 1000), 2)
    volume = 100_000 + noise % 5_000_000
    return {
        "t": _nyc_midnight_utc(day),
        "o": open_,
        "h": high,
        "l": low,
        "c": close,
        "v": volume,
        "n": 1 + volume // 120,
        "vw": round((high + low + close) / 3, 6),
    }


def synthetic_minute_bars(symbol: str, day: dt.date) -> list[dict[str, Any]]:
    """Deterministic minute bars of ``day``'s extended hours in Alpaca's shape, in time order:
    every regular-session minute, and the pre- and post-market minutes a hash picks (thin
    trading outside the session)."""
    start, end = calendar.session_bounds(day, "extended")
    opens, closes = calendar.session_bounds(day, "regular")
    daily = synthetic_daily_bar(symbol, day)
    bars = []
    minute = start
    while minute < end:
        stamp = minute.strftime("%Y-%m-%dT%H:%M:%SZ")
        noise = zlib.crc32(f"{symbol}{stamp}".encode())
        if opens <= minute < closes or noise % 3 == 0:
            open_ = round(daily["o"] * (1 + ((noise % 101) - 50) / 10_000), 2)
            close = round(open_ * (1 + ((noise >> 8) % 41 - 20) / 10_000), 2)
            high = round(max(open_, close) * (1 + (noise % 7) / 10_000), 2)
            low = round(min(open_, close) * (1 - (noise % 5) / 10_000), 2)
            volume = 100 + (noise >> 4) % (50_000 if opens <= minute < closes else 2_000)
            bars.append(
                {
                    "t": stamp,
                    "o": open_,
                    "h": high,
                    "l": low,
                    "c": close,
                    "v": volume,
                    "n": 1 + volume // 90,
                    "vw": round((high + low + close) / 3, 4),
                }
            )
        minute += dt.timedelta(minutes=1)
    return bars


def _load_fixture_bars() -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """timeframe -> symbol -> t -> bar, from the real response fixtures and minute CSVs."""
    data: dict[str, dict[str, dict[str, dict[str, Any]]]] = {tf: {} for tf in TIMEFRAMES}
    for timeframe, files in RAW_BAR_FIXTURES.items():
        for name in files:
            page = json.loads((FIXTURES / name).read_text())
            for symbol, bars in page["bars"].items():
                for bar in bars:
                    data[timeframe].setdefault(symbol, {})[bar["t"]] = bar
    for symbol, name in MINUTE_CSVS.items():
        with open(FIXTURES / name, newline="") as handle:
            for row in csv.DictReader(handle):
                label = dt.datetime.fromisoformat(row["datetime"]).replace(tzinfo=NEW_YORK)
                start = (label - dt.timedelta(minutes=1)).astimezone(dt.UTC)
                o, h, low, c = (float(row[k]) for k in ("open", "high", "low", "close"))
                volume = int(row["volume"])
                bar = {
                    "t": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "o": o,
                    "h": h,
                    "l": low,
                    "c": c,
                    "v": volume,
                    "n": max(1, volume // 100),
                    "vw": round((h + low + c) / 3, 6),
                }
                data["1Min"].setdefault(symbol, {})[bar["t"]] = bar
    return data


_FIXTURE_BARS: dict[str, dict[str, dict[str, dict[str, Any]]]] | None = None


def fixture_bars() -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    global _FIXTURE_BARS
    if _FIXTURE_BARS is None:
        _FIXTURE_BARS = _load_fixture_bars()
    return _FIXTURE_BARS


_REAL_MINUTE_DAYS: dict[str, set[dt.date]] = {}


def real_minute_days(symbol: str) -> set[dt.date]:
    """The New York dates on which the fixtures hold real minute bars of ``symbol``."""
    if symbol not in _REAL_MINUTE_DAYS:
        stamps = fixture_bars()["1Min"].get(symbol, {})
        _REAL_MINUTE_DAYS[symbol] = {_instant(t).astimezone(NEW_YORK).date() for t in stamps}
    return _REAL_MINUTE_DAYS[symbol]


def _token(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _untoken(token: str) -> str | None:
    try:
        return base64.b64decode(token.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None


class AlpacaServer(StandIn):
    """Alpaca's market-data API on 127.0.0.1."""

    name = "Alpaca-stand-in"

    def __init__(
        self,
        *,
        key_id: str = "test-key-id",
        secret_key: str = "test-secret-key",
        page_size: int | None = None,
        sip_allowed: bool = True,
        synthetic: Iterable[str] = (),
        prefix: str = "",
        corporate_actions: dict[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        super().__init__(prefix=prefix)
        self.key_id = key_id
        self.secret_key = secret_key
        self.page_size = page_size
        self.sip_allowed = sip_allowed
        self.synthetic = set(synthetic)
        self.corporate_actions = corporate_actions or CORPORATE_ACTIONS

    def env(self) -> dict[str, str]:
        """The library-side configuration pointing the alpaca source here."""
        return {
            "ALPACA_DATA_URL": self.url,
            "ALPACA_API_KEY_ID": self.key_id,
            "ALPACA_API_SECRET_KEY": self.secret_key,
            "ALPACA_FEED": "iex",
            "ALPACA_RATE_LIMIT_PER_MINUTE": "60000",
        }

    def error(self, status: int, message: str) -> Response:
        return _json(status, {"message": message})

    # -- data --
    def daily_bar(self, symbol: str, day: dt.date) -> dict[str, Any] | None:
        """The 1Day bar this server serves for ``symbol`` on ``day`` (None when it has none)."""
        real = fixture_bars()["1Day"].get(symbol, {}).get(_nyc_midnight_utc(day))
        if real is not None:
            return real
        if symbol in self.synthetic and calendar.is_session(day):
            return synthetic_daily_bar(symbol, day)
        return None

    def minute_bars(
        self, symbol: str, start: dt.datetime, end: dt.datetime
    ) -> list[dict[str, Any]]:
        """The 1Min bars this server serves for ``symbol`` in ``[start, end]``, in time order:
        the real ones, and synthetic ones on sessions without real minutes for a symbol named
        in ``synthetic``."""
        real = fixture_bars()["1Min"].get(symbol, {})
        bars = [real[t] for t in sorted(real) if start <= _instant(t) <= end]
        if symbol not in self.synthetic:
            return bars
        day = max(start.astimezone(NEW_YORK).date(), calendar.FIRST_SESSION)
        last = min(end.astimezone(NEW_YORK).date(), calendar.LAST_SESSION)
        while day <= last:
            if day not in real_minute_days(symbol) and calendar.is_session(day):
                bars.extend(
                    bar
                    for bar in synthetic_minute_bars(symbol, day)
                    if start <= _instant(bar["t"]) <= end
                )
            day += dt.timedelta(days=1)
        return sorted(bars, key=lambda bar: bar["t"])

    def _series(
        self, symbol: str, timeframe: str, start: dt.datetime, end: dt.datetime
    ) -> list[dict[str, Any]]:
        if timeframe == "1Day":
            first = start.astimezone(NEW_YORK).date() - dt.timedelta(days=1)
            last = end.astimezone(NEW_YORK).date()
            bars = []
            day = first
            while day <= last:
                bar = (
                    self.daily_bar(symbol, day)
                    if calendar.FIRST_SESSION <= day <= calendar.LAST_SESSION
                    else None
                )
                if bar is not None and start <= _instant(bar["t"]) <= end:
                    bars.append(bar)
                day += dt.timedelta(days=1)
            return bars
        if timeframe == "1Min":
            return self.minute_bars(symbol, start, end)
        series = fixture_bars()[timeframe].get(symbol, {})
        return [series[t] for t in sorted(series) if start <= _instant(t) <= end]

    # -- the wire format --
    def route(self, request: Request) -> Response:
        if (
            request.header("APCA-API-KEY-ID") != self.key_id
            or request.header("APCA-API-SECRET-KEY") != self.secret_key
        ):
            return _json(401, {"message": "unauthorized."})
        if request.path == "/v2/stocks/bars":
            return self._bars(request.params)
        if request.path == "/v1/corporate-actions":
            return self._corporate_actions(request.params)
        return _json(404, {"message": "Not Found"})

    def _bars(self, params: dict[str, str]) -> Response:
        symbols = [s for s in params.get("symbols", "").split(",") if s]
        if not symbols:
            return _json(400, {"message": "symbols is required"})
        timeframe = params.get("timeframe", "")
        if timeframe not in TIMEFRAMES:
            return _json(422, {"message": f"invalid timeframe: {timeframe}"})
        if params.get("adjustment", "raw") != "raw":
            return _json(422, {"message": "this stand-in serves adjustment=raw only"})
        feed = params.get("feed", "sip")
        if feed not in FEEDS:
            return _json(422, {"message": f"invalid feed: {feed}"})
        if feed == "sip" and not self.sip_allowed:
            return _json(403, {"message": "subscription does not permit querying recent SIP data"})
        try:
            limit = int(params.get("limit", "1000"))
            start = _parse_bound(params["start"], end=False)
            end = _parse_bound(params["end"], end=True)
        except (KeyError, ValueError) as exc:
            return _json(422, {"message": f"invalid request: {exc}"})
        if not 1 <= limit <= 10_000:
            return _json(422, {"message": "invalid limit: must be between 1 and 10000"})
        page = min(limit, self.page_size or limit)
        rows = [
            (symbol, bar)
            for symbol in sorted(set(symbols))
            for bar in self._series(symbol, timeframe, start, end)
        ]
        after = 0
        if params.get("page_token"):
            mark = _untoken(params["page_token"])
            keys = [f"{s}|{timeframe}|{b['t']}" for s, b in rows]
            if mark not in keys:
                return _json(422, {"message": "invalid page token"})
            after = keys.index(mark) + 1
        chunk = rows[after : after + page]
        out: dict[str, list[dict[str, Any]]] = {}
        for symbol, bar in chunk:
            out.setdefault(symbol, []).append(bar)
        more = after + page < len(rows)
        token = _token(f"{chunk[-1][0]}|{timeframe}|{chunk[-1][1]['t']}") if more else None
        return _json(200, {"bars": out, "next_page_token": token})

    def _corporate_actions(self, params: dict[str, str]) -> Response:
        symbols = {s for s in params.get("symbols", "").split(",") if s}
        types = {t for t in params.get("types", "").split(",") if t}
        unknown = types - set(_SINGULAR.values())
        if unknown:
            return _json(400, {"message": f"invalid types: {','.join(sorted(unknown))}"})
        try:
            today = dt.date.today().isoformat()
            start = dt.date.fromisoformat(params.get("start", today))
            end = dt.date.fromisoformat(params.get("end", today))
            limit = int(params.get("limit", "100"))
        except ValueError as exc:
            return _json(400, {"message": f"invalid request: {exc}"})
        if not 1 <= limit <= 1000:
            return _json(400, {"message": "invalid limit: must be between 1 and 1000"})
        events = []
        for group, items in self.corporate_actions.items():
            if types and _SINGULAR[group] not in types:
                continue
            for item in items:
                when = dt.date.fromisoformat(
                    item.get("ex_date") or item.get("effective_date") or item["process_date"]
                )
                names = {
                    item.get(k)
                    for k in ("symbol", "old_symbol", "new_symbol", "source_symbol")
                    if item.get(k)
                }
                if start <= when <= end and (not symbols or names & symbols):
                    events.append((when.isoformat(), group, item.get("id", ""), item))
        events.sort(key=lambda e: e[:3])
        offset = 0
        if params.get("page_token"):
            mark = _untoken(params["page_token"])
            if mark is None or not mark.isdigit():
                return _json(400, {"message": "invalid page token"})
            offset = int(mark)
        chunk = events[offset : offset + min(limit, self.page_size or limit)]
        out: dict[str, list[dict[str, Any]]] = {}
        for _, group, _, item in chunk:
            out.setdefault(group, []).append(item)
        more = offset + len(chunk) < len(events)
        token = _token(str(offset + len(chunk))) if more else None
        return _json(200, {"corporate_actions": out, "next_page_token": token})


def _json(status: int, obj: object) -> Response:
    return Response(status, json.dumps(obj).encode(), "application/json")


# --- a security master whose symbols match the fixture data ------------------------------------
#: (security_id, symbol, company, cik, exchange, start, end); FB became META on 2022-06-09
MASTER_ROWS = [
    (1, "AAPL", "Apple Inc.", "0000320193", "NASDAQ", "1980-12-12", None),
    (2, "NIO", "NIO Inc.", "0001736541", "NYSE", "2018-09-12", None),
    (3, "FB", "Meta Platforms, Inc.", "0001326801", "NASDAQ", "2012-05-18", "2022-06-08"),
    (3, "META", "Meta Platforms, Inc.", "0001326801", "NASDAQ", "2022-06-09", None),
    (4, "TSLA", "Tesla, Inc.", "0001318605", "NASDAQ", "2010-06-29", None),
    (5, "GE", "General Electric Company", "0000040545", "NYSE", "1962-01-02", None),
    (6, "AMZN", "Amazon.com, Inc.", "0001018724", "NASDAQ", "1997-05-15", None),
    (7, "MSFT", "Microsoft Corporation", "0000789019", "NASDAQ", "1986-03-13", None),
    (8, "JPM", "JPMorgan Chase & Co.", "0000019617", "NYSE", "1969-03-05", None),
    (9, "NVDA", "NVIDIA Corporation", "0001045810", "NASDAQ", "1999-01-22", None),
    (10, "KO", "The Coca-Cola Company", "0000021344", "NYSE", "1919-09-05", None),
    (11, "IBM", "International Business Machines", "0000051143", "NYSE", "1962-01-02", None),
    (12, "TWTR", "Twitter, Inc.", "0001418091", "NYSE", "2013-11-07", "2022-10-27"),
]
#: the master's symbols this server invents bars for (AAPL, NIO: real fixture data; TWTR: none)
SYNTHETIC = ("FB", "TSLA", "GE", "AMZN", "MSFT", "JPM", "NVDA", "KO", "IBM")


def master_table():
    """MASTER_ROWS as a SECURITY_MASTER table."""
    import pyarrow as pa

    from equity_lake.lake.schemas import SECURITY_MASTER

    def day(text):
        return dt.date.fromisoformat(text) if text else None

    known = {
        "security_id": [r[0] for r in MASTER_ROWS],
        "symbol": [r[1] for r in MASTER_ROWS],
        "company": [r[2] for r in MASTER_ROWS],
        "cik": [r[3] for r in MASTER_ROWS],
        "exchange": [r[4] for r in MASTER_ROWS],
        "start_date": [day(r[5]) for r in MASTER_ROWS],
        "end_date": [day(r[6]) for r in MASTER_ROWS],
        "source": ["test"] * len(MASTER_ROWS),
    }
    # columns the master may have grown (e.g. permno) are unknown here: nulls
    return pa.table(
        {f.name: known.get(f.name, [None] * len(MASTER_ROWS)) for f in SECURITY_MASTER},
        schema=SECURITY_MASTER,
    )
