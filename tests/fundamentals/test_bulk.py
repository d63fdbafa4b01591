"""The backfill from companyfacts.zip: streamed entry by entry, each company gated on its own."""

import datetime as dt
import json
import zipfile

import pyarrow.compute as pc
import pytest

from equity_lake import cli
from equity_lake.datasets import fundamentals
from equity_lake.engine import runner
from equity_lake.fundamentals.bulk import ArchiveError, iter_companyfacts
from equity_lake.fundamentals.normalize import known_by
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from tests.fundamentals.conftest import ALPHABET, APPLE, SNOWFLAKE, facts, raw

DAY = dt.date(2026, 6, 30)


@pytest.fixture
def archive(tmp_path):
    """A companyfacts.zip of three real companies, laid out like the SEC's."""
    path = tmp_path / "companyfacts.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for cik in (APPLE, ALPHABET, SNOWFLAKE):
            zf.writestr(f"CIK{cik}.json", raw(cik))
    return path


def test_entries_are_read_one_company_at_a_time_in_archive_order(archive):
    entries = iter_companyfacts(archive)
    cik, body = next(entries)
    assert (cik, body) == (APPLE, raw(APPLE))
    assert [c for c, _ in entries] == [ALPHABET, SNOWFLAKE]
    assert [c for c, _ in iter_companyfacts(archive, ciks=["1640147"])] == [SNOWFLAKE]


def test_the_backfill_publishes_every_company_gated_on_its_own(local_env, archive):
    store = LakeStore()
    result = fundamentals.backfill(store, archive, DAY, run_id="bulk-test")
    assert (result["companies"], result["files_written"]) == (3, 3)
    for cik in (APPLE, ALPHABET, SNOWFLAKE):
        assert (
            store.read_table(keys.fundamentals(cik)).num_rows == known_by(facts(cik), DAY).num_rows
        )
    # one validation result per company
    results = store.list(keys.quality_results_prefix("fundamentals"))
    assert sorted(r.rsplit("/", 1)[-1] for r in results) == [
        f"bulk-cik{cik}.json" for cik in sorted((APPLE, ALPHABET, SNOWFLAKE))
    ]
    again = fundamentals.backfill(store, archive, DAY, run_id="bulk-again")
    assert (again["companies"], again["files_written"], again["files_unchanged"]) == (3, 0, 3)


def test_a_bad_entry_is_reported_after_the_others_are_published(local_env, tmp_path, archive):
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("CIK0000000042.json", b'{"cik": 42, "facts": {"us-gaap": 7}}')
    store = LakeStore()
    with pytest.raises(
        fundamentals.BackfillIncomplete, match=r"CIK 0000000042: facts\['us-gaap'\]"
    ):
        fundamentals.backfill(store, broken, DAY, run_id="bulk-broken")
    assert len(store.list("data/raw/fundamental")) == 3


def broken_company() -> bytes:
    """A company whose every fact has a malformed accession and one fact twice: impossible."""
    fact = {"start": "2025-01-01", "end": "2025-12-31", "val": 5, "accn": "not-an-accession",
            "fy": 2025, "fp": "FY", "form": "10-K", "filed": "2026-02-01"}  # fmt: skip
    units = {"USD": [fact, fact]}
    return json.dumps({"cik": 42, "facts": {"us-gaap": {"Revenues": {"units": units}}}}).encode()


def with_subsequent_event(cik: str) -> bytes:
    """The real document plus a fact whose period ends after its 10-K was filed."""
    doc = json.loads(raw(cik))
    proceeds = {"start": "2026-01-01", "end": "2026-03-31", "val": 1.5e9, "fy": 2025, "fp": "FY",
                "accn": "0001652044-26-000018", "form": "10-K", "filed": "2026-02-05"}  # fmt: skip
    doc["facts"]["us-gaap"]["ProceedsFromIssuanceOfWarrants"] = {"units": {"USD": [proceeds]}}
    return json.dumps(doc).encode()


def test_a_broken_company_is_quarantined_alone_and_named(local_env, tmp_path):
    path = tmp_path / "companyfacts.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"CIK{APPLE}.json", raw(APPLE))
        zf.writestr("CIK0000000042.json", broken_company())
        zf.writestr(f"CIK{ALPHABET}.json", with_subsequent_event(ALPHABET))
    store = LakeStore()
    with pytest.raises(runner.EntitiesRejected) as failed:
        fundamentals.backfill(store, path, DAY, run_id="bulk-one-broken")
    message = str(failed.value)
    assert message.startswith("1 of 3 companies failed the fundamentals gate")
    assert "CIK 0000000042: fundamentals partition failed" in message
    assert "expect_column_values_to_match_regex(accn)" in message
    assert "expect_compound_columns_to_be_unique" in message
    assert APPLE not in message and ALPHABET not in message
    # the two good companies are published, the subsequent-event fact kept with a warning
    assert sorted(store.list("data/raw/fundamental")) == [
        keys.fundamentals(APPLE),
        keys.fundamentals(ALPHABET),
    ]
    alphabet = store.read_table(keys.fundamentals(ALPHABET))
    kept = alphabet.filter(pc.equal(alphabet.column("tag"), "ProceedsFromIssuanceOfWarrants"))
    assert kept.num_rows == 1 and kept.column("end")[0].as_py() > kept.column("filed")[0].as_py()
    result = failed.value.result
    assert list(result.rejected) == ["0000000042"]
    assert list(result.warnings) == [ALPHABET]
    assert "(filed >= end): 1 of" in result.warnings[ALPHABET][0]
    assert (result.entities, result.files_written) == (2, 2)
    # the broken company sits in quarantine beside its validation result
    quarantined = store.list("data/quarantine/bulk-one-broken")
    assert sorted(k.rsplit("/", 1)[-1] for k in quarantined) == [
        "bulk-cik0000000042.parquet",
        "bulk-cik0000000042.parquet.validation.json",
    ]
    # the run's record names it too
    summary = fundamentals.record_run(store, DAY, "bulk-one-broken", planned=["bulk"], ciks=None)
    assert summary["failed_partitions"] == ["bulk"]
    assert list(summary["rejected"]) == ["0000000042"]
    assert summary["companies"] == 2 and list(summary["warnings"]) == [ALPHABET]
    assert LakeStore().read_json(keys.FUNDAMENTALS_STATE) is None  # the watermark stays


def test_a_file_that_is_not_the_archive_is_refused(tmp_path):
    not_zip = tmp_path / "companyfacts.zip"
    not_zip.write_text("<html>maintenance</html>")
    with pytest.raises(ArchiveError, match="not a readable zip archive"):
        list(iter_companyfacts(not_zip))


def test_the_cli_backfills_a_list_of_companies_and_advances_their_watermark(
    local_env, archive, monkeypatch
):
    monkeypatch.setenv("SEC_USER_AGENT", "equity-lake tests tests@example.com")
    summary = cli.run(
        [
            "ingest",
            "fundamentals",
            "--bulk",
            "--archive",
            str(archive),
            "--ciks",
            "320193,1",
            "--date",
            DAY.isoformat(),
        ]
    )
    assert (summary["companies"], summary["missing"]) == (1, ["0000000001"])
    state = LakeStore().read_json(keys.FUNDAMENTALS_STATE)
    # only what was stored is covered: the company the archive lacks stays due
    assert state["ciks"] == {APPLE: DAY.isoformat()}
    assert state["pending"] == {"0000000001": DAY.isoformat()}
    assert state["all"] is None
