"""The EDGAR client against the local EDGAR stand-in serving the real fixtures."""

import datetime as dt
import json
import tempfile
import threading
import zipfile

import httpx
import pytest

from equity_lake.sources.http import NotFound, SourceError
from equity_lake.sources.sec import (
    SecClient,
    SecConfigError,
    SecSettings,
    filings_from_submissions,
    fundamental_filings,
    parse_daily_index,
)
from tests.fundamentals.conftest import APPLE, SEC, USER_AGENT, standin  # noqa: F401 - fixture

APPLE_FACTS = f"/api/xbrl/companyfacts/CIK{APPLE}.json"


def settings(**env):
    return SecSettings.from_env({"SEC_USER_AGENT": USER_AGENT, **env})


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SEC_USER_AGENT": ""}, "requires a User-Agent naming you and a contact e-mail"),
        ({"SEC_USER_AGENT": "python-httpx/0.28"}, "got 'python-httpx/0.28'"),
        ({"SEC_MAX_RPS": "25"}, r"SEC_MAX_RPS must be in \(0, 10\], got 25"),
        ({"SEC_RATE_SHARERS": "0"}, "SEC_RATE_SHARERS must be >= 1"),
        ({"SEC_DATA_URL": "data.sec.gov"}, "SEC_DATA_URL must be an http"),
    ],
)
def test_settings_refuse_what_the_sec_would_refuse(env, message):
    with pytest.raises(SecConfigError, match=message):
        settings(**env)


def test_the_rate_is_the_sec_limit_shared_by_the_pools_tasks():
    assert settings().requests_per_second == 10
    assert settings(SEC_RATE_SHARERS="4").requests_per_second == 2.5
    assert settings(SEC_MAX_RPS="5", SEC_RATE_SHARERS="2").requests_per_second == 2.5


def test_submissions_list_the_recent_filings_and_the_fundamental_ones_are_picked():
    doc = json.loads((SEC / "submissions" / f"CIK{APPLE}.json").read_bytes())
    filings = filings_from_submissions(doc)
    assert len(filings) == 1005
    picked = fundamental_filings(filings, dt.date(2024, 10, 1), dt.date(2024, 11, 30))
    assert [(f.form, f.filed, f.accn) for f in picked] == [
        ("10-K", dt.date(2024, 11, 1), "0000320193-24-000123")
    ]


def test_the_daily_index_is_read_from_both_ends_of_each_line():
    text = (
        "Description:           Daily Index of EDGAR Dissemination Feed by CIK\n"
        "Last Data Received:    November 1, 2024\n \n"
        "CIK|Company Name|Form Type|Date Filed|File Name\n"
        "--------------------------------------------------------------------------------\n"
        "320193|Apple Inc.|10-K|20241101|edgar/data/320193/0000320193-24-000123.txt\n"
        "1000045|A|B PARTNERS, L.P.|10-Q|2024-11-01|edgar/data/1000045/0000950170-24-121213.txt\n"
    )
    rows = parse_daily_index(text)
    assert [(r.cik, r.form, r.filed, r.accn) for r in rows] == [
        (APPLE, "10-K", dt.date(2024, 11, 1), "0000320193-24-000123"),
        ("0001000045", "10-Q", dt.date(2024, 11, 1), "0000950170-24-121213"),
    ]
    with pytest.raises(SourceError, match="not an EDGAR index"):
        parse_daily_index("<html>Service Unavailable</html>")
    with pytest.raises(SourceError, match="line 4: expected 5 fields"):
        parse_daily_index("---\n320193|Apple Inc.|10-K\n".replace("---", "-----\n\n"))


@pytest.fixture
def client(standin):  # noqa: F811 - the fixture imported above
    with SecClient() as sec:
        yield sec


def test_documents_come_back_as_edgar_sent_them_with_our_user_agent(client, standin):  # noqa: F811
    facts = client.companyfacts("320193")
    assert facts["entityName"] == "Apple Inc." and "us-gaap" in facts["facts"]
    assert client.submissions(APPLE)["fiscalYearEnd"] == "0926"
    assert {r.user_agent for r in standin.requests} == {USER_AGENT}


def test_a_cik_edgar_does_not_know_is_not_found_with_edgars_404_body(client, standin):  # noqa: F811
    with pytest.raises(NotFound, match="CIK0000000001.json: HTTP 404"):
        client.companyfacts(1)
    raw = httpx.get(f"{standin.url}/submissions/CIK0000000001.json", headers={"User-Agent": "x"})
    assert raw.status_code == 404 and raw.headers["content-type"] == "application/xml"
    assert "<Code>NoSuchKey</Code>" in raw.text and "submissions/CIK0000000001.json" in raw.text


def test_an_undeclared_tool_is_turned_away_as_edgar_does(standin):  # noqa: F811
    response = httpx.get(f"{standin.url}{APPLE_FACTS}", headers={"User-Agent": ""})
    assert response.status_code == 403 and "Undeclared Automated Tool" in response.text


def test_429_5xx_and_truncated_bodies_are_retried(client, standin):  # noqa: F811
    standin.fail(APPLE_FACTS, 429, 500, "truncate", 502)
    assert client.companyfacts(APPLE)["cik"] == 320193
    assert [r.status for r in standin.requests] == [429, 500, 200, 502, 200]


def test_a_timeout_is_retried(standin, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SEC_TIMEOUT_SECONDS", "0.3")
    standin.stall_seconds = 1.0
    standin.fail(APPLE_FACTS, "stall")
    with SecClient() as sec:
        assert sec.companyfacts(APPLE)["cik"] == 320193
    assert len([p for p in standin.paths() if p == APPLE_FACTS]) == 2


def test_a_server_that_keeps_failing_fails_with_one_line_naming_the_url(client, standin):  # noqa: F811
    standin.fail(APPLE_FACTS, *[503] * 5)
    with pytest.raises(SourceError, match=r"CIK0000320193.json failed after 5 attempts: HTTP 503"):
        client.companyfacts(APPLE)


def test_the_daily_index_of_a_day_without_filings_is_empty(client):
    assert client.daily_index(dt.date(2024, 11, 2)) == []  # a Saturday: EDGAR has no index
    friday = client.daily_index(dt.date(2024, 11, 1))
    assert ("0000320193-24-000123", "10-K") in {(f.accn, f.form) for f in friday}


def test_the_bulk_archive_is_streamed_to_disk_and_a_cut_transfer_restarts(client, standin):  # noqa: F811
    standin.fail("/Archives/edgar/daily-index/xbrl/companyfacts.zip", "truncate")
    with tempfile.TemporaryFile() as sink:
        size = client.download_companyfacts_archive(sink)
        sink.seek(0)
        with zipfile.ZipFile(sink) as zf:
            names = zf.namelist()
            assert sink.seek(0, 2) == size
    assert f"CIK{APPLE}.json" in names and len(names) == 5


def test_tasks_sharing_the_limit_stay_under_ten_requests_per_second(standin, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SEC_RATE_SHARERS", "2")
    clients = [SecClient(), SecClient()]

    def fetch(sec):
        for _ in range(8):
            sec.submissions(APPLE)

    threads = [threading.Thread(target=fetch, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps = sorted(r.at for r in standin.requests)
    assert len(stamps) == 16
    # two token buckets of 5/s: at most 10 per second plus each bucket's one-request burst
    assert len(stamps) - len(clients) <= 10 * (stamps[-1] - stamps[0] + 0.05)
    for start in stamps:
        assert sum(start <= s < start + 1.0 for s in stamps) <= 10 + len(clients)
