"""Nasdaq Trader's symbol directory: real files of 2014, 2016 and 2025, local and over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from equity_lake.sources import nasdaq, sec_tickers
from equity_lake.sources.http import SourceError
from standins.files import FileServer
from tests.conftest import FIXTURES

DIRECTORY = FIXTURES / "nasdaqtrader"
TICKERS = FIXTURES / "sec" / "tickers"


@pytest.fixture(scope="module")
def snapshots():
    return {d.name: nasdaq.snapshot(str(d)) for d in sorted(DIRECTORY.iterdir())}


def by_symbol(snapshot):
    return {r["symbol"]: r for r in snapshot.listings.to_pylist()}


def test_2025_layout_counts_etfs_and_test_issues(snapshots):
    snap = snapshots["2025-07-21"]
    assert snap.created == dt.datetime(2025, 7, 21, 21, 31) and snap.day == dt.date(2025, 7, 21)
    # SOURCES.md: 4,973 Nasdaq rows with 8 test issues, 6,606 others with 25
    assert snap.listings.num_rows == (4_973 - 8) + (6_606 - 25)
    assert snap.test_issues == 33
    rows = by_symbol(snap)
    assert "ZXZZT" not in rows and "ZXYZ.A" not in rows and "ZXIET" not in rows
    assert rows["ZZZ"]["is_etf"] is True and rows["ZZZ"]["exchange"] == "NASDAQ"
    assert rows["AAPL"]["is_etf"] is False
    assert rows["BRK.B"]["exchange"] == "NYSE" and rows["BRK.B"]["file_symbol"] == "BRK.B"
    assert rows["JPM-PD"]["file_symbol"] == "JPMpD"
    assert rows["AACT.WS"]["file_symbol"] == "AACT.WS"
    assert rows["BRKC"]["exchange"] == "NYSE Arca" and rows["BRKC"]["is_etf"] is True


def test_2016_footer_with_fewer_pipes_is_read(snapshots):
    snap = snapshots["2016-08-15"]
    assert snap.created == dt.datetime(2016, 8, 15, 21, 32)
    assert snap.listings.num_rows > 8_000
    assert by_symbol(snap)["AAL"]["exchange"] == "NASDAQ"


def test_2014_six_column_layout_has_no_etf_flag_for_nasdaq(snapshots):
    snap = snapshots["2014-10-10"]
    rows = by_symbol(snap)
    assert rows["AAIT"]["exchange"] == "NASDAQ" and rows["AAIT"]["is_etf"] is None
    assert rows["BRK.B"]["file_symbol"] == "BRK/B"  # CQS spelled classes with a slash then
    assert rows["BAC.WSA"]["file_symbol"] == "BAC/WS/A"
    assert rows["A"]["is_etf"] is False  # otherlisted.txt always had the ETF column


def texts(day: str) -> dict[str, str]:
    return {name: (DIRECTORY / day / name).read_bytes().decode() for name in nasdaq.FILES}


def test_a_truncated_file_is_refused():
    broken = texts("2025-07-21")
    lines = broken["otherlisted.txt"].splitlines()
    broken["otherlisted.txt"] = "\n".join(lines[: len(lines) // 2])
    with pytest.raises(nasdaq.DirectoryError, match="otherlisted.txt has no 'File Creation"):
        nasdaq.parse(broken)


def test_a_short_row_is_refused_naming_its_line():
    broken = texts("2016-08-15")
    lines = broken["nasdaqlisted.txt"].split("\r\n")
    lines[4] = "|".join(lines[4].split("|")[:5])
    broken["nasdaqlisted.txt"] = "\r\n".join(lines)
    with pytest.raises(nasdaq.DirectoryError, match="nasdaqlisted.txt line 5: 5 fields"):
        nasdaq.parse(broken)


def test_files_of_different_days_are_refused():
    mixed = {"nasdaqlisted.txt": texts("2014-10-10")["nasdaqlisted.txt"]}
    mixed["otherlisted.txt"] = texts("2016-08-15")["otherlisted.txt"]
    with pytest.raises(nasdaq.DirectoryError, match="written on different days"):
        nasdaq.parse(mixed)


def test_a_file_url_and_a_missing_folder(tmp_path):
    snap = nasdaq.snapshot((DIRECTORY / "2016-08-15").as_uri())
    assert snap.day == dt.date(2016, 8, 15)
    with pytest.raises(nasdaq.DirectoryError, match="cannot read .*nasdaqlisted.txt"):
        nasdaq.snapshot(str(tmp_path))


def test_over_http_with_an_outage_and_a_cut_transfer(monkeypatch):
    with FileServer() as server:
        for name in nasdaq.FILES:
            server.add(f"/dynamic/SymDir/{name}", DIRECTORY / "2025-07-21" / name)
        server.fail("/dynamic/SymDir/nasdaqlisted.txt", "503", "truncate")
        monkeypatch.setenv("NASDAQ_TRADER_URL", f"{server.url}/dynamic/SymDir")
        snap = nasdaq.snapshot()
        assert snap.listings.num_rows == 11_546
        paths = server.paths()
        assert paths.count("/dynamic/SymDir/nasdaqlisted.txt") == 3
        monkeypatch.setenv("NASDAQ_TRADER_URL", f"{server.url}/elsewhere/")
        with pytest.raises(SourceError, match=r"/elsewhere/nasdaqlisted.txt: HTTP 404"):
            nasdaq.snapshot()


def test_sec_tickers_over_http_send_the_user_agent(monkeypatch):
    with FileServer() as server:
        server.add(
            "/files/company_tickers_exchange.json", TICKERS / "company_tickers_exchange.json"
        )
        server.fail("/files/company_tickers_exchange.json", "500")
        monkeypatch.setenv("SEC_TICKERS_URL", f"{server.url}/files/company_tickers_exchange.json")
        monkeypatch.delenv("SEC_USER_AGENT", raising=False)
        with pytest.raises(sec_tickers.TickerFileError, match="SEC_USER_AGENT is not set"):
            sec_tickers.fetch()
        assert server.requests == []
        monkeypatch.setenv("SEC_USER_AGENT", "Equity Lake Tests ops@example.com")
        result = sec_tickers.fetch()
        assert result.table.num_rows == 9_441 and result.skipped == []
        assert {r.user_agent for r in server.requests} == {"Equity Lake Tests ops@example.com"}
        rows = {r["symbol"]: r for r in result.table.to_pylist()}
        assert rows["BRK.B"]["cik"] == "0001067983" and rows["JPM-PD"]["cik"] == "0000019617"


def test_sec_ticker_file_in_an_unknown_shape():
    with pytest.raises(sec_tickers.TickerFileError, match="list without 'fields'"):
        sec_tickers.parse([1, 2, 3])
    older = sec_tickers.fetch(str(TICKERS / "company_tickers.json"))
    assert older.table.num_rows == 9_609 and older.skipped == ["CELG-RI"]
