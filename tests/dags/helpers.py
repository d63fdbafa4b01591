"""What the end-to-end DAG tests share: loading a DAG, running one session, scoped env vars."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any


def load_dag(dag_id: str) -> Any:
    """The DAG as Airflow parses it from the project's dags folder."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags[dag_id]


def run_session(dag: Any, day: dt.date, **conf: Any) -> Any:
    """Run ``dag`` for NYSE session ``day`` as the scheduler would (close + delay)."""
    from equity_lake import calendar
    from nyse_timetable import DEFAULT_DELAY

    return dag.test(logical_date=calendar.session_close_utc(day) + DEFAULT_DELAY, run_conf=conf)


@contextmanager
def restored_environ(names: Iterable[str]) -> Iterator[None]:
    """Whatever the block does to ``names`` in os.environ is undone afterwards."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def environment(**env: str | None) -> Iterator[None]:
    """Set (or, with None, unset) variables for the block."""
    with restored_environ(env):
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield


@contextmanager
def sample_lake(s3_server: Any, prefix: str) -> Iterator[tuple[Any, Any]]:
    """A fresh bucket on the local S3 server holding the sample master and the calendar,
    configured as the lake for the block: (store, security master)."""
    import uuid

    from equity_lake import calendar, master, master_build
    from equity_lake.lake import keys
    from equity_lake.lake.store import LakeStore

    bucket = f"{prefix}-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    with environment(**s3_server.env(bucket)):
        store = LakeStore()
        built = master_build.build("sample")
        store.write_table(keys.SECURITY_MASTER, built.master)
        store.write_table(keys.CALENDAR_MASTER, calendar.calendar_table())
        yield store, master.SecurityMaster(built.master)
