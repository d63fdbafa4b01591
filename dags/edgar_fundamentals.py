"""edgar_fundamentals: point-in-time SEC EDGAR facts, merged into each company's file.

Runs daily at 09:00 UTC, after EDGAR's overnight processing; the run at 09:00 on D+1 covers
the filings of day D (the day before its data interval ends), so catchup and backfills
look at exactly the filings a live run saw. `plan_chunks` finds the companies with a new or
amended 10-K/10-Q (20-F/40-F) since the last successful run (EDGAR's daily index, or each
listed company's submissions when `ciks` is set) and splits them into chunks; `ingest_chunk`
fetches each chunk's companyfacts, keeps the facts filed by D, gates them with the
`fundamentals` expectation suite and merges them into `data/raw/fundamental/{cik}/
fundamental.parquet` (stored facts are never dropped); `record_run` records the counts and
advances the watermark; `announce` emits the fundamentals Asset only if something was
published. Every EDGAR call runs in the pool `sec_api` (10 requests/s in total). The
`sec_edgar` connection (or `SEC_USER_AGENT`) must name you: the run refuses to start without.

Runs never overlap, however they were started (schedule, UI, `airflow backfill create`, the
CLI): `plan_chunks` takes the fundamentals run lease in the lake and waits its turn (up for
reschedule) while another run holds it; `record_run` gives it back.

Params (UI trigger): `mode` (incremental, or bulk: backfill from the nightly companyfacts.zip),
`ciks` (only these companies), `since` (first filing day to look at), `chunk_size`.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag

from equity_lake_airflow import params, pools
from equity_lake_airflow.assets import FUNDAMENTALS
from equity_lake_airflow.defaults import DEFAULT_ARGS, START_DATE
from equity_lake_airflow.engine_tasks import announce_task, plan_task, record_task
from equity_lake_airflow.runtime import ingest_task


@dag(
    schedule="0 9 * * *",
    start_date=START_DATE,
    catchup=False,
    # runs take turns through the run lease, backfills included (they ignore max_active_runs);
    # a run that dies holding it is failed at this timeout and its lease lapses with it
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=12),
    default_args=DEFAULT_ARGS,
    tags=["equity-lake", "fundamentals", "sec"],
    params={
        "mode": Param(
            "incremental",
            type="string",
            enum=["incremental", "bulk"],
            description="incremental: what was filed since the last run; bulk: companyfacts.zip",
        ),
        "ciks": params.ciks(),
        "since": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="first filing day to look at, YYYY-MM-DD (default: after the last run)",
        ),
        "chunk_size": Param(
            25, type="integer", minimum=1, maximum=1000, description="companies per ingest task"
        ),
    },
    doc_md=__doc__,
)
def edgar_fundamentals():
    plan = plan_task("fundamentals", pool=pools.SEC)()
    ingested = ingest_task("ingest_chunk", pool=pools.SEC).expand(chunk=plan)
    summary = record_task("fundamentals")(plan, ingested)
    announce_task(FUNDAMENTALS)(summary)


edgar_fundamentals()
