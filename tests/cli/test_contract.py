"""The contract a container keeps: exit codes 0/1/2/3 and the JSON result line, run as a
real process of the installed ``equity-lake`` console script."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from equity_lake import cli
from tests.quality.quality_tables import make_daily_ticks, set_cell

EQUITY_LAKE = str(Path(sys.executable).with_name("equity-lake"))
DAY = dt.date(2024, 12, 23)


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LAKE_", "EQUITY_LAKE"))}
    return subprocess.run(
        [EQUITY_LAKE, *argv],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=300,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files")
    good = make_daily_ticks(day=DAY)
    paths = {"good": folder / "good.parquet", "bad": folder / "bad.parquet"}
    pq.write_table(good, paths["good"])
    pq.write_table(set_cell(good, "volume", 2, -1), paths["bad"])
    return paths


def test_success_exits_0_and_its_last_line_is_the_in_process_result(files, tmp_path, monkeypatch):
    result_file = tmp_path / "xcom" / "return.json"  # where a Kubernetes XCom sidecar reads
    env = {"LAKE_URI": (tmp_path / "lake").as_uri(), "EQUITY_LAKE_RESULT_PATH": str(result_file)}
    monkeypatch.setenv("LAKE_URI", env["LAKE_URI"])  # validate reads the lake: the same one
    argv = ["validate", "--dataset", "daily-ticks", str(files["good"])]
    done = run(*argv, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == json.loads(json.dumps(cli.run(argv), sort_keys=True, default=str))
    assert result["success"] is True and result["rows"] == pq.read_metadata(files["good"]).num_rows
    assert json.loads(result_file.read_text()) == result


def test_a_failed_gate_exits_3_naming_the_expectation(files, tmp_path):
    env = {"LAKE_URI": (tmp_path / "lake").as_uri()}
    done = run("validate", "--dataset", "daily-ticks", str(files["bad"]), env=env)
    assert done.returncode == 3
    assert "volume >= 0" in done.stderr and done.stdout == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["ingest", "daily-ticks", "--date", "2024-02-30"], "not an ISO date"),
        (["ingest", "daily-ticks", "--date", "2024-12-23", "--symbols", ""], "--symbols is empty"),
        (["ingest", "fundamentals", "--ciks", "1", "--chunk-size", "0"], "between 1 and 1000"),
        (["summary", "--start", "2025-01-03", "--end", "2024-12-23"], "after --end"),
        (["ingest", "daily-ticks"], "--date"),
        (
            ["ingest", "daily-ticks", "--date", "2008-12-31", "--chunk", "1/2"],
            "the sample source covers 2009-01-02..2027-12-31 only; 2008-12-31 is outside it",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, argv, message):
    done = run(*argv, env={"LAKE_URI": (tmp_path / "lake").as_uri()})
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "lake").exists() or not any((tmp_path / "lake").rglob("*.parquet"))


def test_a_container_without_lake_uri_is_refused_not_written_to_a_vanishing_folder(tmp_path):
    done = run("docs", env={"EQUITY_LAKE_IN_CONTAINER": "1", "HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "LAKE_URI is not set" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_an_unreachable_lake_is_transient_exit_1(files):
    env = {"LAKE_URI": "s3://no-bucket", "LAKE_S3_ENDPOINT": "http://127.0.0.1:9", **_creds()}
    done = run("docs", env=env)
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _creds() -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
