"""Dated universes (``universes.py``): membership as it was, delisted members included."""

import datetime as dt

import pyarrow as pa

from equity_lake import calendar, universes
from equity_lake.lake.schemas import DAILY_TICKS, SECURITY_MASTER

D = dt.date


def master(rows):
    """SECURITY_MASTER rows from (id, symbol, start, end, is_etf)."""
    return pa.Table.from_pylist(
        [
            {
                "security_id": sid,
                "symbol": symbol,
                "company": f"Company {sid}",
                "cik": None,
                "exchange": "NYSE",
                "start_date": start,
                "end_date": end,
                "source": "test",
                "permno": None,
                "is_etf": etf,
            }
            for sid, symbol, start, end, etf in rows
        ],
        schema=SECURITY_MASTER,
    )


MASTER = master(
    [
        (1, "AAA", D(2024, 1, 2), None, None),
        (2, "BBB", D(2024, 1, 2), D(2024, 2, 15), None),  # delisted mid-February
        (3, "CCC", D(2024, 1, 2), D(2024, 2, 29), None),  # renamed to DDD on March 1
        (3, "DDD", D(2024, 3, 1), None, None),
        (4, "SPYX", D(2024, 1, 2), None, True),  # an ETF
        (5, "EEE.WS", D(2024, 1, 2), None, None),  # a warrant
    ]
)


def bars(dollars_by_month):
    """Daily bars where each security's close x volume is ``dollars_by_month[month][sid]``."""
    rows = []
    for day in calendar.sessions_between(D(2023, 12, 1), D(2024, 3, 31)):
        for sid, dollars in dollars_by_month.get(day.month, {}).items():
            rows.append(
                {
                    "security_id": sid,
                    "symbol": "X",
                    "timestamp": day,
                    "open": 10.0,
                    "high": 10.0,
                    "low": 10.0,
                    "close": 10.0,
                    "volume": dollars // 10,
                }
            )
    return pa.Table.from_pylist(rows, schema=DAILY_TICKS)


def test_all_common_keeps_delisted_and_renamed_members_and_leaves_out_etfs_and_warrants():
    common = universes.all_common(MASTER)
    assert sorted(set(common.column("security_id").to_pylist())) == [1, 2, 3]
    assert universes.members(common, D(2024, 1, 31)).to_pylist() == [
        {"security_id": 1, "symbol": "AAA"},
        {"security_id": 2, "symbol": "BBB"},
        {"security_id": 3, "symbol": "CCC"},
    ]
    # after the delisting and the rename: the ticker at the time
    assert universes.members(common, D(2024, 3, 4)).to_pylist() == [
        {"security_id": 1, "symbol": "AAA"},
        {"security_id": 3, "symbol": "DDD"},
    ]


def test_top_n_is_reconstituted_monthly_by_the_prior_sessions_dollar_volume():
    common = universes.all_common(MASTER)
    days = universes.reconstitution_days(D(2024, 1, 2), D(2024, 3, 29))
    assert days == [D(2024, 1, 2), D(2024, 2, 1), D(2024, 3, 1)]
    history = bars(
        {
            12: {1: 100, 2: 900, 3: 500, 4: 10_000},  # the ETF trades most: never ranked
            1: {1: 800, 2: 300, 3: 700},
            2: {1: 200, 2: 100, 3: 900},
        }
    )
    top = universes.top_by_dollar_volume(common, history, days, size=2)
    assert top.schema.equals(universes.UNIVERSE_SCHEMA)
    assert [r["security_id"] for r in universes.members(top, D(2024, 1, 2)).to_pylist()] == [2, 3]
    february = universes.members(top, D(2024, 2, 14)).to_pylist()
    assert [r["security_id"] for r in february] == [1, 3]
    # the delisted member stays in January's history; the renamed one changes ticker
    assert {"security_id": 2, "symbol": "BBB", "start": D(2024, 1, 2), "end": D(2024, 1, 31)} in (
        top.to_pylist()
    )
    march = universes.members(top, D(2024, 3, 4)).to_pylist()
    assert march == [{"security_id": 1, "symbol": "AAA"}, {"security_id": 3, "symbol": "DDD"}]
    current = [r for r in top.to_pylist() if r["end"] is None]
    assert {r["symbol"] for r in current} == {"AAA", "DDD"}


def test_a_lookback_is_the_twenty_sessions_before_the_reconstitution():
    window = universes.lookback_sessions(D(2024, 2, 1))
    assert len(window) == 20 and window[-1] == D(2024, 1, 31) and D(2024, 1, 15) not in window
