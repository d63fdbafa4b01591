"""Run records and the one Data Docs site shared by every dataset."""

import datetime as dt

from equity_lake import runs
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from equity_lake.quality import validate_table
from tests.quality.quality_tables import ROWS, make_daily_ticks


def _store_result(store, dataset, day, partition, table, run_name):
    outcome = validate_table(
        "daily-ticks",
        table,
        {"trading_date": day, "expected_rows": ROWS, "min_rows": ROWS},
        run_name=run_name,
        batch_label=f"{dataset} {day} {partition}",
    )
    store.write_json(keys.quality_result(dataset, day, partition), outcome.result)
    return outcome


def test_the_site_shows_every_datasets_recent_results(local_env):
    store = LakeStore()
    old, day = dt.date(2024, 11, 1), dt.date(2024, 12, 23)
    _store_result(
        store, "daily-ticks", old, "chunk-0001-of-0001", make_daily_ticks(day=old), "run-old-q7"
    )
    _store_result(
        store, "daily-ticks", day, "chunk-0001-of-0001", make_daily_ticks(day=day), "run-daily-q7"
    )
    _store_result(store, "fundamentals", day, "part-a", make_daily_ticks(day=day), "run-fund-q7")
    index = runs.publish_data_docs(store, days=1)
    assert index == store.uri(f"{keys.DATA_DOCS_PREFIX}/index.html")
    html = store.read_bytes(f"{keys.DATA_DOCS_PREFIX}/index.html").decode()
    assert "run-daily-q7" in html and "run-fund-q7" in html  # both datasets' latest day
    assert "run-old-q7" not in html  # older than the window


def test_the_summary_counts_what_the_lake_holds_and_names_failed_partitions(local_env):
    from equity_lake import datasets, master_build
    from equity_lake.datasets import daily_ticks
    from equity_lake.engine import runner
    from equity_lake.engine.chunks import Chunk
    from equity_lake.engine.dataset import Run
    from equity_lake.master import SecurityMaster

    store = LakeStore()
    built = master_build.build("sample").master
    store.write_table(keys.SECURITY_MASTER, built)
    day = dt.date(2024, 12, 23)
    active = SecurityMaster(built).active_on(day)
    symbols = active.column("symbol").to_pylist()[:4]
    # chunk 1 of 2 commits; chunk 2 never ran
    daily_ticks.ingest(store, day, chunk=Chunk(1, 2), symbols=symbols, run_id="r")
    planned = ["chunk-0001-of-0002", "chunk-0002-of-0002"]
    # a plan that expected more than the partition accounts for is named too
    short = runner.record(
        datasets.get("daily-ticks"), store, Run(day, "r"), planned=planned[:1],
        expected={"chunk-0001-of-0002": 3},
    )  # fmt: skip
    assert short["problems"] == {
        "chunk-0001-of-0002": "committed 2 securities (published, missing or rejected), planned 3"
    }
    summary = runner.record(
        datasets.get("daily-ticks"), store, Run(day, "r"), planned=planned,
        expected={"chunk-0001-of-0002": 2, "chunk-0002-of-0002": 2},
    )  # fmt: skip
    assert summary["failed_partitions"] == ["chunk-0002-of-0002"]
    assert summary["problems"] == {"chunk-0002-of-0002": "not committed by this run"}
    assert (summary["securities"], summary["rows"], summary["chunks"]) == (2, 2, 2)
    text = runs.summarize(store, "daily-ticks", day, dt.date(2024, 12, 24))
    assert "chunk-0002-of-0002" in text and "(no run)" in text and "days: 1" in text
    # the count is the lake's: another run of the same day adds its securities once
    daily_ticks.ingest(store, day, symbols=symbols, run_id="r2")
    line = next(
        x
        for x in runs.summarize(store, "daily-ticks", day, day).splitlines()
        if x.startswith("2024-12-23")
    )
    assert line.split()[1:3] == ["4", "2"]  # rows in the union of the runs' objects, runs
    # a later one-symbol run of the day leaves the count at what the lake holds
    daily_ticks.ingest(store, day, symbols=symbols[:1], run_id="r3")
    line = next(
        x
        for x in runs.summarize(store, "daily-ticks", day, day).splitlines()
        if x.startswith("2024-12-23")
    )
    assert line.split()[1:3] == ["4", "3"]


def test_the_sweep_removes_only_what_crashed_runs_left_behind(local_env):
    import os

    store = LakeStore()
    now = dt.datetime(2024, 12, 24, 12, tzinfo=dt.UTC)
    old, fresh = (now - dt.timedelta(days=1)).timestamp(), now.timestamp()
    batch = "raw/ticks/daily/_batches/2024-12-23/chunk-0001-of-0001.parquet"
    objects = {
        f"data/_staging/crashed-run/{batch}": old,
        f"data/_staging/live-run/{batch}": fresh,
        ".tmp/0a1b2c.tmp": old,  # an interrupted local write
        "data/raw/ticks/daily/7/2024/12/ticks.parquet": old,
    }
    for key, modified in objects.items():
        store.write_bytes(key, b"x")
        os.utime(store.path(key), (modified, modified))
    swept = runs.sweep_stale(store, now)
    assert sorted(swept) == sorted(k for k in objects if "crashed" in k or k.endswith(".tmp"))
    assert store.list(".tmp") == []
    assert store.list("data") == sorted(
        [f"data/_staging/live-run/{batch}", "data/raw/ticks/daily/7/2024/12/ticks.parquet"]
    )  # fmt: skip
