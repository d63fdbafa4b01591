"""The backfill from companyfacts.zip: streamed entry by entry, gated and merged in batches."""

import datetime as dt
import zipfile

import pytest

from equity_lake import cli
from equity_lake.datasets import fundamentals
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


def test_the_backfill_publishes_every_company_in_bounded_batches(local_env, archive):
    store = LakeStore()
    result = fundamentals.backfill(store, archive, DAY, run_id="bulk-test", batch_rows=30_000)
    assert (result.companies, result.files_written) == (3, 3)
    for cik in (APPLE, ALPHABET, SNOWFLAKE):
        assert (
            store.read_table(keys.fundamentals(cik)).num_rows == known_by(facts(cik), DAY).num_rows
        )
    # Apple + Alphabet passed 30,000 facts and went out together; Snowflake on its own
    results = store.list(keys.quality_results_prefix("fundamentals"))
    assert [r.rsplit("/", 1)[-1] for r in results] == ["bulk-0001.json", "bulk-0002.json"]
    again = fundamentals.backfill(store, archive, DAY, run_id="bulk-again")
    assert (again.companies, again.files_written, again.files_unchanged) == (3, 0, 3)


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
    assert state["ciks"] == {APPLE: DAY.isoformat(), "0000000001": DAY.isoformat()}
    assert state["all"] is None
