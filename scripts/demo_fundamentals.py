"""The fundamentals part of `make demo`: edgar_fundamentals through Airflow, offline.

A local EDGAR stand-in (``standins.edgar``, beside the package, not in it) serves the real
filings the project carries (Apple, Alphabet, Snowflake, JPMorgan, Walmart; see
``standins/data/sec/README.md``). The DAG first backfills from the stand-in's
companyfacts.zip as of filing day 2024-10-29, then runs daily for 2024-10-30..2024-11-01: the
daily index brings in Alphabet's Q3 10-Q (2024-10-30) and Apple's FY2024 10-K (2024-11-01).
Then it prints what `equity-lake show fundamentals` answers for a few of them.

``demo_derived_metrics`` then runs derived_metrics once over every company with facts: their
TTM, ratios and, from the daily bars of the sample securities that carry their real tickers
and CIKs (``sources/sample.py``: ``REAL_COMPANIES``; the prices are synthetic), market-value
metrics. It prints what `equity-lake show metrics --symbol AAPL --as-of 2024-11-01` answers
and a line for Alphabet and Snowflake.
"""

from __future__ import annotations

import csv
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
DERIVED_PARAMS = {"ciks": [], "chunk_size": 50}
#: ``show metrics`` in full for the first, one line each for the others
METRICS_SYMBOLS = ("AAPL", "GOOGL", "SNOW")
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


def demo_derived_metrics(bag: Any, say: Callable[[str], None]) -> list[str]:
    """Run derived_metrics once (the filing day AS_OF); print a few companies' metrics as known
    on AS_OF; return the failed runs."""
    from equity_lake import cli

    dag = bag.get_dag("derived_metrics")
    failed: list[str] = []
    t = time.monotonic()
    after = dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time(9), dt.UTC)
    run = dag.test(logical_date=after, run_conf=DERIVED_PARAMS)
    state = str(getattr(run.state, "value", run.state))
    say(f"derived_metrics {AS_OF}: {state} in {time.monotonic() - t:.0f} s; {_derived(AS_OF)}")
    if state != "success":
        failed.append(f"derived_metrics {AS_OF}")
    first, *others = METRICS_SYMBOLS
    argv = ["show", "metrics", "--symbol", first, "--as-of", str(AS_OF)]
    print()
    print(f"derived metrics as known on {AS_OF} (equity-lake {' '.join(argv)}; inputs omitted):")
    try:
        rows = list(csv.DictReader(cli.run(argv).splitlines()))
        print("  " + ",".join(c for c in rows[0] if c != "inputs") if rows else "  (none)")
        for row in rows:
            print("  " + ",".join(v for c, v in row.items() if c != "inputs"))
        for symbol in others:
            print(_metrics_line(symbol))
    except Exception as exc:  # a missing file or a symbol without a CIK: say so, go on
        print(f"  failed: {exc}")
        failed.append("show metrics")
    return failed


def _metrics_line(symbol: str) -> str:
    """A few of ``symbol``'s metrics as known on AS_OF: revenue TTM, net margin, market cap
    and P/E (each 'n/a' when the company has no such row by then)."""
    from equity_lake import cli
    from equity_lake.fundamentals import metrics
    from equity_lake.lake import keys
    from equity_lake.lake.store import LakeStore
    from equity_lake.sources.sample import REAL_COMPANIES

    argv = ["show", "metrics", "--symbol", symbol, "--as-of", str(AS_OF)]
    got = {r["metric"]: float(r["value"]) for r in csv.DictReader(cli.run(argv).splitlines())}
    cik = next(c.cik for c in REAL_COMPANIES if c.symbol == symbol)
    ttm = LakeStore().read_table(keys.ttm(cik))
    rows = [] if ttm is None else sorted(ttm.to_pylist(), key=lambda r: r["as_of_date"])
    revenue = metrics.known_on(rows, AS_OF).latest("revenue", "USD")

    def shown(value: float | None, fmt: str, suffix: str = "") -> str:
        return "n/a" if value is None else format(value, fmt) + suffix

    cap = got.get("market_cap")
    return (
        f"  {symbol:<6}revenue TTM "
        f"{shown(revenue and revenue['value'] / 1e9, ',.1f', ' bn USD')}"
        f"{'' if revenue is None else ' to ' + str(revenue['end'])}; "
        f"net margin {shown(got.get('net_margin'), '.1%')}; "
        f"market cap {shown(cap and cap / 1e9, ',.1f', ' bn USD')}; "
        f"P/E {shown(got.get('pe'), '.1f')}"
    )


def _derived(day: dt.date) -> str:
    from equity_lake.lake import keys
    from equity_lake.lake.store import LakeStore

    summary = LakeStore().read_json(keys.run_summary("derived-metrics", day)) or {}
    return ", ".join(f"{k} {v}" for k, v in summary.items() if isinstance(v, int)) or "no summary"


def _counts(day: dt.date) -> str:
    from equity_lake.lake import keys
    from equity_lake.lake.store import LakeStore

    summary = LakeStore().read_json(keys.run_summary("fundamentals", day)) or {}
    companies = summary.get("companies", 0)
    return (
        f"{companies} compan{'y' if companies == 1 else 'ies'}, {summary.get('facts', 0):,} "
        f"facts, {summary.get('files_written', 0)} files written"
    )
