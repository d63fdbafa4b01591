"""Astro's default DAG-integrity test, adapted to Airflow 3.3 (DagBag lost include_examples).

`astro dev pytest` runs it inside the image; `make test` runs it too. Every DAG must import
with no connections or variables set (their lookups are made to fail here), have tags, and
retry at least twice.
"""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"


@contextmanager
def no_connections_or_variables():
    """Any connection or variable lookup during parsing fails loudly."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    for k in saved:
        del os.environ[k]
    try:
        yield
    finally:
        os.environ.update(saved)


def get_import_errors():
    from airflow.dag_processing.dagbag import DagBag

    with no_connections_or_variables():
        bag = DagBag(dag_folder=str(DAGS))
    return [(None, None)] + [(k, v.strip()) for k, v in bag.import_errors.items()]


def get_dags():
    from airflow.dag_processing.dagbag import DagBag

    with no_connections_or_variables():
        bag = DagBag(dag_folder=str(DAGS))
    return [(dag_id, dag, dag.fileloc) for dag_id, dag in bag.dags.items()]


@pytest.mark.parametrize(
    "rel_path,rv", get_import_errors(), ids=[x[0] for x in get_import_errors()]
)
def test_file_imports(rel_path, rv):
    if rel_path and rv:
        raise Exception(f"{rel_path} failed to import with message \n {rv}")


@pytest.mark.parametrize("dag_id,dag,fileloc", get_dags(), ids=[x[2] for x in get_dags()])
def test_dag_tags(dag_id, dag, fileloc):
    assert dag.tags, f"{dag_id} in {fileloc} has no tags"


@pytest.mark.parametrize("dag_id,dag,fileloc", get_dags(), ids=[x[2] for x in get_dags()])
def test_dag_retries(dag_id, dag, fileloc):
    assert dag.default_args.get("retries", 0) >= 2, f"{dag_id} in {fileloc} retries < 2"
