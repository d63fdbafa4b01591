"""The wrds_default connection becomes the crsp source's WRDS_* variables, password masked."""

from __future__ import annotations

import json

from equity_lake_airflow import lake_env
from equity_lake_airflow.wrds_env import wrds_environment

PASSWORD = "s3cr@t/wrds-pass"


def test_the_connection_is_exported_and_its_password_masked(monkeypatch):
    conn = {
        "conn_type": "postgres",
        "host": "wrds-pgdata.example.org",
        "port": 9737,
        "schema": "wrds",
        "login": "analyst",
        "password": PASSWORD,
        "extra": {"sslmode": "verify-full", "crsp_format": "siz", "crsp_library": "crsp_a_stock"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_WRDS_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("WRDS_HOST", "ignored.example.org")
    env = wrds_environment()
    assert env == {
        "WRDS_HOST": "wrds-pgdata.example.org",
        "WRDS_PORT": "9737",
        "WRDS_DB": "wrds",
        "WRDS_USERNAME": "analyst",
        "WRDS_PASSWORD": PASSWORD,
        "WRDS_SSLMODE": "verify-full",
        "CRSP_FORMAT": "siz",
        "CRSP_LIBRARY": "crsp_a_stock",
    }
    # only a task whose source is crsp receives them
    assert {k: v for k, v in lake_env.task_environment(["wrds"]).items() if k in env} == env
    assert not set(lake_env.task_environment(["alpaca", "sec"])) & set(env)

    from airflow.sdk._shared.secrets_masker import redact

    assert PASSWORD not in str(redact(f"connecting with {PASSWORD}"))


def test_without_the_connection_the_workers_variables_are_used(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_WRDS_DEFAULT", raising=False)
    monkeypatch.setenv("WRDS_USERNAME", "from-env")
    monkeypatch.setenv("CRSP_FORMAT", "ciz")
    monkeypatch.delenv("WRDS_PASSWORD", raising=False)
    env = wrds_environment()
    assert env["WRDS_USERNAME"] == "from-env" and env["CRSP_FORMAT"] == "ciz"
    assert "WRDS_PASSWORD" not in env
