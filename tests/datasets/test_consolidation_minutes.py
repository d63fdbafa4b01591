"""Year-end consolidation of minute ticks: a closed year's day objects folded into one object
per security and month; every bar readable exactly once (reader and SQL) whatever crashes; a
late correction lands in its month; the daily fold and the plan around it."""

import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from equity_lake import master, reader
from equity_lake.datasets import consolidation, daily_ticks, minute_ticks
from equity_lake.engine.dataset import Run
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore

YEAR = 2024
#: two sessions of January (the second with extended hours, whose last bars fall on
#: February 1 in UTC) and one of February
DAYS = [dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1)]
EXTENDED = dt.date(2024, 1, 31)
COUNT = 4


@pytest.fixture(scope="module")
def minute_lake(tmp_path_factory, built):
    """A local lake holding the three sessions' minutes of COUNT securities (ingested once)."""
    root = tmp_path_factory.mktemp("minute-consolidation") / "lake"
    mp = pytest.MonkeyPatch()
    mp.setenv("LAKE_URI", root.as_uri())
    mp.delenv("LAKE_S3_ENDPOINT", raising=False)
    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, built.master)
    active = master.SecurityMaster(built.master).active_on(DAYS[0])
    symbols = active.column("symbol").to_pylist()[:COUNT]
    for day in DAYS:
        session = "extended" if day == EXTENDED else "regular"
        minute_ticks.ingest(store, day, symbols=symbols, session=session, run_id=f"m{day}")
    yield root, active.column("security_id").to_pylist()[:COUNT], symbols
    mp.undo()


@pytest.fixture
def lake(minute_lake, tmp_path, monkeypatch):
    """A fresh copy of the minutes' lake for each test: (store, security ids, their tickers)."""
    source, sids, symbols = minute_lake
    shutil.copytree(source, tmp_path / "lake")
    monkeypatch.setenv("LAKE_URI", (tmp_path / "lake").as_uri())
    return LakeStore(), sids, symbols


def bars(store, sids):
    """Every minute bar of the sessions, as the reader returns them."""
    lake = reader.Lake(store)
    return [lake.minute_bars(sid, DAYS[0], DAYS[-1]).to_pylist() for sid in sids]


def sql_rows(store):
    """(rows, distinct security-minutes) of the SQL view over the minutes."""
    con = reader.Lake(store).duckdb()
    return con.execute(
        "select count(*), count(distinct (security_id, timestamp)) from minute_ticks"
    ).fetchone()


def day_objects(store, sids):
    return [k for sid in sids for k in store.list(keys.minute_ticks_year(sid, YEAR)) if
            k.count("/") == 8]  # fmt: skip


def fold(store, run_id):
    return consolidation.consolidate(store, YEAR, dataset="minute-ticks", run_id=run_id)


def test_minutes_fold_into_one_object_per_month_and_read_the_same(lake):
    store, sids, symbols = lake
    before, (count, distinct) = bars(store, sids), sql_rows(store)
    assert count == distinct == sum(len(b) for b in before) > 1000
    assert len(day_objects(store, sids)) == len(DAYS) * COUNT

    result = fold(store, "c1")
    assert day_objects(store, sids) == []
    for sid in sids:
        folder = keys.minute_ticks_year(sid, YEAR)
        assert store.list(folder) == [f"{folder}01/ticks.parquet", f"{folder}02/ticks.parquet"]
        january = store.read_table(keys.minute_ticks_month(sid, EXTENDED))
        assert pc.max(january.column("timestamp")).as_py() > dt.datetime(
            2024, 1, 31, 21, tzinfo=dt.UTC
        )  # after the close: the extended session folded with the rest
    assert bars(store, sids) == before and sql_rows(store) == (count, count)
    assert result["folded"] == COUNT and result["objects_deleted"] == len(DAYS) * COUNT
    assert result["rows_in"] == result["rows_out"] == count
    again = fold(store, "c2")
    assert again["files_written"] == again["objects_deleted"] == again["folded"] == 0


def test_a_bar_belongs_to_the_month_of_its_session_not_its_utc_date(lake):
    store, sids, _ = lake
    late = dt.datetime(2024, 2, 1, 0, 59, tzinfo=dt.UTC)  # 19:59 on January 31 in New York
    rows = store.read_table(keys.minute_ticks_day(sids[0], EXTENDED)).slice(0, 2)
    at = rows.schema.get_field_index("timestamp")
    stamps = pa.array([rows.column(at)[0].as_py(), late], rows.schema.field(at).type)
    rows = rows.set_column(at, "timestamp", stamps)
    ((target, held),) = consolidation.FOLDS["minute-ticks"].targets(sids[0], rows)
    assert target == keys.minute_ticks_month(sids[0], EXTENDED) and held.num_rows == 2


class Crash(BaseException):
    """A process killed mid-run (BaseException: nothing catches it)."""


def test_a_crash_between_publish_and_delete_reads_once_and_a_rerun_finishes(lake, monkeypatch):
    store, sids, symbols = lake
    before, counted = bars(store, sids), sql_rows(store)
    real, calls = LakeStore.delete, []

    def dying(self, key):
        if "/ticks/minute/" in key:
            calls.append(key)
            if len(calls) > 4:  # the second security's months published, one day deleted
                raise Crash(key)
        return real(self, key)

    monkeypatch.setattr(LakeStore, "delete", dying)
    with pytest.raises(Crash):
        fold(store, "c1")
    monkeypatch.setattr(LakeStore, "delete", real)
    assert day_objects(store, sids)  # months and days of the same minutes side by side
    assert bars(store, sids) == before and sql_rows(store) == counted
    fold(store, "c2")
    assert day_objects(store, sids) == []
    assert bars(store, sids) == before and sql_rows(store) == counted


def test_a_late_correction_of_a_folded_year_lands_in_its_month(lake):
    store, sids, symbols = lake
    fold(store, "c1")
    day, sid = DAYS[0], sids[0]
    month = store.read_table(keys.minute_ticks_month(sid, day))
    lost = month.filter(pc.not_equal(pc.cast(month.column("timestamp"), pa.date32()), day))
    store.write_table(keys.minute_ticks_month(sid, day), lost)  # the session lost: re-ingest it
    minute_ticks.ingest(store, day, symbols=symbols[:1], run_id="late")
    assert not store.exists(keys.minute_ticks_day(sid, day))
    assert store.read_table(keys.minute_ticks_month(sid, day)).num_rows == month.num_rows


def test_the_plan_folds_minutes_only_of_years_the_lake_holds(lake):
    store, sids, symbols = lake
    both = consolidation.CONSOLIDATION.plan(store, Run(dt.date(YEAR, 12, 31), "p1", {}))
    names = [p.name for p in both.partitions]
    assert [n for n in names if n.startswith("daily-")] and [
        n for n in names if n.startswith("minute-")
    ]
    assert all("--dataset" in p.argv for p in both.partitions)
    empty = Run(dt.date(2022, 12, 31), "p2", {"year": 2022, "dataset": "all"})
    plan = consolidation.CONSOLIDATION.plan(store, empty)
    assert {p.name.split("-")[0] for p in plan.partitions} == {"daily"}
    assert plan.notes["nothing_in"] == ["minute-ticks"]
    with pytest.raises(ValueError, match="cannot be consolidated"):
        consolidation.CONSOLIDATION.plan(store, Run(empty.day, "p3", {"dataset": "filings"}))


def test_the_minute_gate_finds_the_daily_bar_in_history(lake):
    """Once the daily year is folded, the minute gate's agreement check reads history."""
    store, sids, symbols = lake
    daily_ticks.ingest(store, DAYS[0], symbols=symbols, run_id="d1")
    consolidation.consolidate(store, YEAR, run_id="c1")
    assert not store.exists(keys.daily_ticks_month(sids[0], DAYS[0]))
    found = minute_ticks.daily_bars(store, sids, DAYS[0])
    assert sorted(found.column("security_id").to_pylist()) == sorted(sids)


def test_a_long_fold_logs_its_progress(lake, monkeypatch, caplog):
    from equity_lake.engine import runner

    store, sids, _ = lake
    monkeypatch.setattr(runner, "PROGRESS_SECONDS", 0.0)
    with caplog.at_level("INFO", logger="equity_lake"):
        fold(store, "c1")
    said = [r.getMessage() for r in caplog.records if r.name == "equity_lake.engine.runner"]
    assert said[0].startswith("ticks-history minute-chunk-0001-of-0001: 1 of ")
    assert len(said) == COUNT and said[-1].startswith(
        f"ticks-history minute-chunk-0001-of-0001: {COUNT} of "
    )
    assert "securities published" in said[-1] and " rows" in said[-1]
