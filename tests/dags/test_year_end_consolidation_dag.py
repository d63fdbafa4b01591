"""The year_end_consolidation DAG: once a year for the year just closed, catchup for past
years; daily_ticks (and a session of minutes) then a consolidation of both with dag.test()
against a local S3 server."""

import datetime as dt

from equity_lake.datasets import minute_ticks
from equity_lake.lake import keys
from tests.dags.helpers import load_dag, run_session, sample_lake

DAYS = [dt.date(2023, 6, 30), dt.date(2023, 12, 29)]


def test_it_runs_in_january_for_the_year_before_with_catchup():
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    from equity_lake_airflow.engine_tasks import year_end_from_context

    dag = load_dag("year_end_consolidation")
    assert dag.catchup and dag.max_active_runs == 1
    after = coerce_to_core_timetable(dag.timetable).next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(
            earliest=dt.datetime(2024, 6, 1, tzinfo=dt.UTC), latest=None, catchup=True
        ),
    )
    assert after.run_after == dt.datetime(2025, 1, 5, 6, tzinfo=dt.UTC)
    context = {"data_interval_end": after.data_interval.end, "params": {"year": None}}
    assert year_end_from_context(context) == dt.date(2024, 12, 31)
    assert year_end_from_context({**context, "params": {"year": 2019}}) == dt.date(2019, 12, 31)


def test_daily_ticks_then_a_consolidation_folds_the_year(s3_server, airflow_db):
    with sample_lake(s3_server, "consolidate") as (store, built):
        symbols = built.active_on(DAYS[0]).column("symbol").to_pylist()[:12]
        daily = load_dag("daily_ticks")
        for day in DAYS:
            done = run_session(daily, day, symbols=symbols, chunk_size=10)
            assert str(done.state) in ("success", "DagRunState.SUCCESS")
        monthly = [k for k in store.list("data/raw/ticks/daily/") if "/2023/" in k]
        assert len(monthly) == 24
        minute_ticks.ingest(store, DAYS[1], symbols=symbols[:3], run_id="m1")
        done = load_dag("year_end_consolidation").test(run_conf={"year": 2023, "chunk_size": 5000})
        assert str(done.state) in ("success", "DagRunState.SUCCESS")
        assert [k for k in store.list("data/raw/ticks/daily/") if "/2023/" in k] == []
        minutes = [k for k in store.list("data/raw/ticks/minute/") if "/2023/" in k]
        assert sorted(k.split("/")[4] for k in minutes) == sorted(
            str(s) for s in built.active_on(DAYS[1]).column("security_id").to_pylist()[:3]
        )
        assert all(k.endswith("/2023/12/ticks.parquet") for k in minutes)  # days folded
        summary = store.read_json(keys.run_summary("ticks-history", dt.date(2023, 12, 31)))
        assert summary["objects_deleted"] == 24 + 3
        assert summary["folded"] == 12 + 3
