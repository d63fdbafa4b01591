"""year_end_consolidation: a closed year's monthly daily-ticks files folded into each
security's `history.parquet`.

Runs once a year, on January 5 at 06:00 UTC, for the year before (its last session was
ingested days earlier); catchup makes a run for every past year since the sample market
starts, and a manual run takes the `year` param. `plan_chunks` splits every security listed
at any time in the year (delisted and renamed ones included) into chunks; each
`ingest_chunk` merges its securities' histories with the year's monthly files, gates them
(the `daily_ticks_history` suite: exactly the union of the inputs, one row per session, none
after the year), replaces each history, re-reads it and only then deletes the monthly files.
A crash at any point leaves every row readable exactly once; a re-run finishes the job.
`record_run` sums the figures: securities folded, rows in and out, objects deleted, bytes
before and after.

Params (UI trigger): `year` (empty: the year before the run), `dataset` (daily-ticks),
`chunk_size`.
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
        "dataset": Param("daily-ticks", type="string", enum=["daily-ticks"], description="what"),
        "chunk_size": Param(
            200, type="integer", minimum=1, maximum=5000, description="securities per task"
        ),
    },
    doc_md=__doc__,
)
def year_end_consolidation():
    plan = plan_task("daily-ticks-history")()
    ingested = ingest_task("ingest_chunk").expand(chunk=plan)
    record_task("daily-ticks-history")(plan, ingested)


year_end_consolidation()
