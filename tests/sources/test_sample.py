"""The offline ``sample`` market: determinism, event realism and bar consistency."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from equity_lake import calendar
from equity_lake.lake.schemas import MINUTE_TICKS
from equity_lake.sources.sample import (
    DAILY_BARS_SCHEMA,
    EXCHANGES,
    REAL_COMPANIES,
    SampleMarket,
)

SAMPLE_DAYS = [
    dt.date(2009, 1, 2),
    dt.date(2012, 6, 1),
    dt.date(2020, 3, 16),
    dt.date(2024, 12, 23),
]


@pytest.fixture(scope="module")
def market() -> SampleMarket:
    return SampleMarket()


@pytest.fixture(scope="module")
def periods(market: SampleMarket) -> pd.DataFrame:
    return market.symbol_periods().to_pandas()


@pytest.fixture(scope="module")
def actions(market: SampleMarket) -> pd.DataFrame:
    return market.corporate_actions().to_pandas()


def _bar(market: SampleMarket, day: dt.date, security_id: int) -> dict:
    rows = market.daily_bars(day, [security_id]).to_pylist()
    assert len(rows) == 1, f"no bar for {security_id} on {day}"
    return rows[0]


def _spread_sessions(n: int) -> list[dt.date]:
    sessions = calendar.sessions_between(dt.date(2009, 1, 2), dt.date(2025, 12, 31))
    return [sessions[i] for i in np.linspace(0, len(sessions) - 1, n).astype(int)]


# --- determinism ------------------------------------------------------------------------------


def test_two_instances_with_the_same_seed_agree_whatever_the_call_order(market):
    other = SampleMarket()
    assert other.symbol_periods().equals(market.symbol_periods())
    assert other.corporate_actions().equals(market.corporate_actions())
    days = [dt.date(2025, 12, 31), dt.date(2009, 1, 2), dt.date(2017, 8, 14)]
    later_first = [other.daily_bars(d) for d in days]
    earlier_first = [market.daily_bars(d) for d in reversed(days)][::-1]
    for a, b in zip(later_first, earlier_first, strict=True):
        assert a.num_rows > 5000
        assert a.equals(b)


def test_a_different_seed_gives_a_different_market(market):
    other = SampleMarket(seed=7)
    assert not other.symbol_periods().equals(market.symbol_periods())
    day = dt.date(2015, 3, 2)
    common = np.intersect1d(market.active_security_ids(day), other.active_security_ids(day))
    a = market.daily_bars(day, common).column("close").to_numpy()
    b = other.daily_bars(day, common).column("close").to_numpy()
    assert np.mean(a == b) < 0.05


def test_a_bar_does_not_depend_on_which_other_securities_are_asked_for(market, actions):
    day = dt.date(2019, 11, 5)
    full = market.daily_bars(day).to_pandas().set_index("security_id")
    rng = np.random.default_rng(1)
    subset = rng.choice(full.index.to_numpy(), 250, replace=False)
    unknown = [1, 99_999_999]
    gone = actions[(actions["action"] == "delisting") & (actions["ex_date"] < day)]
    inactive = gone["security_id"].head(5).tolist()
    assert inactive and not set(inactive) & set(full.index)
    asked = list(subset[::-1]) + unknown + inactive + [int(subset[0])]  # unsorted, duplicated
    part = market.daily_bars(day, asked)
    assert part.column("security_id").to_pylist() == sorted(int(i) for i in subset)
    pd.testing.assert_frame_equal(
        part.to_pandas().set_index("security_id"), full.loc[sorted(subset)], check_names=False
    )
    one = int(subset[3])
    assert market.daily_bars(day, [one]).to_pylist()[0] == {
        "security_id": one,
        **full.loc[one].to_dict(),
    }


# --- universe ---------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [dt.date(2024, 12, 23), dt.date(2012, 6, 1), dt.date(2009, 1, 2)])
def test_about_six_thousand_securities_trade_each_day(market, day):
    ids = market.active_security_ids(day)
    assert ids.dtype == np.int64
    assert np.all(np.diff(ids) > 0)
    assert 5_500 <= len(ids) <= 6_500
    assert market.daily_bars(day).column("security_id").to_numpy().tolist() == ids.tolist()


def test_about_ten_thousand_securities_over_the_whole_range(periods):
    assert 9_500 <= periods["security_id"].nunique() <= 11_500


def test_event_rates_are_realistic(market, actions, periods):
    years = range(2009, 2026)
    per_year = actions.assign(year=pd.to_datetime(actions["ex_date"]).dt.year)
    counts = per_year.groupby(["action", "year"]).size().unstack(fill_value=0)
    assert 250 <= counts.loc["listing", years].mean() <= 400
    assert 200 <= counts.loc["delisting", years].mean() <= 400
    active = len(market.active_security_ids(dt.date(2016, 6, 1)))
    assert 0.01 <= counts.loc["symbol_change", years].mean() / active <= 0.02
    assert 0.005 <= counts.loc["split", years].mean() / active <= 0.02
    splits = actions[actions["action"] == "split"]
    assert set(splits["ratio"]) == {2.0, 3.0, 1.5, 0.1, 0.2}
    assert (splits["ratio"] < 1).mean() > 0.05  # reverse splits exist, forward ones dominate
    dividends = actions[actions["action"] == "dividend"]
    payers_2016 = dividends[pd.to_datetime(dividends["ex_date"]).dt.year == 2016]
    assert 0.3 <= payers_2016["security_id"].nunique() / active <= 0.5
    per_payer = payers_2016.groupby("security_id").size()
    assert per_payer.median() == 4  # quarterly
    assert (dividends["amount"] > 0).all()
    assert actions.loc[actions["action"] != "split", "ratio"].isna().all()
    assert actions.loc[actions["action"] != "dividend", "amount"].isna().all()


def test_event_dates_are_sessions_inside_the_range(market, actions, periods):
    sessions = set(calendar.sessions_between(market.start, market.end))
    assert set(actions["ex_date"]) <= sessions
    assert set(periods["start_date"]) <= sessions
    assert set(periods["end_date"].dropna()) <= sessions


def test_reference_columns_look_real(periods):
    assert periods["symbol"].map(lambda s: re.fullmatch(r"[A-Z]{1,5}", s) is not None).all()
    assert periods["cik"].map(lambda s: re.fullmatch(r"\d{10}", s) is not None).all()
    assert set(periods["exchange"]) == set(EXCHANGES)
    assert (periods.groupby("security_id")["cik"].nunique() == 1).all()
    assert (periods.groupby("cik")["security_id"].nunique() == 1).all()
    assert (periods.groupby("security_id")["exchange"].nunique() == 1).all()
    assert (
        periods["company"]
        .str.match(r"^[A-Z][\w&.' -]+ (Inc\.|Corp\.|Corporation|Co\.|Ltd\.|plc)$")
        .all()
    )
    assert periods.drop_duplicates("security_id")["company"].is_unique


# --- tickers ----------------------------------------------------------------------------------


def test_no_two_securities_hold_a_ticker_on_the_same_day(market, periods):
    spans = periods.assign(end=periods["end_date"].fillna(market.end))
    spans = spans.sort_values(["symbol", "start_date"])
    previous_end = spans.groupby("symbol")["end"].shift()
    assert not (previous_end.notna() & (spans["start_date"] <= previous_end)).any()
    for day in SAMPLE_DAYS:
        symbols = market.daily_bars(day).column("symbol").to_pandas()
        assert symbols.is_unique and symbols.notna().all()


def test_freed_tickers_are_reused_by_other_securities(periods):
    spans = periods.sort_values(["symbol", "start_date"])
    before = spans.groupby("symbol")[["security_id", "end_date"]].shift()
    reused = spans[before["security_id"].notna() & (before["security_id"] != spans["security_id"])]
    assert len(reused) >= 50
    assert (reused["start_date"] > before.loc[reused.index, "end_date"]).all()


def test_a_ticker_change_keeps_the_security_id(market, actions, periods):
    changes = actions[actions["action"] == "symbol_change"].sample(40, random_state=2)
    for row in changes.itertuples():
        day_before = calendar.previous_session(row.ex_date)
        assert _bar(market, day_before, row.security_id)["symbol"] == row.old_symbol
        assert _bar(market, row.ex_date, row.security_id)["symbol"] == row.new_symbol
        assert row.old_symbol != row.new_symbol
        own = periods[periods["security_id"] == row.security_id].set_index("symbol")
        assert own.loc[row.old_symbol, "end_date"] == day_before
        assert own.loc[row.new_symbol, "start_date"] == row.ex_date


def test_bar_symbols_match_the_symbol_periods(market, periods):
    day = dt.date(2021, 7, 9)
    bars = market.daily_bars(day).to_pandas()
    held = periods[
        (periods["start_date"] <= day) & (periods["end_date"].isna() | (periods["end_date"] >= day))
    ]
    assert held["security_id"].is_unique
    merged = bars.merge(held, on="security_id", how="outer", validate="one_to_one")
    assert (merged["symbol_x"] == merged["symbol_y"]).all()


# --- the real companies -----------------------------------------------------------------------


def test_the_real_companies_keep_their_ticker_name_and_cik_for_their_whole_history(
    market, periods, actions
):
    assert [(c.symbol, c.cik) for c in REAL_COMPANIES] == [
        ("AAPL", "0000320193"),
        ("GOOGL", "0001652044"),
        ("SNOW", "0001640147"),
        ("JPM", "0000019617"),
        ("WMT", "0000104169"),
    ]
    for real in REAL_COMPANIES:
        own = periods[periods["security_id"] == real.security_id]
        assert own[["symbol", "company", "cik"]].values.tolist() == [
            [real.symbol, real.company, real.cik]
        ]
        assert own["end_date"].isna().all()  # still trading at the market's end
        others = periods[periods["security_id"] != real.security_id]
        assert real.symbol not in set(others["symbol"]) and real.cik not in set(others["cik"])
        named = actions[actions["security_id"] == real.security_id]
        assert set(named[["old_symbol", "new_symbol"]].stack()) <= {real.symbol}
    # the one security that drew a real CIK (Walmart's) took WMT's drawn one in exchange
    assert periods.loc[periods["security_id"] == 103586, "cik"].tolist() == ["0001355795"]
    snow = next(c for c in REAL_COMPANIES if c.symbol == "SNOW")
    listing = actions[(actions["security_id"] == snow.security_id)]
    assert listing.iloc[0][["ex_date", "action", "new_symbol"]].tolist() == [
        dt.date(2020, 9, 22),
        "listing",
        "SNOW",
    ]


def test_the_security_labelled_aapl_trades_on_the_demos_days_at_a_plausible_price(market):
    """Only the labels are real: the bars are the synthetic ones the market drew."""
    aapl = next(c for c in REAL_COMPANIES if c.symbol == "AAPL")
    assert _bar(market, dt.date(2024, 11, 1), aapl.security_id) == {
        "security_id": 104606,
        "symbol": "AAPL",
        "timestamp": dt.date(2024, 11, 1),
        "open": 219.9,
        "high": 224.75,
        "low": 219.62,
        "close": 222.26,
        "volume": 1144301,
    }
    for real in REAL_COMPANIES:
        for day in calendar.sessions_between(dt.date(2024, 11, 1), dt.date(2025, 1, 3)):
            bar = _bar(market, day, real.security_id)
            assert bar["symbol"] == real.symbol
            assert 20 < bar["close"] < 500
        minutes = market.minute_bars(dt.date(2024, 12, 24), [real.security_id])
        assert set(minutes.column("symbol").to_pylist()) == {real.symbol}


def test_another_seed_carries_no_real_company():
    other = SampleMarket(seed=7).symbol_periods().to_pandas()
    assert not {c.symbol for c in REAL_COMPANIES} & set(other["symbol"])
    assert not {c.cik for c in REAL_COMPANIES} & set(other["cik"])


# --- listings and delistings ------------------------------------------------------------------


def test_a_delisted_security_trades_on_its_last_day_and_never_after(market, actions, periods):
    delistings = actions[actions["action"] == "delisting"].sample(30, random_state=3)
    for row in delistings.itertuples():
        assert _bar(market, row.ex_date, row.security_id)["symbol"] == row.old_symbol
        assert row.security_id in market.active_security_ids(row.ex_date)
        if row.ex_date < market.end:
            for later in [calendar.next_session(row.ex_date), market.end]:
                assert market.daily_bars(later, [row.security_id]).num_rows == 0
                assert row.security_id not in market.active_security_ids(later)
        last = periods[periods["security_id"] == row.security_id]["end_date"].max()
        assert last == row.ex_date


def test_an_ipo_has_no_bar_before_its_listing_day(market, actions):
    listings = actions[actions["action"] == "listing"].sample(30, random_state=4)
    for row in listings.itertuples():
        assert (
            market.daily_bars(calendar.previous_session(row.ex_date), [row.security_id]).num_rows
            == 0
        )
        assert _bar(market, row.ex_date, row.security_id)["symbol"] == row.new_symbol


# --- prices -----------------------------------------------------------------------------------


def test_split_ex_date_scales_the_raw_price_by_one_over_the_ratio(market, actions):
    splits = actions[actions["action"] == "split"]
    sample = pd.concat([splits[splits["ratio"] < 1].head(30), splits.sample(90, random_state=5)])
    errors = []
    for row in sample.itertuples():
        before = _bar(market, calendar.previous_session(row.ex_date), row.security_id)
        on = _bar(market, row.ex_date, row.security_id)
        errors.append(on["open"] / before["close"] * row.ratio - 1)
        if row.ratio < 1:
            assert before["close"] < 5  # reverse splits are for low-priced names
    errors = np.abs(np.array(errors))
    assert np.median(errors) < 0.02
    assert errors.max() < 0.12


def test_dividend_ex_date_lowers_the_raw_price_by_about_the_amount(market, actions):
    sample = actions[actions["action"] == "dividend"].sample(100, random_state=6)
    errors = []
    for row in sample.itertuples():
        before = _bar(market, calendar.previous_session(row.ex_date), row.security_id)
        on = _bar(market, row.ex_date, row.security_id)
        errors.append((before["close"] - on["open"] - row.amount) / before["close"])
        assert row.amount < 0.1 * before["close"]
    errors = np.abs(np.array(errors))
    assert np.median(errors) < 0.01
    assert errors.max() < 0.06


def test_bars_are_consistent_typed_and_sorted_over_many_days(market):
    for day in _spread_sessions(40):
        table = market.daily_bars(day)
        assert table.schema == DAILY_BARS_SCHEMA
        assert table.num_rows > 5000
        assert all(table.column(c).null_count == 0 for c in table.column_names)
        bars = table.to_pandas()
        assert (bars["timestamp"] == day).all()
        assert bars["security_id"].is_monotonic_increasing and bars["security_id"].is_unique
        o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
        assert (lo > 0).all()
        assert (lo <= np.minimum(o, c)).all()
        assert (np.maximum(o, c) <= h).all()
        assert table.column("volume").type == pa.int64()
        assert (bars["volume"] >= 0).all()
        assert 1 <= np.median(c) <= 200
        assert np.mean((c >= 1) & (c <= 1000)) > 0.9


def test_prices_move_realistically_and_open_near_the_previous_close(market, actions):
    day = dt.date(2018, 5, 15)
    prev = market.daily_bars(calendar.previous_session(day)).to_pandas().set_index("security_id")
    today = market.daily_bars(day).to_pandas().set_index("security_id")
    ex = set(actions.loc[actions["ex_date"] == day, "security_id"])
    both = today.join(prev, rsuffix="_prev", how="inner").drop(index=list(ex), errors="ignore")
    moves = np.abs(np.log(both["close"] / both["close_prev"]))
    gaps = np.abs(np.log(both["open"] / both["close_prev"]))
    assert 0.005 <= np.median(moves) <= 0.03
    assert np.median(gaps) < 0.01
    assert np.quantile(gaps, 0.99) < 0.05


def test_a_year_of_closes_has_daily_volatility_of_one_to_three_percent(market):
    ids = market.active_security_ids(dt.date(2013, 1, 2))[::40]
    days = calendar.sessions_between(dt.date(2013, 1, 2), dt.date(2013, 12, 31))
    closes = pd.DataFrame(
        {d: market.daily_bars(d, ids).to_pandas().set_index("security_id")["close"] for d in days}
    )
    vol = np.log(closes).diff(axis=1).std(axis=1)
    assert 0.01 <= vol.median() <= 0.03


# --- bad days ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day", [dt.date(2024, 12, 25), dt.date(2024, 12, 21), dt.date(2012, 10, 29)]
)
def test_a_day_without_a_session_is_refused(market, day):
    with pytest.raises(ValueError, match=day.isoformat()):
        market.daily_bars(day)
    assert len(market.active_security_ids(day)) == 0


def test_a_session_outside_the_range_has_no_bars(market):
    # the market ends on the calendar's last session: only sessions before START are outside it
    table = market.daily_bars(dt.date(2008, 12, 31))
    assert table.num_rows == 0 and table.schema == DAILY_BARS_SCHEMA
    assert len(market.active_security_ids(dt.date(2008, 12, 31))) == 0


# --- the years after 2025 -----------------------------------------------------------------------


def test_the_market_runs_to_the_calendars_last_session(market):
    assert market.start == dt.date(2009, 1, 2)
    assert market.end == calendar.LAST_SESSION == dt.date(2027, 12, 31)
    assert market.daily_bars(calendar.LAST_SESSION).num_rows > 5000


@pytest.mark.parametrize("day", [dt.date(2026, 1, 2), dt.date(2026, 6, 15), dt.date(2027, 12, 31)])
def test_later_sessions_trade_about_as_many_securities_as_late_2025(market, day):
    late_2025 = len(market.active_security_ids(dt.date(2025, 12, 31)))
    bars = market.daily_bars(day)
    assert abs(bars.num_rows - late_2025) <= 0.10 * late_2025
    assert (
        bars.column("security_id").to_numpy().tolist() == market.active_security_ids(day).tolist()
    )


def test_securities_listed_at_the_end_of_2025_trade_on_into_2026(market, actions):
    dec_31, jan_2 = dt.date(2025, 12, 31), dt.date(2026, 1, 2)
    delisted = set(actions.loc[actions["ex_date"] == dec_31, "security_id"])
    delisted &= set(actions.loc[actions["action"] == "delisting", "security_id"])
    listed = set(actions.loc[actions["ex_date"] == jan_2, "security_id"])
    listed &= set(actions.loc[actions["action"] == "listing", "security_id"])
    before = set(market.active_security_ids(dec_31).tolist())
    assert set(market.active_security_ids(jan_2).tolist()) == (before - delisted) | listed


def test_the_later_years_have_events_at_the_same_rates(market, actions):
    per_year = actions.assign(year=pd.to_datetime(actions["ex_date"]).dt.year)
    counts = per_year.groupby(["action", "year"]).size().unstack(fill_value=0)
    active = len(market.active_security_ids(dt.date(2026, 6, 1)))
    for year in (2026, 2027):
        assert 150 <= counts.loc["listing", year] <= 400
        assert 150 <= counts.loc["delisting", year] <= 400
        assert 0.01 <= counts.loc["symbol_change", year] / active <= 0.02
        assert 0.005 <= counts.loc["split", year] / active <= 0.03
        dividends = per_year[(per_year["action"] == "dividend") & (per_year["year"] == year)]
        assert 0.25 <= dividends["security_id"].nunique() / active <= 0.5
        assert dividends.groupby("security_id").size().median() == 4  # quarterly


def test_the_years_to_2025_are_unchanged_by_the_later_ones(market, periods, actions):
    """Figures pinned from the market as it was when it ended on 2025-12-31."""
    cut = dt.date(2025, 12, 31)
    assert len(market.active_security_ids(cut)) == 6047
    assert len(market.active_security_ids(dt.date(2024, 12, 23))) == 6015
    assert _bar(market, dt.date(2024, 12, 23), 101995) == {
        "security_id": 101995,
        "symbol": "PCI",
        "timestamp": dt.date(2024, 12, 23),
        "open": 219.74,
        "high": 221.54,
        "low": 217.66,
        "close": 218.02,
        "volume": 122834,
    }
    assert _bar(market, cut, 100005)["close"] == 2.39
    assert _bar(market, cut, 110536)["symbol"] == "IBEN"
    assert periods.loc[periods["start_date"] <= cut, "security_id"].nunique() == 10536
    assert (periods["start_date"] <= cut).sum() == 12075
    early = actions[actions["ex_date"] <= cut]
    assert early.groupby("action").size().to_dict() == {
        "delisting": 4491,
        "dividend": 147125,
        "listing": 4836,
        "split": 1297,
        "symbol_change": 1539,
    }
    split = early[(early["security_id"] == 109623) & (early["action"] == "split")].iloc[-1]
    assert (split["ex_date"], split["ratio"]) == (dt.date(2025, 12, 22), 2.0)
    change = early[early["action"] == "symbol_change"].iloc[-1]
    assert (change["security_id"], change["ex_date"]) == (110136, dt.date(2024, 12, 3))
    assert (change["old_symbol"], change["new_symbol"]) == ("GYP", "SNZ")


# --- minute bars --------------------------------------------------------------------------------

MINUTE_DAY = dt.date(2024, 12, 23)


def _minute_ids(market: SampleMarket, day: dt.date, step: int = 20) -> list[int]:
    return [int(i) for i in market.active_security_ids(day)[::step]]


def _aggregate(minutes: pd.DataFrame) -> pd.DataFrame:
    return minutes.groupby("security_id").agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        bars=("volume", "size"),
    )


def _assert_bars_are_consistent(minutes: pd.DataFrame) -> None:
    o, h, lo, c = (minutes[k].to_numpy() for k in ("open", "high", "low", "close"))
    assert (lo > 0).all()
    assert (lo <= np.minimum(o, c)).all() and (np.maximum(o, c) <= h).all()
    for prices in (o, h, lo, c):  # cents from $1 up, like the daily bars
        cents = prices[prices >= 1] * 100
        assert np.allclose(cents, np.round(cents), rtol=0, atol=1e-6)
    assert (minutes["volume"] >= 1).all()
    assert (minutes["trade_count"] >= 1).all()
    assert (minutes["trade_count"] <= minutes["volume"]).all()
    assert ((minutes["low"] <= minutes["vwap"]) & (minutes["vwap"] <= minutes["high"])).all()
    assert (minutes["timestamp"].dt.second == 0).all()
    keys = minutes[["security_id", "timestamp"]]
    assert not keys.duplicated().any()
    assert keys.equals(keys.sort_values(["security_id", "timestamp"]))


def test_minute_bars_aggregate_exactly_to_the_daily_bars(market):
    ids = _minute_ids(market, MINUTE_DAY)
    daily = market.daily_bars(MINUTE_DAY, ids).to_pandas().set_index("security_id")
    minutes = market.minute_bars(MINUTE_DAY, ids).to_pandas()
    assert len(daily) == len(ids) > 250
    _assert_bars_are_consistent(minutes)
    agg = _aggregate(minutes)
    assert list(agg.index) == list(daily.index)
    for column in ("open", "high", "low", "close", "volume"):
        assert (agg[column] == daily[column]).all(), column
    # a bar means a trade: never more bars than the session has minutes or shares traded
    assert (agg["bars"] <= 390).all() and (agg["bars"] <= daily["volume"]).all()
    assert (minutes.groupby("security_id")["symbol"].first() == daily["symbol"]).all()
    # the bars open at the previous bar's close
    same = minutes["security_id"].to_numpy()[1:] == minutes["security_id"].to_numpy()[:-1]
    assert (minutes["open"].to_numpy()[1:][same] == minutes["close"].to_numpy()[:-1][same]).all()


def test_an_early_close_has_at_most_210_minutes_all_inside_the_session(market):
    day = dt.date(2024, 12, 24)
    assert calendar.session_minutes(day) == 210
    start, end = calendar.session_bounds(day)
    ids = _minute_ids(market, day, step=40)
    minutes = market.minute_bars(day, ids).to_pandas()
    _assert_bars_are_consistent(minutes)
    assert minutes["timestamp"].min() >= start and minutes["timestamp"].max() < end
    agg = _aggregate(minutes)
    assert agg["bars"].max() == 210
    daily = market.daily_bars(day, ids).to_pandas().set_index("security_id")
    columns = ["open", "high", "low", "close", "volume"]
    assert (agg[columns] == daily[columns]).all().all()


def test_liquid_names_trade_every_minute_and_thin_names_have_gaps(market):
    daily = market.daily_bars(MINUTE_DAY).to_pandas().sort_values("volume")
    thin = daily["security_id"].head(60).tolist()
    liquid = daily["security_id"].tail(60).tolist()
    bars = _aggregate(market.minute_bars(MINUTE_DAY, thin + liquid).to_pandas())["bars"]
    assert (bars[liquid] >= 385).all() and bars.max() == 390
    assert bars[thin].median() < 100 and (bars[thin] >= 1).all()


def test_minute_volume_is_heavier_at_the_open_and_the_close(market):
    minutes = market.minute_bars(MINUTE_DAY, _minute_ids(market, MINUTE_DAY)).to_pandas()
    start, _ = calendar.session_bounds(MINUTE_DAY)
    minute = ((minutes["timestamp"] - start).dt.total_seconds() // 60).astype(int)
    profile = minutes.groupby(minute)["volume"].sum().reindex(range(390), fill_value=0)
    midday = profile.iloc[150:240].mean()
    assert profile.iloc[:30].mean() > 1.5 * midday
    assert profile.iloc[-30:].mean() > 1.5 * midday


def test_a_securitys_minutes_do_not_depend_on_the_others_asked_for(market):
    ids = _minute_ids(market, MINUTE_DAY, step=10)  # more than one vectorised block
    assert len(ids) > 520
    full = market.minute_bars(MINUTE_DAY, ids)
    assert full.equals(market.minute_bars(MINUTE_DAY, ids))
    asked = ids[::-1] + [1, 99_999_999, ids[0]]  # reversed, unknown and duplicated ids
    assert market.minute_bars(MINUTE_DAY, asked).equals(full)
    table = full.to_pandas()
    for one in (ids[3], ids[-2]):
        alone = market.minute_bars(MINUTE_DAY, [one]).to_pandas()
        expected = table[table["security_id"] == one].reset_index(drop=True)
        assert len(alone) > 0
        pd.testing.assert_frame_equal(alone, expected)


def test_a_securitys_minutes_change_from_day_to_day(market):
    ids = _minute_ids(market, MINUTE_DAY, step=200)
    today = market.minute_bars(MINUTE_DAY, ids).to_pandas()
    before = market.minute_bars(calendar.previous_session(MINUTE_DAY), ids).to_pandas()
    share_today = today.groupby("security_id")["volume"].apply(lambda v: v.iloc[0] / v.sum())
    share_before = before.groupby("security_id")["volume"].apply(lambda v: v.iloc[0] / v.sum())
    assert (share_today != share_before.reindex(share_today.index)).mean() > 0.9


def test_extended_hours_add_sparse_bars_and_keep_the_regular_rows(market):
    ids = _minute_ids(market, MINUTE_DAY, step=40)
    regular = market.minute_bars(MINUTE_DAY, ids)
    extended = market.minute_bars(MINUTE_DAY, ids, session="extended")
    assert extended.schema == regular.schema
    ext = extended.to_pandas()
    opens, closes = calendar.session_bounds(MINUTE_DAY)
    start, end = calendar.session_bounds(MINUTE_DAY, "extended")
    inside = (ext["timestamp"] >= opens) & (ext["timestamp"] < closes)
    pd.testing.assert_frame_equal(ext[inside].reset_index(drop=True), regular.to_pandas())
    outside = ext[~inside]
    assert (outside["timestamp"] < opens).any() and (outside["timestamp"] >= closes).any()
    assert outside["timestamp"].min() >= start and outside["timestamp"].max() < end
    assert len(outside) < 0.5 * regular.num_rows  # sparse
    assert outside["volume"].sum() < 0.05 * ext.loc[inside, "volume"].sum()  # small
    _assert_bars_are_consistent(ext)
    assert _aggregate(ext)["bars"].max() <= calendar.session_minutes(MINUTE_DAY, "extended")


def test_minute_bars_schema_and_requests_that_have_no_bars(market):
    ids = _minute_ids(market, MINUTE_DAY, step=500)
    table = market.minute_bars(MINUTE_DAY, ids + [1, 99_999_999])
    assert table.schema == MINUTE_TICKS
    assert table.column("security_id").unique().to_pylist() == ids
    assert all(table.column(c).null_count == 0 for c in table.column_names)
    for empty in (
        market.minute_bars(MINUTE_DAY, [1, 99_999_999]),
        market.minute_bars(MINUTE_DAY, []),
        market.minute_bars(dt.date(2008, 12, 31)),  # a session before the market starts
        market.minute_bars(dt.date(2008, 12, 31), session="extended"),
    ):
        assert empty.num_rows == 0 and empty.schema == MINUTE_TICKS
    with pytest.raises(ValueError, match="2024-12-25"):
        market.minute_bars(dt.date(2024, 12, 25))
    with pytest.raises(ValueError, match="overnight"):
        market.minute_bars(MINUTE_DAY, session="overnight")


def test_a_day_without_volume_has_one_empty_bar_at_the_open(market, monkeypatch):
    ids = _minute_ids(market, MINUTE_DAY, step=1000)
    bars = market._bars

    def no_volume_for_the_first(pos, k):
        table = bars(pos, k)
        volume = table.column("volume").to_numpy().copy()
        volume[0] = 0
        return table.set_column(7, "volume", pa.array(volume))

    monkeypatch.setattr(market, "_bars", no_volume_for_the_first)
    daily = market.daily_bars(MINUTE_DAY, ids).to_pylist()[0]
    minutes = market.minute_bars(MINUTE_DAY, ids).to_pandas()
    quiet = minutes[minutes["security_id"] == ids[0]].to_dict("records")
    assert len(quiet) == 1
    assert quiet[0]["timestamp"] == calendar.session_bounds(MINUTE_DAY)[0]
    assert {k: quiet[0][k] for k in ("open", "high", "low", "close", "volume")} == {
        k: daily[k] for k in ("open", "high", "low", "close", "volume")
    }
    assert quiet[0]["trade_count"] == 0
    assert (minutes.loc[minutes["security_id"] != ids[0], "volume"] >= 1).all()
