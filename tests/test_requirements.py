"""requirements.txt is what the Astro image installs on top of Airflow: it must match the lock
and be enough, on its own, for every DAG and plugin to import."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_image_requirements_match_the_lock():
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "requirements.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def _uv() -> str:
    return shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")


def test_requirements_txt_alone_imports_every_dag_and_plugin(tmp_path):
    """A fresh environment with Airflow (which the Astro image brings) and requirements.txt,
    parses both DAGs under every runtime. The wheels come from uv's cache, filled by
    `make install`; uv still reads PyPI's index pages (its offline mode cannot resolve from
    a lock's downloads alone), which the machine reaches."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    airflow = next(p["version"] for p in lock["package"] if p["name"] == "apache-airflow")
    venv = tmp_path / "astro"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    subprocess.run([_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    install = subprocess.run(
        [
            _uv(), "pip", "install", "--quiet", "--python", str(venv / "bin/python"),
            "-r", str(ROOT / "requirements.txt"), f"apache-airflow=={airflow}",
        ],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    code = (
        "import runpy, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "assert {'daily_ticks', 'edgar_fundamentals'} <= set(bag.dags), bag.dags\n"
        "import equity_lake_airflow.containers, nyse_timetable\n"
    )
    for runtime in ("local", "docker", "kubernetes", "ecs"):
        run_env = {
            **env,
            "EQUITY_LAKE_RUNTIME": runtime,
            "AIRFLOW_HOME": str(tmp_path / "home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # as the Astro Dockerfile sets it: the library is imported from include/
            "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("include", "plugins", "dags")),
        }
        done = subprocess.run(
            [str(venv / "bin/python"), "-c", code, str(ROOT / "dags")],
            capture_output=True, text=True, env=run_env, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, f"{runtime}: {done.stderr[-3000:]}"
