"""The no-WRDS master: real Nasdaq Trader directories (2014, 2016, 2025) + SEC's ticker map,
served over HTTP by a local server, applied one after another to the lake's master."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from equity_lake import cli, master, master_build, master_diff
from equity_lake.lake import keys
from equity_lake.lake.store import LakeStore
from equity_lake.sources import nasdaq, sec_tickers
from standins.files import FileServer
from tests.conftest import FIXTURES

DIRECTORY = FIXTURES / "nasdaqtrader"
TICKERS = FIXTURES / "sec" / "tickers" / "company_tickers_exchange.json"
DAYS = ("2014-10-10", "2016-08-15", "2025-07-21")
AGENT = "Equity Lake Tests ops@example.com"


@pytest.fixture(scope="module")
def server():
    with FileServer() as srv:
        for day in DAYS:
            for name in nasdaq.FILES:
                srv.add(f"/SymDir/{day}/{name}", DIRECTORY / day / name)
        srv.add("/files/company_tickers_exchange.json", TICKERS)
        yield srv


def point_at(monkeypatch, server, day: str) -> None:
    monkeypatch.setenv("NASDAQ_TRADER_URL", f"{server.url}/SymDir/{day}/")
    monkeypatch.setenv("SEC_TICKERS_URL", f"{server.url}/files/company_tickers_exchange.json")
    monkeypatch.setenv("SEC_USER_AGENT", AGENT)


def build(monkeypatch, server, day: str) -> dict:
    point_at(monkeypatch, server, day)
    return cli.run(["master", "build", "--source", "sec"])


def actions_of(store: LakeStore, sid: int) -> list[dict]:
    table = store.read_table(keys.corporate_actions(sid))
    return [] if table is None else table.to_pylist()


D = dt.date


def test_the_master_follows_the_directory_from_2014_to_2025(monkeypatch, server, local_env):
    store = LakeStore()
    first = build(monkeypatch, server, "2014-10-10")
    assert first["snapshot"] == "2014-10-10" and first["securities"] == 8_142
    assert first["listings"] == 8_142 and first["corporate_action_files"] == 0
    sm = master.SecurityMaster.load(store)
    day0 = D(2014, 10, 10)
    ids = {s: sm.security_for_symbol(s, day0) for s in ("AAPL", "ZMH", "DTV", "BRK.B", "GPS")}
    assert all(i is not None and i > master_diff.SEC_ID_BASE for i in ids.values())
    row = sm.symbol_history(ids["BRK.B"]).to_pylist()[0]
    assert (row["cik"], row["start_date"], row["source"]) == ("0001067983", day0, "sec")
    assert row["company"] == "BERKSHIRE HATHAWAY INC"  # SEC's name where the CIK matched
    assert set(sm.table["start_date"].to_pylist()) == {day0}
    assert {r.user_agent for r in server.requests if r.path.startswith("/files")} == {AGENT}
    # audited before it was published; the validation result is filed under the snapshot's day
    assert store.read_json(keys.quality_result("security-master", day0, "sec"))["success"]

    second = build(monkeypatch, server, "2016-08-15")
    day1, before1 = D(2016, 8, 15), D(2016, 8, 12)  # the session before the snapshot
    assert second["renames"] >= 30 and second["delistings"] > 1_000 and second["listings"] > 1_000
    sm = master.SecurityMaster.load(store)
    # renames keep the security: Zimmer -> Zimmer Biomet, IAC, ON Semiconductor, ...
    for old, new in [("ZMH", "ZBH"), ("IACI", "IAC"), ("ONNN", "ON"), ("NVTL", "MIFI")]:
        sid = sm.security_for_symbol(old, before1)
        assert sid is not None and sm.security_for_symbol(new, day1) == sid, (old, new)
        assert sm.security_for_symbol(old, day1) is None
    zmh = ids["ZMH"]
    assert [
        (a["action"], a["ex_date"], a["old_symbol"], a["new_symbol"])
        for a in actions_of(store, zmh)
    ] == [("symbol_change", day1, "ZMH", "ZBH")]
    # DirecTV (acquired 2015) is delisted, on the last session it was known to be listed
    dtv = sm.symbol_history(ids["DTV"]).to_pylist()
    assert [(r["symbol"], r["end_date"]) for r in dtv] == [("DTV", before1)]
    assert [a["action"] for a in actions_of(store, ids["DTV"])] == ["delisting"]
    assert ids["DTV"] not in sm.active_on(day1)["security_id"].to_pylist()
    # IPOs between the snapshots are new securities with new ids
    for ipo in ("FIT", "SHOP", "PYPL"):
        sid = sm.security_for_symbol(ipo, day1)
        assert sid is not None and sid > max(ids.values()), ipo
        assert sm.symbol_history(sid)["start_date"].to_pylist() == [day1]
        assert [a["action"] for a in actions_of(store, sid)] == ["listing"]
    assert sm.security_for_symbol("AAPL", day1) == ids["AAPL"]
    assert len(sm.symbol_history(ids["AAPL"])) == 1

    again = build(monkeypatch, server, "2016-08-15")  # the same snapshot again: no change
    assert again["master_written"] is False and again["corporate_action_files_written"] == 0
    assert again["renames"] == again["listings"] == again["delistings"] == 0

    # an older snapshot cannot rewrite history
    snapshot = store.read_bytes(keys.SECURITY_MASTER)
    point_at(monkeypatch, server, "2014-10-10")
    with pytest.raises(master_diff.MasterDiffError, match="applied in date order"):
        cli.run(["master", "build", "--source", "sec"])
    assert store.read_bytes(keys.SECURITY_MASTER) == snapshot

    # nine years on (applied in memory: writing ~11,000 action files adds nothing here)
    latest = nasdaq.snapshot(str(DIRECTORY / "2025-07-21"))
    tickers = sec_tickers.fetch(str(TICKERS)).table
    diff = master_diff.apply(sm.table, master_diff.listed(latest.listings, tickers, latest.day))
    master_build.check(diff.master)
    sm = master.SecurityMaster(diff.master)
    day2, before2 = D(2025, 7, 21), D(2025, 7, 18)
    for old, new in [("GPS", "GAP"), ("SNE", "SONY"), ("TCK", "TECK"), ("PJC", "PIPR")]:
        sid = sm.security_for_symbol(old, before2)
        assert sid is not None and sm.security_for_symbol(new, day2) == sid, (old, new)
        assert (old, new) in diff.renames
    assert sm.security_for_symbol("GAP", day2) == ids["GPS"]  # an id from the 2014 build
    linkedin = sm.security_for_symbol("LNKD", before2)  # acquired by Microsoft in 2016
    assert linkedin is not None and sm.security_for_symbol("LNKD", day2) is None
    assert "LNKD" in diff.delistings
    assert sm.security_for_symbol("AAPL", day2) == ids["AAPL"]
    all_ids = sm.table["security_id"].to_pylist()
    assert len(set(all_ids)) == max(all_ids) - master_diff.SEC_ID_BASE  # none skipped/reused
    events = {(a["action"], a["old_symbol"], a["new_symbol"]) for a in diff.actions.to_pylist()}
    assert ("symbol_change", "GPS", "GAP") in events and ("delisting", "LNKD", None) in events


def next_day(text: str, replace: dict[str, str]) -> str:
    """The real 2025-07-21 file as the next day's: a new creation time and edited rows."""
    lines = text.splitlines()
    lines[-1] = lines[-1].replace("0721202521:31", "0722202521:31")
    out = []
    for line in lines:
        symbol = line.split("|", 1)[0]
        out.append(replace.get(symbol, line))
    return "\n".join(line for line in out if line) + "\n"


def test_a_same_day_rename_is_linked_by_cik(monkeypatch, server, local_env):
    """Meta renames itself and its ticker overnight (the names share no word): only the CIK,
    in both days' SEC maps, links the two listings."""
    store = LakeStore()
    build(monkeypatch, server, "2025-07-21")
    sid = master.SecurityMaster.load(store).security_for_symbol("META", D(2025, 7, 21))
    day = "2025-07-22"
    nasdaq_txt = (DIRECTORY / "2025-07-21" / "nasdaqlisted.txt").read_text()
    renamed = "ZUCK|Zuckerberg Metaverse Corp. - Class A Common Stock|Q|N|N|100|N|N"
    server.add(f"/SymDir/{day}/nasdaqlisted.txt", next_day(nasdaq_txt, {"META": renamed}).encode())
    other = (DIRECTORY / "2025-07-21" / "otherlisted.txt").read_text()
    server.add(f"/SymDir/{day}/otherlisted.txt", next_day(other, {}).encode())
    tickers = TICKERS.read_text().replace(
        '"Meta Platforms, Inc.","META"', '"ZUCKERBERG METAVERSE CORP","ZUCK"'
    )
    assert tickers != TICKERS.read_text()
    server.add("/files/company_tickers_exchange.json", tickers.encode())
    try:
        result = build(monkeypatch, server, day)
    finally:
        server.add("/files/company_tickers_exchange.json", TICKERS)
    assert (result["renames"], result["listings"], result["delistings"]) == (1, 0, 0)
    sm = master.SecurityMaster.load(store)
    assert sm.security_for_symbol("ZUCK", D(2025, 7, 22)) == sid
    history = sm.symbol_history(sid).to_pylist()
    assert [(r["symbol"], r["start_date"], r["end_date"]) for r in history] == [
        ("META", D(2025, 7, 21), D(2025, 7, 21)),
        ("ZUCK", D(2025, 7, 22), None),
    ]
    assert history[0]["cik"] == history[1]["cik"] == "0001326801"


def test_a_master_of_another_source_is_not_continued(monkeypatch, server, local_env):
    store = LakeStore()
    sample = master_build.build("sample").master.slice(0, 50)
    store.write_table(keys.SECURITY_MASTER, sample)
    point_at(monkeypatch, server, "2014-10-10")
    with pytest.raises(master_diff.MasterDiffError, match="built from sample"):
        cli.run(["master", "build", "--source", "sec"])
    assert store.read_table(keys.SECURITY_MASTER).equals(sample)


def test_a_missing_user_agent_is_a_one_line_error(monkeypatch, server, local_env, capsys):
    point_at(monkeypatch, server, "2014-10-10")
    monkeypatch.delenv("SEC_USER_AGENT")
    # a missing setting is bad input: exit 2, no retry (DESIGN section 2)
    assert cli.main(["master", "build", "--source", "sec"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert "SEC_USER_AGENT is not set" in err and "\n" not in err
    assert not LakeStore().exists(keys.SECURITY_MASTER)


def test_names_agree_for_one_issuer_and_not_for_a_reused_ticker():
    assert master_diff.names_agree("GOODYEAR TIRE & RUBBER CO /OH/", "The Goodyear Tire & Rubber")
    assert master_diff.names_agree("BERKLEY W R CORP", "W.R. Berkley Corporation")
    assert master_diff.names_agree("Alphabet Inc.", "Alphabet")
    assert not master_diff.names_agree("CalAmp Corp.", "CAMP4 Therapeutics Corporation")
    assert not master_diff.names_agree("Cambium Learning Group", "Cambium Networks Corp")
    assert master_diff.issuer_name("Apple Inc. - Common Stock") == "Apple Inc."
    assert master_diff.issuer_name("Agilent Technologies, Inc. Common Stock") == (
        "Agilent Technologies, Inc."
    )


def test_ciks_are_lent_only_when_the_names_agree():
    snapshot = nasdaq.snapshot(str(DIRECTORY / "2025-07-21"))
    tickers = sec_tickers.fetch(str(TICKERS)).table
    now = master_diff.listed(snapshot.listings, tickers, snapshot.day)
    rows = {r["symbol"]: r for r in now.table.to_pylist()}
    assert rows["AAPL"]["cik"] == "0000320193" and rows["AAPL"]["company"] == "Apple Inc."
    # in the 2023 SEC map CAMP is CalAmp; in 2025 the ticker is CAMP4 Therapeutics'
    assert rows["CAMP"]["cik"] is None and rows["CAMP"]["company"].startswith("CAMP4")
    assert now.cik_refused > 0 and now.cik_matches > 5_000
    assert pa.compute.sum(pa.compute.is_valid(now.table["cik"])).as_py() == now.cik_matches
