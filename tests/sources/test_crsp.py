"""The crsp source against a real PostgreSQL server through the real ``wrds.Connection``."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from equity_lake import master, master_build
from equity_lake.lake import keys
from equity_lake.lake.schemas import DAILY_TICKS, SECURITY_MASTER, with_optional_columns
from equity_lake.lake.store import LakeStore
from equity_lake.sources import crsp
from tests import crsp_db

FORMATS = [("ciz", "crsp"), ("siz", "crsp")]


@pytest.fixture
def wrds_env(crsp_pg, monkeypatch):
    for name, value in crsp_pg.env.items():
        monkeypatch.setenv(name, value)
    for name in ("CRSP_FORMAT", "CRSP_LIBRARY"):
        monkeypatch.delenv(name, raising=False)
    return crsp_pg


def use(monkeypatch, fmt: str, library: str = "crsp") -> None:
    monkeypatch.setenv("CRSP_FORMAT", fmt)
    monkeypatch.setenv("CRSP_LIBRARY", library)


def sid(permno: int) -> int:
    return crsp.security_id_for(permno)


@pytest.mark.parametrize(
    "fmt, library, resolved",
    [("auto", "crsp", "ciz"), ("siz", "crsp", "siz"), ("auto", "crsp_legacy", "siz")],
)
def test_the_table_generation_is_chosen_by_setting_or_by_what_the_account_sees(
    wrds_env, monkeypatch, fmt, library, resolved
):
    use(monkeypatch, fmt, library)
    with crsp.CrspClient() as client:
        assert client.format == resolved
        # the real wrds.Connection ran the query (a password with : @ / % in it)
        assert type(client.db).__module__ == "wrds.sql"


@pytest.fixture(scope="module", params=FORMATS, ids=[f for f, _ in FORMATS])
def built(request, crsp_pg):
    fmt, library = request.param
    settings = crsp.Settings(
        host=crsp_pg.env["WRDS_HOST"],
        port=int(crsp_pg.env["WRDS_PORT"]),
        dbname=crsp_pg.env["WRDS_DB"],
        username=crsp_pg.env["WRDS_USERNAME"],
        password=crsp_pg.env["WRDS_PASSWORD"],
        sslmode="disable",
        library=library,
        format=fmt,
    )
    with crsp.CrspClient(settings) as client:
        return settings, crsp.build_master(client)


def test_master_from_crsp_names_keeps_permno_identity(built):
    _, result = built
    table = result.master
    master_build.check(table)
    assert table.schema.equals(SECURITY_MASTER)
    rows = table.to_pylist()
    assert all(r["security_id"] == sid(r["permno"]) and r["source"] == "crsp" for r in rows)
    sm = master.SecurityMaster(table)
    # a ticker change keeps the security; the old ticker belonged to another company before
    assert sm.security_for_symbol("LRKS", crsp_db.D(2014, 6, 4)) == sid(90002)
    assert sm.security_for_symbol("LRKH", crsp_db.RENAME_DAY) == sid(90002)
    assert sm.security_for_symbol("LRKS", crsp_db.RENAME_DAY) is None
    assert sm.security_for_symbol("LRKS", crsp_db.D(2000, 1, 3)) == sid(90006)
    # two share classes of one company, both CRSP ticker BRK, before and after CRSP kept
    # a trading symbol for them
    for day in (crsp_db.D(1999, 6, 1), crsp_db.D(2014, 6, 2)):
        assert sm.security_for_symbol("BRK.A", day) == sid(17778)
        assert sm.security_for_symbol("BRK.B", day) == sid(83443)
    assert sm.symbol_history(sid(17778)).num_rows == 1  # one period, not one per name row
    # the delisted security trades on its last day, not after
    cvnm = [r for r in rows if r["permno"] == 90003]
    assert [(r["symbol"], r["end_date"]) for r in cvnm] == [("CVNM", crsp_db.DELIST_DAY)]
    active_after = sm.active_on(crsp_db.D(2014, 6, 11)).column("security_id").to_pylist()
    assert sid(90003) not in active_after and sid(90002) in active_after
    etfs = {r["symbol"] for r in rows if r["is_etf"]}
    assert etfs == {"TMKT"}
    still = {r["symbol"] for r in rows if r["end_date"] is None}
    assert still == {"AAPL", "MSFT", "BRK.A", "BRK.B", "QFBC", "LRKH", "ZEN", "TMKT"}


def test_corporate_actions_from_distributions_delistings_and_names(built):
    _, result = built
    actions = {(r["security_id"], r["ex_date"], r["action"]): r for r in result.actions.to_pylist()}
    split = actions[(sid(14593), crsp_db.SPLIT_DAY, "split")]
    assert split["ratio"] == pytest.approx(7.0)  # facpr 6: 7 new shares per old one
    reverse = actions[(sid(90001), crsp_db.D(2012, 3, 1), "split")]
    assert reverse["ratio"] == pytest.approx(0.25)
    assert actions[(sid(14593), crsp_db.D(2014, 5, 8), "dividend")]["amount"] == 3.29
    delisting = actions[(sid(90003), crsp_db.DELIST_DAY, "delisting")]
    assert delisting["ratio"] == pytest.approx(0.65)  # delisting return -0.35
    assert delisting["amount"] == pytest.approx(0.52)
    assert delisting["old_symbol"] == "CVNM"
    change = actions[(sid(90002), crsp_db.RENAME_DAY, "symbol_change")]
    assert (change["old_symbol"], change["new_symbol"]) == ("LRKS", "LRKH")
    merged = actions[(sid(90006), crsp_db.D(2003, 6, 30), "delisting")]
    assert merged["ratio"] == pytest.approx(1.12) and merged["amount"] == 18.5
    # no delisting for securities CRSP still lists (SIZ code 100)
    assert not [k for k in actions if k[2] == "delisting" and k[0] == sid(14593)]


@pytest.mark.parametrize("fmt, library", FORMATS)
def test_daily_bars_are_raw_consistent_and_match_the_rows(wrds_env, monkeypatch, fmt, library):
    use(monkeypatch, fmt, library)
    source = crsp.CrspDailySource()
    inputs = crsp_db.daily_rows()
    with crsp.CrspClient() as client:
        sm = master.SecurityMaster(crsp.build_master(client).master)
    for day in crsp_db.SESSIONS:
        universe = sm.active_on(day)
        bars = source.daily_bars(day, universe)
        assert bars.schema.equals(DAILY_TICKS)
        got = {r["security_id"]: r for r in bars.to_pylist()}
        symbol_of = dict(
            zip(universe["security_id"].to_pylist(), universe["symbol"].to_pylist(), strict=True)
        )
        want = {}
        for d in inputs:
            bar = crsp_db.expected_bar(d)
            if d.day == day and bar is not None and sid(d.permno) in symbol_of:
                want[sid(d.permno)] = bar
        assert set(got) == set(want), day
        for key, bar in want.items():
            row = got[key]
            assert {k: row[k] for k in bar} == pytest.approx(bar), (day, key)
            assert row["timestamp"] == day
            assert row["low"] <= min(row["open"], row["close"]) <= row["high"]
            assert row["symbol"] == symbol_of[key]
    # spot checks against the documented conventions
    aapl = {d.day: d for d in inputs if d.permno == 14593}
    assert aapl[crsp_db.SPLIT_DAY].close == 93.7  # raw: 645.57 the session before
    quote = source.daily_bars(crsp_db.D(2014, 6, 4), sm.active_on(crsp_db.D(2014, 6, 4)))
    qfbc = [r for r in quote.to_pylist() if r["security_id"] == sid(90001)][0]
    assert qfbc["close"] == 12.60 > 0  # prc -12.60: the bid/ask average, sign dropped
    assert qfbc["open"] == qfbc["high"] == qfbc["low"] == 12.60  # ask 12.70/bid 12.50 unused
    assert qfbc["volume"] == 0


def test_queries_are_chunked_by_permno(wrds_env, monkeypatch):
    use(monkeypatch, "ciz")
    monkeypatch.setattr(crsp, "QUERY_CHUNK", 3)
    day = crsp_db.D(2014, 6, 9)
    ids = [sid(p) for p in (10107, 14593, 17778, 83443, 90001, 90002, 90003, 90004)]
    universe = pa.table({"security_id": ids, "symbol": [f"S{i}" for i in range(len(ids))]})
    before = wrds_env.server.log_text().count('FROM "crsp"."dsf_v2"')
    bars = crsp.CrspDailySource().daily_bars(day, universe)
    after = wrds_env.server.log_text().count('FROM "crsp"."dsf_v2"')
    assert after - before == 3  # 8 PERMNOs, 3 per query
    assert sorted(bars["security_id"].to_pylist()) == sorted(ids)


def test_a_day_after_the_data_ends_is_explained(wrds_env, monkeypatch):
    use(monkeypatch, "siz")
    universe = pa.table({"security_id": [sid(14593)], "symbol": ["AAPL"]})
    with pytest.raises(crsp.CrspError, match=r"no daily rows on 2014-06-16.*2014-06-13"):
        crsp.CrspDailySource().daily_bars(crsp_db.D(2014, 6, 16), universe)


def test_securities_of_another_master_are_refused(wrds_env):
    universe = pa.table({"security_id": [100_123], "symbol": ["AAA"]})
    with pytest.raises(crsp.CrspError, match=r"not CRSP securities.*master build --source crsp"):
        crsp.CrspDailySource().daily_bars(crsp_db.D(2014, 6, 9), universe)


def test_bad_credentials_fail_in_one_line_without_prompting(wrds_env, monkeypatch):
    def no_prompt(*_args):
        raise AssertionError("the crsp source must never prompt")

    monkeypatch.setattr("builtins.input", no_prompt)
    monkeypatch.setattr("getpass.getpass", no_prompt)
    monkeypatch.setenv("WRDS_PASSWORD", "wrong-password")
    with pytest.raises(crsp.CrspError) as err:
        crsp.CrspClient()
    message = str(err.value)
    assert "password authentication failed" in message and "\n" not in message
    assert "wrong-password" not in message and crsp_db.USER in message
    monkeypatch.delenv("WRDS_USERNAME")
    with pytest.raises(crsp.CrspError, match="WRDS_USERNAME is not set"):
        crsp.CrspClient()


def test_an_account_without_the_crsp_tables_is_told_so(wrds_env, monkeypatch):
    use(monkeypatch, "auto", "crsp_none")
    with pytest.raises(crsp.CrspError, match="need a CRSP subscription"):
        crsp.CrspClient()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("CRSP_LIBRARY", 'crsp"; DROP TABLE crsp.dsf; --', "not a schema name"),
        ("CRSP_FORMAT", "v3", "not one of auto, ciz, siz"),
        ("WRDS_PORT", "97x", "not a port number"),
    ],
)
def test_bad_settings_are_refused_before_connecting(wrds_env, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(crsp.CrspError, match=message):
        crsp.Settings.from_env()


def test_cli_builds_the_crsp_master_and_its_actions_into_the_lake(wrds_env, local_env):
    from equity_lake import cli

    result = cli.run(["master", "build", "--source", "crsp"])
    assert result["format"] == "ciz" and result["securities"] == 10
    store = LakeStore()
    table = store.read_table(keys.SECURITY_MASTER)
    assert set(table["source"].to_pylist()) == {"crsp"}
    actions = store.read_table(keys.corporate_actions(sid(90003))).to_pylist()
    assert [a["action"] for a in actions] == ["listing", "delisting"]
    again = cli.run(["master", "build", "--source", "crsp"])
    assert again["master_written"] is False and again["corporate_action_files_written"] == 0
    results = store.list(keys.quality_results_prefix("security-master"))
    assert results and all(store.read_json(k)["success"] for k in results)
    assert dt.date(2014, 6, 9) in set(store.read_table(keys.CALENDAR_MASTER)["date"].to_pylist())


def test_a_ticker_crsp_gives_two_permnos_at_once_is_given_to_one_at_a_time():
    def name(permno, start, end, ticker="XYZ", cls=None):
        return {
            "permno": permno,
            "start": start,
            "end": end,
            "ticker": ticker,
            "trading_symbol": None,
            "share_class": cls,
            "company": f"CO {permno}",
            "exchange": "NYSE",
            "is_etf": False,
        }

    D = crsp_db.D
    names = [
        name(1, D(2001, 1, 2), D(2010, 6, 30)),  # the old holder's name row runs on ...
        name(2, D(2010, 6, 1), D(2014, 12, 31)),  # ... after the new holder took the ticker
        name(3, D(2005, 1, 3), D(2014, 12, 31), "ABC", "A"),
        name(4, D(2005, 1, 3), D(2014, 12, 31), "ABC", "B"),
        name(5, D(2005, 1, 3), D(2014, 12, 31), None),  # no ticker: not in the master
    ]
    periods, notes = crsp.master_periods(names, {1: {"day": D(2010, 6, 30)}})
    table = pa.Table.from_pylist(
        [
            {
                "security_id": sid(p["permno"]),
                "symbol": p["symbol"],
                "start_date": p["start"],
                "end_date": p["end"],
                "source": "crsp",
            }
            for p in periods
        ]
    )
    table = with_optional_columns(
        table.append_column("company", pa.nulls(len(table), pa.string()))
        .append_column("cik", pa.nulls(len(table), pa.string()))
        .append_column("exchange", pa.nulls(len(table), pa.string()))
    )
    master_build.check(table.select(SECURITY_MASTER.names))
    got = {(p["permno"], p["symbol"], p["start"], p["end"]) for p in periods}
    assert got == {
        (1, "XYZ", D(2001, 1, 2), D(2010, 5, 31)),
        (2, "XYZ", D(2010, 6, 1), None),
        (3, "ABC.A", D(2005, 1, 3), None),
        (4, "ABC.B", D(2005, 1, 3), None),
    }
    assert notes["symbol_overlaps_trimmed"] == 1 and notes["not_listed_name_rows"] == 1


def test_same_day_distributions_are_one_event_of_each_kind():
    """The actions files' merge key is (ex_date, action): a regular and a special dividend on
    one day add up, two splits on one day compound."""
    D = crsp_db.D
    periods = [{"permno": 1, "symbol": "XYZ", "start": D(2001, 1, 2), "end": None}]
    distributions = [
        {
            "permno": 1,
            "ex_date": D(2010, 3, 1),
            "action": "dividend",
            "ratio": None,
            "amount": 0.25,
        },
        {"permno": 1, "ex_date": D(2010, 3, 1), "action": "dividend", "ratio": None, "amount": 1.0},
        {"permno": 1, "ex_date": D(2012, 5, 1), "action": "split", "ratio": 2.0, "amount": None},
        {"permno": 1, "ex_date": D(2012, 5, 1), "action": "split", "ratio": 1.5, "amount": None},
        {"permno": 2, "ex_date": D(2012, 5, 1), "action": "split", "ratio": 9.0, "amount": None},
    ]
    rows = crsp._actions(periods, {}, distributions).to_pylist()  # permno 2 is not listed
    assert [(r["ex_date"], r["action"], r["ratio"], r["amount"]) for r in rows] == [
        (D(2001, 1, 2), "listing", None, None),
        (D(2010, 3, 1), "dividend", None, 1.25),
        (D(2012, 5, 1), "split", 3.0, None),
    ]
    assert {r["security_id"] for r in rows} == {sid(1)}
