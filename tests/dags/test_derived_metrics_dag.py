"""The derived_metrics DAG: scheduled on the fundamentals and daily-ticks Assets, run with
dag.test() against a local S3 server."""

import uuid

import pytest

from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from tests.dags.helpers import environment, load_dag
from tests.fundamentals.conftest import APPLE, SNOWFLAKE, facts


@pytest.fixture(scope="module")
def lake(s3_server, airflow_db):
    bucket = f"derived-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    with environment(**s3_server.env(bucket)):
        store = LakeStore()
        for cik in (APPLE, SNOWFLAKE):
            store.write_table(keys.fundamentals(cik), facts(cik))
        yield store


def test_the_dag_waits_on_the_fundamentals_and_daily_ticks_assets():
    dag = load_dag("derived_metrics")
    names = {asset.name for asset in dag.timetable.asset_condition.objects}
    assert names == {"equity_lake_fundamentals", "equity_lake_daily_ticks"}
    assert [a.name for a in dag.get_task("record_run").outlets] == ["equity_lake_derived_metrics"]


def test_a_run_derives_every_company_in_the_lake(lake):
    dag = load_dag("derived_metrics")
    result = dag.test(run_conf={"chunk_size": 1})
    assert str(result.state) in ("success", "DagRunState.SUCCESS")
    for cik in (APPLE, SNOWFLAKE):
        assert lake.read_table(keys.ttm(cik)).num_rows > 100
        assert lake.read_table(keys.derived_metrics(cik)).num_rows > 50
    results = lake.list(keys.quality_results_prefix("derived-ttm"))
    assert len([k for k in results if k.endswith(".json")]) == 2
