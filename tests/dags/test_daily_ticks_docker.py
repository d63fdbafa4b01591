"""daily_ticks end to end on the docker runtime: real containers of the task image on the local
Docker engine, against the local S3 server and the local Alpaca server (host networking).

The same session run with ``EQUITY_LAKE_RUNTIME=local`` into another bucket is the reference:
the docker run must publish exactly the same ticks. The Alpaca keys and the lake's secret key
reach the containers only through the operator's private environment; neither may appear in
anything the run printed or logged.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from equity_lake import calendar
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from standins.alpaca import SYNTHETIC, AlpacaServer, master_table
from tests.dags.helpers import environment, load_dag, run_session
from tests.servers import task_image

DAY = dt.date(2021, 10, 14)
SECRET = f"alpaca-secret-{uuid.uuid4().hex[:8]}"
LAKE_SECRET = f"lake-secret-{uuid.uuid4().hex[:8]}"
VICTIM = "NIO"


@pytest.fixture(scope="module")
def image() -> str:
    return task_image()


class CorruptingAlpaca(AlpacaServer):
    """Serves one bar with low above high when asked to."""

    corrupt = False

    def daily_bar(self, symbol, day):
        bar = super().daily_bar(symbol, day)
        if self.corrupt and bar is not None and symbol == VICTIM:
            bar = {**bar, "l": bar["h"] * 2}
        return bar


@pytest.fixture(scope="module")
def alpaca():
    with CorruptingAlpaca(key_id="AKDOCKER", secret_key=SECRET, synthetic=SYNTHETIC) as server:
        yield server


def make_lake(s3_server) -> dict[str, str]:
    bucket = f"docker-{uuid.uuid4().hex[:10]}"
    s3_server.create_bucket(bucket)
    env = {**s3_server.env(bucket), "AWS_SECRET_ACCESS_KEY": LAKE_SECRET}
    with environment(**env):
        store = LakeStore()
        store.write_table(keys.SECURITY_MASTER, master_table())
        store.write_table(keys.CALENDAR_MASTER, calendar.calendar_table())
    return env


def alpaca_conn(alpaca) -> str:
    return json.dumps(
        {
            "conn_type": "http",
            "login": alpaca.key_id,
            "password": alpaca.secret_key,
            "host": alpaca.url,
            "extra": {"feed": "iex", "rate_limit_per_minute": 6000},
        }
    )


def run_on(runtime: str, lake_env: dict[str, str], alpaca, **conf):
    unset = {k: None for k in os.environ if k.startswith("ALPACA_")}
    with environment(
        **lake_env,
        **unset,
        AIRFLOW_CONN_ALPACA_DEFAULT=alpaca_conn(alpaca),
        EQUITY_LAKE_RUNTIME=runtime,
        EQUITY_LAKE_DOCKER_NETWORK="host",
    ):
        dag = load_dag("daily_ticks")
        result = run_session(dag, DAY, source="alpaca", chunk_size=10, **conf)
        return result, LakeStore()


def ticks(store: LakeStore) -> dict[str, list[dict]]:
    return {k: store.read_table(k).to_pylist() for k in store.list("data/raw/ticks/daily")}


def ingest_instances(run_id: str) -> list:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(
            TaskInstance.run_id == run_id, TaskInstance.task_id == "ingest_chunk"
        )
        return sorted(
            (ti.map_index, ti.rendered_map_index, str(ti.state), ti.try_number) for ti in tis
        )


def test_a_docker_run_publishes_what_a_local_run_publishes(
    image, s3_server, airflow_db, alpaca, capfd
):
    alpaca.corrupt = False
    local, local_store = run_on("local", make_lake(s3_server), alpaca)
    assert "success" in str(local.state).lower()
    local_tis = ingest_instances(local.run_id)  # before the docker run replaces the run
    docker_env = make_lake(s3_server)
    before = set(
        subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True).stdout.split()
    )
    result, store = run_on("docker", docker_env, alpaca)
    assert "success" in str(result.state).lower()

    published = ticks(store)
    assert published == ticks(local_store) and len(published) == 11
    # the same labels as the local runtime's; one try each; the XCom is the CLI's result
    docker_tis = ingest_instances(result.run_id)
    assert [t[1] for t in docker_tis] == [t[1] for t in local_tis] and len(docker_tis) == 2
    assert {t[3] for t in docker_tis} == {1}
    summary = store.read_json(keys.run_summary("daily-ticks", DAY))
    assert summary["rows"] == 11 and summary["failed_partitions"] == []
    # the containers are gone
    after = set(
        subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True).stdout.split()
    )
    assert after <= before
    # nothing Airflow stored of the run (rendered fields, XComs, the run's records) nor
    # anything printed holds a secret: they went through the private environment only
    printed = capfd.readouterr()
    stored = b"".join(p.read_bytes() for p in Path(os.environ["AIRFLOW_HOME"]).glob("airflow.db*"))
    assert b"chunk-0001-of-0002" in stored  # the run's records are there
    for secret in (SECRET, LAKE_SECRET, "AKDOCKER"):
        assert secret not in printed.out + printed.err and secret.encode() not in stored


def test_a_corrupt_bar_fails_its_chunk_once_and_is_quarantined(
    image, s3_server, airflow_db, alpaca
):
    alpaca.corrupt = True
    try:
        result, store = run_on("docker", make_lake(s3_server), alpaca)
    finally:
        alpaca.corrupt = False
    assert "fail" in str(result.state).lower()
    states = ingest_instances(result.run_id)
    failed = [t for t in states if "failed" in t[2]]
    assert len(failed) == 1 and failed[0][3] == 1, states  # no retry of a failed gate
    assert any("success" in t[2] for t in states)
    members = {m["symbol"]: m["security_id"] for m in master_table().to_pylist()}
    assert store.read_table(keys.daily_ticks_month(members[VICTIM], DAY)) is None
    quarantined = store.list("data/quarantine")
    report = next(k for k in quarantined if k.endswith(".validation.json"))
    assert "low" in " ".join(store.read_json(report)["failures"])


def test_a_file_lake_is_written_by_the_container_as_the_folders_owner(image, tmp_path):
    """The image's user (10001) cannot write a folder of the host's user: the container runs
    as the folder's owner instead, never as root."""
    from equity_lake import cli
    from equity_lake.datasets import daily_ticks
    from equity_lake.master import SecurityMaster
    from equity_lake_airflow import docker_runtime

    lake = tmp_path / "lake"
    day = dt.date(2024, 12, 23)
    with environment(LAKE_URI=lake.as_uri(), LAKE_S3_ENDPOINT=None, EQUITY_LAKE_DOCKER_USER=None):
        cli.run(["master", "build", "--source", "sample"])
        store = LakeStore()
        symbols = SecurityMaster.load(store).active_on(day).column("symbol").to_pylist()[:5]
        (plan,) = daily_ticks.plan(store, day, 10, symbols)
        if os.geteuid() == 0:  # as root (CI), hand the lake to an ordinary user first
            for path in [lake, *lake.rglob("*")]:
                os.chown(path, 1234, 1234)
        chunk = {"label": plan.label, "argv": plan.argv(day, "sample", "file-lake", symbols)}
        op = docker_runtime.LakeDockerOperator(
            task_id="file_lake", chunk=chunk, **docker_runtime.operator_kwargs()
        )
        result = op.execute({})
    assert op.user == f"{lake.stat().st_uid}:{lake.stat().st_gid}"
    assert result["rows"] == 5
    written = list((lake / "data/raw/ticks/daily").rglob("ticks.parquet"))
    assert len(written) == 5
    assert {p.stat().st_uid for p in written} == {lake.stat().st_uid} != {0}
