"""The backfill range mode: a month at a time per chunk, each monthly object written once, and
the same lake as day-by-day runs, byte for byte."""

import datetime as dt

import pytest

from equity_lake import calendar, cli, master_build
from equity_lake.datasets import daily_ticks
from equity_lake.engine import runner
from equity_lake.engine.dataset import Run
from equity_lake.lake import commits, keys
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster

START, END = dt.date(2024, 11, 25), dt.date(2024, 12, 6)  # across a month's end
SECURITIES = 24


@pytest.fixture(scope="module")
def built():
    return master_build.build("sample")


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
