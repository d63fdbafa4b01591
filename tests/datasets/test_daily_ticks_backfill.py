"""The backfill range mode: a month at a time per chunk, each monthly object written once, and
the same lake as day-by-day runs, byte for byte."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute  # noqa: F401
import pytest

from equity_lake import calendar, cli
from equity_lake.datasets import daily_ticks
from equity_lake.engine import runner
from equity_lake.engine.dataset import Run
from equity_lake.lake import commits, keys
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster

START, END = dt.date(2024, 11, 25), dt.date(2024, 12, 6)  # across a month's end
SECURITIES = 24


@pytest.fixture(scope="module")
def symbols(built):
    """Tickers every one of which names the same security on every session of the range."""
    master = SecurityMaster(built.master)
    pairs = None
    for day in calendar.sessions_between(START, END):
        active = master.active_on(day)
        ids = active.column("security_id").to_pylist()
        today = set(zip(active.column("symbol").to_pylist(), ids, strict=True))
        pairs = today if pairs is None else pairs & today
    return sorted(symbol for symbol, _ in pairs)[:SECURITIES]


def _lake(tmp_path, monkeypatch, built, name):
    monkeypatch.setenv("LAKE_URI", (tmp_path / name).as_uri())
    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, built.master)
    return store


def _ticks(store):
    return {
        k: store.read_bytes(k) for k in store.list("data/raw/ticks/daily") if "/_batches/" not in k
    }


def test_a_range_backfill_makes_the_day_by_day_lake_byte_for_byte(
    tmp_path, monkeypatch, built, symbols
):
    days = calendar.sessions_between(START, END)
    daily = _lake(tmp_path, monkeypatch, built, "daily")
    for day in days:
        daily_ticks.ingest(daily, day, symbols=symbols, run_id=f"d-{day}")
    by_day = _ticks(daily)

    ranged = _lake(tmp_path, monkeypatch, built, "range")
    params = {"symbols": symbols, "chunk_size": 10, "backfill": f"{START}..{END}"}
    run = Run(days[-1], "bf-1", params)
    found = daily_ticks.DAILY.plan(ranged, run)
    assert [p.name for p in found.partitions] == [
        "chunk-0001-of-0003",
        "chunk-0002-of-0003",
        "chunk-0003-of-0003",
    ]
    assert found.partitions[0].argv[2:6] == ("--start", str(days[0]), "--end", str(days[-1]))
    writes = []
    write_if = LakeStore.write_if
    monkeypatch.setattr(
        LakeStore, "write_if", lambda self, key, *a: writes.append(key) or write_if(self, key, *a)
    )
    for partition in found.partitions:  # what each mapped task runs
        assert cli.main(list(partition.argv)) == 0
    monkeypatch.setattr(LakeStore, "write_if", write_if)
    assert _ticks(ranged) == by_day
    assert len(by_day) == 2 * SECURITIES  # November's and December's file of each
    assert sorted(writes) == sorted(by_day)  # each monthly object written once

    summary = runner.record(
        daily_ticks.DAILY,
        ranged,
        run,
        planned=[p.name for p in found.partitions],
        expected={p.name: p.expected for p in found.partitions},
        days={p.name: p.day for p in found.partitions},
    )
    assert summary["failed_partitions"] == [] and summary["problems"] == {}
    assert summary["rows"] == SECURITIES * len(days)
    assert summary["securities"] == 2 * SECURITIES  # each security once per month
    record = commits.committed(ranged, "daily-ticks", days[0], "bf-1")[0]
    assert sorted(record["per_day"]) == [d.isoformat() for d in days]
    assert commits.verify(ranged, record, "timestamp") == []


def test_a_range_is_bounded_and_says_how(local_env, capsys):
    code = cli.main(["ingest", "daily-ticks", "--start", "2023-01-03", "--end", "2024-12-06"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "a backfill covers at most 366 days" in err
    code = cli.main(["ingest", "daily-ticks", "--date", "2024-12-06", "--end", "2024-12-09"])
    assert code == 2 and "give --date or --start/--end, not both" in capsys.readouterr().err


def test_a_month_that_fails_its_gate_keeps_the_months_before_it_committed(
    tmp_path, monkeypatch, built, symbols
):
    from equity_lake.adjust import read_daily_bars
    from equity_lake.engine.wap import QualityGateFailed
    from equity_lake.sources import registry

    store = _lake(tmp_path, monkeypatch, built, "lake")
    sample = registry.daily_source("sample")

    class CentsInDecember:  # a feed that switched to cents on December 4
        complete = True

        def daily_bars(self, day, members):
            bars = sample.daily_bars(day, members)
            if day >= dt.date(2024, 12, 4):
                for name in ("open", "high", "low", "close"):
                    i = bars.schema.get_field_index(name)
                    bars = bars.set_column(i, name, pa.compute.multiply(bars.column(name), 100))
            return bars

    monkeypatch.setattr(daily_ticks, "daily_source", lambda name: CentsInDecember())
    with pytest.raises(QualityGateFailed):
        daily_ticks.ingest(store, START, end=END, symbols=symbols, run_id="cents")
    (record,) = commits.committed(store, "daily-ticks", START, "cents")
    assert (
        record["complete"] is False
        and "chunk-0001-of-0001-2024-12 failed its gate" in (record["problems"][0])
    )
    assert sorted(record["per_day"]) == [
        d.isoformat() for d in calendar.sessions_between(START, dt.date(2024, 11, 29))
    ]
    assert commits.pending(store, "daily-ticks") == []
    sid = SecurityMaster(built.master).security_for_symbol(symbols[0], START)
    november = read_daily_bars(store, sid, [START.replace(day=1)])
    assert november.num_rows == len(calendar.sessions_between(START, dt.date(2024, 11, 30)))


def test_a_renamed_security_is_asked_for_under_the_ticker_of_each_day(tmp_path, monkeypatch, built):
    """APHI became CMCR on 2024-11-01: a range across the rename asks the source for APHI's
    October bars and CMCR's November bars, as day-by-day runs do."""
    from equity_lake.sources import registry

    store = _lake(tmp_path, monkeypatch, built, "lake")
    master = SecurityMaster(built.master)
    before, after = dt.date(2024, 10, 30), dt.date(2024, 11, 4)
    sid = master.security_for_symbol("APHI", before)
    assert sid is not None and master.security_for_symbol("CMCR", after) == sid
    sample, asked = registry.daily_source("sample"), []

    class Recording:
        complete = True

        def daily_bars(self, day, members):
            asked.append((day, members.column("symbol").to_pylist()))
            return sample.daily_bars(day, members)

    monkeypatch.setattr(daily_ticks, "daily_source", lambda name: Recording())
    daily_ticks.ingest(store, before, end=after, symbols=["APHI", "CMCR"], run_id="rename")
    assert asked == [
        (day, ["APHI" if day < dt.date(2024, 11, 1) else "CMCR"])
        for day in calendar.sessions_between(before, after)
    ]
