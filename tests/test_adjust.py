"""Adjusted prices: checked against Quandl's WIKI adjusted columns and the sample market.

The Quandl sample holds raw 2014 prices with their split ratio and ex-dividend amounts beside
the vendor's adjusted columns. The vendor adjusted as of a later date, so its 2014 rows also
carry the factors of 2015+ events: one constant per ticker, measured on the last row (whose
own factor from 2014 events is 1). Quandl's dividend factor is close_ex / (close_ex + d); the
CRSP default, 1 - d / previous close, differs by a few 1e-5 per dividend, so each method is
checked where it is the vendor's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from equity_lake.adjust import AdjustmentError, adjust, adjusted_bars
from equity_lake.lake import keys
from equity_lake.lake.schemas import CORPORATE_ACTIONS, DAILY_TICKS
from equity_lake.lake.store import LakeStore

QUANDL = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/ohlcv/daily/quandl_WIKI_PRICES_sample_AAPL_BRK_A_MSFT_ZEN_2014.csv"
)
TICKERS = ("AAPL", "BRK_A", "MSFT", "ZEN")
AS_OF = dt.date(2014, 12, 31)
PRICES = ("open", "high", "low", "close")


@pytest.fixture(scope="module")
def quandl() -> dict[str, pa.Table]:
    table = pacsv.read_csv(QUANDL)
    return {t: table.filter(pc.equal(table.column("ticker"), t)).sort_by("date") for t in TICKERS}


def bars_of(rows: pa.Table, security_id: int = 1) -> pa.Table:
    n = rows.num_rows
    return pa.table(
        {
            "security_id": pa.array([security_id] * n, pa.int64()),
            "symbol": rows.column("ticker"),
            "timestamp": rows.column("date"),
            **{c: rows.column(c) for c in PRICES},
            "volume": pc.cast(rows.column("volume"), pa.int64()),
        },
        schema=DAILY_TICKS,
    )


def actions_of(rows: pa.Table, security_id: int = 1) -> pa.Table:
    out = []
    for day, ratio, div in zip(
        rows.column("date").to_pylist(),
        rows.column("split_ratio").to_pylist(),
        rows.column("ex-dividend").to_pylist(),
        strict=True,
    ):
        if ratio != 1.0:
            out.append((day, "split", ratio, None))
        if div != 0.0:
            out.append((day, "dividend", None, div))
    return actions_table(out, security_id)


def actions_table(events, security_id: int = 1) -> pa.Table:
    return pa.table(
        {
            "security_id": pa.array([security_id] * len(events), pa.int64()),
            "ex_date": pa.array([e[0] for e in events], pa.date32()),
            "action": pa.array([e[1] for e in events], pa.string()),
            "ratio": pa.array([e[2] for e in events], pa.float64()),
            "amount": pa.array([e[3] for e in events], pa.float64()),
            "old_symbol": pa.array([None] * len(events), pa.string()),
            "new_symbol": pa.array([None] * len(events), pa.string()),
        },
        schema=CORPORATE_ACTIONS,
    )


def relative_errors(ours: pa.Table, vendor: pa.Table, column: str) -> np.ndarray:
    """|ours x C / vendor - 1| with C the vendor's factor from events after 2014."""
    mine = ours.column(column).to_numpy()
    theirs = vendor.column(f"adj_{column}").to_numpy()
    later_events = theirs[-1] / vendor.column(column).to_numpy()[-1]
    return np.abs(mine * later_events / theirs - 1)


def test_quandls_dividend_method_reproduces_every_adjusted_price(quandl):
    worst = {}
    for ticker, rows in quandl.items():
        ours = adjust(bars_of(rows), actions_of(rows), AS_OF, dividend_base="ex_close")
        errors = [relative_errors(ours, rows, c).max() for c in PRICES]
        worst[ticker] = max(errors)
        assert ours.column("volume").to_pylist() == [
            int(v) for v in rows.column("adj_volume").to_pylist()
        ]
    print(f"max relative error vs Quandl adj_* (ex_close base): {worst}")
    assert max(worst.values()) <= 1e-6


def test_crsp_method_matches_quandl_wherever_their_methods_agree(quandl):
    worst = {}
    for ticker, rows in quandl.items():
        ours = adjust(bars_of(rows), actions_of(rows), AS_OF)  # CRSP: 1 - d / previous close
        errors = relative_errors(ours, rows, "close")
        worst[ticker] = float(errors.max())
        days = rows.column("date").to_pylist()
        amounts = rows.column("ex-dividend").to_pylist()
        dividends = [d for d, x in zip(days, amounts, strict=True) if x]
        # rows on or after the year's last dividend carry no 2014 dividend factor: the
        # remaining factors (splits, later years) are the same in both methods
        since = max(dividends) if dividends else days[0]
        same = np.array([d >= since for d in days])
        assert errors[same].max() <= 1e-6, ticker
        # each dividend step is exactly the CRSP factor
        factor = ours.column("price_factor").to_numpy()
        close = rows.column("close").to_numpy()
        for day in dividends:
            i = days.index(day)
            amount = rows.column("ex-dividend")[i].as_py()
            assert factor[i - 1] / factor[i] == pytest.approx(1 - amount / close[i - 1], abs=1e-12)
    print(f"max relative error vs Quandl adj_close (CRSP prev_close base): {worst}")
    assert worst["BRK_A"] == worst["ZEN"] == 0.0
    assert max(worst.values()) < 5e-4  # the methods differ by a few 1e-5 per dividend


def test_aapl_seven_for_one_split(quandl):
    rows = quandl["AAPL"]
    ours = adjust(bars_of(rows), actions_of(rows), AS_OF)
    days = rows.column("date").to_pylist()
    i = days.index(dt.date(2014, 6, 9))
    raw = rows.column("close").to_pylist()
    assert raw[i - 1] == 645.57 and raw[i] == 93.70
    factor = ours.column("price_factor").to_pylist()
    # the step across the split is 1/7, as the vendor's
    vendor = (rows.column("adj_close")[i - 1].as_py() / raw[i - 1]) / (
        rows.column("adj_close")[i].as_py() / raw[i]
    )
    assert factor[i - 1] / factor[i] == pytest.approx(1 / 7, rel=1e-12)
    assert vendor == pytest.approx(1 / 7, rel=1e-12)
    assert ours.column("volume_factor").to_pylist()[:i] == [7.0] * i
    # after the split only the August and November dividends act on the split day's close
    later = (1 - 0.47 / 94.96) * (1 - 0.47 / 108.86)
    assert ours.column("close")[i].as_py() == pytest.approx(93.70 * later, rel=1e-12)
    assert ours.column("close")[-1].as_py() == raw[-1]


def test_as_of_applies_only_events_known_by_then(quandl):
    rows = quandl["AAPL"]
    bars, actions = bars_of(rows), actions_of(rows)
    before_split = adjust(bars, actions, dt.date(2014, 6, 6))
    days = rows.column("date").to_pylist()
    factor = dict(zip(days, before_split.column("price_factor").to_pylist(), strict=True))
    close = dict(zip(days, rows.column("close").to_pylist(), strict=True))
    feb = 1 - 3.05 / close[dt.date(2014, 2, 5)]
    may = 1 - 3.29 / close[dt.date(2014, 5, 7)]
    assert factor[dt.date(2014, 1, 2)] == pytest.approx(feb * may, rel=1e-12)
    assert factor[dt.date(2014, 3, 3)] == pytest.approx(may, rel=1e-12)
    assert factor[dt.date(2014, 5, 8)] == 1.0 and factor[dt.date(2014, 6, 5)] == 1.0
    # the ex-date itself counts as known
    on_split = adjust(bars, actions, dt.date(2014, 6, 9))
    assert on_split.column("price_factor")[0].as_py() == pytest.approx(feb * may / 7, rel=1e-12)


def small_bars(closes, start=dt.date(2021, 3, 1), volume=1000):
    days = [start + dt.timedelta(days=i) for i in range(len(closes))]
    return pa.table(
        {
            "security_id": pa.array([7] * len(days), pa.int64()),
            "symbol": pa.array(["XYZ"] * len(days)),
            "timestamp": pa.array(days, pa.date32()),
            "open": pa.array(closes, pa.float64()),
            "high": pa.array(closes, pa.float64()),
            "low": pa.array(closes, pa.float64()),
            "close": pa.array(closes, pa.float64()),
            "volume": pa.array([volume] * len(days), pa.int64()),
        },
        schema=DAILY_TICKS,
    )


def test_reverse_split_and_a_dividend_on_the_split_day():
    bars = small_bars([1.0, 1.1, 10.5, 10.0])  # 1-for-10 reverse split on day 2
    day = bars.column("timestamp").to_pylist()
    split = actions_table([(day[2], "split", 0.1, None)])
    out = adjust(bars, split)
    assert out.column("close").to_pylist() == pytest.approx([10.0, 11.0, 10.5, 10.0])
    assert out.column("volume").to_pylist() == [100, 100, 1000, 1000]
    both = actions_table([(day[2], "split", 0.1, None), (day[2], "dividend", None, 0.55)])
    out = adjust(bars, both)
    # the previous close 1.1 is 11.0 in post-split shares: dividend factor 1 - 0.55 / 11
    assert out.column("close").to_pylist() == pytest.approx([9.5, 10.45, 10.5, 10.0])


@pytest.mark.parametrize(
    "event, message",
    [
        (("dividend", None, 5.0), "not below the close before it"),
        (("split", 0.0, None), "ratio 0.0"),
        (("split", None, None), "ratio None"),
        (("dividend", None, -1.0), "amount -1.0"),
    ],
)
def test_impossible_events_are_refused_naming_them(event, message):
    bars = small_bars([4.0, 4.0, 4.0])
    day = bars.column("timestamp")[1].as_py()
    with pytest.raises(AdjustmentError, match=message) as err:
        adjust(bars, actions_table([(day, *event)]))
    assert str(day) in str(err.value)


def test_bad_inputs_are_refused():
    bars = small_bars([4.0, 4.0])
    with pytest.raises(ValueError, match="dividend_base"):
        adjust(bars, actions_table([]), dividend_base="adj_close")
    with pytest.raises(AdjustmentError, match="two rows for one date"):
        adjust(pa.concat_tables([bars, bars]), actions_table([]))


def test_events_outside_the_bars_leave_them_alone():
    bars = small_bars([4.0, 4.2])
    day = bars.column("timestamp").to_pylist()
    events = actions_table(
        [
            (day[0], "dividend", None, 0.5),  # nothing trades before it
            (day[0] - dt.timedelta(days=30), "split", 2.0, None),
            (day[1], "symbol_change", None, None),
        ]
    )
    out = adjust(bars, events)
    assert out.column("close").to_pylist() == [4.0, 4.2]
    assert out.column("price_factor").to_pylist() == [1.0, 1.0]


# --- from the lake ------------------------------------------------------------------------------
def write_bars(store: LakeStore, bars: pa.Table, history_before: dt.date | None = None) -> None:
    """Monthly files as the ingest writes them; rows before ``history_before`` in history."""
    sid = bars.column("security_id")[0].as_py()
    days = bars.column("timestamp").to_pylist()
    if history_before is not None:
        old = pc.less(bars.column("timestamp"), pa.scalar(history_before))
        store.write_table(keys.daily_ticks_history(sid), bars.filter(old))
        bars = bars.filter(pc.invert(old))
        days = bars.column("timestamp").to_pylist()
    for month in sorted({(d.year, d.month) for d in days}):
        mask = [(d.year, d.month) == month for d in days]
        first = dt.date(*month, 1)
        store.write_table(keys.daily_ticks_month(sid, first), bars.filter(pa.array(mask)))


@pytest.mark.parametrize("history_before", [None, dt.date(2014, 7, 1)])
def test_adjusted_bars_reads_the_lake_and_reaches_later_dividends(
    local_env, quandl, history_before
):
    store = LakeStore()
    rows = quandl["AAPL"]
    bars, actions = bars_of(rows, 14), actions_of(rows, 14)
    write_bars(store, bars, history_before)
    store.write_table(keys.corporate_actions(14), actions)
    whole = adjust(bars, actions, AS_OF)
    march = adjusted_bars(store, 14, dt.date(2014, 3, 1), dt.date(2014, 3, 31), as_of=AS_OF)
    expected = whole.filter(pc.equal(pc.month(whole.column("timestamp")), 3))
    assert march.num_rows == 21
    assert march.equals(expected)
    # as of before the split: the 7:1 factor is not applied yet
    early = adjusted_bars(store, 14, dt.date(2014, 3, 3), dt.date(2014, 3, 3), dt.date(2014, 6, 8))
    assert early.column("close")[0].as_py() == pytest.approx(
        march.column("close")[0].as_py() * 7 / (1 - 0.47 / 94.96) / (1 - 0.47 / 108.86),
        rel=1e-12,
    )


def test_adjusted_bars_refuses_bars_not_yet_known(local_env):
    store = LakeStore()
    with pytest.raises(ValueError, match="after as_of"):
        adjusted_bars(
            store, 1, dt.date(2014, 1, 1), dt.date(2014, 2, 1), as_of=dt.date(2014, 1, 15)
        )
    empty = adjusted_bars(store, 1, dt.date(2014, 1, 1), dt.date(2014, 2, 1))
    assert empty.num_rows == 0 and "price_factor" in empty.column_names


def test_sample_market_adjusted_series_has_no_event_jumps(local_env):
    """The sample market's raw bars with its own corporate actions: a split and a dividend."""
    from equity_lake.sources.sample import sample_market

    market = sample_market()
    sid = 100067
    actions = market.corporate_actions().filter(
        pc.equal(market.corporate_actions().column("security_id"), sid)
    )
    from equity_lake import calendar

    days = calendar.sessions_between(dt.date(2019, 1, 2), dt.date(2019, 12, 31))
    bars = pa.concat_tables(market.daily_bars(d, [sid]) for d in days).cast(DAILY_TICKS)
    events = actions.filter(
        pc.and_(
            pc.is_in(actions.column("action"), pa.array(["split", "dividend"])),
            pc.equal(pc.year(actions.column("ex_date")), 2019),
        )
    )
    kinds = set(events.column("action").to_pylist())
    assert kinds == {"split", "dividend"}
    store = LakeStore()
    write_bars(store, bars)
    store.write_table(keys.corporate_actions(sid), actions)
    out = adjusted_bars(store, sid, days[0], days[-1], as_of=days[-1])
    assert out.num_rows == len(days)
    raw = bars.column("close").to_numpy()
    adj = out.column("close").to_numpy()
    split = events.filter(pc.equal(events.column("action"), "split"))
    split_day = split.column("ex_date")[0].as_py()
    ratio = split.column("ratio")[0].as_py()
    i = days.index(split_day)
    raw_move, adj_move = raw[i] / raw[i - 1], adj[i] / adj[i - 1]
    assert abs(np.log(raw_move * ratio)) < 0.25  # the raw jump is the split
    assert abs(np.log(adj_move)) < 0.25 and abs(np.log(adj_move)) < abs(np.log(raw_move))
    assert adj[-1] == raw[-1]


def test_many_securities_in_one_pass_equal_each_adjusted_alone():
    """A panel (``by_security``): each security's bars by its own actions only, exactly as
    adjusted alone; a security without actions is left raw."""

    def of(sid, table):
        return table.set_column(0, "security_id", pa.array([sid] * table.num_rows, pa.int64()))

    first = of(7, small_bars([1.0, 1.1, 10.5, 10.0]))
    second = of(8, small_bars([40.0, 41.0, 42.0, 20.0, 21.0], start=dt.date(2021, 2, 26)))
    third = of(9, small_bars([5.0, 5.5, 6.0]))
    day = first.column("timestamp").to_pylist()
    mine = actions_table([(day[2], "split", 0.1, None), (day[2], "dividend", None, 0.55)], 7)
    theirs = actions_table([(dt.date(2021, 3, 2), "split", 2.0, None)], 8)
    theirs = pa.concat_tables([theirs, actions_table([(day[1], "dividend", None, 1.0)], 8)])
    alone = [
        adjust(first, mine),
        adjust(second, theirs),
        adjust(third, actions_table([], 9)),
    ]
    together = adjust(
        pa.concat_tables([third, second, first]),  # in any order
        pa.concat_tables([theirs, mine]),
        by_security=True,
    )
    assert together.equals(pa.concat_tables(alone))
    assert together.column("price_factor").to_pylist()[-3:] == [1.0, 1.0, 1.0]
