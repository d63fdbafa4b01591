"""derived_metrics: each company's TTM, fundamental ratios and market-value metrics, as known
on each date.

No clock: it runs when the fundamentals or the daily-ticks Asset is updated (Airflow 3
asset-aware scheduling), or when triggered. It recomputes what changed: the companies a
fundamentals run stored, or every company's market-value metrics for the sessions a
daily-ticks run published (`asset_changes.py`); a manual run, every company and every day
unless its params narrow it. `plan_chunks` splits the companies into chunks; each
`ingest_chunk` reads a chunk's facts and its securities' daily bars from the lake, computes
the TTM rows and the metrics, gates them (the `derived_ttm` and `derived_metrics` suites, one
company at a time: a company that fails is quarantined alone) and merges them into
`data/derived/features/fundamental/{cik}/ttm.parquet` and `metrics.parquet`; `record_run`
counts what the lake holds and emits the derived-metrics Asset for consumers.

Params (UI trigger): `ciks` (only these companies), `start`/`end` (only the market-value
metrics of these sessions), `chunk_size`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from equity_lake_airflow import params
from equity_lake_airflow.assets import DAILY_TICKS, DERIVED_METRICS, FUNDAMENTALS
from equity_lake_airflow.defaults import DEFAULT_ARGS, START_DATE
from equity_lake_airflow.engine_tasks import plan_task, record_task
from equity_lake_airflow.runtime import ingest_task


@dag(
    schedule=FUNDAMENTALS | DAILY_TICKS,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["equity-lake", "derived", "fundamentals"],
    params={
        "ciks": params.ciks(),
        "start": params.day("market-value metrics from this session (empty: the first)"),
        "end": params.day("market-value metrics to this session (empty: the last)"),
        "chunk_size": Param(
            50, type="integer", minimum=1, maximum=5000, description="companies per ingest task"
        ),
    },
    doc_md=__doc__,
)
def derived_metrics():
    plan = plan_task("derived-metrics")()
    ingested = ingest_task("ingest_chunk").expand(chunk=plan)
    record_task("derived-metrics", outlets=[DERIVED_METRICS])(plan, ingested)


derived_metrics()
