"""universes: dated membership for survivorship-free research, `data/universe/{name}.parquet`.

No clock: it runs when the daily-ticks Asset is updated (Airflow 3 asset-aware scheduling), or
when triggered. `plan_chunks` makes one partition per universe: `all_common` (every listed
common stock, from the security master) and `top3000` (the 3,000 common stocks with the
highest average daily dollar volume over the 20 sessions before the first session of each
month). Each `ingest_chunk` rebuilds its universe from the lake, recomputing only the monthly
reconstitutions whose lookback holds a session the triggering runs published (or the
`start`/`end` params), gates it (the `universes` suite) and replaces the object; `record_run`
emits the universes Asset.

Params (UI trigger): `start`/`end` (recompute the reconstitutions that look back on these
sessions; empty: the latest, or every month on the first run).
"""

from __future__ import annotations

from airflow.sdk import dag

from equity_lake_airflow import params
from equity_lake_airflow.assets import DAILY_TICKS, UNIVERSES
from equity_lake_airflow.defaults import DEFAULT_ARGS, START_DATE
from equity_lake_airflow.engine_tasks import plan_task, record_task
from equity_lake_airflow.runtime import ingest_task


@dag(
    schedule=DAILY_TICKS,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["equity-lake", "derived", "universes"],
    params={
        "start": params.day("recompute reconstitutions looking back on sessions from this day"),
        "end": params.day("... to this day (inclusive)"),
    },
    doc_md=__doc__,
)
def universes():
    plan = plan_task("universes")()
    ingested = ingest_task("ingest_chunk").expand(chunk=plan)
    record_task("universes", outlets=[UNIVERSES])(plan, ingested)


universes()
