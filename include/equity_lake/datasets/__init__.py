"""One module per dataset, each declaring itself to the engine (``engine/dataset.py``).

Importing this package registers them all; ``get(name)`` looks one up.
"""

from equity_lake.datasets import daily_ticks, fundamentals, minute_ticks  # noqa: F401
from equity_lake.engine.dataset import get, names

__all__ = ["get", "names"]
