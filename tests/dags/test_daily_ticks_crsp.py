"""daily_ticks end to end (dag.test) with source=crsp against the local PostgreSQL "WRDS".

The lake is a bucket on the local S3 server; its security master is built from the CRSP
tables (``equity-lake master build --source crsp``). The WRDS login reaches the task only
through the ``wrds_default`` Airflow connection (an ``AIRFLOW_CONN_*`` variable), never
through ``WRDS_*`` variables. The runs go through the same gate and publish path as the
sample source, and what is published is what the CRSP rows say.
"""

import datetime as dt
import json
import os
import uuid

import pytest

from equity_lake import cli
from equity_lake.lake import keys
from equity_lake.lake.schemas import DAILY_TICKS
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster
from equity_lake.sources.crsp import security_id_for
from tests import crsp_db
from tests.dags.helpers import load_dag, restored_environ, run_session

WRDS_VARIABLES = ("WRDS_HOST", "WRDS_PORT", "WRDS_DB", "WRDS_USERNAME", "WRDS_PASSWORD")


def connection(env: dict[str, str], password: str | None = None) -> str:
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": env["WRDS_HOST"],
            "port": int(env["WRDS_PORT"]),
            "schema": env["WRDS_DB"],
            "login": env["WRDS_USERNAME"],
            "password": password or env["WRDS_PASSWORD"],
            "extra": {"sslmode": "disable", "crsp_format": "siz"},
        }
    )


@pytest.fixture(scope="module")
def lake(s3_server, airflow_db, crsp_pg):
    bucket = f"crsp-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    touched = [*s3_server.env(bucket), *crsp_pg.env, "AIRFLOW_CONN_WRDS_DEFAULT", "CRSP_FORMAT"]
    with restored_environ(touched):
        os.environ.update(s3_server.env(bucket))
        os.environ.update(crsp_pg.env)  # the master is built by hand, from the shell's variables
        os.environ["CRSP_FORMAT"] = "ciz"
        built = cli.run(["master", "build", "--source", "crsp"])
        assert built["securities"] == 10
        for name in [*crsp_pg.env, "CRSP_FORMAT"]:
            os.environ.pop(name)
        os.environ["AIRFLOW_CONN_WRDS_DEFAULT"] = connection(crsp_pg.env)
        store = LakeStore()
        yield store, SecurityMaster(store.read_table(keys.SECURITY_MASTER))


@pytest.fixture(scope="module")
def dag():
    return load_dag("daily_ticks")


def run(dag, day, **conf):
    return run_session(dag, day, **conf)


def published(store, sm, day):
    rows = {}
    for sid in sm.active_on(day)["security_id"].to_pylist():
        table = store.read_table(keys.daily_ticks_month(sid, day))
        if table is None:
            continue
        assert table.schema.equals(DAILY_TICKS)
        for row in table.to_pylist():
            if row["timestamp"] == day:
                rows[sid] = row
    return rows


def expected(sm, day):
    symbols = dict(
        zip(
            sm.active_on(day)["security_id"].to_pylist(),
            sm.active_on(day)["symbol"].to_pylist(),
            strict=True,
        )
    )
    out = {}
    for d in crsp_db.daily_rows():
        bar = crsp_db.expected_bar(d)
        sid = security_id_for(d.permno)
        if d.day == day and bar is not None and sid in symbols:
            out[sid] = {"symbol": symbols[sid], "timestamp": day, **bar}
    return out


@pytest.mark.parametrize(
    "day, bars",
    [
        # the day after a ticker change, the split's ex-date; one close is a bid/ask average
        (crsp_db.SPLIT_DAY, 9),
        # the delisted security's last day, another bid/ask close
        (crsp_db.DELIST_DAY, 9),
        # one of eight listed securities has no price: 7 bars pass the >= 90 % gate
        (dt.date(2014, 6, 12), 7),
    ],
)
def test_a_crsp_run_publishes_what_crsp_says(lake, dag, crsp_pg, day, bars):
    store, sm = lake
    result = run(dag, day, source="crsp", chunk_size=10)
    assert str(result.state) in ("success", "DagRunState.SUCCESS")
    got = published(store, sm, day)
    want = expected(sm, day)
    assert len(want) == bars
    assert set(got) == set(want)
    for sid, row in want.items():
        assert {k: got[sid][k] for k in row} == pytest.approx(row), sid
    summary = store.read_json(keys.run_summary("daily-ticks", day))
    assert summary["rows"] == bars and summary["failed_partitions"] == []
    # the run read the legacy tables, as the connection's extra {"crsp_format": "siz"} says
    assert f'FROM "crsp"."dsf" WHERE date = \'{day}\'' in crsp_pg.server.log_text()
    if day == crsp_db.SPLIT_DAY:
        aapl = got[security_id_for(14593)]
        assert (aapl["symbol"], aapl["close"]) == ("AAPL", 93.7)  # as traded, not adjusted
        assert got[security_id_for(90002)]["symbol"] == "LRKH"
    if day == crsp_db.DELIST_DAY:
        assert got[security_id_for(90003)]["close"] == 0.80


def test_a_wrong_wrds_password_fails_the_run_and_publishes_nothing(lake, dag, crsp_pg):
    store, _ = lake
    day = dt.date(2014, 6, 13)
    before = {k: store.read_bytes(k) for k in store.list("data/raw/ticks/daily")}
    os.environ["AIRFLOW_CONN_WRDS_DEFAULT"] = connection(crsp_pg.env, password="not-it")
    task = dag.task_dict["ingest_chunk"]
    retries = task.retries
    task.retries = 0  # a login error is retried like any outage, minutes apart: not here
    try:
        result = run(dag, day, source="crsp", chunk_size=10)
    finally:
        task.retries = retries
        os.environ["AIRFLOW_CONN_WRDS_DEFAULT"] = connection(crsp_pg.env)
    assert "fail" in str(result.state).lower()
    after = {k: store.read_bytes(k) for k in store.list("data/raw/ticks/daily")}
    assert after == before
    assert store.read_json(keys.run_summary("daily-ticks", day))["rows"] == 0
