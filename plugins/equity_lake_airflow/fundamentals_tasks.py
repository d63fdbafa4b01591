"""Task bodies of the edgar_fundamentals DAG: turn an Airflow context into library calls.

Imported inside task functions only, so DAG parsing never pays for pandas or pyarrow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from equity_lake_airflow.assets import FUNDAMENTALS
from equity_lake_airflow.lake_env import applied, lake_environment
from equity_lake_airflow.sec_env import sec_environment
from equity_lake_airflow.tasks import mapped_values


def filing_day_from_context(context: dict[str, Any]) -> dt.date:
    """The EDGAR filing day a run covers: the UTC day before its data interval ends.

    The 09:00 UTC run of D+1 covers day D, whose filings EDGAR has disseminated and
    processed overnight. A run without a logical date uses its ``run_after`` the same way.
    """
    end = context.get("data_interval_end")
    if end is None:
        end = getattr(context.get("dag_run"), "run_after", None)
    if end is None:
        raise ValueError("the context has neither data_interval_end nor dag_run.run_after")
    return (end.astimezone(dt.UTC) - dt.timedelta(days=1)).date()


def _environment() -> dict[str, str]:
    return {**lake_environment(), **sec_environment()}


def plan_fundamental_chunks(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of companies due for the run's filing day, each with its label and argv."""
    from airflow.sdk.exceptions import AirflowFailException

    from equity_lake.datasets import fundamentals
    from equity_lake.lake.store import LakeStore
    from equity_lake.sources.sec import SecClient, SecConfigError, SecSettings

    params = context["params"]
    day = filing_day_from_context(context)
    ciks = fundamentals.parse_ciks(params.get("ciks") or None)
    since = dt.date.fromisoformat(params["since"]) if params.get("since") else None
    run_id = context["run_id"]
    with applied(_environment()):
        try:
            settings = SecSettings.from_env()
        except SecConfigError as exc:  # no User-Agent: refuse to start, retrying cannot help
            raise AirflowFailException(str(exc)) from exc
        if params["mode"] == "bulk":
            argv = ["ingest", "fundamentals", "--bulk", "--date", day.isoformat()]
            argv += ["--partition", "bulk", "--run-id", run_id]
            argv += ["--ciks", ",".join(ciks)] if ciks else []
            scope = f"{len(ciks)} companies" if ciks else "all companies"
            context["ti"].xcom_push(key="discovery", value={"mode": "bulk", "scope": scope})
            return [{"label": f"bulk {day}: {scope}", "argv": argv, "partition": "bulk"}]
        with SecClient(settings) as client:
            plans, found = fundamentals.plan(
                LakeStore(), client, day, ciks=ciks, since=since, chunk_size=params["chunk_size"]
            )
    context["ti"].xcom_push(key="discovery", value=asdict(found))
    return [
        {"label": p.label, "argv": p.argv(day, run_id), "partition": p.partition} for p in plans
    ]


def record_fundamentals_run(context: dict[str, Any], results: Any) -> dict[str, Any]:
    """Record the run's counts, advance the watermark if every chunk succeeded, else fail."""
    from airflow.sdk.exceptions import AirflowFailException

    from equity_lake.datasets import fundamentals
    from equity_lake.lake.store import LakeStore

    ti = context["ti"]
    planned = ti.xcom_pull(task_ids="plan_chunks")
    if planned is None:  # planning failed (no plan at all, unlike an empty one)
        raise AirflowFailException("plan_chunks failed: nothing ran, the watermark stays")
    discovery = ti.xcom_pull(task_ids="plan_chunks", key="discovery") or {}
    day = filing_day_from_context(context)
    ciks = fundamentals.parse_ciks(context["params"].get("ciks") or None)
    chunks = [r for r in mapped_values(results) if isinstance(r, dict)]
    from equity_lake import runs

    with applied(lake_environment()):
        store = LakeStore()
        summary = fundamentals.record_run(
            store,
            day,
            context["run_id"],
            chunks,
            planned=[c["partition"] for c in planned],
            ciks=ciks,
            discovery=discovery,
        )
        summary["data_docs"] = runs.publish_data_docs(store)
    if summary["failed_partitions"]:
        rejected = summary["rejected"]
        named = "; ".join(f"CIK {cik} rejected: {why}" for cik, why in sorted(rejected.items()))
        raise AirflowFailException(
            f"{len(summary['failed_partitions'])} of {len(planned)} chunks failed for {day}: "
            f"{', '.join(summary['failed_partitions'])}; the watermark stays where it was"
            + (f"; {len(rejected)} companies rejected by the gate: {named}" if rejected else "")
        )
    return summary


def announce_fundamentals(context: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """Emit the fundamentals Asset, but only when the run published something."""
    from airflow.sdk.exceptions import AirflowSkipException

    if not summary or not summary.get("files_written"):
        raise AirflowSkipException("nothing new was published: no fundamentals asset event")
    extra = {
        "day": summary["day"],
        "companies": summary["companies"],
        "files_written": summary["files_written"],
    }
    context["outlet_events"][FUNDAMENTALS].extra = extra
    return extra
