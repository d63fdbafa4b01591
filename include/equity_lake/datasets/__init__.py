"""One module per dataset, each declaring itself to the engine (``engine/dataset.py``).

Importing this package registers them all; ``get(name)`` looks one up.
"""

from equity_lake.datasets import daily_ticks, fundamentals  # noqa: F401 - registers them
from equity_lake.engine.dataset import get, names

__all__ = ["get", "names"]
