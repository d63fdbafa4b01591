"""year_end_consolidation: a closed year's tick objects folded: each security's monthly
daily-ticks files into its `history.parquet`, its minute-ticks day objects into one object
per month.

Runs once a year, on January 5 at 06:00 UTC, for the year before (its last session was
ingested days earlier); catchup makes a run for every past year since the sample market
starts, and a manual run takes the `year` param. `plan_chunks` splits every security listed
at any time in the year (delisted and renamed ones included) into chunks; each
`ingest_chunk` folds one chunk of one dataset: it merges the folded objects with what they
fold, gates them (the `daily_ticks_history` / `minute_ticks_history` suites: exactly the
union of the inputs, one row per timestamp, every bar a session of the year), replaces each
folded object, re-reads it and only then deletes what it folded. Minute ticks get tasks only
when the lake holds minutes of the year.
A crash at any point leaves every row readable exactly once; a re-run finishes the job.
`record_run` sums the figures: securities folded, rows in and out, objects deleted, bytes
before and after.

Params (UI trigger): `year` (empty: the year before the run), `dataset` (all, daily-ticks
or minute-ticks), `chunk_size`.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from equity_lake_airflow.defaults import DEFAULT_ARGS, START_DATE
from equity_lake_airflow.engine_tasks import plan_task, record_task
from equity_lake_airflow.runtime import ingest_task


@dag(
    schedule="0 6 5 1 *",
    start_date=START_DATE,
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["equity-lake", "ticks", "maintenance"],
    params={
        "year": Param(
            None, type=["null", "integer"], minimum=2000, description="empty: the year before"
        ),
        "dataset": Param(
            "all",
            type="string",
            enum=["all", "daily-ticks", "minute-ticks"],
            description="the tick dataset to fold (all: both)",
        ),
        "chunk_size": Param(
            200, type="integer", minimum=1, maximum=5000, description="securities per task"
        ),
    },
    doc_md=__doc__,
)
def year_end_consolidation():
    plan = plan_task("ticks-history")()
    ingested = ingest_task("ingest_chunk").expand(chunk=plan)
    record_task("ticks-history")(plan, ingested)


year_end_consolidation()
