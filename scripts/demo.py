"""`make demo`: build the sample master, run daily_ticks through Airflow for 2024-11-01 (the
day the derived metrics value the companies on) and the holiday fortnight 2024-12-23..2025-01-03
over the full sample universe, then minute_ticks for two of its sessions (the 2024-12-24 half
day and the window's last, full day), then the fundamentals part (edgar_fundamentals, then
derived_metrics: TTM, ratios and market-value metrics of the real companies the sample market
carries), and print a summary.

The lake is whatever LAKE_URI names (default: ./lake). Airflow runs in-process with `dag.test()`
against a SQLite metadata database in $AIRFLOW_HOME (default: ./.airflow).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = dt.date(2024, 12, 23), dt.date(2025, 1, 3)
#: a session daily_ticks also runs for: the derived metrics' market values are as of this day
METRICS_DAY = dt.date(2024, 11, 1)
#: the sessions minute_ticks runs for: a 13:00 early close (210 minutes) and a full day (390)
MINUTE_DAYS = (dt.date(2024, 12, 24), END)

os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
# the repository root too: the EDGAR stand-in (standins/) lives beside the package, not in it
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "dags")]


def say(text: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {text}", flush=True)


def migrate() -> None:
    """Create or upgrade the metadata DB (a no-op when it is current)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log = home / "db-migrate.log"
    with log.open("w") as out:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    if done.returncode != 0:
        raise SystemExit(f"airflow db migrate failed; see {log}")


def main() -> int:
    from equity_lake import calendar, cli, runs
    from equity_lake.lake.store import LakeStore

    store = LakeStore()
    say(f"lake: {store.config.uri}")
    say("airflow db migrate")
    migrate()
    say("equity-lake master build --source sample")
    counts = cli.run(["master", "build", "--source", "sample"])
    say(f"master: {counts}")

    from airflow.dag_processing.dagbag import DagBag

    from nyse_timetable import DEFAULT_DELAY

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")

    def run(dag_id: str, days: list[dt.date]) -> list[dt.date]:
        dag, failed = bag.get_dag(dag_id), []
        for day in days:
            t = time.monotonic()
            done = dag.test(logical_date=calendar.session_close_utc(day) + DEFAULT_DELAY)
            state = str(getattr(done.state, "value", done.state))
            say(f"{dag_id} {day}: {state} in {time.monotonic() - t:.0f} s")
            if state != "success":
                failed.append(day)
        return failed

    days = [METRICS_DAY, *calendar.sessions_between(START, END)]
    say(f"daily_ticks: {METRICS_DAY}, then {len(days) - 1} NYSE sessions from {START} to {END}")
    failed = run("daily_ticks", days)
    print()
    print(runs.summarize(store, "daily-ticks", METRICS_DAY, END, days))
    print()
    say(f"minute_ticks: {', '.join(map(str, MINUTE_DAYS))}, the whole universe")
    failed += run("minute_ticks", list(MINUTE_DAYS))
    print()
    print(runs.summarize(store, "minute-ticks", MINUTE_DAYS[0], MINUTE_DAYS[-1], MINUTE_DAYS))
    print()
    from demo_fundamentals import demo_derived_metrics, demo_fundamentals  # real SEC filings

    failed += demo_fundamentals(bag, say)
    print()
    failed += demo_derived_metrics(bag, say)
    if failed:
        print(f"failed runs: {', '.join(map(str, failed))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
