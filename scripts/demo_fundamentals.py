"""The fundamentals part of `make demo`: edgar_fundamentals through Airflow, offline.

A local EDGAR stand-in (``standins.edgar``, beside the package, not in it) serves the real
filings the project carries (Apple, Alphabet, Snowflake, JPMorgan, Walmart; see
``standins/data/sec/README.md``). The DAG first backfills from the stand-in's
companyfacts.zip as of filing day 2024-10-29, then runs daily for 2024-10-30..2024-11-01: the
daily index brings in Alphabet's Q3 10-Q (2024-10-30) and Apple's FY2024 10-K (2024-11-01).
Then it prints what `equity-lake show fundamentals` answers for a few of them.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Any

BACKFILL_DAY = dt.date(2024, 10, 29)
DAILY_DAYS = [dt.date(2024, 10, 30), dt.date(2024, 10, 31), dt.date(2024, 11, 1)]
AS_OF = dt.date(2024, 11, 1)
#: the demo declares itself to its own stand-in; real runs need a real name and e-mail
DEMO_USER_AGENT = "equity-lake demo demo@example.com"
PARAMS = {"mode": "incremental", "ciks": [], "since": None, "chunk_size": 25}
SHOW = [
    ("0000320193", "Apple", "revenue"),
    ("0000320193", "Apple", "net_income"),
    ("0001652044", "Alphabet", "revenue"),
    ("0001640147", "Snowflake", "revenue"),
]


def demo_fundamentals(bag: Any, say: Callable[[str], None]) -> list[str]:
    """Run the backfill and three daily runs; print the answers; return the failed runs."""
    from equity_lake import cli
    from standins.edgar import EdgarStandIn

    dag = bag.get_dag("edgar_fundamentals")
    failed: list[str] = []
    with EdgarStandIn() as edgar:
        os.environ.update(edgar.env())
        os.environ.setdefault("SEC_USER_AGENT", DEMO_USER_AGENT)
        say(f"edgar_fundamentals: EDGAR stand-in on {edgar.url} (real filings, no network)")
        runs = [(BACKFILL_DAY, {"mode": "bulk"})] + [(day, {}) for day in DAILY_DAYS]
        for day, conf in runs:
            t = time.monotonic()
            after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(9), dt.UTC)
            run = dag.test(logical_date=after, run_conf={**PARAMS, **conf})
            state = str(getattr(run.state, "value", run.state))
            say(
                f"edgar_fundamentals {conf.get('mode', 'incremental')} {day}: {state} in "
                f"{time.monotonic() - t:.0f} s; {_counts(day)}"
            )
            if state != "success":
                failed.append(f"edgar_fundamentals {day}")
    print()
    print(f"fundamentals as known on {AS_OF} (equity-lake show fundamentals --as-of {AS_OF}):")
    for cik, name, concept in SHOW:
        text = cli.run(
            ["show", "fundamentals", "--cik", cik, "--concept", concept, "--as-of", str(AS_OF)]
        )
        last = text.splitlines()[-1].split(",")
        start, end, value, unit, form, accn, filed = last[1:8]
        print(
            f"  {name:<10}{concept:<11}{start}..{end}  {float(value):>20,.0f} {unit}  "
            f"{form} {accn} filed {filed}"
        )
    print(
        "  e.g. .venv/bin/equity-lake show fundamentals --cik 320193 --concept revenue "
        "--as-of 2024-11-01 --quarterly"
    )
    return failed


def _counts(day: dt.date) -> str:
    from equity_lake.lake import keys
    from equity_lake.lake.store import LakeStore

    summary = LakeStore().read_json(keys.run_summary("fundamentals", day)) or {}
    companies = summary.get("companies", 0)
    return (
        f"{companies} compan{'y' if companies == 1 else 'ies'}, {summary.get('facts', 0):,} "
        f"facts, {summary.get('files_written', 0)} files written"
    )
