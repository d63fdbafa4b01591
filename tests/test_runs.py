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


def test_the_summary_names_the_failed_partitions_of_each_recorded_run(local_env):
    from equity_lake import datasets
    from equity_lake.engine import runner
    from equity_lake.engine.dataset import Run

    store = LakeStore()
    day = dt.date(2024, 12, 23)
    chunk = {"partition": "chunk-0001-of-0002", "securities": ROWS, "rows": ROWS,
             "files_written": ROWS, "files_unchanged": 0}  # fmt: skip
    summary = runner.record(
        datasets.get("daily-ticks"),
        store,
        Run(day, "r"),
        [chunk],
        planned=["chunk-0001-of-0002", "chunk-0002-of-0002"],
    )
    assert summary["failed_partitions"] == ["chunk-0002-of-0002"]
    assert (summary["securities"], summary["rows"], summary["chunks"]) == (ROWS, ROWS, 2)
    text = runs.summarize(store, "daily-ticks", day, dt.date(2024, 12, 24))
    assert "chunk-0002-of-0002" in text and "(no run)" in text and "runs: 1" in text


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
