"""Astro-style DAG integrity: every DAG imports cleanly with no connections or variables set,
has tags and retries >= 2, valid default params, known pools, and parses cheaply."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
HEAVY = ("pandas", "pyarrow", "great_expectations", "numpy", "exchange_calendars")
KNOWN_POOLS = {"default_pool", "market_data_api", "sec_api"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS), known_pools=KNOWN_POOLS)


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {p.stem for p in DAGS.glob("*.py")} <= set(dagbag.dag_ids)


def test_every_dag_has_tags_retries_and_valid_params(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        dag.params.validate()
        for task in dag.tasks:
            assert task.retries >= 2, f"{dag_id}.{task.task_id} retries={task.retries}"
    assert not dagbag.dag_warnings


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS.glob("*.py")))
def test_parsing_imports_no_heavy_libraries(dag_file):
    code = (
        "import json, runpy, sys\n"
        f"runpy.run_path({str(DAGS / dag_file)!r})\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'plugins'}:{DAGS}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_daily_ticks_shape(dagbag):
    dag = dagbag.dags["daily_ticks"]
    assert type(dag.timetable).__name__ == "NYSESessionTimetable"
    assert {t.task_id for t in dag.tasks} == {"plan_chunks", "ingest_chunk", "record_run"}
    ingest = dag.get_task("ingest_chunk")
    assert "chunk" in ingest.map_index_template
    assert [o.name for o in dag.get_task("record_run").outlets] == ["equity_lake_daily_ticks"]


def test_unknown_runtime_fails_with_a_clear_message(monkeypatch):
    from equity_lake_airflow import runtime

    monkeypatch.setenv("EQUITY_LAKE_RUNTIME", "lambda")
    with pytest.raises(runtime.RuntimeConfigError, match="EQUITY_LAKE_RUNTIME='lambda'"):
        runtime.ingest_task("x")
    monkeypatch.setenv("EQUITY_LAKE_RUNTIME", "kubernetes")
    monkeypatch.setenv("EQUITY_LAKE_K8S_NODE_SELECTOR", "pool")
    with pytest.raises(runtime.RuntimeConfigError, match="EQUITY_LAKE_K8S_NODE_SELECTOR"):
        runtime.ingest_task("x")


@pytest.mark.parametrize("name", ["docker", "kubernetes", "ecs"])
def test_every_runtime_parses_the_dags_without_heavy_libraries(name):
    """The runtime is configuration: the same DAG files parse under each, cheaply."""
    code = (
        "import runpy, sys\n"
        "for f in ('dags/daily_ticks.py', 'dags/edgar_fundamentals.py'):\n"
        "    runpy.run_path(f)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "EQUITY_LAKE_RUNTIME": name}
    env["PYTHONPATH"] = f"{REPO / 'plugins'}:{REPO / 'dags'}:{REPO / 'include'}"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
