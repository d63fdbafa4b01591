"""The alpaca source against a local server speaking Alpaca's market-data wire format."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake import calendar, cli
from equity_lake.datasets import corporate_actions, daily_ticks
from equity_lake.engine.wap import QualityGateFailed
from equity_lake.lake import keys
from equity_lake.lake.schemas import CORPORATE_ACTIONS, DAILY_TICKS, MINUTE_TICKS
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster
from equity_lake.sources import registry
from equity_lake.sources.alpaca import (
    SYMBOLS_PER_REQUEST,
    AlpacaClient,
    AlpacaConfig,
    AlpacaConfigError,
    AlpacaDailySource,
    action_rows,
    daily_table,
    minute_table,
    new_york_date,
)
from equity_lake.sources.http import OffHostRedirect, RetryPolicy, SourceError
from standins.alpaca import FIXTURES, MINUTE_CSVS, SYNTHETIC, AlpacaServer
from standins.alpaca import master_table as fixture_master
from standins.base import Fault
from standins.files import FileServer

BARS = "/v2/stocks/bars"
ACTIONS = "/v1/corporate-actions"
OCT14 = dt.date(2021, 10, 14)


@pytest.fixture(scope="module")
def server():
    with AlpacaServer(synthetic=SYNTHETIC) as running:
        yield running


@pytest.fixture
def alpaca(server, monkeypatch):
    """The server, reset, configured as the alpaca source through the environment."""
    server.reset()
    server.page_size = None
    server.sip_allowed = True
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    yield server
    server.reset()


def fast_client(server, **overrides) -> AlpacaClient:
    config = AlpacaConfig.from_env({**server.env(), **overrides})
    return AlpacaClient(config, retry=RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02))


def instant(text: str) -> dt.datetime:
    """An RFC 3339 request bound as a UTC instant (alpaca-py writes ``+00:00``, not ``Z``)."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.tzinfo is not None, f"{text} has no time zone"
    return value.astimezone(dt.UTC)


def universe(*symbols: str) -> pa.Table:
    sm = SecurityMaster(fixture_master())
    active = sm.active_on(OCT14)
    return active.filter(pc.is_in(active.column("symbol"), pa.array(list(symbols))))


# --- configuration ------------------------------------------------------------------------------
def test_config_comes_from_the_environment_and_hides_keys():
    config = AlpacaConfig.from_env(
        {
            "ALPACA_API_KEY_ID": "AKID",
            "ALPACA_API_SECRET_KEY": "s3cr3t",
            "ALPACA_DATA_URL": "https://proxy.example.com/alpaca/",
            "ALPACA_FEED": "SIP",
        }
    )
    assert config.data_url == "https://proxy.example.com/alpaca"
    assert config.feed == "sip" and config.rate_per_minute == 200
    assert config.headers() == {"APCA-API-KEY-ID": "AKID", "APCA-API-SECRET-KEY": "s3cr3t"}
    assert "s3cr3t" not in repr(config) and "AKID" not in repr(config)
    assert AlpacaConfig.from_env(
        {"ALPACA_API_KEY_ID": "a", "ALPACA_API_SECRET_KEY": "b"}
    ).data_url == ("https://data.alpaca.markets")


@pytest.mark.parametrize(
    "env, message",
    [
        ({}, "ALPACA_API_KEY_ID and ALPACA_API_SECRET_KEY"),
        ({"ALPACA_FEED": "nasdaq"}, "ALPACA_FEED='nasdaq'"),
        ({"ALPACA_DATA_URL": "data.alpaca.markets"}, "must be an http"),
        ({"ALPACA_RATE_LIMIT_PER_MINUTE": "fast"}, "is not a number"),
        ({"ALPACA_RATE_LIMIT_PER_MINUTE": "0"}, "must be positive"),
    ],
)
def test_bad_configuration_is_named(env, message):
    keys_ = {"ALPACA_API_KEY_ID": "a", "ALPACA_API_SECRET_KEY": "b"} if env else {}
    with pytest.raises(AlpacaConfigError, match=message):
        AlpacaConfig.from_env({**keys_, **env})


def test_the_registry_serves_alpaca_as_an_incomplete_source():
    source = registry.daily_source("alpaca")
    assert isinstance(source, AlpacaDailySource)
    assert source.name == "alpaca" and source.complete is False


# --- daily bars ---------------------------------------------------------------------------------
def test_daily_bars_one_multi_symbol_request_raw_and_on_the_configured_feed(alpaca):
    members = universe("AAPL", "NIO", "MSFT", "TWTR")
    bars = AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, members)
    assert bars.schema.equals(DAILY_TICKS)
    rows = {r["symbol"]: r for r in bars.to_pylist()}
    assert set(rows) == {"AAPL", "NIO", "MSFT"}  # TWTR has no bar that day: no row
    assert rows["AAPL"] == {
        "security_id": 1,
        "symbol": "AAPL",
        "timestamp": OCT14,
        "open": 142.08,
        "high": 143.88,
        "low": 141.51,
        "close": 143.76,
        "volume": 69696731,
    }
    assert rows["NIO"]["close"] == 36.28 and rows["NIO"]["security_id"] == 2
    [request] = alpaca.requests_to(BARS)
    assert request.params["symbols"] == "AAPL,MSFT,NIO,TWTR"
    assert request.params["adjustment"] == "raw" and request.params["feed"] == "iex"
    assert request.params["timeframe"] == "1Day" and request.params["asof"] == "2021-10-14"
    assert instant(request.params["start"]) == dt.datetime(2021, 10, 14, 4, tzinfo=dt.UTC)
    assert request.headers["APCA-API-KEY-ID"] == alpaca.key_id


def test_every_page_is_followed(alpaca):
    alpaca.page_size = 1
    members = universe("AAPL", "NIO", "MSFT", "TSLA", "GE")
    bars = AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, members)
    assert bars.num_rows == 5
    requests = alpaca.requests_to(BARS)
    assert len(requests) == 5
    assert "page_token" not in requests[0].params
    assert all("page_token" in r.params for r in requests[1:])


def test_more_symbols_than_one_request_takes_are_batched(alpaca):
    symbols = [f"S{i:03d}" for i in range(SYMBOLS_PER_REQUEST * 2 + 5)]
    alpaca.synthetic.update(symbols)
    try:
        members = pa.table(
            {"security_id": list(range(1000, 1000 + len(symbols))), "symbol": symbols}
        )
        bars = AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, members)
        expected = alpaca.daily_bar("S042", OCT14)
    finally:
        alpaca.synthetic.difference_update(symbols)
    assert bars.num_rows == len(symbols)
    assert [len(r.params["symbols"].split(",")) for r in alpaca.requests_to(BARS)] == [100, 100, 5]
    row = bars.filter(pc.equal(bars.column("symbol"), "S042")).to_pylist()[0]
    assert (row["open"], row["close"], row["volume"]) == (
        expected["o"],
        expected["c"],
        expected["v"],
    )


def test_daily_timestamps_are_new_york_dates_in_summer_and_winter(alpaca):
    assert new_york_date("2021-10-14T04:00:00Z") == OCT14  # EDT
    assert new_york_date("2022-02-01T05:00:00Z") == dt.date(2022, 2, 1)  # EST
    day = dt.date(2022, 2, 1)
    bars = AlpacaDailySource(fast_client(alpaca)).daily_bars(
        day, pa.table({"security_id": [1], "symbol": ["AAPL"]})
    )
    assert bars.to_pylist()[0]["timestamp"] == day and bars.to_pylist()[0]["close"] == 174.61
    start = alpaca.requests_to(BARS)[0].params["start"]
    assert instant(start) == dt.datetime(2022, 2, 1, 5, tzinfo=dt.UTC)


def test_an_empty_answer_is_an_empty_day(alpaca):
    bars = AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, universe("TWTR"))
    assert bars.num_rows == 0 and bars.schema.equals(DAILY_TICKS)
    empty = json.loads((FIXTURES / "alpaca/py_stocks_bars_empty.json").read_text())
    assert json.loads(alpaca_body(alpaca, "TWTR")) == empty


def alpaca_body(server, symbol):
    import httpx

    response = httpx.get(
        f"{server.url}{BARS}",
        params={"symbols": symbol, "timeframe": "1Day", "start": "2021-10-14", "end": "2021-10-14"},
        headers={"APCA-API-KEY-ID": server.key_id, "APCA-API-SECRET-KEY": server.secret_key},
    )
    return response.text


def test_a_failing_follow_up_page_fails_the_whole_call(alpaca):
    alpaca.page_size = 2
    alpaca.inject(Fault(status=500, follow_up=True, times=10))
    with pytest.raises(SourceError, match="failed after 3 attempts: HTTP 500"):
        AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, universe("AAPL", "NIO", "MSFT"))


def test_429_and_a_truncated_page_are_survived(alpaca):
    alpaca.page_size = 2
    alpaca.inject(
        Fault(status=429, headers={"X-RateLimit-Reset": "0"}, follow_up=False),
        Fault(truncate=True, follow_up=True),
    )
    bars = AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, universe("AAPL", "NIO", "MSFT"))
    assert bars.num_rows == 3
    assert len(alpaca.requests_to(BARS)) == 4


def test_sip_without_a_subscription_is_a_clear_error(alpaca):
    alpaca.sip_allowed = False
    client = fast_client(alpaca, ALPACA_FEED="sip")
    with pytest.raises(SourceError, match="HTTP 403 .*subscription does not permit"):
        AlpacaDailySource(client).daily_bars(OCT14, universe("AAPL"))
    assert len(alpaca.requests_to(BARS)) == 1


def test_wrong_keys_are_refused_at_once(alpaca):
    client = fast_client(alpaca, ALPACA_API_SECRET_KEY="wrong")
    with pytest.raises(SourceError, match="HTTP 401 .*unauthorized"):
        AlpacaDailySource(client).daily_bars(OCT14, universe("AAPL"))


def test_a_bar_for_another_day_or_twice_the_same_day_is_refused():
    members = pa.table({"security_id": [1], "symbol": ["AAPL"]})
    bar = {"t": "2021-10-13T04:00:00Z", "o": 1, "h": 2, "l": 1, "c": 2, "v": 10}
    with pytest.raises(SourceError, match="dated 2021-10-13, asked for 2021-10-14"):
        daily_table(OCT14, members, {"AAPL": [bar]})
    today = {**bar, "t": "2021-10-14T04:00:00Z"}
    with pytest.raises(SourceError, match="2 daily bars for AAPL"):
        daily_table(OCT14, members, {"AAPL": [today, today]})
    with pytest.raises(SourceError, match="volume 10.5"):
        daily_table(OCT14, members, {"AAPL": [{**today, "v": 10.5}]})
    with pytest.raises(SourceError, match="field 'c' is None"):
        daily_table(OCT14, members, {"AAPL": [{**today, "c": None}]})


# --- minute bars --------------------------------------------------------------------------------
def test_minute_bars_are_utc_instants_of_the_regular_session(alpaca):
    alpaca.page_size = 250
    day = dt.date(2019, 2, 14)
    members = pa.table({"security_id": [1, 8], "symbol": ["AAPL", "JPM"]})
    bars = AlpacaDailySource(fast_client(alpaca)).minute_bars(day, members)
    assert bars.schema.equals(MINUTE_TICKS)
    assert str(bars.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    counts = {
        s: len(list(filter(None, [x == s for x in bars.column("symbol").to_pylist()])))
        for s in ("AAPL", "JPM")
    }
    assert counts == {"AAPL": 388, "JPM": 390}  # the AAPL file misses two minutes that day
    first = bars.to_pylist()[0]
    assert first["timestamp"] == dt.datetime(2019, 2, 14, 14, 30, tzinfo=dt.UTC)
    with open(FIXTURES / MINUTE_CSVS["AAPL"], newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["datetime"] == "2019-02-14 09:31:00")
    assert (first["open"], first["close"], first["volume"]) == (
        float(row["open"]),
        float(row["close"]),
        int(row["volume"]),
    )
    assert bars.column("timestamp")[387].as_py() == dt.datetime(2019, 2, 14, 20, 59, tzinfo=dt.UTC)
    requests = alpaca.requests_to(BARS)
    assert len(requests) == 4  # 778 bars in pages of 250
    assert instant(requests[0].params["start"]) == dt.datetime(2019, 2, 14, 14, 30, tzinfo=dt.UTC)
    assert instant(requests[0].params["end"]) == dt.datetime(2019, 2, 14, 20, 59, tzinfo=dt.UTC)
    assert requests[0].params["timeframe"] == "1Min"


def served_minutes(server, symbols, day, session):
    """What the stand-in serves for ``symbols`` in ``day``'s ``session``, as MINUTE_TICKS rows."""
    start, end = calendar.session_bounds(day, session)
    ids = {"KO": 10, "TSLA": 4, "AAPL": 1, "JPM": 8}
    return [
        {
            "security_id": ids[symbol],
            "symbol": symbol,
            "timestamp": instant(bar["t"]),
            "open": bar["o"],
            "high": bar["h"],
            "low": bar["l"],
            "close": bar["c"],
            "volume": bar["v"],
            "trade_count": bar["n"],
            "vwap": bar["vw"],
        }
        for symbol in sorted(symbols, key=ids.get)
        for bar in server.minute_bars(symbol, start, end - dt.timedelta(minutes=1))
    ]


def test_minute_bars_publish_exactly_the_served_bars_following_every_page(alpaca):
    alpaca.page_size = 100
    members = universe("KO", "TSLA")
    bars = AlpacaDailySource(fast_client(alpaca)).minute_bars(OCT14, members)
    expected = served_minutes(alpaca, ["KO", "TSLA"], OCT14, "regular")
    assert len(expected) == 2 * 390
    assert bars.schema.equals(MINUTE_TICKS)
    assert bars.to_pylist() == expected  # every column, trade_count and vwap from n and vw
    requests = alpaca.requests_to(BARS)
    assert len(requests) == 8  # 780 bars in pages of 100
    assert "page_token" not in requests[0].params
    tokens = [r.params["page_token"] for r in requests[1:]]
    assert len(set(tokens)) == 7
    assert {r.params["symbols"] for r in requests} == {"KO,TSLA"}
    assert requests[0].user_agent.startswith("APCA-PY")  # sent by alpaca-py


def test_the_extended_session_adds_pre_and_post_market_minutes(alpaca):
    source = AlpacaDailySource(fast_client(alpaca))
    members = universe("KO")
    extended = source.minute_bars(OCT14, members, session="extended")
    regular = source.minute_bars(OCT14, members, session="regular")
    opens, closes = calendar.session_bounds(OCT14, "regular")
    stamps = extended.column("timestamp").to_pylist()
    assert extended.to_pylist() == served_minutes(alpaca, ["KO"], OCT14, "extended")
    assert any(s < opens for s in stamps) and any(s >= closes for s in stamps)
    assert stamps == sorted(stamps)
    assert regular.num_rows == 390
    assert regular.to_pylist() == [
        r for r in extended.to_pylist() if opens <= r["timestamp"] < closes
    ]
    first, second = alpaca.requests_to(BARS)
    assert instant(first.params["start"]) == dt.datetime(2021, 10, 14, 8, tzinfo=dt.UTC)
    assert instant(first.params["end"]) == dt.datetime(2021, 10, 14, 23, 59, tzinfo=dt.UTC)
    assert instant(second.params["start"]) == opens
    with pytest.raises(ValueError, match="session 'overnight'"):
        source.minute_bars(OCT14, members, session="overnight")


def test_minute_rows_take_trade_count_and_vwap_when_sent_and_refuse_strays():
    members = pa.table({"security_id": [1], "symbol": ["AAPL"]})
    bar = {"t": "2021-10-14T13:30:00Z", "o": 1, "h": 2, "l": 1, "c": 2, "v": 10}
    with_both = {**bar, "t": "2021-10-14T13:31:00Z", "n": 3, "vw": 1.5}
    table = minute_table(OCT14, members, {"AAPL": [with_both, bar]})
    assert table.schema.equals(MINUTE_TICKS)
    rows = table.to_pylist()
    assert [(r["trade_count"], r["vwap"]) for r in rows] == [(None, None), (3, 1.5)]
    assert rows[0]["timestamp"] == dt.datetime(2021, 10, 14, 13, 30, tzinfo=dt.UTC)
    with pytest.raises(SourceError, match="trade count 2.5"):
        minute_table(OCT14, members, {"AAPL": [{**bar, "n": 2.5}]})
    early = {**bar, "t": "2021-10-14T12:00:00Z"}
    with pytest.raises(SourceError, match="12:00:00Z: outside the 2021-10-14 regular session"):
        minute_table(OCT14, members, {"AAPL": [early]})
    assert minute_table(OCT14, members, {"AAPL": [early]}, "extended").num_rows == 1
    with pytest.raises(SourceError, match="duplicate minute"):
        minute_table(OCT14, members, {"AAPL": [bar, bar]})


# --- the project's HTTP policy around alpaca-py ---------------------------------------------------
def test_a_repeated_page_token_fails_instead_of_looping(alpaca):
    page = {"bars": {"AAPL": []}, "next_page_token": "c2FtZQ=="}
    alpaca.inject(Fault(status=200, body=json.dumps(page).encode(), path=BARS, times=10))
    with pytest.raises(SourceError, match="next_page_token 'c2FtZQ==' repeated"):
        AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, universe("AAPL"))
    assert len(alpaca.requests_to(BARS)) == 2
    alpaca.reset()  # the next call starts afresh: its first token is no repeat
    assert AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, universe("AAPL")).num_rows == 1


def test_pages_per_call_are_bounded(alpaca):
    alpaca.page_size = 1
    client = fast_client(alpaca)
    client.adapter.max_pages = 2
    with pytest.raises(SourceError, match="more than 2 pages"):
        AlpacaDailySource(client).daily_bars(OCT14, universe("AAPL", "NIO", "MSFT"))
    assert len(alpaca.requests_to(BARS)) == 3


def test_an_answer_alpaca_py_cannot_read_is_a_source_error(alpaca):
    alpaca.inject(Fault(status=200, body=b'{"bars": null, "next_page_token": null}', path=BARS))
    with pytest.raises(SourceError, match="cannot read"):
        AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, universe("AAPL"))
    alpaca.inject(Fault(status=200, body=b"[]", path=BARS, times=10))
    with pytest.raises(SourceError, match="expected a JSON object, got list"):
        AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, universe("AAPL"))


def test_alpaca_py_does_not_retry_on_top_of_the_policy(alpaca):
    alpaca.inject(Fault(status=429, headers={"Retry-After": "0"}, times=10))
    client = fast_client(alpaca)
    with pytest.raises(SourceError, match="failed after 3 attempts: HTTP 429") as err:
        AlpacaDailySource(client).daily_bars(OCT14, universe("AAPL"))
    assert len(alpaca.requests_to(BARS)) == 3  # the policy's attempts, none added by alpaca-py
    assert "\n" not in str(err.value) and alpaca.secret_key not in str(err.value)
    assert alpaca.secret_key not in repr(client) and alpaca.secret_key not in repr(client.http)
    assert alpaca.secret_key not in repr(client.adapter)


def test_the_keys_stay_out_of_a_refusal(alpaca):
    client = fast_client(alpaca, ALPACA_API_SECRET_KEY="wrong-secret")
    with pytest.raises(SourceError) as err:
        AlpacaDailySource(client).minute_bars(OCT14, universe("AAPL"))
    assert "HTTP 401" in str(err.value) and "wrong-secret" not in str(err.value)
    assert len(alpaca.requests_to(BARS)) == 1
    assert alpaca.requests_to(BARS)[0].header("APCA-API-SECRET-KEY") == "wrong-secret"


def test_a_redirect_to_another_host_is_refused_through_alpaca_py(alpaca):
    with FileServer(host="127.0.0.2") as elsewhere:
        elsewhere.add(BARS, b'{"bars": {}, "next_page_token": null}')
        alpaca.inject(Fault(status=302, headers={"Location": elsewhere.url + BARS}, path=BARS))
        with pytest.raises(OffHostRedirect) as refused:
            AlpacaDailySource(fast_client(alpaca)).daily_bars(OCT14, universe("AAPL"))
        assert elsewhere.paths() == []
    message = str(refused.value)
    assert "http://127.0.0.1:" in message and "http://127.0.0.2:" in message
    assert alpaca.key_id not in message and alpaca.secret_key not in message
    assert len(alpaca.requests_to(BARS)) == 1


def test_the_rate_limit_spaces_alpaca_py_requests(alpaca):
    alpaca.page_size = 1
    client = fast_client(alpaca, ALPACA_RATE_LIMIT_PER_MINUTE="600")  # 10 a second
    acquired = []
    take = client.http.limiter.acquire
    client.http.limiter.acquire = lambda: (acquired.append(1), take())[1]
    bars = AlpacaDailySource(client).daily_bars(OCT14, universe("AAPL", "NIO", "MSFT", "GE"))
    assert bars.num_rows == 4
    stamps = [r.at for r in alpaca.requests_to(BARS)]
    assert len(stamps) == len(acquired) == 4
    # a bucket of one token: 4 requests need 3 intervals of 0.1 s (less a margin)
    assert stamps[-1] - stamps[0] >= 0.3 - 0.05


# --- corporate actions --------------------------------------------------------------------------
@pytest.fixture
def lake(local_env):
    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, fixture_master())
    return store


def actions_in(store, sid):
    return store.read_table(keys.corporate_actions(sid)).to_pylist()


def test_corporate_actions_are_mapped_to_each_security_and_merged(alpaca, lake):
    alpaca.page_size = 3
    existing = pa.table(
        {
            "security_id": [1],
            "ex_date": [dt.date(1980, 12, 12)],
            "action": ["listing"],
            "ratio": [None],
            "amount": [None],
            "old_symbol": [None],
            "new_symbol": ["AAPL"],
        },
        schema=CORPORATE_ACTIONS,
    )
    lake.write_table(keys.corporate_actions(1), existing)
    start, end = dt.date(2020, 1, 1), dt.date(2022, 12, 31)
    result = corporate_actions.ingest(lake, start, end, client=fast_client(alpaca))
    assert result["events"] == 11 and result["securities"] == 4 and result["unresolved"] == 0
    assert result["files_written"] == 4

    aapl = actions_in(lake, 1)
    assert aapl[0]["action"] == "listing"  # kept: merge, not clobber
    split = [a for a in aapl if a["action"] == "split"]
    assert split == [
        {
            "security_id": 1,
            "ex_date": dt.date(2020, 8, 31),
            "action": "split",
            "ratio": 4.0,
            "amount": None,
            "old_symbol": None,
            "new_symbol": None,
        }
    ]
    dividends = [(a["ex_date"], a["amount"]) for a in aapl if a["action"] == "dividend"]
    assert dividends[0] == (dt.date(2021, 2, 5), 0.205) and len(dividends) == 6
    assert [(a["ex_date"], a["ratio"]) for a in actions_in(lake, 4)] == [
        (dt.date(2020, 8, 31), 5.0),
        (dt.date(2022, 8, 25), 3.0),
    ]
    assert actions_in(lake, 5)[0]["ratio"] == 0.125  # GE's 1-for-8 reverse split
    [rename] = actions_in(lake, 3)
    assert (rename["action"], rename["old_symbol"], rename["new_symbol"], rename["ex_date"]) == (
        "symbol_change",
        "FB",
        "META",
        dt.date(2022, 6, 9),
    )
    requested = alpaca.requests_to(ACTIONS)
    assert len(requested) == 4  # 11 events in pages of 3
    assert requested[0].params["types"] == "forward_split,reverse_split,cash_dividend,name_change"
    assert "META" in requested[0].params["symbols"].split(",")

    before = {k: lake.read_bytes(k) for k in lake.list("data/raw/corporate_actions")}
    again = corporate_actions.ingest(lake, start, end, client=fast_client(alpaca))
    assert again["files_written"] == 0
    assert {k: lake.read_bytes(k) for k in lake.list("data/raw/corporate_actions")} == before


def test_more_corporate_actions_than_a_page_holds_all_arrive(alpaca):
    """alpaca-py's ``limit`` caps a whole answer; the client sets none, so every page counts."""
    first = dt.date(2020, 1, 1)
    many = [
        {
            "id": f"ko-dividend-{i:04d}",
            "symbol": "KO",
            "rate": 0.01,
            "ex_date": (first + dt.timedelta(days=i)).isoformat(),
            "process_date": (first + dt.timedelta(days=i)).isoformat(),
        }
        for i in range(1005)
    ]
    saved, alpaca.corporate_actions = alpaca.corporate_actions, {"cash_dividends": many}
    try:
        groups = fast_client(alpaca).corporate_actions(["KO"], first, dt.date(2022, 12, 31))
    finally:
        alpaca.corporate_actions = saved
    assert [g["id"] for g in groups["cash_dividends"]] == [g["id"] for g in many]
    requests = alpaca.requests_to(ACTIONS)
    assert [r.params["limit"] for r in requests] == ["1000", "1000"]
    assert "page_token" in requests[1].params


def test_events_of_symbols_nobody_held_then_are_reported_not_stored(lake):
    rows = action_rows(
        {
            "cash_dividends": [
                {"symbol": "AAPL", "rate": 0.1, "ex_date": "2021-02-05"},
                {"symbol": "AAPL", "rate": 0.05, "ex_date": "2021-02-05", "special": True},
                {"symbol": "NIO", "rate": 1.0, "ex_date": "2010-01-04"},  # before its listing
            ],
            "reverse_splits": [
                {"symbol": "GE", "new_rate": 1, "old_rate": 8, "ex_date": "2021-08-02"}
            ],
        }
    )
    resolved = corporate_actions.resolve(rows, SecurityMaster(fixture_master()))
    assert [(r.symbol, r.ex_date) for r in resolved.unresolved] == [("NIO", dt.date(2010, 1, 4))]
    table = resolved.table.to_pylist()
    assert [(r["security_id"], r["action"]) for r in table] == [(1, "dividend"), (5, "split")]
    assert table[0]["amount"] == pytest.approx(0.15)  # same-day dividends add up


@pytest.mark.parametrize(
    "groups, message",
    [
        (
            {
                "forward_splits": [
                    {"symbol": "X", "new_rate": 0, "old_rate": 1, "ex_date": "2021-01-04"}
                ]
            },
            "must be positive",
        ),
        (
            {"cash_dividends": [{"symbol": "X", "rate": "0.2", "ex_date": "2021-01-04"}]},
            "'rate' is '0.2', not a number",
        ),
        ({"cash_dividends": [{"symbol": "X", "rate": 0.2, "ex_date": "Jan 4"}]}, "not YYYY-MM-DD"),
        ({"name_changes": [{"old_symbol": "X", "process_date": "2021-01-04"}]}, "must be strings"),
    ],
)
def test_malformed_events_fail_naming_them(groups, message):
    with pytest.raises(SourceError, match=message):
        action_rows(groups)


def test_cli_ingests_corporate_actions_and_names_missing_keys(alpaca, lake, capsys, monkeypatch):
    code = cli.main(
        [
            "ingest",
            "corporate-actions",
            "--start",
            "2022-06-01",
            "--end",
            "2022-08-31",
            "--symbols",
            "TSLA,META",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["events"] == 2 and out["files_written"] == 2
    monkeypatch.delenv("ALPACA_API_SECRET_KEY")
    code = cli.main(["ingest", "corporate-actions", "--start", "2022-06-01", "--end", "2022-08-31"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and err.count("\n") == 1 and "ALPACA_API_SECRET_KEY" in err


# --- through the daily-ticks ingest (gate and publish) --------------------------------------------
def test_ingest_publishes_alpaca_bars_through_the_gate(alpaca, lake):
    result = daily_ticks.ingest(lake, OCT14, source="alpaca", run_id="test-alpaca-ok")
    assert result["rows"] == result["securities"] == 11  # TWTR has no bar: 11 of 12 >= 90%
    aapl = lake.read_table(keys.daily_ticks_month(1, OCT14)).to_pylist()
    assert aapl == [
        {
            "security_id": 1,
            "symbol": "AAPL",
            "timestamp": OCT14,
            "open": 142.08,
            "high": 143.88,
            "low": 141.51,
            "close": 143.76,
            "volume": 69696731,
        }
    ]
    assert not lake.exists(keys.daily_ticks_month(12, OCT14))


def test_too_few_bars_fail_the_gate_and_publish_nothing(alpaca, lake):
    alpaca.synthetic.difference_update(SYNTHETIC)
    try:
        with pytest.raises(QualityGateFailed, match="row_count"):
            daily_ticks.ingest(lake, OCT14, source="alpaca", run_id="test-alpaca-few")
    finally:
        alpaca.synthetic.update(SYNTHETIC)
    assert lake.list("data/raw/ticks/daily/1") == []
    assert any(k.endswith(".validation.json") for k in lake.list("data/quarantine"))


def test_a_page_that_cannot_be_read_publishes_nothing(alpaca, lake):
    alpaca.page_size = 4
    alpaca.inject(Fault(status=403, follow_up=True, body=b'{"message": "forbidden."}'))
    with pytest.raises(SourceError, match="HTTP 403"):
        daily_ticks.ingest(lake, OCT14, source="alpaca", run_id="test-alpaca-403")
    assert lake.list("data/raw/ticks/daily") == []
    assert calendar.is_session(OCT14)


# --- through the minute-ticks ingest ------------------------------------------------------------
def test_minute_ingest_publishes_the_served_bars_through_faults_and_the_gate(alpaca, lake):
    from equity_lake.datasets import minute_ticks

    alpaca.page_size = 100
    symbols = ["KO", "TSLA"]
    daily_ticks.ingest(lake, OCT14, source="alpaca", symbols=symbols, run_id="daily")
    alpaca.inject(
        Fault(status=429, headers={"Retry-After": "0"}, path=BARS, follow_up=False),
        Fault(status=503, path=BARS, follow_up=True),
        Fault(truncate=True, path=BARS, follow_up=True),
        Fault(bad_page=True, path=BARS, follow_up=True),
    )
    result = minute_ticks.ingest(lake, OCT14, source="alpaca", symbols=symbols, run_id="m1")
    published = pa.concat_tables(
        lake.read_table(keys.minute_ticks_day(sid, OCT14)).cast(MINUTE_TICKS) for sid in (4, 10)
    )
    expected = served_minutes(alpaca, symbols, OCT14, "regular")
    assert published.to_pylist() == sorted(
        expected, key=lambda r: (r["security_id"], r["timestamp"])
    )
    assert result["rows"] == 780 and result["securities"] == 2
    # IEX minutes are one venue: disagreeing with the daily bar is a warning, never a rejection
    assert set(result["warnings"]) <= {"chunk-0001-of-0001"}
    assert len(alpaca.requests_to(BARS)) > 8  # every page, and the retried ones


def test_a_minute_page_that_never_arrives_publishes_nothing(alpaca, lake):
    from equity_lake.datasets import minute_ticks

    alpaca.page_size = 100
    alpaca.inject(Fault(status=500, path=BARS, follow_up=True, times=50))
    with pytest.raises(SourceError, match="HTTP 500"):
        minute_ticks.ingest(lake, OCT14, source="alpaca", symbols=["KO", "TSLA"], run_id="m2")
    assert lake.list("data/raw/ticks/minute") == []
