"""Test-session environment, set before anything imports Airflow or reads the lake config."""

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent

for _var in ("LAKE_URI", "LAKE_S3_ENDPOINT", "EQUITY_LAKE_RUNTIME"):
    os.environ.pop(_var, None)

# Airflow reads its configuration when first imported: point it at a throw-away home, the
# project's dags and plugins, before any test imports it.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="equity-lake-airflow-")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
