"""daily_ticks: one trading day of raw daily bars for every listed security.

Runs once per NYSE session, 30 minutes after the close (no runs on weekends and holidays).
The day comes from the run's data interval, so catchup and `airflow backfill create` write
exactly what the live run writes. The universe active that day is split into chunks; each
chunk is fetched, gated by the `daily_ticks` expectation suite and merged into the securities'
monthly files (write-audit-publish). The last task records the run's counts, rebuilds the Data
Docs site and emits the daily-ticks Asset.

Params (UI trigger): `source`, `symbols` (a subset; empty = whole universe), `chunk_size`,
`backfill` (a range of up to a year ingested by this one run: each chunk fetches, gates and
merges a month at a time, so each monthly file is written once instead of once per day; the
lake is the same as day-by-day runs make).
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from equity_lake_airflow import params, pools
from equity_lake_airflow.assets import DAILY_TICKS
from equity_lake_airflow.defaults import DEFAULT_ARGS, START_DATE
from equity_lake_airflow.engine_tasks import plan_task, record_task
from equity_lake_airflow.runtime import ingest_task
from nyse_timetable import NYSESessionTimetable


@dag(
    schedule=NYSESessionTimetable(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["equity-lake", "ticks", "daily"],
    params={
        "source": Param(
            "sample", type="string", enum=["sample", "alpaca", "crsp"], description="bar source"
        ),
        "symbols": params.symbols(),
        "backfill": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$",
            description=(
                "YYYY-MM-DD..YYYY-MM-DD (at most a year): ingest every session of the range in "
                "this run, a month per chunk at a time, each monthly file written once "
                "(empty: the run's own session)"
            ),
        ),
        "chunk_size": params.chunk_size(),
    },
    doc_md=__doc__,
)
def daily_ticks():
    plan = plan_task("daily-ticks")()
    # one pool for every source's calls (a pool cannot follow a run param); see README
    ingested = ingest_task("ingest_chunk", pool=pools.MARKET_DATA).expand(chunk=plan)
    record_task("daily-ticks", outlets=[DAILY_TICKS])(plan, ingested)


daily_ticks()
