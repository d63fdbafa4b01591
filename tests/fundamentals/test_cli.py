"""`equity-lake ingest fundamentals` and `equity-lake show fundamentals`."""

import csv
import datetime as dt
import io
import json

import pytest

from equity_lake import cli
from tests.fundamentals.conftest import APPLE


@pytest.fixture
def apple_in_lake(local_env, standin):
    summary = cli.run(["ingest", "fundamentals", "--ciks", "320193", "--date", "2025-12-31"])
    assert summary["companies"] == 1 and summary["files_written"] == 1
    return summary


def test_show_prints_every_period_as_known_on_the_date(apple_in_lake):
    text = cli.run(
        ["show", "fundamentals", "--cik", "320193", "--concept", "revenue", "--as-of", "2024-11-01"]
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "concept",
        "start",
        "end",
        "value",
        "unit",
        "form",
        "accn",
        "filed",
        "tag",
        "fallback",
    ]
    assert rows[-1] == {
        "concept": "revenue",
        "start": "2023-10-01",
        "end": "2024-09-28",
        "value": "391035000000",
        "unit": "USD",
        "form": "10-K",
        "accn": "0000320193-24-000123",
        "filed": "2024-11-01",
        "tag": "RevenueFromContractWithCustomerExcludingAssessedTax",
        "fallback": "false",
    }
    assert all(r["filed"] <= "2024-11-01" for r in rows)
    day_before = cli.run(
        ["show", "fundamentals", "--cik", APPLE, "--concept", "revenue", "--as-of", "2024-10-31"]
    )
    assert "2023-10-01,2024-09-28" not in day_before


def test_show_quarterly_marks_derived_quarters(apple_in_lake):
    text = cli.run(
        [
            "show",
            "fundamentals",
            "--cik",
            APPLE,
            "--concept",
            "revenue",
            "--as-of",
            "2024-11-01",
            "--quarterly",
        ]
    )
    last = list(csv.DictReader(io.StringIO(text)))[-1]
    assert (last["start"], last["value"], last["derived"], last["method"]) == (
        "2024-06-30",
        "94930000000",
        "true",
        "ytd_difference",
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--cik", APPLE, "--concept", "sales"], "unknown concept 'sales'; known concepts:"),
        (["--cik", "789019", "--concept", "revenue"], "no fundamentals stored for CIK 0000789019"),
        (["--cik", "12345678901", "--concept", "revenue"], "CIK '12345678901' must be at most"),
    ],
)
def test_show_refuses_bad_input_with_one_line(local_env, capsys, argv, message):
    assert cli.main(["show", "fundamentals", *argv]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_ingest_refuses_to_start_without_a_user_agent(local_env, standin, monkeypatch, capsys):
    monkeypatch.delenv("SEC_USER_AGENT")
    assert cli.main(["ingest", "fundamentals", "--ciks", APPLE]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "SEC EDGAR requires a User-Agent naming you and a contact e-mail" in err
    assert standin.paths() == []


def test_validate_runs_the_fundamentals_suite_on_a_file(local_env, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from equity_lake.fundamentals.normalize import known_by
    from tests.fundamentals.conftest import facts

    good = known_by(facts(APPLE), dt.date(2024, 11, 1))
    pq.write_table(good, tmp_path / "good.parquet")
    argv = ["validate", "--dataset", "fundamentals", "--date", "2024-11-01"]
    assert cli.main([*argv, str(tmp_path / "good.parquet")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["warnings"] == []
    ends = good.column("end").to_pylist()
    ends[0] = dt.date(2030, 1, 1)  # a period ending after its filing: kept, with a warning
    unusual = good.set_column(good.schema.get_field_index("end"), "end", pa.array(ends))
    pq.write_table(unusual, tmp_path / "unusual.parquet")
    assert cli.main([*argv, str(tmp_path / "unusual.parquet")]) == 0
    [warning] = json.loads(capsys.readouterr().out.splitlines()[-1])["warnings"]
    assert "(filed >= end): 1 of" in warning
    values = good.column("value").to_pylist()
    values[0] = float("inf")
    bad = good.set_column(good.schema.get_field_index("value"), "value", pa.array(values))
    pq.write_table(bad, tmp_path / "bad.parquet")
    assert cli.main([*argv, str(tmp_path / "bad.parquet")]) == cli.EXIT_GATE
    assert "value <= 1e+300): 1 of" in capsys.readouterr().err


def test_show_coverage_lists_every_concept_with_the_tags_behind_it(apple_in_lake):
    text = cli.run(["show", "coverage", "--cik", APPLE, "--as-of", "2025-12-31"])
    rows = {r["concept"]: r for r in csv.DictReader(io.StringIO(text))}
    from equity_lake.fundamentals import concepts

    assert set(rows) == {c.name for c in concepts.CONCEPTS}
    revenue = rows["revenue"]
    assert revenue["status"] == "covered" and int(revenue["periods"]) > 100
    assert set(revenue["tags_used"].split()) >= {
        "us-gaap:SalesRevenueNet",
        "us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax",
    }
    assert rows["inventory"]["status"] == "covered"
    assert [r["concept"] for r in rows.values() if r["status"] == "gap"] == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--ciks", APPLE, "--chunk-size", "0"], "--chunk-size 0 must be between 1 and 1000"),
        (["--ciks", ""], "--ciks is empty"),
        (["--ciks", "x1"], "CIK 'x1' must be at most 10 digits"),
        (["--ciks", APPLE, "--date", "2024-02-30"], "not an ISO date"),
        (["--archive", "nowhere.zip"], "--archive is only read with --bulk"),
        (["--bulk", "--archive", "nowhere.zip"], "--archive nowhere.zip: no such file"),
        (["--partition", "chunk-1"], "--partition ingests exactly --ciks"),
    ],
)
def test_ingest_refuses_bad_input_with_one_line_and_exit_2(local_env, capsys, argv, message):
    assert cli.main(["ingest", "fundamentals", *argv]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
