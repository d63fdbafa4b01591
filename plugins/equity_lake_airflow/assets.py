"""The Airflow Assets the lake's DAGs produce and consume (cross-DAG dependencies)."""

from __future__ import annotations

from airflow.sdk import Asset

DAILY_TICKS = Asset(name="equity_lake_daily_ticks", uri="equity-lake://data/raw/ticks/daily")
