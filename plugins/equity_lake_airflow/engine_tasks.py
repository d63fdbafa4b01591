"""The engine's Airflow tasks, the same for every dataset: plan, record, announce.

A DAG file wires them around the runtime's mapped ingest task (``runtime.ingest_task``)::

    plan = plan_task("daily-ticks")()
    ingested = ingest_task("ingest_chunk", pool=pools.MARKET_DATA).expand(chunk=plan)
    record_task("daily-ticks", outlets=[DAILY_TICKS])(plan, ingested)

Task bodies import the library only when they run, so parsing a DAG never pays for pandas,
pyarrow or Great Expectations.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from airflow.sdk import task

from equity_lake_airflow import asset_changes
from equity_lake_airflow.lake_env import applied, task_environment

log = logging.getLogger(__name__)


def filing_day_from_context(context: Mapping[str, Any]) -> dt.date:
    """The EDGAR filing day a run covers: the UTC day before its data interval ends.

    The 09:00 UTC run of D+1 covers day D, whose filings EDGAR has disseminated and
    processed overnight. A run without a logical date uses its ``run_after`` the same way.
    """
    return (_end(context) - dt.timedelta(days=1)).date()


def _nyse_session(context: Mapping[str, Any]) -> dt.date:
    from nyse_timetable import trading_date_from_context

    return trading_date_from_context(context)


def year_end_from_context(context: Mapping[str, Any]) -> dt.date:
    """The last day of the year a consolidation run folds: its ``year`` param, else the year
    before the one its data interval ends in (the January run folds the year just closed)."""
    year = (context.get("params") or {}).get("year")
    return dt.date(int(year) if year else _end(context).year - 1, 12, 31)


def _end(context: Mapping[str, Any]) -> dt.datetime:
    """When the run's data interval ends (UTC), else its ``run_after``."""
    end = context.get("data_interval_end")
    if end is None:
        end = getattr(context.get("dag_run"), "run_after", None)
    if end is None:
        raise ValueError("the context has neither data_interval_end nor dag_run.run_after")
    return end.astimezone(dt.UTC)


#: a dataset's ``run_day`` -> how the run's data interval maps onto the day it covers
RUN_DAYS: dict[str, Callable[[Mapping[str, Any]], dt.date]] = {
    "nyse_session": _nyse_session,
    "filing_day": filing_day_from_context,
    "year_end": year_end_from_context,
}


def run_of(dataset: Any, context: Mapping[str, Any]) -> Any:
    """The library's ``Run`` of this DAG run: its day (from the data interval, never now()),
    its id and its params."""
    from equity_lake.engine.dataset import Run

    day = RUN_DAYS[dataset.run_day](context)
    return Run(day, context["run_id"], dict(context["params"]))


def _dataset(name: str) -> Any:
    from equity_lake import datasets

    return datasets.get(name)


def plan_task(dataset: str, **task_kwargs: Any) -> Any:
    """The task that resolves the run's partitions: its value is the list ingest is mapped
    over; its ``notes`` XCom is what the planner found, which the record step reads."""

    @task(task_id="plan_chunks", **task_kwargs)
    def plan_chunks(**context: Any) -> list[dict[str, Any]]:
        from airflow.sdk.exceptions import AirflowFailException

        from equity_lake.lake.store import LakeStore

        spec = _dataset(dataset)
        try:
            refuse_unknown_conf(context)
            run = run_of(spec, context)
            run = replace(run, params={**run.params, **asset_changes.scope(context)})
            with applied(task_environment(spec.services(run.params))):
                store = LakeStore()
                if not spec.overlapping:
                    take_turn(store, spec, run, context)
                found = spec.plan(store, run)
        except ValueError as exc:  # bad params or settings: retrying cannot help
            raise AirflowFailException(str(exc)) from exc
        context["ti"].xcom_push(key="notes", value=found.notes)
        return [p.as_dict() for p in found.partitions]

    return plan_chunks


def refuse_unknown_conf(context: Mapping[str, Any]) -> None:
    """A misspelled key (``symbolz``) would otherwise be ignored and the run would do what
    the user did not ask (the whole universe): refuse keys the DAG has no param for."""
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    known = set(getattr(context.get("dag"), "params", {}) or {})
    unknown = sorted(set(conf) - known)
    if unknown:
        raise ValueError(
            f"unknown run conf key(s) {', '.join(map(repr, unknown))}; "
            f"this DAG's params are {', '.join(sorted(known))}"
        )


#: how long a run whose turn has not come waits before its plan step looks again
TURN_POLL = dt.timedelta(seconds=30)


def take_turn(store: Any, spec: Any, run: Any, context: Mapping[str, Any]) -> None:
    """Hold the dataset's run lease for this run, or wait (up for reschedule: no worker slot
    is held) while another run holds it: scheduled runs, manual triggers and backfills of a
    dataset whose runs must not overlap take turns, whatever ``max_active_runs`` allows."""
    from airflow.sdk.exceptions import AirflowRescheduleException

    from equity_lake.engine import lease

    timeout = getattr(context.get("dag"), "dagrun_timeout", None) or lease.TIME_TO_LIVE
    try:
        lease.acquire(store, spec.name, run.run_id, ttl=timeout)
    except lease.RunInProgress as exc:
        log.info("%s", exc)
        raise AirflowRescheduleException(dt.datetime.now(dt.UTC) + TURN_POLL) from exc


def record_task(dataset: str, **task_kwargs: Any) -> Any:
    """The task that records a run: counts, failed partitions and rejected entities, the Data
    Docs site and the lake-health page (both logged as links); it fails naming what failed,
    and otherwise fills its outlets' event extras."""

    @task(task_id="record_run", trigger_rule="all_done", **task_kwargs)
    def record_run(
        partitions: list[dict[str, Any]] | None, results: Any, **context: Any
    ) -> dict[str, Any]:
        # ``results`` (the ingest XComs) only orders this task after ingest: the counts come
        # from the partitions' commit records, i.e. from what the lake holds
        from airflow.sdk.exceptions import AirflowFailException

        from equity_lake import runs
        from equity_lake.engine import lease, runner
        from equity_lake.health_page import publish_health
        from equity_lake.lake.store import LakeStore

        spec = _dataset(dataset)
        run = run_of(spec, context)
        with applied(task_environment()):
            store = LakeStore()
            try:
                if partitions is None:  # planning failed: nothing ran, nothing to record
                    raise AirflowFailException("plan_chunks failed: nothing ran or is recorded")
                notes = context["ti"].xcom_pull(task_ids="plan_chunks", key="notes") or {}
                summary = runner.record(
                    spec,
                    store,
                    run,
                    planned=[p["partition"] for p in partitions],
                    expected={p["partition"]: p.get("expected") for p in partitions},
                    days={p["partition"]: _day(p.get("day")) for p in partitions},
                    notes=notes,
                )
            finally:  # the next run's turn, whatever happened to this one
                if not spec.overlapping:
                    lease.release(store, spec.name, run.run_id)
            summary["swept"] = len(runs.sweep_stale(store, dt.datetime.now(dt.UTC)))
            summary["data_docs"] = runs.publish_data_docs(store)
            try:  # links the Data Docs: built after them
                summary["health"] = publish_health(store)
            except Exception:  # noqa: BLE001 - a page of figures never fails the data's run
                log.exception("the lake-health page could not be rebuilt; the run's data stand")
                summary["health"] = None
        from equity_lake_airflow.lake_views import page_urls

        shown = page_urls()
        for name, title in (("data_docs", "Data Docs"), ("health", "Lake health")):
            where = f" (in Airflow: {shown[name]})" if name in shown else ""
            log.info("%s: %s%s", title, summary[name], where)
        if summary["failed_partitions"]:
            raise AirflowFailException(failure_message(summary, len(partitions)))
        for asset in context["task"].outlets:
            context["outlet_events"][asset].extra = {
                **event_extra(spec, summary),
                spec.rows: summary[spec.rows],
            }
        return summary

    return record_run


def announce_task(asset: Any) -> Any:
    """Emit ``asset`` only when the run published something (downstream DAGs wake for news)."""

    @task(task_id="announce", outlets=[asset])
    def announce(summary: dict[str, Any], **context: Any) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        if not summary or not summary.get("files_written"):
            raise AirflowSkipException("nothing new was published: no asset event")
        extra = event_extra(_dataset(summary["dataset"]), summary)
        context["outlet_events"][asset].extra = extra
        return extra

    return announce


def event_extra(spec: Any, summary: Mapping[str, Any]) -> dict[str, Any]:
    """What an Asset event tells its consumers (``asset_changes.py`` reads it): the day, or a
    backfill's ``first..last``, the counts, and which entities (CIKs) were stored."""
    extra = {k: summary[k] for k in ("day", spec.entities, "files_written")}
    for key in ("backfill", "stored"):
        if summary.get(key):
            extra[key] = summary[key]
    return extra


def _day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def failure_message(summary: Mapping[str, Any], planned: int) -> str:
    """One line: which partitions failed, and which entities the gate rejected and why."""
    failed = summary["failed_partitions"]
    why = summary.get("problems") or {}
    named = ", ".join(f"{p} ({why[p]})" if p in why else p for p in failed)
    text = (
        f"{len(failed)} of {planned} chunks failed for {summary['day']}: {named}"
        f"; nothing of them is recorded as done"
    )
    rejected = summary.get("rejected") or {}
    if rejected:
        named = "; ".join(f"{entity} rejected: {why}" for entity, why in sorted(rejected.items()))
        text += f"; {len(rejected)} rejected by the gate: {named}"
    return text
