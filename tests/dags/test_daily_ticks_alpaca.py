"""daily_ticks end to end (dag.test) with source=alpaca against the local Alpaca server.

The lake is a bucket on the local S3 server holding a small master whose symbols match the
fixture data; the keys and endpoint reach the task only through the ``alpaca_default``
Airflow connection (an ``AIRFLOW_CONN_*`` variable), never through ``ALPACA_*`` variables.
2021-10-14 is real fixture data for AAPL and NIO; nine other names get the server's
synthetic bars and TWTR none, so 11 of 12 listed securities deliver (the >= 90% gate).
"""

import datetime as dt
import json
import os
import uuid

import pytest

from equity_lake import calendar
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from equity_lake.master import SecurityMaster
from standins.alpaca import SYNTHETIC, AlpacaServer, master_table
from tests.dags.helpers import environment, load_dag, run_session

DAY = dt.date(2021, 10, 14)
SECRET = "alpaca-secret-0d5e2c"


@pytest.fixture(scope="module")
def alpaca():
    with AlpacaServer(key_id="AKTESTKEY", secret_key=SECRET, synthetic=SYNTHETIC) as server:
        yield server


@pytest.fixture(scope="module")
def lake(s3_server, airflow_db, alpaca):
    bucket = f"alpaca-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    conn = {
        "conn_type": "http",
        "login": alpaca.key_id,
        "password": alpaca.secret_key,
        "host": alpaca.url,
        "extra": {"feed": "iex", "rate_limit_per_minute": 6000},
    }
    env = {**s3_server.env(bucket), "AIRFLOW_CONN_ALPACA_DEFAULT": json.dumps(conn)}
    unset = {k: None for k in os.environ if k.startswith("ALPACA_")}  # keys only via the conn
    with environment(**env, **unset):
        store = LakeStore()
        store.write_table(keys.SECURITY_MASTER, master_table())
        store.write_table(keys.CALENDAR_MASTER, calendar.calendar_table())
        yield store


@pytest.fixture(scope="module")
def dag():
    return load_dag("daily_ticks")


def run(dag, day, **conf):
    return run_session(dag, day, **conf)


def test_an_alpaca_run_publishes_the_servers_bars(lake, dag, alpaca):
    alpaca.reset()
    result = run(dag, DAY, source="alpaca", chunk_size=10)
    assert str(result.state) in ("success", "DagRunState.SUCCESS")

    members = SecurityMaster(master_table()).active_on(DAY).to_pylist()
    assert len(members) == 12
    for member in members:
        sid, symbol = member["security_id"], member["symbol"]
        bar = alpaca.daily_bar(symbol, DAY)
        published = lake.read_table(keys.daily_ticks_month(sid, DAY))
        if bar is None:
            assert published is None, symbol
            continue
        assert published.to_pylist() == [
            {
                "security_id": sid,
                "symbol": symbol,
                "timestamp": DAY,
                "open": bar["o"],
                "high": bar["h"],
                "low": bar["l"],
                "close": bar["c"],
                "volume": bar["v"],
            }
        ], symbol
    aapl = lake.read_table(keys.daily_ticks_month(1, DAY)).to_pylist()[0]
    assert (aapl["open"], aapl["close"], aapl["volume"]) == (142.08, 143.76, 69696731)  # fixture

    summary = lake.read_json(keys.run_summary("daily-ticks", DAY))
    assert summary["rows"] == 11 and summary["failed_partitions"] == []

    # two chunks, each one multi-symbol request made with the connection's keys and feed
    requests = alpaca.requests_to("/v2/stocks/bars")
    assert len(requests) == 2
    assert sorted(s for r in requests for s in r.params["symbols"].split(",")) == sorted(
        m["symbol"] for m in members
    )
    assert {r.headers["APCA-API-KEY-ID"] for r in requests} == {"AKTESTKEY"}
    assert {(r.params["feed"], r.params["adjustment"]) for r in requests} == {("iex", "raw")}

    from airflow.sdk.log import redact

    assert SECRET not in str(redact(f"secret={SECRET}"))  # the connection's secret is masked
    assert not any(k.startswith("ALPACA_") for k in os.environ)  # exported for the task only


def test_the_ingest_task_runs_in_the_market_data_pool(dag):
    assert dag.get_task("ingest_chunk").pool == "market_data_api"
    assert "alpaca" in dag.params.get_param("source").schema["enum"]
