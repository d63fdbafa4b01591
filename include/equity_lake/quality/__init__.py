"""Quality gates: Great Expectations suites per dataset, the gate, and Data Docs.

Importing this package is cheap; Great Expectations itself is imported on first validation.
"""

from equity_lake.quality.gate import GateResult, quiet_gx_logging, validate_table, warm_up

# Before anything in this package imports GX: its import alone logs ~100 INFO lines.
quiet_gx_logging()

__all__ = ["GateResult", "validate_table", "warm_up"]
