"""One module per dataset, each declaring itself to the engine (``engine/dataset.py``).

Importing this package registers them all; ``get(name)`` looks one up.
"""

from equity_lake.datasets import (  # noqa: F401 - registers them
    consolidation,
    daily_ticks,
    derived_metrics,
    fundamentals,
    minute_ticks,
    universes,
)
from equity_lake.engine.dataset import get, names

__all__ = ["get", "names"]
