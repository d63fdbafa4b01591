"""``make up``'s code path with a real scheduler: Airflow 3 on a local PostgreSQL, driven
through its REST API and CLI as a user would, then ``make down``'s, which must stop it all.

One stack for the module (on free ports, its own home and lake): a run triggered through the
REST API with params (a symbol subset and a chunk size) succeeds and writes those bars; an
``airflow backfill create`` over a week with a holiday makes runs for exactly its NYSE
sessions, inclusive of the ``--to-date``; the scheduled run that unpausing makes (today's
latest session) succeeds; the API server serves the lake's pages and the UI lists them
(``plugins/equity_lake_views.py``); nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from standins.base import free_port
from standins.postgres import find_bin_dir
from tests.dags.helpers import environment
from tests.servers import task_image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import airflow_local  # noqa: E402

WEEK = [dt.date(2024, 12, d) for d in (23, 24, 26, 27)]  # Christmas has no session


class Api:
    """The REST API as a user's script calls it: a token from /auth/token, then /api/v2."""

    def __init__(self, home: Path, state: dict) -> None:
        self.base = f"http://127.0.0.1:{state['port']}"
        password = json.loads((home / "stack.json").read_text())["admin_password"]
        token = httpx.post(
            f"{self.base}/auth/token", json={"username": "admin", "password": password}
        ).json()["access_token"]
        self.client = httpx.Client(
            base_url=f"{self.base}/api/v2",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def get(self, path: str, **params):
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def send(self, method: str, path: str, body: dict):
        response = self.client.request(method, path, json=body)
        assert response.status_code < 300, response.text
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Until the dag-processor has parsed ``dag_id`` and the API lists it."""
        deadline = time.monotonic() + timeout
        while dag_id not in {d["dag_id"] for d in self.get("/dags")["dags"]}:
            assert time.monotonic() < deadline, f"the dag-processor never parsed {dag_id}"
            time.sleep(2)

    def wait_runs(self, dag_id: str, run_ids: set[str], timeout: float = 600) -> dict[str, str]:
        """The final state of each run, once none is queued or running."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]
            states = {r["dag_run_id"]: r["state"] for r in runs if r["dag_run_id"] in run_ids}
            if len(states) == len(run_ids) and all(
                s in ("success", "failed") for s in states.values()
            ):
                return states
            if time.monotonic() > deadline:
                raise AssertionError(f"runs still going after {timeout:.0f} s: {states}")
            time.sleep(3)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if find_bin_dir() is None:
        reason = "PostgreSQL binaries (initdb, pg_ctl) not found; install package postgresql"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # not under pytest's own 0700 folder: PostgreSQL runs as its own user and must reach it
    home = Path(tempfile.mkdtemp(prefix="equity-lake-up-"))
    home.chmod(0o755)
    lake = tmp_path_factory.mktemp("lake")
    with environment(LAKE_URI=lake.as_uri(), LAKE_S3_ENDPOINT=None, EQUITY_LAKE_RUNTIME=None):
        from equity_lake import cli
        from equity_lake.lake.store import LakeStore
        from equity_lake.master import SecurityMaster

        cli.run(["master", "build", "--source", "sample"])
        master = SecurityMaster.load(LakeStore())
        listed = [set(master.active_on(day).column("symbol").to_pylist()) for day in WEEK]
        symbols = sorted(set.intersection(*listed))[:12]
        state = airflow_local.up(home, port=free_port())
        try:
            yield home, state, lake, symbols
        finally:
            airflow_local.down(home)
            shutil.rmtree(home, ignore_errors=True)
    for name, pid in state["pids"].items():
        if name == "postgres":
            continue
        with pytest.raises(ProcessLookupError):  # the whole process group is gone
            os.killpg(pid, 0)


@pytest.fixture(scope="module")
def api(stack):
    home, state, *_ = stack
    api = Api(home, state)
    api.wait_for_dag("daily_ticks")
    # the DAGs scheduled on the daily-ticks Asset run after each daily_ticks run below
    for dag_id in ("universes", "derived_metrics"):
        api.wait_for_dag(dag_id)
        api.send("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    api.send("PATCH", "/dags/daily_ticks", {"is_paused": False})
    return api


def ticks_days(lake: Path) -> set[dt.date]:
    import pyarrow.parquet as pq

    days = set()
    for path in (lake / "data/raw/ticks/daily").rglob("ticks.parquet"):
        days |= set(pq.read_table(path, columns=["timestamp"]).column(0).to_pylist())
    return days


def test_a_run_triggered_through_the_rest_api_with_params_succeeds(stack, api):
    _, _, lake, symbols = stack
    run = api.send(
        "POST",
        "/dags/daily_ticks/dagRuns",
        {
            "logical_date": "2024-12-27T21:30:00Z",
            "conf": {"symbols": symbols, "chunk_size": 10},
        },
    )
    states = api.wait_runs("daily_ticks", {run["dag_run_id"]})
    assert states[run["dag_run_id"]] == "success", errors(stack[0], run["dag_run_id"])
    tis = api.get(f"/dags/daily_ticks/dagRuns/{run['dag_run_id']}/taskInstances")
    labels = sorted(
        t["rendered_map_index"] for t in tis["task_instances"] if t["task_id"] == "ingest_chunk"
    )
    assert labels == [
        f"1/2: {symbols[0]}..{symbols[5]} (6)",
        f"2/2: {symbols[6]}..{symbols[11]} (6)",
    ]
    assert dt.date(2024, 12, 27) in ticks_days(lake)


def test_the_api_server_serves_the_lake_pages_listed_in_the_ui(stack, api):
    """The run above published the Data Docs: the API server serves them and the lake-health
    page from the lake (plugins/equity_lake_views.py) to a logged-in user only, every
    relative link of the docs index resolves, and the UI's plugin listing has both views."""
    from urllib.parse import urljoin

    from equity_lake.lake import keys

    _, _, lake, _ = stack
    docs = lake / keys.DATA_DOCS_PREFIX
    assert (docs / "index.html").exists(), "the run's record step published no Data Docs"
    health = lake / keys.HEALTH_PAGE
    if not health.exists():  # until the record step builds it too
        health.parent.mkdir(parents=True, exist_ok=True)
        health.write_text('<html><body><a href="../docs/">Data Docs</a></body></html>')
    page = api.client.get(f"{api.base}/equity-lake/health/")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.content == health.read_bytes()
    index_url = f"{api.base}/equity-lake/docs/"
    index = api.client.get(index_url)
    assert index.status_code == 200, index.text
    assert index.content == (docs / "index.html").read_bytes()
    # GX's index links its validation pages from a script's table data, the rest by attribute
    pages = re.findall(r"validations/[^'\"\s\\]+?\.html", index.text)
    assert pages, "no validation page linked from the Data Docs index"
    files = [
        link
        for link in re.findall(r'(?:href|src)="([^"#]+)"', index.text)
        if not re.match(r"[a-z]+:|//", link)  # pages and files of the site, not of a CDN
    ]
    links = {urljoin(index_url, link) for link in pages + files}
    answers = {url: api.client.get(url).status_code for url in links}
    assert set(answers.values()) == {200}, answers
    assert httpx.get(f"{api.base}/equity-lake/health/").status_code == 401
    plugins = api.get("/plugins")["plugins"]
    ours = next(p for p in plugins if p["name"] == "equity_lake_views")
    assert [a["url_prefix"] for a in ours["fastapi_apps"]] == ["/equity-lake"]
    views = {v["name"]: (v["href"], v["destination"]) for v in ours["external_views"]}
    assert views == {
        "Lake health": ("equity-lake/health/", "nav"),
        "Data Docs": ("equity-lake/docs/", "nav"),
    }


def test_a_backfill_makes_runs_for_exactly_the_weeks_sessions(stack, api):
    home, state, lake, symbols = stack
    env = airflow_local.airflow_env(home, state)
    conf = json.dumps({"symbols": symbols[:4], "chunk_size": 10})
    done = subprocess.run(
        [
            str(airflow_local.BIN / "airflow"),
            "backfill",
            "create",
            "--dag-id",
            "daily_ticks",
            "--from-date",
            "2024-12-23",
            "--to-date",
            "2024-12-27",
            "--dag-run-conf",
            conf,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    deadline = time.monotonic() + 120
    while True:
        runs = [
            r
            for r in api.get("/dags/daily_ticks/dagRuns", limit=100)["dag_runs"]
            if r["run_type"] == "backfill"
        ]
        if len(runs) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(2)
    sessions = sorted(dt.date.fromisoformat(r["data_interval_start"][:10]) for r in runs)
    # Christmas has no run; 2024-12-27 (the --to-date) has one
    assert sessions == WEEK
    states = api.wait_runs("daily_ticks", {r["dag_run_id"] for r in runs})
    assert set(states.values()) == {"success"}, [errors(home, r) for r in states]
    assert set(WEEK) <= ticks_days(lake)


def test_unpausing_runs_the_latest_session_which_the_sample_market_covers(stack, api):
    """Unpausing scheduled today's latest session (catchup is off): the sample market covers
    every session of the calendar, so it succeeds over the whole universe, on any day."""
    home, _, lake, _ = stack
    runs = [
        r
        for r in api.get("/dags/daily_ticks/dagRuns", limit=100)["dag_runs"]
        if r["run_type"] == "scheduled"
    ]
    assert len(runs) == 1
    run_id = runs[0]["dag_run_id"]
    states = api.wait_runs("daily_ticks", {run_id}, timeout=900)
    assert states[run_id] == "success", errors(home, run_id)
    assert dt.date.fromisoformat(runs[0]["data_interval_start"][:10]) in ticks_days(lake)


def test_the_daily_ticks_asset_triggers_universes_and_derived_metrics(stack, api):
    """Each daily_ticks run above emitted the daily-ticks Asset: the scheduler started the
    DAGs waiting on it, and each run recomputed only the sessions its events name."""
    home, _, lake, _ = stack
    deadline = time.monotonic() + 600
    for dag_id in ("universes", "derived_metrics"):
        while True:
            runs = api.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]
            if runs or time.monotonic() > deadline:
                break
            time.sleep(3)
        assert runs and {r["run_type"] for r in runs} == {"asset_triggered"}, runs
        states = api.wait_runs(dag_id, {r["dag_run_id"] for r in runs}, timeout=600)
        assert set(states.values()) == {"success"}, [errors(home, r) for r in states]
    labels = {
        t["rendered_map_index"]
        for r in api.get("/dags/universes/dagRuns", limit=100)["dag_runs"]
        for t in api.get(f"/dags/universes/dagRuns/{r['dag_run_id']}/taskInstances")[
            "task_instances"
        ]
        if t["task_id"] == "ingest_chunk"
    }
    # e.g. "top3000 2024-12-23..2024-12-27": the sessions of the triggering runs
    assert any(label.startswith("top3000 20") and ".." in label for label in labels), labels
    assert (lake / "data/universe/top3000.parquet").exists()
    assert (lake / "data/universe/all_common.parquet").exists()


def test_everything_listens_on_127_0_0_1_only(stack):
    _, state, *_ = stack
    groups = {pid for name, pid in state["pids"].items() if name != "postgres"}
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    ours = []
    for line in listening.splitlines():
        for pid in _pids(line):
            try:
                if os.getpgid(pid) in groups or pid == state["pids"]["postgres"]:
                    ours.append(line.split()[3])
            except ProcessLookupError:
                continue
    assert ours, listening  # the api-server and PostgreSQL at least
    assert all(address.startswith("127.0.0.1:") for address in ours), ours


def errors(home: Path, run_id: str) -> list[str]:
    """What the run's task logs say went wrong (for a failing assertion's message)."""
    found = []
    for path in (home / "logs").rglob("*.log"):
        if run_id in str(path):
            found += [
                line[line.find("exc_value") :][:400]
                for line in path.read_text().splitlines()
                if "exc_value" in line
            ]
    return found


def _pids(line: str) -> list[int]:
    return [int(p) for p in re.findall(r"pid=(\d+)", line)]


def test_docker_runtime_task_logs_hold_no_secret(s3_server, tmp_path):
    """Under a real scheduler the task logs are written at INFO and hold every line the
    containers printed: the lake's secret key, given only through the ``equity_lake_s3``
    connection, must appear in none of them."""
    task_image()
    secret = f"lake-secret-{os.getpid()}-{time.time_ns() % 10**6}"
    bucket = f"up-docker-{time.time_ns() % 10**9}"
    s3_server.create_bucket(bucket)
    lake = {**s3_server.env(bucket), "AWS_SECRET_ACCESS_KEY": secret}
    conn = {
        "conn_type": "aws",
        "login": "testing",
        "password": secret,
        "extra": {"lake_uri": f"s3://{bucket}", "endpoint_url": s3_server.endpoint},
    }
    home = Path(tempfile.mkdtemp(prefix="equity-lake-up-"))
    home.chmod(0o755)
    day = dt.date(2024, 12, 23)
    with environment(**lake):
        from equity_lake import cli
        from equity_lake.lake.store import LakeStore
        from equity_lake.master import SecurityMaster

        cli.run(["master", "build", "--source", "sample"])
        symbols = SecurityMaster.load(LakeStore()).active_on(day).column("symbol").to_pylist()[:5]
    settings = {k: None for k in lake}  # the stack gets the lake only through the connection
    settings.update(
        EQUITY_LAKE_RUNTIME="docker",
        EQUITY_LAKE_DOCKER_NETWORK="host",
        AIRFLOW_CONN_EQUITY_LAKE_S3=json.dumps(conn),
    )
    with environment(**settings):
        state = airflow_local.up(home, port=free_port())
        try:
            api = Api(home, state)
            api.wait_for_dag("daily_ticks")
            run = api.send(
                "POST",
                "/dags/daily_ticks/dagRuns",
                {"logical_date": "2024-12-23T21:30:00Z", "conf": {"symbols": symbols}},
            )
            api.send("PATCH", "/dags/daily_ticks", {"is_paused": False})
            states = api.wait_runs("daily_ticks", {run["dag_run_id"]}, timeout=600)
            assert states[run["dag_run_id"]] == "success", errors(home, run["dag_run_id"])
            logs = "".join(
                p.read_text(errors="replace")
                for p in (home / "logs").rglob("*.log")
                if run["dag_run_id"] in str(p)
            )
            # the container's own output is in these logs (its JSON result, at INFO)
            assert '\\"rows\\": 5' in logs or '"rows": 5' in logs
            assert secret not in logs
            assert secret not in "".join(
                p.read_text(errors="replace") for p in (home / "logs").glob("*.log")
            )
        finally:
            airflow_local.down(home)
            shutil.rmtree(home, ignore_errors=True)
