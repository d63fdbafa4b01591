"""End-to-end runs of the minute_ticks DAG with dag.test() against a local S3 server."""

import datetime as dt

import pyarrow as pa
import pytest

from equity_lake.datasets import daily_ticks
from equity_lake.lake import keys
from equity_lake.lake.schemas import MINUTE_TICKS
from equity_lake.sources import registry
from tests.dags.helpers import load_dag, run_session, sample_lake

DAY = dt.date(2024, 12, 24)  # a half day: 210 minutes, the run comes at 18:30 UTC
SYMBOL_COUNT = 16


@pytest.fixture(scope="module")
def lake(s3_server, airflow_db):
    """A bucket holding the sample master and the day's daily bars, as the lake."""
    with sample_lake(s3_server, "minute") as (store, sm):
        symbols = sm.active_on(DAY).column("symbol").to_pylist()[200 : 200 + SYMBOL_COUNT]
        daily_ticks.ingest(store, DAY, symbols=symbols, run_id="daily")
        yield store, sm, symbols


def test_a_run_publishes_the_sessions_minutes_gated_and_recorded(lake):
    store, sm, symbols = lake
    dag = load_dag("minute_ticks")
    result = run_session(dag, DAY, symbols=symbols, chunk_size=10)
    assert str(result.state) in ("success", "DagRunState.SUCCESS")
    members = daily_ticks.universe(sm, DAY, symbols)
    expected = registry.minute_source("sample").minute_bars(DAY, members, "regular")
    ids = sorted(set(expected.column("security_id").to_pylist()))
    published = pa.concat_tables(
        store.read_table(keys.minute_ticks_day(sid, DAY)).cast(MINUTE_TICKS) for sid in ids
    )
    assert published.equals(expected.cast(MINUTE_TICKS))
    summary = store.read_json(keys.run_summary("minute-ticks", DAY))
    assert summary["rows"] == expected.num_rows and summary["securities"] == SYMBOL_COUNT
    assert summary["failed_partitions"] == [] and summary["session"] == "regular"
    assert summary["warnings"] == {}  # the minutes agree with the daily bars in the lake
    results = store.list(keys.quality_results_prefix("minute-ticks"))
    assert len([k for k in results if k.endswith(".json")]) == 2  # two chunks, two validations

    from airflow.models import TaskInstance
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        labels = sorted(
            ti.rendered_map_index
            for ti in session.query(TaskInstance).filter(
                TaskInstance.run_id == result.run_id, TaskInstance.task_id == "ingest_chunk"
            )
        )
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == result.run_id).all()
    assert labels == [
        f"{i}/2: {symbols[lo]}..{symbols[hi - 1]} ({hi - lo}) regular"
        for i, (lo, hi) in enumerate([(0, 8), (8, 16)], start=1)
    ]
    assert [e.extra.get("rows") for e in events] == [expected.num_rows]
