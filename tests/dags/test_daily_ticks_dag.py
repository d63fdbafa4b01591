"""End-to-end runs of the daily_ticks DAG with dag.test() against a local S3 server."""

import datetime as dt

import pyarrow as pa
import pytest

from equity_lake import calendar
from equity_lake.lake import keys
from equity_lake.lake.schemas import DAILY_TICKS
from equity_lake.sources import registry
from tests.dags.helpers import load_dag, run_session, sample_lake

DAY = dt.date(2024, 12, 24)  # a half day: the run comes at 18:30 UTC
SYMBOL_COUNT = 24


@pytest.fixture(scope="module")
def lake(s3_server, airflow_db):
    """A bucket holding the sample master, configured as the lake for this module."""
    with sample_lake(s3_server, "dag") as (store, sm):
        yield store, sm


@pytest.fixture(scope="module")
def dag():
    return load_dag("daily_ticks")


def run(dag, day, **conf):
    return run_session(dag, day, **conf)


def symbols_of(sm, day, n=SYMBOL_COUNT, offset=0):
    return sm.active_on(day).column("symbol").to_pylist()[offset : offset + n]


def raw_objects(store):
    return {k: store.read_bytes(k) for k in store.list("data/raw/ticks/daily")}


def test_a_run_publishes_the_days_bars_with_labelled_chunks(lake, dag):
    store, sm = lake
    symbols = symbols_of(sm, DAY)
    result = run(dag, DAY, symbols=symbols, chunk_size=10)
    assert str(result.state) in ("success", "DagRunState.SUCCESS")
    universe = sm.active_on(DAY)
    members = universe.filter(pa.compute.is_in(universe.column("symbol"), pa.array(symbols)))
    expected = registry.daily_source("sample").daily_bars(DAY, members).cast(DAILY_TICKS)
    published = pa.concat_tables(
        store.read_table(keys.daily_ticks_month(sid, DAY))
        for sid in expected.column("security_id").to_pylist()
    )
    assert published.schema.equals(DAILY_TICKS)
    assert published.sort_by("security_id").equals(expected.sort_by("security_id"))
    assert set(published.column("timestamp").to_pylist()) == {DAY}

    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        labels = sorted(
            ti.rendered_map_index
            for ti in session.query(TaskInstance).filter(
                TaskInstance.run_id == result.run_id, TaskInstance.task_id == "ingest_chunk"
            )
        )
    assert labels == [
        f"{i}/3: {symbols[lo]}..{symbols[hi - 1]} ({hi - lo})"
        for i, (lo, hi) in enumerate([(0, 8), (8, 16), (16, 24)], start=1)
    ]
    summary = store.read_json(keys.run_summary("daily-ticks", DAY))
    assert summary["rows"] == SYMBOL_COUNT and summary["failed_partitions"] == []
    assert store.exists(f"{keys.DATA_DOCS_PREFIX}/index.html")

    from airflow.models.asset import AssetEvent

    with create_session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_run_id == result.run_id).all()
    assert [e.extra.get("rows") for e in events] == [SYMBOL_COUNT]


def test_a_second_run_of_the_same_day_leaves_the_lake_unchanged(lake, dag):
    store, sm = lake
    symbols = symbols_of(sm, DAY)
    run(dag, DAY, symbols=symbols, chunk_size=10)
    before = raw_objects(store)
    assert len(before) == SYMBOL_COUNT
    result = run(dag, DAY, symbols=symbols, chunk_size=10)
    assert str(result.state) in ("success", "DagRunState.SUCCESS")
    assert raw_objects(store) == before
    assert store.read_json(keys.run_summary("daily-ticks", DAY))["files_written"] == 0


def test_a_corrupt_bar_fails_its_chunk_and_is_quarantined(lake, dag, monkeypatch):
    store, sm = lake
    day = dt.date(2024, 12, 26)
    symbols = symbols_of(sm, day, n=20, offset=100)
    victim = sm.security_for_symbol(symbols[3], day)
    real = registry.SampleDailySource.daily_bars

    def corrupt(self, when, universe):  # the provider delivers one bar with low > high
        bars = real(self, when, universe)
        ids = bars.column("security_id").to_pylist()
        if victim not in ids:
            return bars
        low = bars.column("low").to_pylist()
        low[ids.index(victim)] = bars.column("high")[ids.index(victim)].as_py() * 2
        return bars.set_column(bars.schema.get_field_index("low"), "low", pa.array(low))

    monkeypatch.setattr(registry.SampleDailySource, "daily_bars", corrupt)
    before = raw_objects(store)
    result = run(dag, day, symbols=symbols, chunk_size=10)
    assert "fail" in str(result.state).lower()
    after = raw_objects(store)
    changed = {k for k in after if after[k] != before.get(k)}
    victim_key = keys.daily_ticks_month(victim, day)
    assert victim_key not in changed
    # the victim's whole chunk (first 10 symbols) is held back; the other chunk published
    held_back = [keys.daily_ticks_month(sm.security_for_symbol(s, day), day) for s in symbols[:10]]
    published = [keys.daily_ticks_month(sm.security_for_symbol(s, day), day) for s in symbols[10:]]
    assert not set(held_back) & changed and set(published) <= changed
    quarantined = store.list("data/quarantine")
    assert any("2024-12-26" in k and k.endswith(".parquet") for k in quarantined)
    report = next(k for k in quarantined if k.endswith(".validation.json"))
    failures = " ".join(store.read_json(report)["failures"])
    assert "low" in failures
    assert (
        "chunk-0001-of-0002"
        in store.read_json(keys.run_summary("daily-ticks", day))["failed_partitions"]
    )


@pytest.mark.parametrize(
    "conf, message",
    [
        ({"chunk_size": 3}, "chunk_size"),
        ({"symbols": ["../etc"]}, "symbols"),
        ({"source": "nope"}, "source"),
    ],
)
def test_bad_params_are_refused_before_anything_runs(lake, dag, conf, message):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=message):
        run(dag, DAY, **conf)


def test_a_misspelled_conf_key_fails_the_plan_and_writes_nothing(lake, dag, capfd):
    """``symbolz`` must not run the whole universe: the plan fails, naming the key."""
    store, _ = lake
    before = raw_objects(store)
    result = run(dag, dt.date(2024, 12, 31), symbolz=["AAA"])
    assert "fail" in str(result.state).lower()
    assert raw_objects(store) == before
    assert "unknown run conf key(s) 'symbolz'" in "".join(capfd.readouterr())

    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        states = {
            ti.task_id: str(ti.state)
            for ti in session.query(TaskInstance).filter(TaskInstance.run_id == result.run_id)
        }
    assert "failed" in states["plan_chunks"] and "success" not in states["ingest_chunk"]


def test_optional_params_are_optional_in_the_trigger_form(dag):
    """The form marks a param required unless it may be null: empty symbols = everything."""
    param = dag.params.get_param("symbols")
    assert param.value is None and "null" in param.schema["type"]


def test_a_backfill_run_ingests_its_range_a_month_per_chunk(lake, dag):
    """The `backfill` param: one run writes every session of the range, each monthly file
    once, and its record finds every chunk's commit (filed under the range's first day)."""
    store, sm = lake
    days = calendar.sessions_between(dt.date(2024, 10, 1), dt.date(2024, 10, 31))
    steady = None
    for day in days:  # tickers naming the same security all month
        active = sm.active_on(day)
        ids = active.column("security_id").to_pylist()
        pairs = set(zip(active.column("symbol").to_pylist(), ids, strict=True))
        steady = pairs if steady is None else steady & pairs
    chosen = sorted(steady)[100:112]
    result = run(
        dag, DAY, symbols=[s for s, _ in chosen], chunk_size=10, backfill="2024-10-01..2024-10-31"
    )
    try:
        assert str(result.state) in ("success", "DagRunState.SUCCESS")
        for _, sid in chosen:
            month = store.read_table(keys.daily_ticks_month(sid, days[0]))
            assert month.column("timestamp").to_pylist() == days
        summary = store.read_json(keys.run_summary("daily-ticks", days[0]))
        assert summary["failed_partitions"] == [] and summary["problems"] == {}
        assert (summary["securities"], summary["rows"]) == (12, 12 * len(days))
        assert summary["backfill"] == f"{days[0]}..{days[-1]}"
    finally:  # dag.test() keeps a run's conf as the DAG's params: no backfill after this
        run(dag, DAY, symbols=[s for s, _ in chosen], chunk_size=10, backfill=None)
