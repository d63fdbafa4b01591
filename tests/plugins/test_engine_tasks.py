"""The engine's generic tasks: which settings a mapped task receives, per dataset and source."""

from __future__ import annotations

import json

import pytest

from equity_lake import datasets
from equity_lake_airflow import lake_env

SECRETS = {
    "ALPACA_API_SECRET_KEY": "alpaca-secret",
    "WRDS_PASSWORD": "wrds-secret",
    "SEC_USER_AGENT": "Jane Doe jane@example.com",
}


@pytest.fixture
def every_secret(monkeypatch):
    for name in ("AIRFLOW_CONN_ALPACA_DEFAULT", "AIRFLOW_CONN_WRDS_DEFAULT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SEC_EDGAR", json.dumps({"conn_type": "http"}))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LAKE_URI", "file:///tmp/lake")


@pytest.mark.parametrize(
    "dataset, params, receives",
    [
        ("daily-ticks", {"source": "sample"}, set()),
        ("daily-ticks", {"source": "alpaca"}, {"ALPACA_API_SECRET_KEY"}),
        ("daily-ticks", {"source": "crsp"}, {"WRDS_PASSWORD"}),
        ("fundamentals", {"mode": "incremental"}, {"SEC_USER_AGENT"}),
    ],
)
def test_a_task_receives_the_lakes_settings_and_only_its_sources(
    every_secret, dataset, params, receives
):
    services = datasets.get(dataset).services(params)
    env = lake_env.task_environment(services)
    assert env["LAKE_URI"] == "file:///tmp/lake"
    assert {name for name in SECRETS if name in env} == receives
