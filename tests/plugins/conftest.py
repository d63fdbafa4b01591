"""Make ``plugins/`` importable the way Airflow loads it (top-level module ``nyse_timetable``)."""

from __future__ import annotations

import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"

if str(PLUGINS) not in sys.path:
    sys.path.insert(0, str(PLUGINS))
