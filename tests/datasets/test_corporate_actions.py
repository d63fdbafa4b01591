"""The corporate-actions dataset: a window's events are audited as one batch, then merged."""

import datetime as dt

import pytest

from equity_lake.datasets import corporate_actions
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from equity_lake.sources.alpaca import AlpacaClient, AlpacaConfig
from equity_lake.sources.http import RetryPolicy
from standins.alpaca import SYNTHETIC, AlpacaServer
from standins.alpaca import master_table as fixture_master

START, END = dt.date(2020, 1, 1), dt.date(2022, 12, 31)


@pytest.fixture(scope="module")
def server():
    with AlpacaServer(synthetic=SYNTHETIC) as running:
        yield running


def test_an_ingest_is_audited_as_one_batch_then_merged_per_security(server, local_env):
    store = LakeStore()
    store.write_table(keys.SECURITY_MASTER, fixture_master())
    client = AlpacaClient(
        AlpacaConfig.from_env(server.env()), retry=RetryPolicy(attempts=2, backoff=0.01)
    )
    result = corporate_actions.ingest(store, START, END, client=client, run_id="actions-1")
    assert result["events"] == 11 and result["files_written"] == 4
    assert "quality_warnings" not in result
    validation = store.read_json(
        keys.quality_result("corporate-actions", END, "alpaca-20200101-20221231")
    )
    assert validation["success"] is True
    assert validation["meta"]["equity_lake"]["rows"] == 11
    assert store.list("data/_staging") == [] and store.list("data/quarantine") == []
    again = corporate_actions.ingest(store, START, END, client=client, run_id="actions-2")
    assert again["files_written"] == 0
