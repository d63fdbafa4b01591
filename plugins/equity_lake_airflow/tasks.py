"""Task bodies shared by the DAGs: turn an Airflow context into library calls.

Imported inside task functions only, so DAG parsing never pays for pandas or pyarrow.
"""

from __future__ import annotations

from typing import Any

from equity_lake_airflow.assets import DAILY_TICKS
from equity_lake_airflow.lake_env import applied, lake_environment


def plan_daily_chunks(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of the run's trading day, each with its label and CLI argv."""
    from equity_lake.datasets import daily_ticks
    from equity_lake.lake.store import LakeStore
    from nyse_timetable import trading_date_from_context

    params = context["params"]
    day = trading_date_from_context(context)
    symbols = daily_ticks.parse_symbols(",".join(params.get("symbols") or []))
    with applied(lake_environment()):
        plans = daily_ticks.plan(LakeStore(), day, int(params["chunk_size"]), symbols)
    run_id = context["run_id"]
    return [
        {"label": p.label, "argv": p.argv(day, params["source"], run_id, symbols)} for p in plans
    ]


def record_daily_run(context: dict[str, Any], results: Any) -> dict[str, Any]:
    """Record the run's counts, rebuild Data Docs, and fail if any chunk failed."""
    from airflow.sdk.exceptions import AirflowFailException

    from equity_lake import runs
    from equity_lake.lake.store import LakeStore
    from nyse_timetable import trading_date_from_context

    day = trading_date_from_context(context)
    chunks = [r for r in mapped_values(results) if isinstance(r, dict)]
    with applied(lake_environment()):
        store = LakeStore()
        summary = runs.record_run(store, "daily-ticks", day, context["run_id"], chunks)
        summary["data_docs"] = runs.publish_data_docs(store)
    expected = _planned(context)
    if len(chunks) < expected or summary["failed_partitions"]:
        raise AirflowFailException(
            f"{expected - len(chunks)} of {expected} chunks failed for {day}; failed "
            f"partitions: {', '.join(summary['failed_partitions']) or 'none'}"
        )
    context["outlet_events"][DAILY_TICKS].extra = {
        "day": day.isoformat(),
        "rows": summary["rows"],
        "securities": summary["securities"],
    }
    return summary


def mapped_values(results: Any) -> list[Any]:
    """The XComs of the mapped instances that succeeded (a failed one pushed none)."""
    if results is None:
        return []
    try:
        count = len(results)
    except TypeError:
        return list(results or [])
    return [results[i] for i in range(count)]


def _planned(context: dict[str, Any]) -> int:
    planned = context["ti"].xcom_pull(task_ids="plan_chunks")
    return len(planned or [])
