"""End-to-end runs of the edgar_fundamentals DAG with dag.test(), against the local EDGAR
stand-in (real filings) and a local S3 server."""

import datetime as dt
import gzip
import json
import shutil
import uuid
from contextlib import contextmanager

import pytest

from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from standins.edgar import EdgarStandIn
from tests.dags.helpers import environment, load_dag
from tests.fundamentals.conftest import ALPHABET, APPLE, SEC, SNOWFLAKE, USER_AGENT

UTC = dt.UTC


@pytest.fixture
def lake(s3_server, airflow_db):
    bucket = f"fund-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    with environment(**s3_server.env(bucket)):
        yield LakeStore()


@contextmanager
def edgar(folder=SEC, **extra):
    with EdgarStandIn(folder) as server:
        env = {**server.env(), "SEC_USER_AGENT": USER_AGENT, "SEC_RATE_SHARERS": None, **extra}
        with environment(**env):
            yield server


@pytest.fixture(scope="module")
def dag():
    return load_dag("edgar_fundamentals")


DEFAULTS = {"mode": "incremental", "ciks": [], "since": None, "chunk_size": 25}


def run(dag, filing_day, **conf):
    """The scheduled run that covers ``filing_day`` (09:00 UTC the next day).

    Every param is passed: dag.test() keeps the previous run's conf as the DAG's params.
    """
    after = dt.datetime.combine(filing_day + dt.timedelta(days=1), dt.time(9), UTC)
    return dag.test(logical_date=after, run_conf={**DEFAULTS, **conf})


def state_of(result):
    return str(getattr(result.state, "value", result.state))


def asset_events(result):
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == result.run_id)
        return [(e.asset.name, e.extra) for e in events]


def task_states(result):
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.run_id == result.run_id)
        return {(ti.task_id, ti.rendered_map_index): str(ti.state) for ti in tis}


def fundamentals_objects(store):
    return {k: store.read_bytes(k) for k in store.list("data/raw/fundamental") if "/_" not in k}


def test_a_backfill_then_daily_runs_publish_merge_and_announce_only_news(lake, dag):
    with edgar() as server:
        bulk = run(dag, dt.date(2024, 10, 29), mode="bulk")
        assert state_of(bulk) == "success"
        assert server.paths() == ["/Archives/edgar/daily-index/xbrl/companyfacts.zip"]
        # the archive's trimmed JPMorgan and Walmart documents hold nothing filed by then
        assert set(fundamentals_objects(lake)) == {
            keys.fundamentals(c) for c in (APPLE, ALPHABET, SNOWFLAKE)
        }
        # the event names the companies stored: the derived run recomputes those only
        stored = ["0000320193", "0001640147", "0001652044"]
        assert asset_events(bulk) == [
            (
                "equity_lake_fundamentals",
                {"day": "2024-10-29", "companies": 3, "files_written": 3, "stored": stored},
            )
        ]
        after_bulk = fundamentals_objects(lake)

        # Alphabet's 10-Q (2024-10-30) and Apple's 10-K (2024-11-01) come in through the index
        server.reset()
        daily = run(dag, dt.date(2024, 11, 1), chunk_size=1)
        assert state_of(daily) == "success"
        summary = lake.read_json(keys.run_summary("fundamentals", dt.date(2024, 11, 1)))
        assert summary["discovery"]["since"] == "2024-10-30"
        assert (summary["companies"], summary["files_written"]) == (2, 2)
        assert summary["missing"] == ["0000310522", "0000789019"]  # filers EDGAR has no facts for
        labels = sorted(k[1] for k in task_states(daily) if k[0] == "ingest_chunk")
        assert labels == [
            f"{i}/4: {c}..{c} (1)"
            for i, c in enumerate(["0000310522", APPLE, "0000789019", ALPHABET], start=1)
        ]
        changed = {k for k, v in fundamentals_objects(lake).items() if after_bulk.get(k) != v}
        assert changed == {keys.fundamentals(APPLE), keys.fundamentals(ALPHABET)}
        assert [e[0] for e in asset_events(daily)] == ["equity_lake_fundamentals"]
        assert lake.read_json(keys.FUNDAMENTALS_STATE)["all"] == "2024-11-01"

        # the same day again: nothing new, nothing written, no asset event
        before = fundamentals_objects(lake)
        again = run(dag, dt.date(2024, 11, 1))
        assert state_of(again) == "success"
        assert fundamentals_objects(lake) == before
        assert asset_events(again) == []
        assert task_states(again)[("announce", None)] == "skipped"


def test_a_run_without_a_user_agent_refuses_to_start(lake, dag):
    with edgar(SEC_USER_AGENT=None) as server:
        result = run(dag, dt.date(2024, 11, 1), ciks=[APPLE])
        assert state_of(result) == "failed"
        assert task_states(result)[("plan_chunks", None)] == "failed"
        assert task_states(result)[("record_run", None)] == "failed"  # at once, not retried
        assert server.paths() == [] and fundamentals_objects(lake) == {}
        assert lake.read_json(keys.FUNDAMENTALS_STATE) is None


def test_a_chunk_failing_its_suite_fails_the_run_and_keeps_the_watermark(lake, dag, tmp_path):
    folder = tmp_path / "sec"
    shutil.copytree(SEC / "submissions", folder / "submissions")
    (folder / "companyfacts").mkdir()
    shutil.copy(SEC / "companyfacts" / f"CIK{APPLE}.json", folder / "companyfacts")
    doc = json.loads((SEC / "companyfacts" / "CIK0001640147_SNOW_pretty.json").read_bytes())
    doc["facts"]["us-gaap"]["Assets"]["units"]["USD"][0]["accn"] = "0001640147-2-1"  # malformed
    (folder / "companyfacts" / f"CIK{SNOWFLAKE}.json.gz").write_bytes(
        gzip.compress(json.dumps(doc).encode())
    )
    with edgar(folder):
        result = run(dag, dt.date(2025, 6, 2), ciks=[APPLE, SNOWFLAKE], chunk_size=2)
    assert state_of(result) == "failed"
    states = task_states(result)
    assert states[("ingest_chunk", f"1/1: {APPLE}..{SNOWFLAKE} (2)")] == "failed"
    assert states[("record_run", None)] == "failed"
    assert states[("announce", None)] == "upstream_failed"
    # one chunk: Apple passed and was published; Snowflake alone is in quarantine; no watermark
    assert set(fundamentals_objects(lake)) == {keys.fundamentals(APPLE)}
    quarantined = [k for k in lake.list("data/quarantine") if k.endswith(".validation.json")]
    assert len(quarantined) == 1 and SNOWFLAKE in quarantined[0]
    assert lake.read_json(keys.FUNDAMENTALS_STATE) is None
    summary = lake.read_json(keys.run_summary("fundamentals", dt.date(2025, 6, 2)))
    assert summary["failed_partitions"] == ["chunk-0001-of-0001"]
    assert list(summary["rejected"]) == [SNOWFLAKE] and "(accn)" in summary["rejected"][SNOWFLAKE]
    assert (summary["companies"], summary["files_written"]) == (1, 1)


@pytest.mark.parametrize(
    "conf, message",
    [
        ({"mode": "replace"}, "mode"),
        ({"ciks": ["../x"]}, "ciks"),
        ({"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_params_are_refused_before_anything_runs(lake, dag, conf, message):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=message):
        run(dag, dt.date(2024, 11, 1), **conf)


def test_a_run_waits_its_turn_while_another_holds_the_lake(lake, dag, monkeypatch):
    """Backfills ignore max_active_runs: the run lease makes runs take turns all the same. A
    run whose turn has not come is rescheduled (no worker slot held), then runs."""
    import threading

    from airflow.models import TaskInstance
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    import equity_lake_airflow.engine_tasks as engine_tasks
    from equity_lake.engine import lease

    monkeypatch.setattr(engine_tasks, "TURN_POLL", dt.timedelta(seconds=1))
    lease.acquire(lake, "fundamentals", "backfill__2024-10-31")
    with edgar():
        later = threading.Timer(3, lease.release, (lake, "fundamentals", "backfill__2024-10-31"))
        later.start()
        try:
            result = run(dag, dt.date(2024, 11, 1), ciks=[APPLE])
        finally:
            later.cancel()
    assert state_of(result) == "success"
    with create_session() as session:
        plan = (
            session.query(TaskInstance)
            .filter(TaskInstance.run_id == result.run_id, TaskInstance.task_id == "plan_chunks")
            .one()
        )
        waits = session.query(TaskReschedule).filter(TaskReschedule.ti_id == plan.id).count()
    assert waits >= 1  # it waited for the other run, and never failed for it
    assert lease.holder(lake, "fundamentals") is None  # its record step gave the turn back
    assert lake.read_json(keys.FUNDAMENTALS_STATE)["ciks"][APPLE] == "2024-11-01"
