"""minute_ticks: one trading session of one-minute bars for every listed security.

Runs once per NYSE session after the close, on the daily_ticks timetable; the day comes from
the run's data interval, so catchup and `airflow backfill create` write what the live run
writes. The day's universe is split into the same chunks as daily_ticks; each chunk's session
is fetched, gated by the `minute_ticks` expectation suite (every bar inside the session by
the calendar, half days included; one bar per minute; OHLC order; agreement with the daily bar
already in the lake) and written as one object per security and day. The last task records
the run's counts, rebuilds the Data Docs site and emits the minute-ticks Asset.

Params (UI trigger): `source`, `symbols` (a subset; empty = whole universe), `chunk_size`,
`session` (regular, or extended: 04:00 New York to four hours after the close; empty = the
EQUITY_LAKE_MINUTE_SESSION setting, else regular).
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from equity_lake_airflow import params, pools
from equity_lake_airflow.assets import MINUTE_TICKS
from equity_lake_airflow.defaults import DEFAULT_ARGS, START_DATE
from equity_lake_airflow.engine_tasks import plan_task, record_task
from equity_lake_airflow.runtime import ingest_task
from nyse_timetable import NYSESessionTimetable


@dag(
    schedule=NYSESessionTimetable(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=2,
    default_args=DEFAULT_ARGS,
    tags=["equity-lake", "ticks", "minute"],
    params={
        "source": Param("sample", type="string", enum=["sample", "alpaca"], description="source"),
        "symbols": params.symbols(),
        "session": Param(
            None,
            type=["null", "string"],
            enum=[None, "regular", "extended"],
            description="regular or extended hours (empty: EQUITY_LAKE_MINUTE_SESSION)",
        ),
        "chunk_size": params.chunk_size(),
    },
    doc_md=__doc__,
)
def minute_ticks():
    plan = plan_task("minute-ticks")()
    ingested = ingest_task("ingest_chunk", pool=pools.MARKET_DATA).expand(chunk=plan)
    record_task("minute-ticks", outlets=[MINUTE_TICKS])(plan, ingested)


minute_ticks()
