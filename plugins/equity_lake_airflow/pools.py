"""The pools that bound concurrent calls to each rate-limited API (airflow_settings.yaml)."""

from __future__ import annotations

#: every market-data source's calls (alpaca: 200 requests/min on the free plan)
MARKET_DATA = "market_data_api"
#: every EDGAR call: 10 requests/s in total, shared by its slots (see sec_env)
SEC = "sec_api"
#: the size of the sec_api pool in airflow_settings.yaml; change both together
SEC_SLOTS = 4
