"""The Airflow Assets the lake's DAGs produce and consume (cross-DAG dependencies)."""

from __future__ import annotations

from airflow.sdk import Asset

#: name-only: a URI makes Airflow load every provider's URI handlers at parse time (~0.3 s)
DAILY_TICKS = Asset(name="equity_lake_daily_ticks")
#: emitted by edgar_fundamentals only when a run published new or amended facts
FUNDAMENTALS = Asset(name="equity_lake_fundamentals")
#: emitted by minute_ticks when a run recorded its session
MINUTE_TICKS = Asset(name="equity_lake_minute_ticks")
#: emitted by derived_metrics: companies' TTM and metrics were recomputed
DERIVED_METRICS = Asset(name="equity_lake_derived_metrics")
#: emitted by universes: the dated universes were rebuilt
UNIVERSES = Asset(name="equity_lake_universes")
