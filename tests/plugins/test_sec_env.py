"""The sec_edgar connection becomes the EDGAR client's SEC_* variables."""

from __future__ import annotations

import json

from equity_lake.sources.sec import SecSettings
from equity_lake_airflow import lake_env
from equity_lake_airflow.sec_env import POOL_SLOTS, sec_environment


def test_the_connection_is_exported_and_the_pool_shares_the_rate(monkeypatch):
    conn = {
        "conn_type": "http",
        "host": "https://data.sec.gov",
        "extra": {"user_agent": "Jane Doe jane@example.com", "www_url": "https://www.sec.gov"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SEC_EDGAR", json.dumps(conn))
    monkeypatch.setenv("SEC_USER_AGENT", "ignored ignored@example.com")
    monkeypatch.delenv("SEC_RATE_SHARERS", raising=False)
    env = sec_environment()
    assert env == {
        "SEC_USER_AGENT": "Jane Doe jane@example.com",
        "SEC_DATA_URL": "https://data.sec.gov",
        "SEC_WWW_URL": "https://www.sec.gov",
        "SEC_RATE_SHARERS": str(POOL_SLOTS),
    }
    # only a task of a dataset that calls EDGAR receives them
    assert {k: v for k, v in lake_env.task_environment(["sec"]).items() if k in env} == env
    assert not set(lake_env.task_environment(["alpaca", "wrds"])) & set(env)
    assert SecSettings.from_env(env).requests_per_second == 10 / POOL_SLOTS


def test_without_the_connection_the_workers_variables_are_used(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SEC_EDGAR", raising=False)
    monkeypatch.setenv("SEC_USER_AGENT", "Ops Team ops@example.com")
    monkeypatch.setenv("SEC_RATE_SHARERS", "2")
    env = sec_environment()
    assert env["SEC_USER_AGENT"] == "Ops Team ops@example.com" and env["SEC_RATE_SHARERS"] == "2"
