"""The universes DAG, scheduled on the daily-ticks Asset: daily_ticks then universes, each
with dag.test() against a local S3 server; and how the triggering Asset events scope a
derived run (``asset_changes.py``), on Airflow's own event types."""

import datetime as dt

import pytest

from equity_lake import universes
from equity_lake.lake import keys
from tests.dags.helpers import load_dag, run_session, sample_lake

DAYS = [dt.date(2024, 12, 2), dt.date(2024, 12, 31), dt.date(2025, 1, 2)]


def test_the_dag_waits_on_the_daily_ticks_asset_and_emits_its_own():
    dag = load_dag("universes")
    assert dag.timetable.asset_condition.name == "equity_lake_daily_ticks"
    assert [a.name for a in dag.get_task("record_run").outlets] == ["equity_lake_universes"]


def test_daily_ticks_then_universes_rebuild_both_universes(s3_server, airflow_db):
    with sample_lake(s3_server, "universes") as (store, built):
        symbols = built.active_on(dt.date(2024, 12, 31)).column("symbol").to_pylist()[:15]
        daily = load_dag("daily_ticks")
        for day in DAYS:
            done = run_session(daily, day, symbols=symbols, chunk_size=10)
            assert str(done.state) in ("success", "DagRunState.SUCCESS")
        done = load_dag("universes").test(run_conf={})
        assert str(done.state) in ("success", "DagRunState.SUCCESS")
        common = store.read_table(keys.universe("all_common"))
        assert common.num_rows > 5000
        top = store.read_table(keys.universe("top3000")).cast(universes.UNIVERSE_SCHEMA)
        # January's reconstitution looks back on December, whose bars are in: its members are
        # the securities with bars (December 2's ranks on a lookback of one session, 12-31)
        members = universes.members(top, dt.date(2025, 1, 2)).column("symbol").to_pylist()
        assert members and set(members) <= set(symbols)
        (recorded,) = store.list("data/quality/runs/universes/")
        assert store.read_json(recorded)["universes"] == 2


def event(name, extra):
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult

    return AssetEventDagRunReferenceResult(
        asset={"name": name, "uri": name, "extra": {}},
        extra=extra,
        source_task_id="record_run",
        source_dag_id="x",
        source_run_id="r",
        source_map_index=-1,
        source_aliases=[],
        timestamp=dt.datetime(2025, 1, 3, tzinfo=dt.UTC),
    )


class Run:
    def __init__(self, conf):
        self.conf = conf


@pytest.mark.parametrize(
    ("events", "conf", "expected"),
    [
        # a fundamentals run that stored two companies: those two, every day
        (
            [
                (
                    "equity_lake_fundamentals",
                    {"day": "2024-11-01", "stored": ["0000320193", "0001652044"]},
                )
            ],
            {},
            {"ciks": ["0000320193", "0001652044"]},
        ),
        # daily-ticks runs of a session and of a backfill range: every company, those sessions
        (
            [
                ("equity_lake_daily_ticks", {"day": "2025-01-03"}),
                (
                    "equity_lake_daily_ticks",
                    {"day": "2024-12-02", "backfill": "2024-12-02..2024-12-31"},
                ),
            ],
            {},
            {"start": "2024-12-02", "end": "2025-01-03"},
        ),
        # both kinds, or an event that does not say what it stored: everything
        (
            [
                ("equity_lake_fundamentals", {"day": "2024-11-01", "stored": ["0000320193"]}),
                ("equity_lake_daily_ticks", {"day": "2025-01-03"}),
            ],
            {},
            {},
        ),
        ([("equity_lake_fundamentals", {"day": "2024-11-01"})], {}, {}),
        # the user narrowed the run: the events do not override it
        ([("equity_lake_daily_ticks", {"day": "2025-01-03"})], {"ciks": ["320193"]}, {}),
    ],
)
def test_the_triggering_events_scope_a_derived_run(events, conf, expected):
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    from equity_lake_airflow import asset_changes

    dag = load_dag("derived_metrics")
    context = {
        "dag": dag,
        "dag_run": Run(conf),
        "triggering_asset_events": TriggeringAssetEventsAccessor.build(
            [event(name, extra) for name, extra in events]
        ),
    }
    assert asset_changes.scope(context) == expected
    # the universes DAG has no ciks param: a fundamentals scope never reaches it
    context["dag"] = load_dag("universes")
    assert "ciks" not in asset_changes.scope(context)
