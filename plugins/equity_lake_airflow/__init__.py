"""Airflow glue for equity-lake: task runtimes, lake credentials, shared DAG defaults.

DAG files import from here; the domain logic stays in ``equity_lake`` (which imports no
Airflow). Nothing here imports pandas, pyarrow or great_expectations at module level.
"""
